/**
 * Adaptive group commit for a durable group's persists (issue 10, disk engines): when the
 * previous batch showed concurrency (it carried at least four records and ended less than
 * `BUSY_LINGERS` lingers ago), the next batch waits `ms` for more records before it starts,
 * unless `recordsMin` are staged already. A few writers (small batches) and a write after
 * a quiet spell start at once, so an unloaded store pays no latency; a loaded one makes fewer,
 * bigger engine writes (each one a trip through libuv's pool and a split of the actor's output
 * into payloads). Waiting a fixed `ms` from the batch's first chance to start, not counting from
 * the previous batch: under load a write's trip through the pool alone often outlasts `ms`, and
 * a group's records arrive about a millisecond apart, so a linger counted from the previous
 * batch hardly ever waits (measured: half the batches).
 *
 * It only ever delays the start of a batch: nothing is skipped and nothing changes order, and
 * what waits on a persist (sendAfterPersist, results, journal waiters) waits for the batch that
 * holds it, as before. The shell owns the timer (STYLE.md §1); the simulator gives no linger.
 */
import { assert } from '../../runtime/assert';

export interface PersistLingerOptions {
  /** How long a batch waits for more records when the group is busy (ms). */
  readonly ms: number;
  /** A batch with this many records starts at once. */
  readonly recordsMin: number;
  /**
   * Records in the previous batch that show concurrency (default BUSY_RECORDS_MIN). The
   * simulator sets 1, so that its few keys take the lingering path at all.
   */
  readonly busyRecordsMin?: number;
}

/** Bounds on the options: a linger longer than this is a misconfiguration, not a tuning. */
const LINGER_MS_MAX = 100;
/** The previous batch counts as recent for this many lingers after it ended. */
const BUSY_LINGERS = 10;
/**
 * A batch with this many records shows concurrency. At 8 clients (batches of ~1.1 records) a
 * threshold of 2 lingered 0.32 times per write for no bigger batches and cost ~10 % of the
 * throughput; 4 lingers there almost never, and still does under load (kv-load, 256 clients).
 */
const BUSY_RECORDS_MIN = 4;

export type Schedule = (wake: () => void, ms: number) => void;

const realTimer: Schedule = (wake, ms) => {
  setTimeout(wake, ms);
};

export class PersistLinger {
  private lastEndMs = -Infinity;
  private lastRecords = 0;
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
    const busy = options.busyRecordsMin;
    assert(busy === undefined || (Number.isSafeInteger(busy) && busy >= 1), 'linger busy records');
  }

  /**
   * Milliseconds the batch of `records` staged records should still wait (0: start it now).
   * Called whenever the shell could start a batch.
   */
  waitMs(records: number): number {
    assert(records >= 0, () => `linger of ${records} records`);
    if (this.due || records >= this.options.recordsMin) return 0;
    if (this.lastRecords < (this.options.busyRecordsMin ?? BUSY_RECORDS_MIN)) return 0;
    const since = this.now() - this.lastEndMs;
    return since >= BUSY_LINGERS * this.options.ms ? 0 : this.options.ms;
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

  /** The batch in flight, of `records` records, finished (written, or failed) now. */
  finished(records: number): void {
    assert(records >= 0, () => `a batch of ${records} records`);
    this.lastEndMs = this.now();
    this.lastRecords = records;
  }
}
