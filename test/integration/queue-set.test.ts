/**
 * The queue and set APIs through the public API (issue #4): FIFO order, empty reads, range
 * clamping, versions, set counts and byte order, one model per name (WRONG_TYPE until
 * emptied), bad input, reads through every replica, and an lsm store that survives reopen.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { PaxosStore, PaxosStoreError } from '../../index';
import type { Queue, StoreSet } from '../../index';
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { checkHistory } from '../sim/linearizability';
import type { HistoryOp, Model } from '../sim/linearizability';
import { queueModel } from '../sim/models/queue-model';
import type { QueueInput, QueueOutput } from '../sim/models/queue-model';
import { setModel } from '../sim/models/set-model';
import type { SetInput, SetOutput, SetState } from '../sim/models/set-model';
import { FAST, codeOf, engineOptions, openStore, tempDir } from './helpers';

const str = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString());

/** The public signatures are typed; bad input comes from untyped callers. */
type Loose<T> = { [K in keyof T]: (...args: unknown[]) => Promise<unknown> };
const loose = <T>(x: T): Loose<T> => x as unknown as Loose<T>;

for (const engine of ['memory', 'lsm'] as const) {
  test(`${engine}: a queue is FIFO; push answers length and version; empty pop/peek are undefined`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const q = store.queue('jobs');
    t.is(await q.pop(), undefined);
    t.is(await q.peek(), undefined);
    t.is(await q.length(), 0);
    t.deepEqual(await q.range(0, 10), []);
    t.deepEqual(await q.push('a'), { length: 1, version: 1 });
    t.deepEqual(
      await q.push('b', 'c'),
      { length: 3, version: 2 },
      'one push of several values is one mutation',
    );
    t.deepEqual(await q.push(Uint8Array.of(0, 255), ''), { length: 5, version: 3 });
    t.is((await q.peek())?.toString(), 'a');
    t.is(await q.length(), 5, 'peek consumes nothing');
    t.deepEqual(await q.pop(), Buffer.from('a'));
    t.deepEqual(await q.pop(), Buffer.from('b'));
    t.deepEqual(await q.pop(), Buffer.from('c'));
    t.deepEqual(await q.pop(), Buffer.from([0, 255]), 'binary values round-trip');
    t.deepEqual(await q.pop(), Buffer.alloc(0), 'an empty value is a value');
    t.is(await q.pop(), undefined);
    t.is(await q.peek(), undefined);
    t.is(await q.length(), 0);
    // Five pops mutated (versions 4..8); the pops of an empty queue did not.
    t.deepEqual(
      await q.push('d'),
      { length: 1, version: 9 },
      'the version keeps counting after the queue empties',
    );
  });

  test(`${engine}: set add/remove count changes; members come back in byte order`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const s = store.set('tags');
    t.is(await s.size(), 0);
    t.deepEqual(await s.members(), []);
    t.false(await s.has('x'));
    t.is(await s.add('b', 'a', 'b'), 2, 'duplicates within one add count once');
    t.is(await s.add('a', 'c'), 1, 'present members are not counted');
    t.is(await s.add('a'), 0);
    t.is(await s.size(), 3);
    t.true(await s.has('a'));
    t.true(await s.has(Buffer.from('c')), 'a Buffer names the same member as its string');
    t.false(await s.has('d'));
    t.is(await s.remove('a', 'zzz', 'a'), 1, 'only present members are counted');
    t.is(await s.remove('zzz'), 0);
    t.deepEqual(str(await s.members()), ['b', 'c']);
    t.is(await s.remove('b', 'c'), 2);
    t.is(await s.size(), 0);
    t.deepEqual(await s.members(), []);
    t.is(await s.add(''), 1, 'the empty string is a member');
    t.true(await s.has(''));
  });
}

