/**
 * The API's contract at its edges (issue 13, items 2–4): one regression test per finding.
 * Every rejection here is a PaxosStoreError with a documented code, raised on the caller's
 * thread before anything is sent, and nothing changes.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { PaxosStore, PaxosStoreError } from '../../index';
import type { PaxosStoreOptions } from '../../index';
import { codeOf, openStore, settleCode, tempDir } from './helpers';

/** Public signatures are typed; hostile input comes from untyped callers. */
type AnyFn = (...args: unknown[]) => unknown;
const loose = <T>(handle: T): Record<string, AnyFn> => handle as unknown as Record<string, AnyFn>;

/** The error a call throws or rejects with (undefined when it succeeds). */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Asserts the call fails with a PaxosStoreError of `code`, thrown or rejected. */
async function rejects(
  t: ExecutionContext,
  call: () => unknown,
  code: string,
  what: string,
): Promise<void> {
  const error = await errorOf(call);
  t.true(
    error instanceof PaxosStoreError,
    `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
  );
  t.is(codeOf(error), code, what);
}

function cyclic(): object {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
}

function detached(length: number): Uint8Array {
  const view = new Uint8Array(length);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** Byte values that pass `instanceof Uint8Array` but are not one. */
function fakeBytes(): Array<[string, unknown]> {
  return [
    ['Proxy of a Uint8Array', new Proxy(new Uint8Array(4), {})],
    ['object made from Uint8Array.prototype', Object.create(Uint8Array.prototype)],
    ['view of a detached buffer', detached(8)],
    ['empty view of a detached buffer', detached(0)],
  ];
}

async function lsmStore(t: ExecutionContext, extra: PaxosStoreOptions = {}): Promise<PaxosStore> {
  return openStore(t, { engine: 'lsm', dir: tempDir(t), ...extra });
}

// ---- item 2: bounds checked on the caller's thread ----

test('oversized scan bounds and doc paths are INVALID_ARGUMENT on the caller thread, never sent', async (t) => {
  const store = await lsmStore(t);
  const bt = store.bigtable('t');
  const huge = 'p'.repeat(30 * 1024 * 1024);
  const rss = process.memoryUsage().rss;
  for (const options of [
    { gte: huge },
    { lt: huge },
    { gte: 'p'.repeat(513) },
    { lt: 'é'.repeat(257) },
  ]) {
    // Synchronous: the iterator is never made, so nothing is listed or sent.
    const error = (() => {
      try {
        bt.scan(options);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.true(error instanceof PaxosStoreError);
    t.is(
      codeOf(error),
      'INVALID_ARGUMENT',
      `scan bound of ${(options.gte ?? options.lt ?? '').length} chars`,
    );
  }
  // The longest pk is a valid bound, and so is '' (before every pk).
  t.notThrows(() => bt.scan({ gte: 'p'.repeat(512), lt: '' }));
  const doc = store.doc('d');
  await rejects(
    t,
    () => doc.get('a'.repeat(70 * 1024 * 1024)),
    'INVALID_ARGUMENT',
    'doc.get(70 MiB path)',
  );
  await rejects(t, () => doc.get('a'.repeat(1025)), 'INVALID_ARGUMENT', 'doc.get(1025-byte path)');
  await rejects(
    t,
    () => doc.update([{ op: 'set', path: 'a'.repeat(1025), value: 1 }]),
    'INVALID_ARGUMENT',
    'update path 1025 bytes',
  );
  t.deepEqual(await doc.update([{ op: 'set', path: 'a'.repeat(1024), value: 1 }]), {
    version: 1,
    values: [],
  });
  t.is(await doc.get('a'.repeat(1024)), 1);
  await rejects(
    t,
    () => doc.update([{ op: 'set', path: 'x', value: huge }]),
    'TOO_LARGE',
    'doc value of 30 MiB',
  );
  await rejects(
    t,
    () => doc.update([{ op: 'set', path: 'x', value: new Array(2 ** 31) }]),
    'TOO_LARGE',
    'doc array of 2^31 holes',
  );
  await rejects(t, () => store.kv('ns').put(huge, 'v'), 'INVALID_ARGUMENT', 'kv key of 30 MiB');
  await rejects(t, () => store.queue('q').push(huge), 'INVALID_ARGUMENT', 'queue value of 30 MiB');
  await rejects(
    t,
    () => bt.byIndex('c', huge),
    'INVALID_ARGUMENT',
    'byIndex on an unindexed column',
  );
  // Nothing the size of the bounds was copied (the issue measured +1.3 GB for one scan).
  t.true(
    process.memoryUsage().rss - rss < 512 * 1024 * 1024,
    'no copies of the oversized arguments',
  );
  t.is((await store.stats()).inFlight, 0);
});

test('push, add and remove take at most 10,000 values per call', async (t) => {
  const store = await openStore(t);
  const many = new Array<string>(10_001).fill('');
  await rejects(t, () => store.queue('q').push(...many), 'INVALID_ARGUMENT', 'push 10,001 values');
  await rejects(t, () => store.set('s').add(...many), 'INVALID_ARGUMENT', 'add 10,001 members');
  await rejects(
    t,
    () => store.set('s').remove(...many),
    'INVALID_ARGUMENT',
    'remove 10,001 members',
  );
  t.is(await store.queue('q').length(), 0);
  t.deepEqual(await store.queue('q').push(...many.slice(1)), { length: 10_000, version: 1 });
});

test('an indexed lookup value longer than 512 bytes is INVALID_ARGUMENT before it is encoded', async (t) => {
  const store = await lsmStore(t);
  const bt = store.bigtable('t', { indexes: ['sender'] });
  t.is(
    codeOf(t.throws(() => bt.byIndex('sender', 'x'.repeat(30 * 1024 * 1024)))),
    'INVALID_ARGUMENT',
  );
  t.is(codeOf(t.throws(() => bt.byIndex('sender', 'x'.repeat(513)))), 'INVALID_ARGUMENT');
  t.notThrows(() => bt.byIndex('sender', 'x'.repeat(512)));
});

// ---- item 3: one error type, always with a code ----

test('values whose description used to throw get INVALID_ARGUMENT (building the message never throws)', async (t) => {
  const store = await openStore(t);
  const s = loose(store);
  const doc = loose(store.doc('d'));
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const calls: Array<[string, () => unknown]> = [
    ['kv(1n)', () => s.kv(1n)],
    ['kv(cyclic)', () => s.kv(cyclic())],
    ['kv(Symbol())', () => s.kv(Symbol('s'))],
    ['kv(revoked proxy)', () => s.kv(revoked.proxy)],
    ['doc.update op 1n', () => doc.update([{ op: 1n, path: 'a' }])],
    ['doc.update op Object(Symbol())', () => doc.update([{ op: Object(Symbol('s')), path: 'a' }])],
    ['doc.update path 1n', () => doc.update([{ op: 'set', path: 1n, value: 1 }])],
    ['doc.update path cyclic', () => doc.update([{ op: 'set', path: cyclic(), value: 1 }])],
    ['doc.get(1n)', () => doc.get(1n)],
    ['doc.get(cyclic)', () => doc.get(cyclic())],
    ['doc.get(revoked proxy)', () => doc.get(revoked.proxy)],
    ['doc.update(revoked proxy)', () => doc.update(revoked.proxy)],
    ['doc.update value cyclic', () => doc.update([{ op: 'set', path: 'a', value: cyclic() }])],
    ['doc.update value 1n', () => doc.update([{ op: 'set', path: 'a', value: 1n }])],
    ['partition([[null-prototype object]])', () => s.partition([[Object.create(null)]])],
    ['partition([[1n]])', () => s.partition([[1n]])],
    ['partition(revoked proxy)', () => s.partition(revoked.proxy)],
    [
      'bigtable indexes [null-prototype object]',
      () => s.bigtable('t', { indexes: [Object.create(null)] }),
    ],
    ['bigtable indexes [Symbol()]', () => s.bigtable('t', { indexes: [Symbol('s')] })],
    ['bigtable name 1n', () => s.bigtable(1n)],
    ['replica(1n)', () => s.replica(1n)],
    [
      'get options with a throwing getter',
      () =>
        loose(store.kv('ns')).get('k', {
          get consistency(): string {
            throw new Error('boom');
          },
        }),
    ],
    ['account bounds revoked proxy', () => s.account('a', revoked.proxy)],
  ];
  for (const [what, call] of calls) await rejects(t, call, 'INVALID_ARGUMENT', what);
  for (const options of [
    { replicas: Object.create(null) },
    { replicas: 1n },
    { engine: Symbol('e') },
    { sync: cyclic() },
    revoked.proxy,
  ]) {
    await rejects(
      t,
      () => (PaxosStore.open as AnyFn)(options),
      'INVALID_ARGUMENT',
      'open with an undescribable option',
    );
  }
});

test('byIndex(Object(Symbol())) is INVALID_ARGUMENT', async (t) => {
  const store = await lsmStore(t);
  const bt = loose(store.bigtable('t', { indexes: ['sender'] }));
  await rejects(
    t,
    () => bt.byIndex(Object(Symbol('s')), 'v'),
    'INVALID_ARGUMENT',
    'byIndex(Object(Symbol()))',
  );
  await rejects(
    t,
    () => bt.byIndex('sender', Object(Symbol('s'))),
    'INVALID_ARGUMENT',
    'byIndex value Object(Symbol())',
  );
  await rejects(t, () => bt.byIndex('sender', 1n), 'INVALID_ARGUMENT', 'byIndex value 1n');
  await rejects(
    t,
    () => bt.insert('pk', { sender: 1n }),
    'INVALID_ARGUMENT',
    'insert a BigInt column',
  );
  await rejects(
    t,
    () =>
      bt.insert(
        'pk',
        new Proxy(
          {},
          {
            ownKeys: () => {
              throw new Error('trap');
            },
          },
        ),
      ),
    'INVALID_ARGUMENT',
    'insert a row whose keys throw',
  );
  // A getter that answers a valid value to the check and a BigInt afterwards: read once.
  let reads = 0;
  const fickle = {
    get sender(): unknown {
      reads += 1;
      return reads === 1 ? 'bob' : 1n;
    },
  };
  t.deepEqual(await (bt.insert as AnyFn)('fickle', fickle), { version: 1 });
  t.deepEqual(await store.bigtable('t', { indexes: ['sender'] }).get('fickle'), { sender: 'bob' });
});

test('fake and detached Uint8Arrays are INVALID_ARGUMENT on every byte argument, and change nothing', async (t) => {
  const store = await openStore(t);
  const kv = loose(store.kv('ns'));
  const q = loose(store.queue('q'));
  const set = loose(store.set('s'));
  const table = loose(store.table('t'));
  await store.kv('ns').put('k', 'original');
  for (const [what, bytes] of fakeBytes()) {
    const calls: Array<[string, () => unknown]> = [
      ['put', () => kv.put('k', bytes)],
      ['cas', () => kv.cas('k', 1, bytes)],
      ['push', () => q.push(bytes)],
      ['push after a good value', () => q.push('ok', bytes)],
      ['add', () => set.add(bytes)],
      ['remove', () => set.remove(bytes)],
      ['has', () => set.has(bytes)],
      ['table.set', () => table.set('r', 'c', bytes)],
    ];
    for (const [method, call] of calls)
      await rejects(t, call, 'INVALID_ARGUMENT', `${method}(${what})`);
  }
  t.deepEqual(await store.kv('ns').get('k'), { value: Buffer.from('original'), version: 1 });
  t.is(await store.queue('q').length(), 0);
  t.is(await store.set('s').size(), 0);
  t.deepEqual(await store.table('t').all(), {});
  // Genuine ones work: Buffers, plain Uint8Arrays, views into a larger buffer, shared memory.
  const big = new Uint8Array([9, 1, 2, 3, 9]);
  await store.kv('ns').put('view', big.subarray(1, 4));
  t.deepEqual((await store.kv('ns').get('view'))?.value, Buffer.from([1, 2, 3]));
  const shared = new Uint8Array(new SharedArrayBuffer(2));
  shared.set([7, 8]);
  await store.kv('ns').put('shared', shared);
  t.deepEqual((await store.kv('ns').get('shared'))?.value, Buffer.from([7, 8]));
});

test('the bytes are copied at the call: changing the buffer afterwards changes nothing stored', async (t) => {
  const store = await openStore(t);
  const bytes = Buffer.from('before');
  const put = store.kv('ns').put('k', bytes);
  bytes.write('after!');
  await put;
  t.deepEqual((await store.kv('ns').get('k'))?.value, Buffer.from('before'));
});

test('sparse op lists are INVALID_ARGUMENT (a hole is an op that is not an object)', async (t) => {
  const store = await openStore(t);
  const doc = store.doc('d');
  const sparse = [, { op: 'set', path: 'a', value: 1 }] as unknown as Parameters<
    typeof doc.update
  >[0];
  await rejects(t, () => doc.update(sparse), 'INVALID_ARGUMENT', 'update([, op])');
  const sparseValue = [1, , 3] as unknown as number[];
  await rejects(
    t,
    () => doc.update([{ op: 'set', path: 'a', value: sparseValue }]),
    'INVALID_ARGUMENT',
    'a value array with a hole',
  );
  t.is(await doc.get(), undefined, 'nothing applied');
});

// ---- item 4: data changed silently, smaller gaps ----

test('lone surrogates are refused in every stored string; well-formed strings round-trip exactly', async (t) => {
  const store = await openStore(t);
  const set = store.set('s');
  for (const lone of ['\ud800', '\udbff', 'a\udc00', '\udc00\ud800']) {
    await rejects(t, () => set.add(lone), 'INVALID_ARGUMENT', `set.add(${JSON.stringify(lone)})`);
    await rejects(t, () => set.has(lone), 'INVALID_ARGUMENT', `set.has(${JSON.stringify(lone)})`);
    await rejects(
      t,
      () => set.remove(lone),
      'INVALID_ARGUMENT',
      `set.remove(${JSON.stringify(lone)})`,
    );
    await rejects(t, () => store.kv('ns').put('k', lone), 'INVALID_ARGUMENT', 'kv.put');
    await rejects(t, () => store.kv('ns').cas('k', 0, lone), 'INVALID_ARGUMENT', 'kv.cas');
    await rejects(t, () => store.queue('q').push(lone), 'INVALID_ARGUMENT', 'queue.push');
    await rejects(t, () => store.table('t').set('r', 'c', lone), 'INVALID_ARGUMENT', 'table.set');
    await rejects(
      t,
      () => store.doc('d').update([{ op: 'set', path: 'a', value: lone }]),
      'INVALID_ARGUMENT',
      'doc value',
    );
    await rejects(
      t,
      () => store.doc('d').update([{ op: 'set', path: 'a', value: { [lone]: 1 } }]),
      'INVALID_ARGUMENT',
      'doc object key',
    );
    await rejects(
      t,
      () => store.doc('d').update([{ op: 'append', path: 'a', value: [lone] }]),
      'INVALID_ARGUMENT',
      'doc array item',
    );
  }
  t.is(await set.size(), 0, 'no member was added');
  t.is(await store.kv('ns').get('k'), undefined);
  // Well-formed strings, surrogate pairs included, keep their exact code units.
  const pair = 'x\ud83d\ude00y';
  t.is(await set.add(pair, 'plain'), 2);
  t.true(await set.has(pair));
  await store.kv('ns').put('k', pair);
  t.is((await store.kv('ns').get('k'))?.value.toString('utf8'), pair);
  await store.doc('d').update([{ op: 'set', path: 'a', value: { [pair]: pair } }]);
  t.deepEqual(await store.doc('d').get('a'), { [pair]: pair });
});

test('replica(i).up is false after close', async (t) => {
  const store = await openStore(t);
  const replicas = [store.replica(0), store.replica(1), store.replica(2)];
  t.deepEqual(
    replicas.map((r) => r.up),
    [true, true, true],
  );
  await store.close();
  t.deepEqual(
    replicas.map((r) => r.up),
    [false, false, false],
  );
  t.is(await settleCode(replicas[1]?.crash() ?? Promise.resolve()), 'CLOSED');
});

test('open(null), open([]) and null engine/sync are refused, not taken as defaults', async (t) => {
  const open = PaxosStore.open as AnyFn;
  const bad: Array<[string, unknown]> = [
    ['null', null],
    ['[]', []],
    ['[3]', [3]],
    ['engine null', { engine: null }],
    ['sync null', { sync: null }],
    ['replicas null', { replicas: null }],
    ['workers null', { workers: null }],
    ['groups null', { groups: null }],
    ['timeoutMs null', { timeoutMs: null }],
    ['valueBytesMax null', { valueBytesMax: null }],
    ['cachedKeysMax null', { cachedKeysMax: null }],
    ['persist null', { persist: null }],
    ['acceptDataLoss null', { acceptDataLoss: null }],
    ['dir null', { dir: null }],
    [
      'a throwing getter',
      {
        get replicas(): number {
          throw new Error('boom');
        },
      },
    ],
  ];
  for (const [what, options] of bad) {
    const result = await (open(options) as Promise<PaxosStore>).then(
      (s) => s,
      (e: unknown) => e,
    );
    if (result instanceof PaxosStore) {
      t.teardown(() => result.close());
      t.fail(`open(${what}) resolved`);
      continue;
    }
    t.true(result instanceof PaxosStoreError, what);
    t.is(codeOf(result), 'INVALID_ARGUMENT', `open(${what})`);
  }
  // No options, and an options object with every option absent, are the defaults.
  const store = await (open(undefined) as Promise<PaxosStore>);
  t.teardown(() => store.close());
  t.is(store.options.replicas, 3);
});

test('a big-table handle with another index list cannot delete (INDEX_MISMATCH, nothing changes)', async (t) => {
  const store = await lsmStore(t);
  const bt = store.bigtable('msgs', { indexes: ['sender'] });
  await bt.insert('m1', { sender: 'bob', text: 'hi' });
  for (const indexes of [[], ['text'], ['sender', 'text']]) {
    const other = store.bigtable('msgs', { indexes });
    await rejects(
      t,
      () => other.delete('m1'),
      'INDEX_MISMATCH',
      `delete through indexes ${JSON.stringify(indexes)}`,
    );
    await rejects(
      t,
      () => store.replica(1).bigtable('msgs', { indexes }).delete('m1'),
      'INDEX_MISMATCH',
      'through replica 1',
    );
  }
  t.deepEqual(await bt.get('m1'), { sender: 'bob', text: 'hi' });
  const found: string[] = [];
  for await (const { pk } of bt.byIndex('sender', 'bob')) found.push(pk);
  t.deepEqual(found, ['m1'], 'its index entry is still there');
  t.deepEqual(await store.bigtable('msgs', { indexes: ['sender'] }).delete('m1'), {
    removed: true,
    version: 2,
  });
});

test('a scan or lookup of a closed store fails CLOSED (not UNAVAILABLE)', async (t) => {
  const store = await lsmStore(t);
  const bt = store.bigtable('msgs', { indexes: ['sender'] });
  await bt.insert('m1', { sender: 'bob' });
  await store.close();
  const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
    for await (const row of it) t.fail(`read ${JSON.stringify(row)}`);
  };
  await rejects(t, () => drain(bt.scan()), 'CLOSED', 'scan');
  await rejects(t, () => drain(bt.byIndex('sender', 'bob')), 'CLOSED', 'byIndex');
  await rejects(t, () => bt.get('m1'), 'CLOSED', 'get');
});
