/**
 * Big queues and sets (issue 10): filling a queue or a set past its 16 MiB limit with 200 KiB
 * values on lsm answers TOO_LARGE (not UNKNOWN_OUTCOME), while writes to other keys of the same
 * group (one group: they share the big object's batches and mailbox) all succeed; the full
 * object then pops or removes (appending in place), takes small writes as change entries
 * (models/queue/queue-log.ts, models/set/set-log.ts), and reopens intact on every replica.
 * Outcome codes only, no timing: the bench (bench/table-growth.ts) measures the cost.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { PaxosStore } from '../../index';
import { QUEUE_BYTES_MAX } from '../../models/queue/queue';
import { codeOf, tempDir } from './helpers';

const VALUE_BYTES = 200 * 1024;
/** Enough writes to pass the limit, and a bound on the loop. */
const FILL_WRITES_MAX = Math.ceil(QUEUE_BYTES_MAX / VALUE_BYTES) + 8;

type Store = Awaited<ReturnType<typeof PaxosStore.open>>;
/** What reads need: the store or one replica's handle. */
type Handle = Pick<Store, 'queue' | 'set'>;

/** The object under test: how to fill it, shrink it a little, write small, and read it. */
interface Subject {
  fill(store: Store, i: number): Promise<unknown>;
  shrink(store: Store): Promise<unknown>;
  small(store: Store, i: number): Promise<unknown>;
  read(store: Handle): Promise<unknown>;
}

const fillValue = (i: number) => {
  const v = new Uint8Array(VALUE_BYTES).fill(7);
  new DataView(v.buffer).setUint32(0, i); // distinct set members
  return v;
};

const queueSubject: Subject = {
  fill: (store, i) => store.queue('big').push(fillValue(i)),
  shrink: async (store) => {
    for (let i = 0; i < 3; i++) await store.queue('big').pop();
  },
  small: (store, i) => store.queue('big').push(`v${i}`),
  read: async (store) => {
    const q = store.queue('big');
    return [await q.length(), await q.peek(), (await q.range(70, 100)).map(String)];
  },
};

const setSubject: Subject = {
  fill: (store, i) => store.set('big').add(fillValue(i)),
  shrink: async (store) => {
    // One member per request: three are past the request's byte limit.
    for (let i = 0; i < 3; i++) await store.set('big').remove(fillValue(i));
  },
  small: (store, i) => store.set('big').add(`m${i}`),
  read: async (store) => {
    const s = store.set('big');
    return [
      await s.size(),
      await s.has(fillValue(0)),
      await s.has('m19'),
      await s.has(fillValue(5)),
    ];
  },
};

/** Fills the object until TOO_LARGE while four writers hit other keys of the group. */
async function fillPastLimit(t: ExecutionContext, store: Store, subject: Subject) {
  const fillCodes: string[] = [];
  let filling = true;
  const filler = (async () => {
    try {
      for (let i = 0; i < FILL_WRITES_MAX; i++) {
        const code = await subject.fill(store, i).then(
          () => 'ok',
          (error: unknown) => String(codeOf(error)),
        );
        fillCodes.push(code);
        if (code === 'TOO_LARGE') break;
      }
    } finally {
      filling = false;
    }
  })();
  const otherCodes: Record<string, number> = {};
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; filling && i < 100_000; i++) {
      let code = 'ok';
      await store
        .kv('other')
        .put(`k${w}-${i % 50}`, `v${i}`)
        .catch((error: unknown) => (code = String(codeOf(error))));
      otherCodes[code] = (otherCodes[code] ?? 0) + 1;
    }
  };
  await Promise.all([filler, writer(0), writer(1), writer(2), writer(3)]);
  t.is(fillCodes.at(-1), 'TOO_LARGE', `fill ended with ${fillCodes.at(-1)}`);
  t.true(
    fillCodes.slice(0, -1).every((c) => c === 'ok'),
    `every fill write before the limit succeeded: ${JSON.stringify(fillCodes)}`,
  );
  t.true(fillCodes.length > 50, `the object took ${fillCodes.length - 1} values`);
  t.deepEqual(Object.keys(otherCodes), ['ok'], `other keys: ${JSON.stringify(otherCodes)}`);
}

async function sectionChanges(store: Store): Promise<number> {
  return (await store.stats()).replicas.reduce((n, r) => n + (r?.['sectionChanges'] ?? 0), 0);
}

for (const [name, subject] of [
  ['queue', queueSubject],
  ['set', setSubject],
] as const) {
  test(`filling a ${name} past its limit answers TOO_LARGE, other keys never time out, it reopens intact`, async (t) => {
    const options = {
      replicas: 3,
      groups: 1,
      workers: 1,
      engine: 'lsm',
      dir: tempDir(t),
      timeoutMs: 10_000,
    } as const;
    const store = await PaxosStore.open(options);
    let open = true;
    t.teardown(() => (open ? store.close() : undefined));
    await fillPastLimit(t, store, subject);
    await subject.shrink(store);
    const changesBefore = await sectionChanges(store);
    for (let i = 0; i < 20; i++) await subject.small(store, i);
    const changes = (await sectionChanges(store)) - changesBefore;
    t.true(changes >= 20, `small writes went out as change entries (${changes})`);
    const before = await subject.read(store);
    await store.close();
    open = false;
    const again = await PaxosStore.open(options);
    t.teardown(() => again.close());
    // Before any key loads, verify digests the stored records: bases with their chains folded.
    const report = await again.verify();
    t.true(report.ok, `verify after reopen: ${JSON.stringify(report.mismatches)}`);
    for (let r = 0; r < 3; r++) {
      t.deepEqual(await subject.read(again.replica(r)), before, `replica ${r}`);
    }
    const after = await again.stats();
    t.deepEqual(
      after.replicas.map((r) => r?.['corrupted'] ?? 0),
      [0, 0, 0],
      'no replica found its sectioned record damaged',
    );
  });
}
