/**
 * FIFO of messages between actors of the same worker. They are delivered on the next turn
 * rather than inline, so an actor's `receive` never runs inside another actor's `send` (no
 * reentrancy) and a chain of local sends cannot starve the inbound rings.
 *
 * Payloads are copied into one byte arena rather than a fresh buffer each (`slice()` made an
 * ArrayBuffer per message: a malloc, a tracked backing store and its collection; with a group's
 * replicas on one worker that is ~1.3 per write). The handler gets a view of the arena, valid
 * during its call only, as the Actor contract says of every payload (a ring's too). The arena
 * is rewound whenever the queue empties (every turn, normally), compacted when its delivered
 * front grows large, and shrunk back once empty after a big message made it grow.
 */
import { assert } from './assert';

/** Compact the arrays once this many delivered slots sit at their front. */
const COMPACT_SLOTS = 4096;
const ARENA_BYTES_INITIAL = 64 * 1024;
/** An empty arena larger than this (a big message grew it) is given back. */
const ARENA_BYTES_KEEP_MAX = 1024 * 1024;

export class LocalQueue {
  private readonly froms: number[] = [];
  private readonly tos: number[] = [];
  private readonly starts: number[] = [];
  private readonly lengths: number[] = [];
  private head = 0;
  private arena = new Uint8Array(ARENA_BYTES_INITIAL);
  /** Bytes of the arena in use: every queued payload lies below. */
  private used = 0;
  /** Largest length seen: the queue is unbounded, so its growth is reported instead. */
  lengthHighWater = 0;

  get length(): number {
    return this.froms.length - this.head;
  }

  /** Copies `payload`: the sender may reuse its buffer, or pass a view of a ring. */
  push(from: number, to: number, payload: Uint8Array): void {
    const n = payload.byteLength;
    if (this.used + n > this.arena.byteLength) this.grow(this.used + n);
    this.arena.set(payload, this.used);
    this.froms.push(from);
    this.tos.push(to);
    this.starts.push(this.used);
    this.lengths.push(n);
    this.used += n;
    if (this.length > this.lengthHighWater) this.lengthHighWater = this.length;
  }

  /**
   * Delivers at most `max` messages, oldest first, and only those queued before the call:
   * messages that deliveries enqueue wait for the next turn.
   */
  deliver(max: number, handler: (from: number, to: number, payload: Uint8Array) => void): number {
    assert(Number.isInteger(max) && max > 0, `bad local delivery bound ${max}`);
    const end = Math.min(this.froms.length, this.head + max);
    let count = 0;
    while (this.head < end) {
      const at = this.head++;
      const from = this.froms[at];
      const to = this.tos[at];
      const start = this.starts[at];
      const n = this.lengths[at];
      if (from === undefined || to === undefined || start === undefined || n === undefined) {
        assert(false, `local slot ${at} empty`);
      }
      count++;
      // A push inside the handler may grow the arena: this view keeps the old one alive.
      handler(from, to, this.arena.subarray(start, start + n));
    }
    this.compact();
    return count;
  }

  /** A bigger arena holding every queued payload at the same offsets. */
  private grow(bytesNeeded: number): void {
    let size = this.arena.byteLength * 2;
    while (size < bytesNeeded) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.arena.subarray(0, this.used));
    this.arena = bigger;
  }

  private compact(): void {
    if (this.head === this.froms.length) {
      this.froms.length = 0;
      this.tos.length = 0;
      this.starts.length = 0;
      this.lengths.length = 0;
      this.head = 0;
      this.used = 0;
      if (this.arena.byteLength > ARENA_BYTES_KEEP_MAX) {
        this.arena = new Uint8Array(ARENA_BYTES_INITIAL);
      }
    } else if (this.head >= COMPACT_SLOTS) {
      // Only between deliveries: no handler holds a view of the arena now.
      const first = this.starts[this.head];
      assert(first !== undefined, 'compacting an empty queue');
      this.arena.copyWithin(0, first, this.used);
      this.used -= first;
      this.froms.splice(0, this.head);
      this.tos.splice(0, this.head);
      this.starts.splice(0, this.head);
      this.lengths.splice(0, this.head);
      for (let i = 0; i < this.starts.length; i++) this.starts[i] = (this.starts[i] ?? 0) - first;
      this.head = 0;
    }
  }
}
