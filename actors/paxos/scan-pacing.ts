/**
 * Pacing of digest scans on one thread (replica-digest.ts, docs/decisions.md "Repair rounds
 * that writes do not feel"). A scan runs in slices of at most STORED_KEYS_PER_TURN records;
 * paced scans (the background repair asks for them) then pause long enough that their slices,
 * all scans of the thread together, take at most a share of its time: SCAN_SHARE_BUSY while the
 * thread has other work (the writes of its groups), SCAN_SHARE_IDLE while it has none. "Other
 * work" is measured where it happens: the thread's event-loop utilization between two paced
 * slices (no scan ran then, so whatever kept the loop busy was someone else's). An unpaced scan
 * (`verify()` called by a user) only yields a turn.
 *
 * `pauseMsAfter` is pure and table-tested; `ScanPacer` holds the clock and the measurements.
 */
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../runtime/assert';

/** Share of the thread paced scans may take while the thread has other work. */
export const SCAN_SHARE_BUSY = 0.2;
/** ... and while it has none (not 1: a write that arrives mid-slice waits for the slice). */
export const SCAN_SHARE_IDLE = 0.5;
/** Other work above this share of the thread's time during the last pause: the thread is busy. */
export const BUSY_UTILIZATION = 0.15;
/**
 * A paced slice ends after this long (checked every SLICE_CHECK_RECORDS records), whatever its
 * record count: what a write waiting behind a slice pays. Measured: with slices of 1,024 records
 * (~3 ms) writes fell to ~57 % of their rate during a round on a quiet machine, though the
 * process used less CPU than between rounds: the writes of a group whose replicas share the
 * scanning worker waited behind the slices at every hop of their rounds.
 */
export const SLICE_MS_MAX = 0.5;
const SLICE_CHECK_RECORDS = 32;
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

/**
 * The paced scans of one thread share one budget: a group's replicas often live on one worker
 * (placement.ts `together`), and three scans each taking a share would take three. After any
 * paced slice ends, no paced slice on this thread starts before `nextAt`; "other work" is the
 * thread's event-loop utilization in the gap since the last paced slice ended.
 */
class ThreadBudget {
  private nextAt = 0;
  private otherUtilization = 0;
  private gapStart: EventLoopUtilization | undefined;

  get busy(): boolean {
    return this.otherUtilization > BUSY_UTILIZATION;
  }

  sliceEnded(sliceMs: number): void {
    const now = performance.now();
    this.nextAt = Math.max(this.nextAt, now + pauseMsAfter(sliceMs, this.otherUtilization));
    this.gapStart = performance.eventLoopUtilization();
  }

  /** Waits for this thread's next paced slice (a turn at least), then measures the gap. */
  async enter(): Promise<void> {
    await nextTurn();
    // Another scan of this thread may take the slot first: wait again, a bounded number of
    // times (then run anyway: a scan is never starved for good).
    for (let i = 0; i < ENTER_WAITS_MAX; i++) {
      const waitMs = this.nextAt - performance.now();
      if (waitMs < 1) break;
      await sleep(waitMs);
    }
    if (this.gapStart !== undefined) {
      const gap = performance.eventLoopUtilization(this.gapStart);
      this.otherUtilization = Math.min(1, Math.max(0, gap.utilization));
    }
  }
}

/** Waits for the slot before a paced slice at most this many times. */
const ENTER_WAITS_MAX = 64;
/** One per thread (the module is loaded once per worker). */
const budget = new ThreadBudget();

/** Between two slices of a scan: a turn, or a paced pause (this thread's budget). */
export class ScanPacer {
  private sliceStart = performance.now();
  /** Pauses taken, and those taken while the thread was busy (tests, benches). */
  pauses = 0;
  busyPauses = 0;

  constructor(private readonly paced: boolean) {}

  /** Whether the slice ends after its `n`th record (`max`: the most records a slice holds). */
  due(n: number, max: number): boolean {
    if (n >= max) return true;
    if (!this.paced || n % SLICE_CHECK_RECORDS !== 0) return false;
    return performance.now() - this.sliceStart >= SLICE_MS_MAX;
  }

  /** Ends a slice: yields the thread, for long enough when paced. */
  async pause(): Promise<void> {
    if (!this.paced) await nextTurn();
    else {
      budget.sliceEnded(performance.now() - this.sliceStart);
      this.pauses += 1;
      if (budget.busy) this.busyPauses += 1;
      await budget.enter();
    }
    this.sliceStart = performance.now();
  }
}
