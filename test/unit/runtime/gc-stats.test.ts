/**
 * runtime/gc-stats.ts: a thread's collector pauses, counted from perf_hooks' 'gc' entries. A
 * forced full collection must show up as a major pause, and the figures must hang together.
 */
import test from 'ava';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { gcStats, observeGc } from '../../../runtime/gc-stats';

test('a forced full collection is counted as a major pause', async (t) => {
  observeGc();
  observeGc(); // idempotent: one observer
  const before = gcStats();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  // The observer is called asynchronously, after the collection.
  for (let i = 0; i < 100 && gcStats().majorCount === before.majorCount; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const after = gcStats();
  t.true(after.majorCount > before.majorCount, JSON.stringify(after));
  t.true(after.count >= after.majorCount);
  t.true(after.totalMs >= after.majorTotalMs && after.majorTotalMs > 0);
  t.true(after.p99Ms <= after.maxMs && after.maxMs > 0);
});
