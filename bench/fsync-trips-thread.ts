/**
 * Worker side of bench/fsync-trips.ts ('thread' mode): the shape of a per-worker sync batcher.
 * It parks on slot 0 of a shared control array; when woken with a count n > 0 it runs
 * `fs.fdatasyncSync` on the n descriptors in slots 2.., one after another, stores each errno
 * (0 for success) beside them, then bumps the round counter in slot 1 and notifies it. A
 * negative count ends the thread.
 */
import { fdatasyncSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { assert } from '../runtime/assert';

export const SLOT_COUNT = 0;
export const SLOT_ROUND = 1;
export const SLOT_FDS = 2;
/** Most descriptors per round (the control array's size). */
export const FDS_MAX = 256;

/** The control array: count, round, FDS_MAX descriptors, FDS_MAX errnos. */
export function controlBytes(): number {
  return 4 * (SLOT_FDS + 2 * FDS_MAX);
}

function errnoOf(err: unknown): number {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && errno !== 0 ? errno : -1;
}

function run(control: Int32Array): void {
  assert(control.length === controlBytes() / 4, 'fsync-trips thread: control size');
  for (;;) {
    Atomics.wait(control, SLOT_COUNT, 0);
    const n = Atomics.load(control, SLOT_COUNT);
    if (n < 0) return;
    assert(n <= FDS_MAX, `fsync-trips thread: ${n} descriptors > ${FDS_MAX}`);
    for (let i = 0; i < n; i++) {
      let errno = 0;
      try {
        fdatasyncSync(control[SLOT_FDS + i] ?? -1);
      } catch (err) {
        errno = errnoOf(err);
      }
      control[SLOT_FDS + FDS_MAX + i] = errno;
    }
    Atomics.store(control, SLOT_COUNT, 0);
    Atomics.add(control, SLOT_ROUND, 1);
    Atomics.notify(control, SLOT_ROUND);
  }
}

if (!isMainThread) run(new Int32Array((workerData as { control: SharedArrayBuffer }).control));
