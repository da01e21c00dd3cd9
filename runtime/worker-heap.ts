/**
 * The old-generation heap limit of each worker thread (`resourceLimits.maxOldGenerationSizeMb`).
 *
 * A worker's V8 isolate gets the same default limit as the main thread's (about 4 GiB on a
 * 64-bit machine with plenty of memory, whatever the machine holds), and a worker that reaches
 * it dies with an out-of-memory error. The memory engine keeps its cache of full keys on the
 * heap (its settled keys are in ArrayBuffer slabs outside it since decision 29, but the
 * garbage the cache leaves is not), so a low limit would cap it; and a heap close to its
 * limit spends its time in full collections, which stall requests into timeouts well before
 * it dies. The default therefore shares half of the machine's memory among the workers
 * (never less than V8's own default). Not more: V8 lets a heap grow to several times what
 * survived its last full collection before it collects again (up to the limit), so a generous
 * limit is also what the heaps' RSS can reach; the other half is for the main thread, the
 * rings, buffers outside the heap and the OS.
 */
import * as os from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { assert } from './assert';

/** Share of the machine's memory the workers' heaps may use together. */
const MACHINE_SHARE = 0.5;
const MB = 1024 * 1024;
/** Bounds of an explicit limit, in MiB. */
export const WORKER_HEAP_MB_MIN = 64;
export const WORKER_HEAP_MB_MAX = 1 << 20;

/** The default limit per worker, in MiB, for `workers` workers on this machine. */
export function defaultWorkerHeapMb(workers: number): number {
  assert(Number.isInteger(workers) && workers >= 1, () => `workers ${workers}`);
  const v8DefaultMb = Math.floor(getHeapStatistics().heap_size_limit / MB);
  const shareMb = Math.floor((os.totalmem() * MACHINE_SHARE) / workers / MB);
  const mb = Math.min(WORKER_HEAP_MB_MAX, Math.max(v8DefaultMb, shareMb));
  assert(mb >= WORKER_HEAP_MB_MIN, () => `worker heap default of ${mb} MiB`);
  return mb;
}