test('set members are in unsigned byte order, not JS string order', async (t) => {
  const store = await openStore(t);
  const s = store.set('order');
  // UTF-16 order puts U+10000 (a surrogate pair) before U+FFFF; UTF-8 bytes put it after.
  const members = ['b', '\u{10000}', 'ab', '\uFFFF', 'Z', 'abc', 'a', '', 'é'];
  t.is(await s.add(...members), members.length);
  t.is(await s.add(Uint8Array.of(0xff), Uint8Array.of(0x00), Uint8Array.of(0x7f, 0x01)), 3);
  const got = await s.members();
  const expected = [
    ...members.map((m) => Buffer.from(m)),
    Buffer.of(0xff),
    Buffer.of(0x00),
    Buffer.of(0x7f, 0x01),
  ].sort(Buffer.compare);
  t.deepEqual(got, expected);
  t.deepEqual(got.slice(0, 3), [Buffer.alloc(0), Buffer.of(0), Buffer.from('Z')]);
  t.true(Buffer.from('\uFFFF').compare(Buffer.from('\u{10000}')) < 0);
  const ffff = got.findIndex((b) => b.equals(Buffer.from('\uFFFF')));
  const astral = got.findIndex((b) => b.equals(Buffer.from('\u{10000}')));
  t.true(ffff >= 0 && ffff < astral, 'U+FFFF before U+10000');
  t.deepEqual(got[got.length - 1], Buffer.of(0xff));
});

test('queue range clamps to the queue and reads without consuming', async (t) => {
  const store = await openStore(t);
  const q = store.queue('r');
  await q.push('v0', 'v1', 'v2', 'v3', 'v4');
  t.deepEqual(str(await q.range(0, 5)), ['v0', 'v1', 'v2', 'v3', 'v4']);
  t.deepEqual(str(await q.range(1, 3)), ['v1', 'v2']);
  t.deepEqual(str(await q.range(3, 100)), ['v3', 'v4'], 'end clamps to the length');
  t.deepEqual(str(await q.range(0, Number.MAX_SAFE_INTEGER)), ['v0', 'v1', 'v2', 'v3', 'v4']);
  t.deepEqual(await q.range(5, 10), [], 'start at the length');
  t.deepEqual(await q.range(50, 60), [], 'start past the length');
  t.deepEqual(await q.range(2, 2), [], 'empty interval');
  t.deepEqual(await q.range(0, 0), []);
  t.is(await q.length(), 5);
  await q.pop();
  t.deepEqual(str(await q.range(0, 2)), ['v1', 'v2'], 'positions count from the current head');
});

/**
 * Racing proposers from several replicas may end a write with UNKNOWN_OUTCOME (it may or may
 * not have been applied); every other failure is a test failure.
 */
type Outcome<T> = { ok: true; value: T } | { ok: false };

async function outcome<T>(t: ExecutionContext, what: string, p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    t.is(codeOf(error), 'UNKNOWN_OUTCOME', what);
    return { ok: false };
  }
}

test.serial(
  'concurrent pushes get distinct lengths and versions; concurrent pops hand each value out once',
  async (t) => {
    const store = await openStore(t);
    const n = 30;
    const pushes = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        outcome(
          t,
          `push v${i}`,
          store
            .replica(i % 3)
            .queue('c')
            .push(`v${i}`),
        ),
      ),
    );
    const acked = pushes.flatMap((p, i) => (p.ok ? [{ ...p.value, value: `v${i}` }] : []));
    t.true(acked.length > 0);
    t.is(new Set(acked.map((p) => p.version)).size, acked.length, 'distinct versions');
    for (const p of acked) t.is(p.length, p.version, 'each push added one value to an empty queue');
    const inQueue = str(await store.queue('c').range(0, 2 * n));
    t.is(new Set(inQueue).size, inQueue.length, 'no value was applied twice');
    t.true(inQueue.every((v) => /^v\d+$/.test(v) && Number(v.slice(1)) < n));
    t.true(inQueue.length >= acked.length && inQueue.length <= n);
    // Each acknowledged value sits at the position its length named.
    for (const p of acked) t.is(inQueue[p.length - 1], p.value);
    // The version counts every applied push.
    t.deepEqual(await store.queue('c').push('last'), {
      length: inQueue.length + 1,
      version: inQueue.length + 1,
    });
    inQueue.push('last');

    const pops = await Promise.all(
      Array.from({ length: inQueue.length + 5 }, (_, i) =>
        outcome(
          t,
          `pop ${i}`,
          store
            .replica(i % 3)
            .queue('c')
            .pop(),
        ),
      ),
    );
    const popped = pops.flatMap((p) => (p.ok && p.value !== undefined ? [p.value.toString()] : []));
    const unknownPops = pops.filter((p) => !p.ok).length;
    t.is(new Set(popped).size, popped.length, 'no value was handed out twice');
    t.true(popped.every((v) => inQueue.includes(v)));
    const left = str(await store.queue('c').range(0, 2 * n));
    const applied = inQueue.length - left.length;
    t.true(
      applied >= popped.length && applied <= popped.length + unknownPops,
      `${applied} pops applied`,
    );
    t.deepEqual(left, inQueue.slice(applied), 'pops took from the head');
    t.true(
      popped.every((v) => inQueue.slice(0, applied).includes(v)),
      'every popped value came off the head',
    );

    const adds = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        outcome(
          t,
          `add ${i}`,
          store
            .replica(i % 3)
            .set('s')
            .add('same'),
        ),
      ),
    );
    const counted = adds.reduce((a, p) => a + (p.ok ? p.value : 0), 0);
    t.true(counted <= 1, 'at most one concurrent add of a member counts it');
    if (adds.every((p) => p.ok)) t.is(counted, 1);
    t.deepEqual(str(await store.set('s').members()), ['same']);
  },
);

