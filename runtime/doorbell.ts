/**
 * Doorbells: how a sender wakes a receiving thread that has gone to sleep on its rings.
 *
 * Each receiving thread owns one cell pair in a shared SharedArrayBuffer, on its own 64-byte
 * line: `sequence` (bumped on every ring) and `parked` (1 while the reader sleeps or is about
 * to). A sender rings only when `parked` is 1, so a busy reader costs its senders one atomic
 * load per flush and no `notify` at all.
 *
 * The reader parks in this order, which is what prevents a lost wake-up:
 *
 *   1. store parked = 1
 *   2. s = load sequence
 *   3. re-check every inbound ring (and local work); if any, unpark and run
 *   4. Atomics.waitAsync(sequence, s)
 *
 * The sender publishes its ring tail, then reads `parked`. All of these are sequentially
 * consistent atomics, so either the reader's step 3 sees the new tail, or the sender sees
 * parked = 1 and bumps `sequence`: if it bumps before step 4, waitAsync returns 'not-equal' at
 * once; if after, `notify` wakes the waiter. The sender takes `parked` from 1 to 0 with a
 * compare-exchange, so only the first of several senders pays for the notify.
 *
 * `Atomics.waitAsync` does not keep a Node event loop alive: a worker that parks must hold
 * something ref'd (the runtime's tick interval), or it exits while waiting.
 */
import { assert } from './assert';

const CELL_INT32S = 16; // 64 bytes per thread: one cache line each.
const SEQUENCE = 0;
const PARKED = 1;

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsync = (cells: Int32Array, index: number, value: number) => WaitAsyncResult;

/** ES2024 `Atomics.waitAsync`; our tsconfig lib is ES2022, so it is typed here. */
function waitAsyncFunction(): WaitAsync {
  const candidate = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  assert(typeof candidate === 'function', 'Atomics.waitAsync is missing (needs Node >= 16)');
  return candidate;
}

export class Doorbells {
  static allocate(threads: number): SharedArrayBuffer {
    if (!Number.isInteger(threads) || threads < 1 || threads > 4096) {
      throw new RangeError(`doorbell thread count must be an integer in [1, 4096]: ${threads}`);
    }
    return new SharedArrayBuffer(threads * CELL_INT32S * 4);
  }

  readonly threads: number;
  private readonly cells: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    assert(sab.byteLength % (CELL_INT32S * 4) === 0, `doorbell buffer size ${sab.byteLength}`);
    this.cells = new Int32Array(sab);
    this.threads = sab.byteLength / (CELL_INT32S * 4);
    assert(this.threads >= 1, 'doorbell buffer holds no thread');
  }

  /** Sender: wakes `thread` if it is parked. Returns true if it rang. */
  ringIfParked(thread: number): boolean {
    const base = this.base(thread);
    if (Atomics.load(this.cells, base + PARKED) === 0) return false;
    if (Atomics.compareExchange(this.cells, base + PARKED, 1, 0) !== 1) return false;
    this.ring(thread);
    return true;
  }

  /** Rings unconditionally. A thread rings itself to cut its own park short. */
  ring(thread: number): void {
    const base = this.base(thread);
    Atomics.add(this.cells, base + SEQUENCE, 1);
    Atomics.notify(this.cells, base + SEQUENCE);
  }

  /** Reader, step 1 and 2: announce the park and take the sequence to wait on. */
  parkBegin(thread: number): number {
    const base = this.base(thread);
    Atomics.store(this.cells, base + PARKED, 1);
    return Atomics.load(this.cells, base + SEQUENCE);
  }

  /** Reader: clears the parked flag (work was found, or the wait ended). */
  parkEnd(thread: number): void {
    Atomics.store(this.cells, this.base(thread) + PARKED, 0);
  }

  /** Reader, step 4: resolves when the sequence moves past `sequence`; null if it already has. */
  waitAsync(thread: number, sequence: number): Promise<unknown> | null {
    const result = waitAsyncFunction()(this.cells, this.base(thread) + SEQUENCE, sequence);
    if (!result.async) {
      assert(result.value === 'not-equal', `untimed waitAsync returned ${result.value}`);
      return null;
    }
    return result.value;
  }

  isParked(thread: number): boolean {
    return Atomics.load(this.cells, this.base(thread) + PARKED) === 1;
  }

  private base(thread: number): number {
    assert(Number.isInteger(thread) && thread >= 0, `bad doorbell thread ${thread}`);
    assert(thread < this.threads, `doorbell thread ${thread} >= ${this.threads}`);
    return thread * CELL_INT32S;
  }
}

/**
 * The reader side of one thread's doorbell: runs the park protocol above and counts parks and
 * wakes. The caller decides when to park (after its brief spin) and supplies `hasWork`.
 */
export class DoorbellReader {
  parks = 0;
  wakes = 0;
  private parkedNow = false;
  /** Milliseconds parked in finished parks, and when the current park began (performance.now()). */
  private parkedMs = 0;
  private parkedAtMs = 0;

  constructor(
    private readonly bells: Doorbells,
    readonly thread: number,
  ) {
    assert(thread < bells.threads, `reader thread ${thread} >= ${bells.threads}`);
  }

  get parked(): boolean {
    return this.parkedNow;
  }

  /**
   * Microseconds this thread has spent parked, the current park included: from the park to the
   * wake-up's continuation on this thread, so a wake-up's latency counts as parked.
   */
  get parkedMicros(): number {
    const ongoing = this.parkedNow ? performance.now() - this.parkedAtMs : 0;
    return (this.parkedMs + ongoing) * 1000;
  }

  /**
   * Parks unless `hasWork()` finds something after the parked flag is up. Returns a promise
   * resolved on wake-up, or null when it did not park (the caller should run at once).
   */
  park(hasWork: () => boolean): Promise<void> | null {
    assert(!this.parkedNow, `thread ${this.thread} parks twice`);
    const sequence = this.bells.parkBegin(this.thread);
    if (hasWork()) {
      this.bells.parkEnd(this.thread);
      return null;
    }
    const waiting = this.bells.waitAsync(this.thread, sequence);
    if (waiting === null) {
      this.bells.parkEnd(this.thread);
      return null;
    }
    this.parks++;
    this.parkedNow = true;
    this.parkedAtMs = performance.now();
    return waiting.then(() => {
      assert(this.parkedNow, `thread ${this.thread} woke without parking`);
      this.parkedNow = false;
      this.parkedMs += performance.now() - this.parkedAtMs;
      this.wakes++;
      this.bells.parkEnd(this.thread);
    });
  }

  /** Cuts a park short from this thread itself (local work appeared: a timer, a callback). */
  wakeSelf(): void {
    if (this.parkedNow) this.bells.ring(this.thread);
  }
}
