/**
 * The sender side of one SPSC ring: batches records and never drops or blocks.
 *
 * `push` stages the record straight into the ring beyond its published tail (one copy, no
 * intermediate buffer); the consumer cannot see it until `flush` publishes the whole batch
 * with a single atomic store. When the ring has no room, the record is copied into an
 * overflow queue, and so is every later record until the queue empties, which keeps order.
 * `flush` first moves what it can from the overflow queue into the ring, then publishes.
 *
 * The overflow queue is not bounded in bytes: a full ring must neither drop (the protocol
 * above would have to tell a lost message from a slow one) nor block (the event loop is
 * shared by every actor of the thread). Its size is reported instead (`overflowBytes`,
 * `overflowBytesHighWater`) so an unbounded build-up is visible in stats.
 */
import { assert } from './assert';
import type { SpscRing } from './ring';

/** Compact the overflow array once this many consumed slots sit at its front. */
const OVERFLOW_COMPACT_SLOTS = 1024;

export interface OutboxStats {
  /** Records pushed (staged or queued). */
  records: number;
  /** Records that went through the overflow queue because the ring was full. */
  overflowRecords: number;
  /** Bytes waiting in the overflow queue now. */
  overflowBytes: number;
  /** Largest `overflowBytes` seen. */
  overflowBytesHighWater: number;
}

export class Outbox {
  private readonly overflow: Uint8Array[] = [];
  private overflowHead = 0;
  private readonly counters: OutboxStats = {
    records: 0,
    overflowRecords: 0,
    overflowBytes: 0,
    overflowBytesHighWater: 0,
  };

  constructor(readonly ring: SpscRing) {}

  /** Records waiting in the overflow queue. */
  get overflowPending(): number {
    return this.overflow.length - this.overflowHead;
  }

  get stats(): Readonly<OutboxStats> {
    return this.counters;
  }

  /** Appends one record to the current batch. The caller may reuse `record` afterwards. */
  push(record: Uint8Array): void {
    this.counters.records++;
    if (this.overflowPending === 0 && this.ring.tryStage1(record)) return;
    this.enqueueOverflow(record.slice());
  }

  /** Appends one record made of `parts` (e.g. a frame header and a payload). */
  pushParts(parts: readonly Uint8Array[]): void {
    this.counters.records++;
    if (this.overflowPending === 0 && this.ring.tryStageParts(parts)) return;
    this.enqueueOverflow(concat(parts));
  }

  /** Appends one framed record: two u32 header words, then `payload` (see tryStageFramed). */
  pushFramed(word0: number, word1: number, payload: Uint8Array): void {
    this.counters.records++;
    if (this.overflowPending === 0 && this.ring.tryStageFramed(word0, word1, payload)) return;
    const record = new Uint8Array(8 + payload.byteLength);
    const view = new DataView(record.buffer);
    view.setUint32(0, word0, true);
    view.setUint32(4, word1, true);
    record.set(payload, 8);
    this.enqueueOverflow(record);
  }

  /**
   * Publishes the batch, after moving as much of the overflow queue into the ring as fits.
   * Returns true if the consumer has new records to read (the caller rings its doorbell).
   * When records remain queued, the ring's spaceWanted flag is raised so the consumer tells
   * this thread when it frees space.
   */
  flush(): boolean {
    this.moveOverflow();
    const published = this.ring.publish();
    if (this.overflowPending > 0) this.ring.markSpaceWanted();
    return published;
  }

  /**
   * Called by a producer about to park, after its doorbell's parked flag is up: true if the
   * next overflow record fits the ring now. When it does not, the ring's spaceWanted flag is
   * raised first, then the head is read. Raising it here and not only in `flush` matters: a
   * consumer may have taken the flag since that flush while freeing too little space, and
   * would then free the rest without ringing. In this order, a consumer that frees space
   * after our read of its head must see the flag, and finds us parked.
   */
  canMakeProgress(): boolean {
    const next = this.overflow[this.overflowHead];
    if (next === undefined) return false;
    this.ring.markSpaceWanted();
    return this.ring.fits(next.byteLength);
  }

  private enqueueOverflow(record: Uint8Array): void {
    this.overflow.push(record);
    this.counters.overflowRecords++;
    this.counters.overflowBytes += record.byteLength;
    const high = Math.max(this.counters.overflowBytesHighWater, this.counters.overflowBytes);
    this.counters.overflowBytesHighWater = high;
  }

  private moveOverflow(): void {
    // Bounded by the queue length; stops at the first record that does not fit, so order holds.
    while (this.overflowHead < this.overflow.length) {
      const next = this.overflow[this.overflowHead];
      assert(next !== undefined, 'overflow slot empty');
      if (!this.ring.tryStage1(next)) break;
      this.overflow[this.overflowHead] = EMPTY;
      this.overflowHead++;
      this.counters.overflowBytes -= next.byteLength;
    }
    assert(this.counters.overflowBytes >= 0, `overflow bytes ${this.counters.overflowBytes} < 0`);
    if (this.overflowHead === this.overflow.length) {
      this.overflow.length = 0;
      this.overflowHead = 0;
    } else if (this.overflowHead >= OVERFLOW_COMPACT_SLOTS) {
      this.overflow.splice(0, this.overflowHead);
      this.overflowHead = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  assert(at === length, `concat wrote ${at} of ${length}`);
  return out;
}
