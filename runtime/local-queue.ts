/**
 * FIFO of messages between actors of the same worker. They are delivered on the next turn
 * rather than inline, so an actor's `receive` never runs inside another actor's `send` (no
 * reentrancy) and a chain of local sends cannot starve the inbound rings.
 */
import { assert } from './assert';
import { transientCopy } from './transient-bytes';

/** Compact the arrays once this many delivered slots sit at their front. */
const COMPACT_SLOTS = 4096;

export class LocalQueue {
  private readonly froms: number[] = [];
  private readonly tos: number[] = [];
  /** A payload (bytes, copied at push) or a message object (ActorHost.sendObject), as is. */
  private readonly payloads: LocalPayload[] = [];
  private head = 0;
  /** Largest length seen: the queue is unbounded, so its growth is reported instead. */
  lengthHighWater = 0;

  get length(): number {
    return this.froms.length - this.head;
  }

  /**
   * Copies `payload` (the sender may reuse its buffer, or pass a view of a ring) from a slab
   * (transient-bytes.ts): the copy lives until it is delivered, and the receiver owns it.
   */
  push(from: number, to: number, payload: Uint8Array): void {
    this.froms.push(from);
    this.tos.push(to);
    this.payloads.push(transientCopy(payload));
    this.lengthHighWater = Math.max(this.lengthHighWater, this.length);
  }

  /** Queues a message object as it is: the receiver gets the very object (no copy). */
  pushObject(from: number, to: number, message: object): void {
    if (message instanceof Uint8Array) assert(false, 'pushObject of bytes: push copies them');
    this.froms.push(from);
    this.tos.push(to);
    this.payloads.push(message);
    this.lengthHighWater = Math.max(this.lengthHighWater, this.length);
  }

  /**
   * Delivers at most `max` messages, oldest first, and only those queued before the call:
   * messages that deliveries enqueue wait for the next turn.
   */
  deliver(max: number, handler: (from: number, to: number, payload: LocalPayload) => void): number {
    assert(Number.isInteger(max) && max > 0, `bad local delivery bound ${max}`);
    const end = Math.min(this.froms.length, this.head + max);
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

  private compact(): void {
    if (this.head === this.froms.length) {
      this.froms.length = 0;
      this.tos.length = 0;
      this.payloads.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_SLOTS) {
      this.froms.splice(0, this.head);
      this.tos.splice(0, this.head);
      this.payloads.splice(0, this.head);
      this.head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** What the queue holds for one delivery: bytes of its own, or a message object. */
export type LocalPayload = Uint8Array | object;
