/**
 * Supervision (issue 12 item 6, issue 13): a failed group actor or a dead worker thread is
 * restarted from its durable state, bounded and with backoff; requests in flight on it settle
 * (UNAVAILABLE or UNKNOWN_OUTCOME) instead of hanging; a group that keeps failing is marked
 * failed and shows in stats() and verify(); runtime error codes never reach the caller; and
 * crash()/restart() of one replica run in call order.
 *
 * Faults are injected through the store's internal `injectFault` (actors/node/actor-entry.ts
 * ActorFault): an actor whose tick throws, an actor that ends its worker thread
 * (process.exit inside the worker: that thread only), an actor that fails on every start.
 * No test asserts speed: bounds are generous and only say "settled", never "fast".
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { PaxosStore } from '../../index';
import { FAST, codeOf, engineOptions, eventually, openStore, settleCode } from './helpers';

const TIMEOUT_MS = 4_000;
/** A request must settle within timeoutMs plus this much (the backstop, a loaded machine). */
const SETTLE_SLACK_MS = 20_000;

const HUNG = 'HUNG';

/** The outcome of `p`: 'ok', its error code, or HUNG if it has not settled by `ms`. */
async function outcomeWithin(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve(HUNG), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'ok',
        (error: unknown) => codeOf(error),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface LoadResult {
  /** Per key, the highest value acknowledged for it. */
  readonly acked: Map<string, number>;
  readonly outcomes: Map<unknown, number>;
}

/** `clients` closed-loop writers over their own keys until `stop()`; every put bounded. */
function startLoad(store: PaxosStore, clients: number): { stop: () => Promise<LoadResult> } {
  const kv = store.kv('sup');
  const acked = new Map<string, number>();
  const outcomes = new Map<unknown, number>();
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 1; !stopped && i < 100_000; i++) {
      const key = `c${c}-k${i % 20}`;
      const outcome = await outcomeWithin(kv.put(key, String(i)), TIMEOUT_MS + SETTLE_SLACK_MS);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === 'ok') acked.set(key, Math.max(acked.get(key) ?? 0, i));
      if (outcome === HUNG) return;
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return { acked, outcomes };
    },
  };
}

/** Every acknowledged write is still there (values only grow per key in startLoad). */
async function checkNothingLost(
  t: ExecutionContext,
  store: PaxosStore,
  acked: Map<string, number>,
): Promise<void> {
  const kv = store.kv('sup');
  let lost = 0;
  for (const [key, value] of acked) {
    let read: { value: Buffer } | undefined;
    // A group that was restarted may answer UNAVAILABLE while it settles: retry, bounded.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        read = await kv.get(key);
        break;
      } catch (error) {
        if (codeOf(error) !== 'UNAVAILABLE' && codeOf(error) !== 'UNKNOWN_OUTCOME') throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (read === undefined || Number(read.value.toString()) < value) lost++;
  }
  t.is(lost, 0, `acknowledged writes lost: ${lost} of ${acked.size}`);
}

function checkOutcomes(t: ExecutionContext, outcomes: Map<unknown, number>): void {
  t.is(outcomes.get(HUNG) ?? 0, 0, 'a request outlived timeoutMs');
  for (const code of outcomes.keys()) {
    t.true(
      ['ok', 'UNAVAILABLE', 'UNKNOWN_OUTCOME'].includes(code as string),
      `unexpected outcome ${String(code)}`,
    );
  }
  t.true((outcomes.get('ok') ?? 0) > 0, 'some writes succeeded');
}

async function allUp(store: PaxosStore): Promise<boolean> {
  const s = await store.stats();
  const sup = s.supervision;
  return (
    sup.restarting.length === 0 &&
    sup.failed.length === 0 &&
    sup.workers.every((w) => w.state === 'up')
  );
}

for (const engine of ['lsm', 'bitcask'] as const) {
  test.serial(
    `${engine}, sync 'always': a worker thread killed mid-load comes back; no request hangs, nothing acknowledged is lost`,
    async (t) => {
      const store = await openStore(t, {
        ...engineOptions(t, engine),
        sync: 'always',
        timeoutMs: TIMEOUT_MS,
      });
      const load = startLoad(store, 12);
      await new Promise((r) => setTimeout(r, 400));
      const worker = store.workerOfGroup(0, 1);
      store.injectFault(0, 1, 'exitWorker');
      t.true(
        await eventually(
          async () => (await store.stats()).supervision.workerRestarts >= 1,
          400,
          25,
        ),
        'the worker was respawned',
      );
      t.true(await eventually(() => allUp(store), 400, 25), 'every worker and group is up again');
      await new Promise((r) => setTimeout(r, 300));
      const { acked, outcomes } = await load.stop();
      checkOutcomes(t, outcomes);
      const stats = await store.stats();
      t.is(stats.supervision.workers[worker]?.restarts, 1);
      t.true(stats.replicasUp.every(Boolean));
      await checkNothingLost(t, store, acked);
      const report = await store.verify();
      t.true(report.ok);
      t.deepEqual(report.groupsDown, []);
    },
  );
}

test.serial(
  'an actor that throws is restarted from its durable state; its requests settle',
  async (t) => {
    const store = await openStore(t, {
      ...engineOptions(t, 'lsm'),
      sync: 'always',
      timeoutMs: TIMEOUT_MS,
    });
    const load = startLoad(store, 8);
    await new Promise((r) => setTimeout(r, 300));
    store.injectFault(1, 2, 'throwOnTick');
    t.true(
      await eventually(async () => (await store.stats()).supervision.actorRestarts >= 1, 400, 25),
      'the actor was restarted',
    );
    t.true(await eventually(() => allUp(store), 400, 25));
    const { acked, outcomes } = await load.stop();
    checkOutcomes(t, outcomes);
    await checkNothingLost(t, store, acked);
  },
);

