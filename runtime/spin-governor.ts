/**
 * Whether a thread with no work should spin before it parks, decided from whether it waits
 * for a CPU (issue 10, "Scaling"; docs/decisions.md "Spin only with a core to spare").
 *
 * A spin keeps a thread runnable so that a message arriving within `spinMicros` is handled
 * without a wake-up. That is worth it only when the spinning thread has a core of its own:
 * when the runnable threads outnumber the cores (three busy threads of ours on two cores, or
 * other processes), every microsecond of spin is taken from a thread that has work, the turns
 * find less and less per turn, and latency and CPU per operation both get worse (measured:
 * bench/README.md "Issue 10, fifth pass"). Linux says how long this thread was runnable but
 * waited for a CPU (`/proc/thread-self/schedstat`, second field): that is the direct signal.
 *
 * Every `windowMs` the governor compares the thread's run-queue wait with its runnable time
 * (run + wait) over the window. While spinning, a share above `waitShareMax` turns the spin
 * off for `offMs`, which doubles (up to `offMsMax`) each time a probe finds the cores still
 * contended, so a contended machine pays one probing window in `offMsMax`. A window in which
 * the spin ran without contention resets the back-off. Where the signal is missing (not
 * Linux, no /proc), the spin is always on: the fixed spin of before.
 */
import { assert } from './assert';

export interface SchedSample {
  /** Time on a CPU, microseconds, monotonic. */
  readonly runMicros: number;
  /** Time runnable but waiting on a run queue, microseconds, monotonic. */
  readonly waitMicros: number;
}

export interface SpinGovernorOptions {
  /** The spin when the thread has a core to spare. */
  readonly spinMicros: number;
  readonly windowMs: number;
  /** Share of runnable time spent waiting for a CPU above which spinning stops. */
  readonly waitShareMax: number;
  /** Runnable time in a window below which it says nothing (the thread mostly parked). */
  readonly runnableMicrosMin: number;
  readonly offMsMin: number;
  readonly offMsMax: number;
}

export const SPIN_GOVERNOR_DEFAULTS: Omit<SpinGovernorOptions, 'spinMicros'> = {
  windowMs: 100,
  waitShareMax: 0.05,
  runnableMicrosMin: 2_000,
  offMsMin: 500,
  offMsMax: 8_000,
};

export class SpinGovernor {
  /** Windows that turned the spin off (cores contended), for stats. */
  offs = 0;
  private spinning = true;
  private windowStartMs = -1;
  private last: SchedSample | undefined;
  private offUntilMs = 0;
  private offMs: number;

  constructor(
    private readonly options: SpinGovernorOptions,
    private readonly sample: () => SchedSample | undefined,
  ) {
    const o = options;
    assert(o.spinMicros >= 0 && o.windowMs > 0, `bad spin ${o.spinMicros} / ${o.windowMs}`);
    assert(o.waitShareMax > 0 && o.waitShareMax < 1, `bad waitShareMax ${o.waitShareMax}`);
    assert(o.offMsMin > 0 && o.offMsMax >= o.offMsMin, `bad off ${o.offMsMin}..${o.offMsMax}`);
    this.offMs = o.offMsMin;
  }

  /** True while the spin is on. */
  get spinOn(): boolean {
    return this.spinning;
  }

  /** The spin to use now (`nowMs`: a monotonic clock, performance.now()). */
  spinMicros(nowMs: number): number {
    if (this.options.spinMicros === 0) return 0;
    if (this.windowStartMs < 0 || nowMs - this.windowStartMs >= this.options.windowMs) {
      this.endWindow(nowMs);
    }
    return this.spinning ? this.options.spinMicros : 0;
  }

  private endWindow(nowMs: number): void {
    const previous = this.last;
    const current = this.sample();
    this.windowStartMs = nowMs;
    this.last = current;
    if (!this.spinning) {
      // A probe: spin for the next window and see whether the cores are contended.
      if (nowMs >= this.offUntilMs) this.spinning = true;
      return;
    }
    if (previous === undefined || current === undefined) return;
    const run = current.runMicros - previous.runMicros;
    const wait = current.waitMicros - previous.waitMicros;
    assert(run >= 0 && wait >= 0, `schedstat went back: run ${run}, wait ${wait}`);
    if (run + wait < this.options.runnableMicrosMin) return;
    if (wait / (run + wait) <= this.options.waitShareMax) {
      this.offMs = this.options.offMsMin;
      return;
    }
    this.spinning = false;
    this.offs++;
    this.offUntilMs = nowMs + this.offMs;
    this.offMs = Math.min(this.offMs * 2, this.options.offMsMax);
  }
}
