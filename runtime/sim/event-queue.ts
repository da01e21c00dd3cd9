/**
 * Priority queue of simulator events ordered by (time, insertion sequence).
 *
 * The sequence number breaks ties so two events at the same virtual instant run in the order
 * they were scheduled: a binary heap alone is not stable, and an unstable order would make a
 * replay depend on heap internals instead of on the seed.
 */
import { assert } from '../assert';

export interface QueueEntry<E> {
  readonly timeUs: number;
  readonly seq: number;
  readonly event: E;
}

function before<E>(x: QueueEntry<E>, y: QueueEntry<E>): boolean {
  return x.timeUs < y.timeUs || (x.timeUs === y.timeUs && x.seq < y.seq);
}

export class EventQueue<E> {
  private readonly heap: QueueEntry<E>[] = [];
  private seqNext = 0;

  get size(): number {
    return this.heap.length;
  }

  push(timeUs: number, event: E): void {
    assert(
      Number.isInteger(timeUs) && timeUs >= 0,
      `event time must be a non-negative integer: ${timeUs}`,
    );
    const entry: QueueEntry<E> = { timeUs, seq: this.seqNext++, event };
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
  }

  /** Time of the earliest event, or undefined when empty. */
  peekTime(): number | undefined {
    const top = this.heap[0];
    return top === undefined ? undefined : top.timeUs;
  }

  pop(): QueueEntry<E> {
    const top = this.heap[0];
    assert(top !== undefined, 'pop from an empty event queue');
    const last = this.heap.pop();
    assert(last !== undefined, 'heap lost its last element');
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Remove every event for which `drop` holds (used rarely: O(n) rebuild). */
  removeWhere(drop: (event: E) => boolean): number {
    const kept = this.heap.filter((entry) => !drop(entry.event));
    const removed = this.heap.length - kept.length;
    this.heap.length = 0;
    for (const entry of kept) {
      this.heap.push(entry);
      this.siftUp(this.heap.length - 1);
    }
    return removed;
  }

  private siftUp(start: number): void {
    let i = start;
    // Each step halves i, so the loop runs at most log2(size) + 1 times.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = this.heap[i];
      const b = this.heap[parent];
      assert(a !== undefined && b !== undefined, 'heap index out of range in siftUp');
      if (!before(a, b)) break;
      this.heap[i] = b;
      this.heap[parent] = a;
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const n = this.heap.length;
    let i = start;
    // Each step at least doubles i, so the loop runs at most log2(size) + 1 times.
    while (2 * i + 1 < n) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      const atLeft = this.heap[left];
      const atRight = this.heap[right];
      const atSmallest = this.heap[smallest];
      assert(
        atLeft !== undefined && atSmallest !== undefined,
        'heap index out of range in siftDown',
      );
      let best = atSmallest;
      if (before(atLeft, best)) {
        smallest = left;
        best = atLeft;
      }
      if (atRight !== undefined && before(atRight, best)) smallest = right;
      if (smallest === i) break;
      const moved = this.heap[smallest];
      assert(moved !== undefined, 'heap index out of range in siftDown swap');
      this.heap[smallest] = atSmallest;
      this.heap[i] = moved;
      i = smallest;
    }
  }
}