test('a name is a queue or a set: the other model is WRONG_TYPE until it is emptied', async (t) => {
  const store = await openStore(t);
  const wrong = async (what: string, p: Promise<unknown>): Promise<void> => {
    const error = await t.throwsAsync(p, undefined, what);
    t.true(error instanceof PaxosStoreError, what);
    t.is(codeOf(error), 'WRONG_TYPE', what);
  };
  const setOps = (s: StoreSet): [string, Promise<unknown>][] => [
    ['add', s.add('m')],
    ['remove', s.remove('m')],
    ['has', s.has('m')],
    ['members', s.members()],
    ['size', s.size()],
  ];
  const queueOps = (q: Queue): [string, Promise<unknown>][] => [
    ['push', q.push('v')],
    ['pop', q.pop()],
    ['peek', q.peek()],
    ['length', q.length()],
    ['range', q.range(0, 1)],
  ];

  // A queue refuses every set op and read, through every replica, and is unchanged.
  const { version } = await store.queue('name').push('q1', 'q2');
  for (let r = 0; r < 3; r++) {
    for (const [what, p] of setOps(store.replica(r).set('name')))
      await wrong(`set.${what} on a queue via replica ${r}`, p);
  }
  t.deepEqual(str(await store.queue('name').range(0, 10)), ['q1', 'q2']);
  t.deepEqual(
    await store.queue('name').push('q3'),
    { length: 3, version: version + 1 },
    'refused ops did not mutate',
  );

  // KV namespaces are apart from object names: the same string as namespace and key is fine.
  t.deepEqual(await store.kv('name').put('name', 'kv value'), { version: 1 });
  t.deepEqual(await store.kv('name').get('name'), { value: Buffer.from('kv value'), version: 1 });
  t.is(await store.queue('name').length(), 3);

  // Emptied, the name is free: it becomes a set, and now the queue is refused.
  for (let i = 0; i < 3; i++) await store.queue('name').pop();
  t.is(await store.set('name').add('s1'), 1);
  for (let r = 0; r < 3; r++) {
    for (const [what, p] of queueOps(store.replica(r).queue('name')))
      await wrong(`queue.${what} on a set via replica ${r}`, p);
  }
  t.deepEqual(str(await store.set('name').members()), ['s1']);
  // Removing the last member frees it again.
  t.is(await store.set('name').remove('s1'), 1);
  t.is(await store.queue('name').length(), 0);
  t.deepEqual(
    await store.queue('name').push('back'),
    { length: 1, version: version + 7 },
    'the name keeps one version count across models: push, 3 pops, add, remove, push',
  );
  t.is(await store.queue('other').pop(), undefined, 'a pop of a never-used name claims nothing');
  t.is(await store.set('other').add('x'), 1);
});

