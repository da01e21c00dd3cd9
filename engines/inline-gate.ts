/**
 * A gate for work an engine may do on the calling thread while it is cheap, and hands to
 * libuv's thread pool while it is not: appends that the page cache takes (fs/inline-writes.ts)
 * and point reads that LevelDB's caches or the page cache answer (inline-reads.ts).
 *
 * The caller asks `allows(size)` before each call and reports its wall time with `took(ms)`.
 * One call above `stallMs`, or a running mean (weight 1/16, each call counted as at most four
 * times `meanMsMax`) above `meanMsMax`, means the
 * kernel or the disk made the thread wait: calls then go to the pool for `offMs`, which doubles
 * (up to `offMsMax`) each time the first inline call after a back-off stalls again, and falls
 * back to `offMsMin` once one does not. A call larger than `sizeMax` (bytes of an append, keys
 * of a read) always takes the pool: it alone would hold the thread.
 *
 * Wall time also counts a preemption of the thread; on a machine with more runnable threads
 * than cores a call is sometimes descheduled for several milliseconds, so the single-call
 * bound sits above that (docs/decisions.md "Appends on the calling thread while the page
 * cache takes them").
 */
import { assert } from '../runtime/assert';

export interface InlineGateOptions {
  /** Largest call done inline, in the caller's unit (bytes, keys). */
  readonly sizeMax: number;
  /** An inline call that took longer than this waited for the disk, milliseconds. */
  readonly stallMs: number;
  /** A running mean of inline calls above this means every call waits, milliseconds. */
  readonly meanMsMax: number;
  readonly offMsMin: number;
  readonly offMsMax: number;
}

export interface InlineGateStats {
  /** Calls done on the calling thread. */
  readonly inline: number;
  /** Calls sent through the pool while the gate was open (too large) or backed off. */
  readonly pooled: number;
  /** Back-offs: an inline call above `stallMs`, or the running mean above `meanMsMax`. */
  readonly stalls: number;
  /** The longest inline call, milliseconds. */
  readonly slowestMs: number;
}

/** The running mean's weight: one call moves it by 1/16 of its difference. */
const MEAN_WEIGHT = 16;
/**
 * A call counts in the running mean for at most this many times `meanMsMax`. The mean is for a
 * device on which every call waits a little (a few milliseconds each); one long call is the
 * single-call bound's (`stallMs`). Unclamped, one call of 16 ms moved the mean by 1 ms and backed
 * the gate off although it was under `stallMs`: on a loaded machine a preemption of that length
 * is common (slowest inline appends of 12–16 ms in paxos-path runs at load 3–4), and each such
 * back-off sent a second of appends through the pool.
 */
const MEAN_SAMPLE_MAX_FACTOR = 4;

export class InlineGate {
  private offUntil = Number.NEGATIVE_INFINITY;
  private offMs: number;
  /** The next inline call is the first after a back-off: its stall doubles the next one. */
  private probing = false;
  /** Running mean of inline calls since the last back-off, milliseconds (weight 1/16). */
  private meanMs = 0;
  private inline = 0;
  private pooled = 0;
  private stalls = 0;
  private slowestMs = 0;

  constructor(
    /** The gate's clock (milliseconds): callers time their inline calls with it. */
    readonly now: () => number,
    private readonly options: InlineGateOptions,
  ) {
    assert(
      options.sizeMax >= 0 && options.stallMs > 0 && options.meanMsMax > 0,
      'inline gate: bad bounds',
    );
    assert(
      options.offMsMin > 0 && options.offMsMax >= options.offMsMin,
      'inline gate: bad back-off',
    );
    this.offMs = options.offMsMin;
  }

  /**
   * `allows` without counting a refusal: for a caller that asks first and, when refused, goes
   * on to a path that asks `allows` itself (bitcask's idle append, writer.ts `appendNow`).
   */
  wouldAllow(size: number): boolean {
    return size <= this.options.sizeMax && this.now() >= this.offUntil;
  }

  /** True when a call of `size` may run inline now (then report it with `took`). */
  allows(size: number): boolean {
    if (size <= this.options.sizeMax && this.now() >= this.offUntil) return true;
    this.pooled += 1;
    return false;
  }

  stats(): InlineGateStats {
    return {
      inline: this.inline,
      pooled: this.pooled,
      stalls: this.stalls,
      slowestMs: this.slowestMs,
    };
  }

  /** Reports an inline call's wall time; a stall backs the gate off. */
  took(ms: number): void {
    this.inline += 1;
    if (ms > this.slowestMs) this.slowestMs = ms;
    const sample = Math.min(ms, this.options.meanMsMax * MEAN_SAMPLE_MAX_FACTOR);
    this.meanMs += (sample - this.meanMs) / MEAN_WEIGHT;
    if (ms <= this.options.stallMs && this.meanMs <= this.options.meanMsMax) {
      if (this.probing) this.offMs = this.options.offMsMin;
      this.probing = false;
      return;
    }
    this.stalls += 1;
    this.meanMs = 0;
    if (this.probing) this.offMs = Math.min(this.offMs * 2, this.options.offMsMax);
    this.offUntil = this.now() + this.offMs;
    this.probing = true;
  }
}
