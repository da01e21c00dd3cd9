/**
 * One offload pool per worker thread (docs/decisions.md, "One offload pool per worker thread"):
 * a store with 2 workers and 8 groups (24 group actors, each with its own engine) runs its
 * digest scans in at most 2 pools, one per worker, each of at most one thread. Counted through
 * the pools' own stats (`store.stats().workers[i].offload`), never by timing.
 */
import test from 'ava';
import { openStore, tempDir } from './helpers';

const KEYS = Array.from({ length: 96 }, (_, i) => `key-${i}`);
/** Large enough that every group's digest slice passes the offload threshold (64 KiB). */
const VALUE = 'v'.repeat(24 * 1024);

test('2 workers, 8 groups: digest scans run in at most 2 shared pools, one thread each', async (t) => {
  const store = await openStore(t, { engine: 'bitcask', dir: tempDir(t), workers: 2, groups: 8 });
  for (let i = 0; i < KEYS.length; i += 16) {
    await Promise.all(KEYS.slice(i, i + 16).map((k) => store.kv('users').put(k, `${VALUE}-${k}`)));
  }
  // A put answers once a majority accepted; the chosen notice reaches the third replica a
  // moment later, and a digest counts chosen keys only. Verify again (bounded) until every
  // replica has counted every key: this test is about the pools, not about that race.
  let report = await store.verify();
  for (let i = 0; i < 20 && !report.replicas.every((r) => r.keys === KEYS.length); i++) {
    await new Promise((r) => setTimeout(r, 100));
    report = await store.verify();
  }
  t.true(report.ok, JSON.stringify(report.mismatches.slice(0, 3)));
  t.true(
    report.replicas.every((r) => r.keys === KEYS.length),
    JSON.stringify(report.replicas.map((r) => r.keys)),
  );
  const workers = (await store.stats()).workers as {
    offload?: {
      pools: number;
      threads: number;
      threadsMax: number;
      tasksRun: number;
      tasksFailed: number;
    };
  }[];
  t.is(workers.length, 2);
  const pools = workers.map((w) => w.offload?.pools ?? -1);
  t.true(
    pools.every((n) => n === 0 || n === 1),
    `pools per worker: ${pools.join(', ')}`,
  );
  t.true(pools.reduce((a, b) => a + b, 0) <= 2);
  for (const w of workers) t.true((w.offload?.threads ?? 99) <= (w.offload?.threadsMax ?? 0));
  const tasks = workers.reduce((sum, w) => sum + (w.offload?.tasksRun ?? 0), 0);
  // 3 replicas × 8 groups scanned, each with at least one slice past the threshold.
  t.true(tasks >= 24, `tasks run in the shared pools: ${tasks}`);
  t.is(
    workers.reduce((sum, w) => sum + (w.offload?.tasksFailed ?? 0), 0),
    0,
  );
});
