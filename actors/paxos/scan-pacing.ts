/**
 * Pacing of digest scans on one thread (replica-digest.ts, docs/decisions.md "Repair rounds
 * that writes do not feel"). A scan runs in slices; paced scans (the background repair asks for
 * them) take, all scans of the thread together, at most a share of its wall time:
 * SCAN_SHARE_BUSY while the thread has other work (the writes of its groups), SCAN_SHARE_IDLE
 * while it has none. "Other work" is measured where it happens: the thread's event-loop
 * utilization between two paced slices (no scan ran then, so whatever kept the loop busy was
 * someone else's). An unpaced scan (`verify()` called by a user) only yields a turn.
 *
 * The share is a bucket of scan time: it fills at `share` ms per ms of wall time, up to
 * CREDIT_MS_MAX, and each slice takes its duration out (into debt). A paced scan waits until the
 * bucket is not in debt. A timer that fires late (a loaded machine) leaves more credit, so the
 * share holds however coarse the timers are; the cap keeps an idle spell from saving up a burst.
 * Every slice is followed by a turn at least, so writes run between any two slices.
 *
 * The bucket's arithmetic is pure and table-tested (runtime/token-bucket.ts, shared with the
 * repair's key tokens); `ScanPacer` holds the clock and the measurements.
 */
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../runtime/assert';
import { refillBucket, spendBucket } from '../../runtime/token-bucket';
import type { TokenBucket } from '../../runtime/token-bucket';

/** Share of the thread's time paced scans may take while the thread has other work. */
export const SCAN_SHARE_BUSY = 0.2;
/** ... and while it has none (not 1: a write that arrives mid-slice waits for the slice). */
export const SCAN_SHARE_IDLE = 0.5;
/** Other work above this share of the thread's time between two slices: the thread is busy. */
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
/** The most scan time the bucket holds: a few slices. */
export const CREDIT_MS_MAX = 2;
/** The deepest debt (a slice a collection stretched does not stall the scans for long). */
export const DEBT_MS_MAX = 50;
/** Waits for credit before one slice at most (then the slice runs: no scan starves for good). */
const ENTER_WAITS_MAX = 64;

/** Scan time available, in ms (`level`; negative: debt), as of `atMs` (the thread's clock). */
export type ScanBudget = TokenBucket;

/** The share of the thread paced scans may take, given the other work measured. */
export function shareFor(otherUtilization: number): number {
  assert(otherUtilization >= 0 && otherUtilization <= 1, () => `utilization ${otherUtilization}`);
  return otherUtilization > BUSY_UTILIZATION ? SCAN_SHARE_BUSY : SCAN_SHARE_IDLE;
}

/** The bucket at `nowMs`, refilled at `share` ms per ms, never above CREDIT_MS_MAX. */
export function refill(b: ScanBudget, nowMs: number, share: number): ScanBudget {
  assert(share > 0 && share <= 1, () => `share ${share}`);
  return refillBucket(b, nowMs, share * 1000, CREDIT_MS_MAX);
}

/** Takes a slice of `sliceMs` out of the bucket (into debt, at most DEBT_MS_MAX deep). */
export function spend(b: ScanBudget, sliceMs: number): ScanBudget {
  return spendBucket(b, sliceMs, DEBT_MS_MAX);
}

/** How long to wait before the next slice: until the debt is refilled (0: at once). */
export function waitMsFor(b: ScanBudget, share: number): number {
  assert(share > 0 && share <= 1, () => `share ${share}`);
  const waitMs = b.level >= 0 ? 0 : -b.level / share;
  assert(waitMs >= 0 && waitMs <= DEBT_MS_MAX / share, () => `wait ${waitMs}`);
  return waitMs;
}

/**
 * The paced scans of one thread share one bucket: a group's replicas often live on one worker
 * (placement.ts `together`), and three scans each taking a share would take three.
 */
class ThreadBudget {
  private bucket: ScanBudget = { level: 0, atMs: performance.now() };
  private otherUtilization = 0;
  private gapStart: EventLoopUtilization | undefined;

  get busy(): boolean {
    return this.otherUtilization > BUSY_UTILIZATION;
  }

  sliceEnded(sliceMs: number): void {
    const now = performance.now();
    this.bucket = spend(refill(this.bucket, now, shareFor(this.otherUtilization)), sliceMs);
    this.gapStart = performance.eventLoopUtilization();
  }

  /** Waits for this thread's next paced slice (a turn at least), then measures the gap. */
  async enter(): Promise<void> {
    await nextTurn();
    // Another scan of this thread may spend the credit first: wait again, a bounded number of
    // times (then run anyway).
    for (let i = 0; i < ENTER_WAITS_MAX; i++) {
      const share = shareFor(this.otherUtilization);
      this.bucket = refill(this.bucket, performance.now(), share);
      const waitMs = waitMsFor(this.bucket, share);
      if (waitMs <= 0) break;
      await sleep(Math.max(1, waitMs));
    }
    if (this.gapStart !== undefined) {
      const gap = performance.eventLoopUtilization(this.gapStart);
      this.otherUtilization = Math.min(1, Math.max(0, gap.utilization));
    }
  }
}

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
