/**
 * OffloadPool: tasks named by module and export run in the pool's thread; close cancels queued
 * and running work; after close every run rejects with PXS_OFFLOAD_CLOSED; the bound refuses
 * with PXS_OFFLOAD_BUSY; stats count what happened. No timing assertions: a "running" task is
 * one that never finishes until cancelled.
 */
import * as path from 'node:path';
import test from 'ava';
import { OffloadPool } from '../../../runtime/offload-pool';
import { RuntimeError } from '../../../runtime/errors';

const FILE = path.join(__dirname, 'fixtures', 'offload-tasks.js');
const DOUBLE = { filename: FILE };
const SUM = { filename: FILE, name: 'sumBytes' };
const HANG = { filename: FILE, name: 'hang' };
const FAIL = { filename: FILE, name: 'fail' };

function codeOf(error: unknown): string | undefined {
  return error instanceof RuntimeError ? error.code : undefined;
}

test('a pool is created on the first task only, runs named exports, and counts them', async (t) => {
  const pool = new OffloadPool();
  try {
    t.like(pool.stats(), { pools: 0, threads: 0, threadsMax: 1, tasksRun: 0, queued: 0 });
    t.is(await pool.run(DOUBLE, 21), 42);
    const bytes = new Uint8Array([1, 2, 3, 250]);
    t.is(await pool.run(SUM, bytes.buffer, { transferList: [bytes.buffer] }), 256);
    t.is(bytes.byteLength, 0, 'the buffer was moved, not copied');
    const results = await Promise.all([1, 2, 3, 4].map((n) => pool.run(DOUBLE, n)));
    t.deepEqual(results, [2, 4, 6, 8]);
    t.like(pool.stats(), { pools: 1, tasksRun: 6, tasksFailed: 0, queued: 0, taskModules: 2 });
    t.true(pool.stats().threads <= 1);
  } finally {
    await pool.close();
  }
});

test('a task that throws rejects with its error and counts as failed', async (t) => {
  const pool = new OffloadPool();
  try {
    const error = await t.throwsAsync(() => pool.run(FAIL, 'boom'));
    t.regex(String(error?.message), /task failed: boom/);
    t.is(await pool.run(DOUBLE, 1), 2, 'the pool still works');
    t.like(pool.stats(), { tasksFailed: 1, tasksRun: 1 });
  } finally {
    await pool.close();
  }
});

test('close cancels running and queued tasks; run after close is PXS_OFFLOAD_CLOSED', async (t) => {
  const pool = new OffloadPool({ threadsMax: 1, queueMax: 4 });
  const running = pool.run(HANG, null);
  const queued = pool.run(DOUBLE, 5);
  t.is(pool.stats().queued, 2);
  await pool.close();
  t.is(codeOf(await running.catch((e: unknown) => e)), 'PXS_OFFLOAD_CANCELLED');
  t.is(codeOf(await queued.catch((e: unknown) => e)), 'PXS_OFFLOAD_CANCELLED');
  t.is(codeOf(await pool.run(DOUBLE, 1).catch((e: unknown) => e)), 'PXS_OFFLOAD_CLOSED');
  t.like(pool.stats(), { closed: true, queued: 0, tasksCancelled: 2, threads: 0 });
  await pool.close(); // idempotent
});

test('a caller’s signal cancels its own task only', async (t) => {
  const pool = new OffloadPool();
  try {
    const controller = new AbortController();
    const hanging = pool.run(HANG, null, { signal: controller.signal });
    controller.abort();
    t.is(codeOf(await hanging.catch((e: unknown) => e)), 'PXS_OFFLOAD_CANCELLED');
    const aborted = AbortSignal.abort();
    t.is(
      codeOf(await pool.run(DOUBLE, 1, { signal: aborted }).catch((e: unknown) => e)),
      'PXS_OFFLOAD_CANCELLED',
    );
    t.is(await pool.run(DOUBLE, 4), 8, 'the pool runs the next task');
    t.like(pool.stats(), { tasksCancelled: 2, tasksRun: 1 });
  } finally {
    await pool.close();
  }
});

test('more than threadsMax + queueMax tasks in flight are refused with PXS_OFFLOAD_BUSY', async (t) => {
  const pool = new OffloadPool({ threadsMax: 1, queueMax: 1 });
  const first = pool.run(HANG, null).catch((e: unknown) => e);
  const second = pool.run(HANG, null).catch((e: unknown) => e);
  t.is(codeOf(await pool.run(DOUBLE, 1).catch((e: unknown) => e)), 'PXS_OFFLOAD_BUSY');
  t.like(pool.stats(), { tasksRefused: 1, queued: 2 });
  await pool.close();
  t.is(codeOf(await first), 'PXS_OFFLOAD_CANCELLED');
  t.is(codeOf(await second), 'PXS_OFFLOAD_CANCELLED');
});

test('bad options are PXS_INVALID_OPTIONS; a relative task path is a programmer error', async (t) => {
  for (const options of [
    { threadsMax: 0 },
    { threadsMax: 1.5 },
    { queueMax: -1 },
    { idleTimeoutMs: -1 },
  ]) {
    t.is(
      codeOf(t.throws(() => new OffloadPool(options))),
      'PXS_INVALID_OPTIONS',
      JSON.stringify(options),
    );
  }
  const pool = new OffloadPool();
  const error = await t.throwsAsync(() => pool.run({ filename: 'relative.js' }, 1));
  t.is((error as { code?: string }).code, 'ASSERTION_FAILED');
  t.is(pool.stats().pools, 0, 'nothing started');
  await pool.close();
});

// piscina 5 with minThreads 0 lost this task for good: cancelling the running one ends the only
// thread, and nothing started another. The merge of an engine closed under it does exactly this.
test('a task queued behind one that is cancelled while running still runs', async (t) => {
  const pool = new OffloadPool({ threadsMax: 1, queueMax: 4 });
  try {
    t.is(await pool.run(DOUBLE, 1), 2, 'the thread is up');
    const controller = new AbortController();
    const running = pool.run(HANG, null, { signal: controller.signal }).catch((e: unknown) => e);
    const queued = pool.run(DOUBLE, 21);
    controller.abort();
    t.is(codeOf(await running), 'PXS_OFFLOAD_CANCELLED');
    t.is(await queued, 42);
    t.like(pool.stats(), { tasksRun: 2, tasksCancelled: 1, pools: 1 });
  } finally {
    await pool.close();
  }
});
