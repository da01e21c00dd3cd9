/**
 * The worker heap limit's default (runtime/worker-heap.ts): a share of the machine's memory,
 * never below V8's own default, and smaller per worker as workers are added.
 */
import test from 'ava';
import * as os from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { WORKER_HEAP_MB_MAX, defaultWorkerHeapMb } from '../../../runtime/worker-heap';

const MB = 1024 * 1024;

test('the default is at least V8 own limit and at most the machine', (t) => {
  const v8Mb = Math.floor(getHeapStatistics().heap_size_limit / MB);
  for (const workers of [1, 2, 4, 64]) {
    const mb = defaultWorkerHeapMb(workers);
    t.true(mb >= v8Mb, `${workers} workers: ${mb} MiB < V8's ${v8Mb}`);
    t.true(
      mb <= Math.max(v8Mb, os.totalmem() / MB) && mb <= WORKER_HEAP_MB_MAX,
      `${workers} workers: ${mb} MiB`,
    );
  }
});

test('more workers never get more heap each', (t) => {
  let previous = Infinity;
  for (const workers of [1, 2, 3, 8, 32]) {
    const mb = defaultWorkerHeapMb(workers);
    t.true(mb <= previous, `${workers} workers: ${mb} MiB > ${previous}`);
    previous = mb;
  }
});

test('a bad worker count is a programmer error', (t) => {
  t.throws(() => defaultWorkerHeapMb(0));
  t.throws(() => defaultWorkerHeapMb(1.5));
});
