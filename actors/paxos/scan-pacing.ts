/**
 * Pacing of a digest scan inside one group replica (replica-digest.ts, docs/decisions.md
 * "Repair rounds that writes do not feel"). A scan runs in slices of at most
 * STORED_KEYS_PER_TURN records; a paced scan (the background repair asks for one) then pauses
 * long enough that its slices take at most a share of the actor thread's time: SCAN_SHARE_BUSY
 * while the thread has other work (the writes of its groups), SCAN_SHARE_IDLE while it has
 * none. "Other work" is measured where it happens: the thread's event-loop utilization during
 * the scan's own last pause (the scan did not run then, so whatever kept the loop busy was
 * someone else's). An unpaced scan (`verify()` called by a user) only yields a turn.
 *
 * `pauseMsAfter` is pure and table-tested; `ScanPacer` holds the clock and the measurements.
 */
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../runtime/assert';

/** Share of the thread a paced scan may take while the thread has other work. */
export const SCAN_SHARE_BUSY = 0.1;
/** ... and while it has none (not 1: a write that arrives mid-slice waits for the slice). */
export const SCAN_SHARE_IDLE = 0.5;
/** Other work above this share of the thread's time during the last pause: the thread is busy. */
export const BUSY_UTILIZATION = 0.15;
/** The longest pause (a slice that a collection stretched does not stall the scan for long). */
export const PAUSE_MS_MAX = 250;

/** How long a paced scan pauses after a slice of `sliceMs`, given the thread's other work. */
export function pauseMsAfter(sliceMs: number, otherUtilization: number): number {
  assert(sliceMs >= 0 && Number.isFinite(sliceMs), () => `slice of ${sliceMs} ms`);
  assert(otherUtilization >= 0 && otherUtilization <= 1, () => `utilization ${otherUtilization}`);
  const share = otherUtilization > BUSY_UTILIZATION ? SCAN_SHARE_BUSY : SCAN_SHARE_IDLE;
  const pause = Math.min(PAUSE_MS_MAX, (sliceMs * (1 - share)) / share);
  assert(pause >= 0 && pause <= PAUSE_MS_MAX, () => `pause ${pause}`);
  return pause;
}

/** Between two slices of a scan: a turn, or a paced pause. */
export class ScanPacer {
  private sliceStart = performance.now();
  private otherUtilization = 0;
  /** Pauses taken, and those taken while the thread was busy (answer stats, benches). */
  pauses = 0;
  busyPauses = 0;

  constructor(private readonly paced: boolean) {}

  /** Ends a slice: yields the thread, for long enough when paced. */
  async pause(): Promise<void> {
    const sliceMs = performance.now() - this.sliceStart;
    if (!this.paced) await nextTurn();
    else {
      const pauseMs = pauseMsAfter(sliceMs, this.otherUtilization);
      this.pauses += 1;
      if (this.otherUtilization > BUSY_UTILIZATION) this.busyPauses += 1;
      const before: EventLoopUtilization = performance.eventLoopUtilization();
      if (pauseMs >= 1) await sleep(pauseMs);
      else await nextTurn();
      const during = performance.eventLoopUtilization(before);
      // Utilization is a share of wall time; a pause of a turn measures little, keep it anyway.
      this.otherUtilization = Math.min(1, Math.max(0, during.utilization));
    }
    this.sliceStart = performance.now();
  }
}