test('bad input rejects with INVALID_ARGUMENT and changes nothing', async (t) => {
  const store = await openStore(t, { valueBytesMax: 16 });
  const q = store.queue('q');
  const s = store.set('s');
  await q.push('keep');
  await s.add('keep');
  const lq = loose(q);
  const ls = loose(s);
  const BAD_VALUES: [string, unknown][] = [
    ['number', 42],
    ['undefined', undefined],
    ['null', null],
    ['object', { toString: () => 'v' }],
    ['String object', new String('v')],
    ['array', ['v']],
    ['ArrayBuffer', new ArrayBuffer(1)],
    ['17 bytes', 'x'.repeat(17)],
    ['17-byte Buffer', Buffer.alloc(17)],
  ];
  const calls: [string, () => Promise<unknown>][] = [
    ['push()', () => lq.push()],
    ['add()', () => ls.add()],
    ['remove()', () => ls.remove()],
    ['has()', () => ls.has()],
    ['push: values over the per-request total', () => q.push('x'.repeat(9), 'y'.repeat(9))],
    ['add: members over the per-request total', () => s.add('x'.repeat(9), 'y'.repeat(9))],
    ['range(-1, 2)', () => q.range(-1, 2)],
    ['range(0, -1)', () => q.range(0, -1)],
    ['range(3, 2)', () => q.range(3, 2)],
    ['range(0.5, 2)', () => q.range(0.5, 2)],
    ['range(NaN, 2)', () => q.range(NaN, 2)],
    ['range(0, Infinity)', () => q.range(0, Infinity)],
    ['range("0", 2)', () => lq.range('0', 2)],
    ['range(0)', () => lq.range(0)],
    ['length consistency strong', () => lq.length({ consistency: 'strong' })],
    ['size options null', () => ls.size(null)],
  ];
  for (const [what, value] of BAD_VALUES) {
    calls.push([`push(${what})`, () => lq.push(value)]);
    calls.push([`push('ok', ${what})`, () => lq.push('ok', value)]);
    calls.push([`add(${what})`, () => ls.add(value)]);
    calls.push([`remove(${what})`, () => ls.remove(value)]);
    calls.push([`has(${what})`, () => ls.has(value)]);
  }
  for (const [what, call] of calls) {
    const error = await t.throwsAsync(call, undefined, what);
    t.true(error instanceof PaxosStoreError, what);
    t.is(codeOf(error), 'INVALID_ARGUMENT', what);
  }
  // Names: checked when the handle is made, on the store and on each replica.
  for (const name of ['', 42, undefined, 'a'.repeat(1025), 'ab\uD800']) {
    for (const make of [
      () => store.queue(name as string),
      () => store.set(name as string),
      () => store.replica(1).queue(name as string),
      () => store.replica(2).set(name as string),
    ]) {
      const error = t.throws(make, undefined, JSON.stringify(name));
      t.is(codeOf(error), 'INVALID_ARGUMENT', String(name));
    }
  }
  t.deepEqual(str(await q.range(0, 10)), ['keep']);
  t.deepEqual(str(await s.members()), ['keep']);
  t.deepEqual(
    await q.push('x'.repeat(16)),
    { length: 2, version: 2 },
    'a value at the limit is fine',
  );
  t.is((await store.stats()).inFlight, 0);
});

test('writes through one replica are seen by linearizable reads through every replica', async (t) => {
  const store = await openStore(t);
  const expectedQueue: string[] = [];
  const expectedSet = new Set<string>();
  for (let i = 0; i < 9; i++) {
    const w = i % 3;
    if (i % 4 === 3) {
      const head = await store.replica(w).queue('lin').pop();
      t.is(head?.toString(), expectedQueue.shift());
      t.is(
        await store
          .replica(w)
          .set('lin-s')
          .remove(`m${i - 1}`),
        1,
      );
      expectedSet.delete(`m${i - 1}`);
    } else {
      expectedQueue.push(`v${i}`);
      await store.replica(w).queue('lin').push(`v${i}`);
      expectedSet.add(`m${i}`);
      t.is(await store.replica(w).set('lin-s').add(`m${i}`), 1);
    }
    for (let r = 0; r < 3; r++) {
      const q = store.replica(r).queue('lin');
      const s = store.replica(r).set('lin-s');
      t.is(await q.length(), expectedQueue.length, `after step ${i}, replica ${r}`);
      t.is((await q.peek())?.toString(), expectedQueue[0], `after step ${i}, replica ${r}`);
      t.deepEqual(str(await q.range(0, 100)), expectedQueue, `after step ${i}, replica ${r}`);
      t.is(await s.size(), expectedSet.size, `after step ${i}, replica ${r}`);
      t.deepEqual(str(await s.members()), [...expectedSet].sort(), `after step ${i}, replica ${r}`);
      t.true(await s.has(`m${i % 4 === 3 ? i - 2 : i}`), `after step ${i}, replica ${r}`);
    }
  }
});

test('lsm: queues and sets survive close and reopen of the same dir', async (t) => {
  const dir = tempDir(t);
  const options = { ...FAST, engine: 'lsm' as const, dir };
  const first = await PaxosStore.open(options);
  t.teardown(() => first.close());
  await first.queue('q').push('a', 'b', 'c');
  await first.queue('q').pop();
  await first.set('s').add('x', 'y');
  await first.set('s').remove('x');
  await first.queue('gone').push('1');
  await first.queue('gone').pop();
  await first.close();

  const second = await PaxosStore.open(options);
  t.teardown(() => second.close());
  for (let r = 0; r < 3; r++) {
    t.deepEqual(str(await second.replica(r).queue('q').range(0, 10)), ['b', 'c'], `replica ${r}`);
    t.deepEqual(str(await second.replica(r).set('s').members()), ['y'], `replica ${r}`);
    t.is(await second.replica(r).queue('gone').length(), 0, `replica ${r}`);
  }
  t.deepEqual(
    await second.queue('q').push('d'),
    { length: 3, version: 3 },
    'the version survives too',
  );
  t.is(await second.set('gone').add('now a set'), 1, 'an emptied name stays free after reopen');
});

