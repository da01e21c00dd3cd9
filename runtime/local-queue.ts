/**
 * FIFO of messages between actors of the same worker. They are delivered after the sender's
 * turn step (the worker's local rounds after a drain, or the next turn), never inline, so an
 * actor's `receive` never runs inside another actor's `send` (no reentrancy); the worker bounds
 * the rounds per turn, so a chain of local sends cannot starve the inbound rings.
 */
import { assert } from './assert';
import { KEPT_SLOTS_MAX } from './reused-list';
import { transientCopy } from './transient-bytes';

/** Compact the arrays once this many delivered slots sit at their front. */
const COMPACT_SLOTS = 4096;

export class LocalQueue {
  /**
   * Slots [head, tail) hold the queue. The arrays keep their length when the queue empties
   * (head and tail go back to 0): emptied with `length = 0`, they gave their backing stores
   * back and grew them again from nothing, several times a turn once a turn's local rounds
   * empty the queue (worker-runtime.ts afterDrain). A delivered slot holds EMPTY, never the
   * delivered payload.
   */
  private readonly froms: number[] = [];
  private readonly tos: number[] = [];
  /** A payload (bytes, copied at push) or a message object (ActorHost.sendObject), as is. */
  private readonly payloads: LocalPayload[] = [];
  private head = 0;
  private tail = 0;
  /** Largest length seen: the queue is unbounded, so its growth is reported instead. */
  lengthHighWater = 0;

  get length(): number {
    return this.tail - this.head;
  }

  /**
   * Copies `payload` (the sender may reuse its buffer, or pass a view of a ring) from a slab
   * (transient-bytes.ts): the copy lives until it is delivered, and the receiver owns it.
   */
  push(from: number, to: number, payload: Uint8Array): void {
    this.append(from, to, transientCopy(payload));
  }

  /** Queues a message object as it is: the receiver gets the very object (no copy). */
  pushObject(from: number, to: number, message: object): void {
    if (message instanceof Uint8Array) assert(false, 'pushObject of bytes: push copies them');
    this.append(from, to, message);
  }

  /**
   * Delivers at most `max` messages, oldest first, and only those queued before the call:
   * messages that deliveries enqueue wait for the next call.
   */
  deliver(max: number, handler: (from: number, to: number, payload: LocalPayload) => void): number {
    assert(Number.isInteger(max) && max > 0, `bad local delivery bound ${max}`);
    const end = Math.min(this.tail, this.head + max);
    let count = 0;
    while (this.head < end) {
      const at = this.head++;
      const from = this.froms[at];
      const to = this.tos[at];
      const payload = this.payloads[at];
      assert(from !== undefined && to !== undefined && payload !== undefined, 'local slot empty');
      this.payloads[at] = EMPTY;
      count++;
      handler(from, to, payload);
    }
    this.compact();
    return count;
  }

  private append(from: number, to: number, payload: LocalPayload): void {
    const at = this.tail++;
    if (at < this.froms.length) {
      this.froms[at] = from;
      this.tos[at] = to;
      this.payloads[at] = payload;
    } else {
      this.froms.push(from);
      this.tos.push(to);
      this.payloads.push(payload);
    }
    if (!(this.froms.length >= this.tail && this.payloads.length === this.froms.length))
      assert(false, `local queue tail ${this.tail} past its ${this.froms.length} slots`);
    this.lengthHighWater = Math.max(this.lengthHighWater, this.length);
  }

  /** Empty: back to the front. A long front of delivered slots: moved down in place. */
  private compact(): void {
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      // A burst's slots are not kept for good (ReusedList's bound).
      if (this.froms.length > KEPT_SLOTS_MAX) {
        this.froms.length = 0;
        this.tos.length = 0;
        this.payloads.length = 0;
      }
    } else if (this.head >= COMPACT_SLOTS) {
      const n = this.tail - this.head;
      for (let i = 0; i < n; i++) {
        this.froms[i] = this.froms[this.head + i] as number;
        this.tos[i] = this.tos[this.head + i] as number;
        this.payloads[i] = this.payloads[this.head + i] as LocalPayload;
      }
      for (let i = n; i < this.tail; i++) this.payloads[i] = EMPTY;
      this.head = 0;
      this.tail = n;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** What the queue holds for one delivery: bytes of its own, or a message object. */
export type LocalPayload = Uint8Array | object;