test.serial(
  'memory engine: a group restarted by the supervisor comes back amnesic (the amnesia rule)',
  async (t) => {
    const store = await openStore(t, { engine: 'memory', timeoutMs: TIMEOUT_MS });
    const kv = store.kv('sup');
    const keys = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const key of keys) await kv.put(key, 'v1');
    // Only replica 0's group 0 restarts (its state was in memory: lost).
    store.injectFault(0, 0, 'throwOnTick');
    t.true(
      await eventually(async () => (await store.stats()).supervision.actorRestarts >= 1, 400, 25),
    );
    t.true(await eventually(() => allUp(store), 400, 25));
    // With replica 1 down, an amnesic replica 0 cannot recover group 0's keys (it needs a
    // majority not counting itself): they must answer UNAVAILABLE, never a value from an empty
    // state. Keys of the other groups are served as usual.
    await store.replica(1).crash();
    const via0 = store.replica(0).kv('sup');
    const outcomes = await Promise.all(
      keys.map((key) =>
        outcomeWithin(
          via0.get(key).then((r) => {
            if (r?.value.toString() !== 'v1') throw new Error(`${key}: ${String(r?.value)}`);
          }),
          TIMEOUT_MS + SETTLE_SLACK_MS,
        ),
      ),
    );
    t.true(
      outcomes.includes('UNAVAILABLE'),
      'keys of the restarted group are not served before recovery',
    );
    t.true(outcomes.includes('ok'), 'keys of the other groups are served');
    t.true(
      outcomes.every((o) => o === 'ok' || o === 'UNAVAILABLE'),
      outcomes.join(),
    );
  },
);

test.serial(
  'a group that fails on every start is marked failed after the bound, in stats() and verify()',
  async (t) => {
    const store = await openStore(t, {
      ...engineOptions(t, 'lsm'),
      sync: 'always',
      timeoutMs: TIMEOUT_MS,
    });
    const kv = store.kv('sup');
    await kv.put('before', 'x');
    store.injectFault(2, 3, 'failStart');
    const failed = await eventually(
      async () => (await store.stats()).supervision.failed.length > 0,
      600,
      50,
    );
    t.true(failed, 'marked failed');
    const stats = await store.stats();
    t.deepEqual(stats.supervision.failed, [{ replica: 2, group: 3 }]);
    t.true(stats.supervision.actorRestarts >= 1);
    // A failed group is not retried forever: the count stays put.
    const restarts = stats.supervision.actorRestarts;
    await new Promise((r) => setTimeout(r, 1000));
    t.is((await store.stats()).supervision.actorRestarts, restarts);
    const report = await store.verify();
    t.false(report.replicas[2]?.up);
    t.deepEqual(report.groupsDown, [{ replica: 2, group: 3 }]);
    // Requests to the failed group through that replica reject UNAVAILABLE at once; the
    // store still serves every key through the other replicas.
    const via2 = store.replica(2).kv('sup');
    const codes = await Promise.all(
      Array.from({ length: 32 }, (_, i) => settleCode(via2.put(`p${i}`, 'y'))),
    );
    t.true(codes.includes('UNAVAILABLE'), 'some key of group 3 was refused');
    t.true(
      codes.every((c) => c === 'RESOLVED' || c === 'UNAVAILABLE'),
      codes.join(),
    );
    for (let i = 0; i < 32; i++) await kv.put(`q${i}`, 'z');
    // Once the cause is gone, restarting the replica brings the group back.
    store.injectFault(2, 3, 'none');
    await store.replica(2).restart();
    t.deepEqual((await store.stats()).supervision.failed, []);
    t.true((await store.verify()).replicas[2]?.up);
  },
);

test.serial(
  'stats() and verify() racing close() reject CLOSED, never a runtime code',
  async (t) => {
    for (let round = 0; round < 4; round++) {
      const store = await openStore(t, FAST);
      await store.kv('sup').put('a', 'b');
      const stats = settleCode(store.stats());
      const verify = settleCode(store.verify());
      await new Promise((r) => setTimeout(r, round * 2));
      const closing = store.close();
      const codes = [await stats, await verify];
      await closing;
      for (const code of codes)
        t.true(code === 'RESOLVED' || code === 'CLOSED', `round ${round}: ${String(code)}`);
      t.is(await settleCode(store.stats()), 'CLOSED');
      t.is(await settleCode(store.verify()), 'CLOSED');
    }
  },
);

test.serial('two concurrent replica(1).restart() calls both resolve', async (t) => {
  const store = await openStore(t, FAST);
  await store.replica(1).crash();
  const codes = await Promise.all([
    settleCode(store.replica(1).restart()),
    settleCode(store.replica(1).restart()),
  ]);
  t.deepEqual(codes, ['RESOLVED', 'RESOLVED']);
  t.true(store.replica(1).up);
  await store.replica(1).kv('sup').put('k', 'v');
});

test.serial('restart() followed at once by crash() (not awaited) ends crashed', async (t) => {
  const store = await openStore(t, FAST);
  await store.replica(1).crash();
  const restarting = store.replica(1).restart();
  const crashing = store.replica(1).crash();
  await Promise.all([restarting, crashing]);
  t.false(store.replica(1).up);
  t.false((await store.stats()).replicasUp[1]);
  t.is(await settleCode(store.replica(1).kv('sup').get('k')), 'UNAVAILABLE');
});