/**
 * A random concurrent history on real threads, through every replica, checked against the
 * sequential specs: the public API's results map one to one onto the spec's outputs.
 */
/** add and remove answer only how many changed (no size): the spec's outputs, projected. */
const publicSetModel: Model<SetState, SetInput, PublicSetOutput> = {
  ...setModel,
  step: (state, input) => {
    const { state: next, output } = setModel.step(state, input);
    if (typeof output === 'object' && 'added' in output)
      return { state: next, output: { added: output.added } };
    if (typeof output === 'object' && 'removed' in output)
      return { state: next, output: { removed: output.removed } };
    return { state: next, output };
  },
  equalOutput: (a, b) => isDeepStrictEqual(a, b),
};
type PublicSetOutput = SetOutput | { added: number } | { removed: number };

test.serial(
  'random concurrent queue and set ops through every replica are linearizable',
  async (t) => {
    const store = await openStore(t);
    const queueHistory: HistoryOp<QueueInput, QueueOutput>[] = [];
    const setHistory: HistoryOp<SetInput, PublicSetOutput>[] = [];
    let nextId = 1;
    let unknown = 0;
    const record = async <I, O>(
      history: HistoryOp<I, O>[],
      input: I,
      write: boolean,
      run: () => Promise<O>,
    ): Promise<void> => {
      const id = nextId++;
      const call = performance.now();
      try {
        const output = await run();
        history.push({ id, key: 'k', input, call, ret: performance.now(), output });
      } catch (error) {
        t.is(codeOf(error), 'UNKNOWN_OUTCOME', JSON.stringify(input));
        if (write) {
          unknown += 1;
          history.push({ id, key: 'k', input, call, ret: undefined });
        }
      }
    };
    const client = async (c: number): Promise<void> => {
      let seed = 1 + c;
      for (let i = 0; i < 25; i++) {
        const r = (c + i) % 3;
        const q = store.replica(r).queue('lin-q');
        const s = store.replica(r).set('lin-s');
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const roll = seed % 12;
        const value = `c${c}-${i}`;
        const member = `m${(seed >> 8) % 4}`;
        switch (roll) {
          case 0:
          case 1:
          case 2:
            await record(queueHistory, { op: 'push', values: [value] }, true, async () => ({
              length: (await q.push(value)).length,
            }));
            break;
          case 3:
          case 4:
            await record(queueHistory, { op: 'pop' }, true, async () => {
              const v = await q.pop();
              return v === undefined ? undefined : { value: v.toString() };
            });
            break;
          case 5:
            await record(queueHistory, { op: 'peek' }, false, async () => {
              const v = await q.peek();
              return v === undefined ? undefined : { value: v.toString() };
            });
            break;
          case 6:
            await record(queueHistory, { op: 'range', start: 0, end: 3 }, false, async () => ({
              values: str(await q.range(0, 3)),
              truncated: false,
            }));
            break;
          case 7:
          case 8:
            await record(setHistory, { op: 'add', members: [member] }, true, async () => ({
              added: await s.add(member),
            }));
            break;
          case 9:
            await record(setHistory, { op: 'remove', members: [member] }, true, async () => ({
              removed: await s.remove(member),
            }));
            break;
          case 10:
            await record(setHistory, { op: 'has', member }, false, () => s.has(member));
            break;
          default:
            await record(setHistory, { op: 'members' }, false, async () => ({
              members: str(await s.members()),
              truncated: false,
            }));
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    t.true(
      queueHistory.length > 30 && setHistory.length > 30,
      `${queueHistory.length} + ${setHistory.length}`,
    );
    t.deepEqual(checkHistory(queueHistory, queueModel), { ok: true });
    t.deepEqual(checkHistory(setHistory, publicSetModel), { ok: true });
    t.log(
      `${queueHistory.length} queue ops, ${setHistory.length} set ops, ${unknown} unknown outcomes`,
    );
  },
);
