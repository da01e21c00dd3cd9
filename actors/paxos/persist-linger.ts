/**
 * Adaptive group commit for a durable group's persists (issue 10, disk engines): while an actor
 * writes back to back, its next batch waits until `ms` have passed since the previous batch
 * finished, unless `recordsMin` records are already staged. A write that comes after a quiet
 * spell starts at once, so an unloaded store pays no latency; a loaded one makes fewer, bigger
 * engine writes (each one a trip through libuv's pool and a split of the actor's output into
 * payloads). Measured from the previous batch's end, not its start: under load a write's trip
 * through the pool alone often outlasts `ms`, and then a linger from the start never waits.
 *
 * It only ever delays the start of a batch: nothing is skipped and nothing changes order, and
 * what waits on a persist (sendAfterPersist, results, journal waiters) waits for the batch that
 * holds it, as before. The shell owns the timer (STYLE.md §1); the simulator gives no linger.
 */
import { assert } from '../../runtime/assert';

export interface PersistLingerOptions {
  /** The least time from the end of one batch to the start of the next, back to back (ms). */
  readonly ms: number;
  /** A batch with this many records starts at once. */
  readonly recordsMin: number;
}

/** Bounds on the options: a linger longer than this is a misconfiguration, not a tuning. */
const LINGER_MS_MAX = 100;

export type Schedule = (wake: () => void, ms: number) => void;

const realTimer: Schedule = (wake, ms) => {
  setTimeout(wake, ms);
};

export class PersistLinger {
  private lastEndMs = -Infinity;
  private armed = false;
  /** The timer fired: the next batch goes whatever its size (the host clock may lag it). */
  private due = false;
  /** Batches that waited (stats). */
  lingered = 0;

  constructor(
    private readonly options: PersistLingerOptions,
    private readonly now: () => number,
    private readonly schedule: Schedule = realTimer,
  ) {
    assert(options.ms > 0 && options.ms <= LINGER_MS_MAX, () => `linger of ${options.ms} ms`);
    assert(
      Number.isSafeInteger(options.recordsMin) && options.recordsMin >= 1,
      () => `linger records ${options.recordsMin}`,
    );
  }

  /**
   * Milliseconds the batch of `records` staged records should still wait (0: start it now).
   * Called whenever the shell could start a batch.
   */
  waitMs(records: number): number {
    assert(records >= 0, () => `linger of ${records} records`);
    if (this.due || records >= this.options.recordsMin) return 0;
    const since = this.now() - this.lastEndMs;
    return since >= this.options.ms ? 0 : this.options.ms - since;
  }

  /** Calls `wake` after `ms` (once, however often asked while armed). */
  arm(ms: number, wake: () => void): void {
    assert(ms > 0 && ms <= this.options.ms, () => `linger timer of ${ms} ms`);
    if (this.armed) return;
    this.armed = true;
    this.lingered += 1;
    this.schedule(() => {
      this.armed = false;
      this.due = true;
      wake();
    }, ms);
  }

  /** A batch started now. */
  started(): void {
    this.due = false;
  }

  /** The batch in flight finished (written, or failed) now. */
  finished(): void {
    this.lastEndMs = this.now();
  }
}
