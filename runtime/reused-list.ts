/**
 * A list that is filled and emptied over and over (a turn's staged messages, a core's dirty
 * keys) and keeps its slots when emptied.
 *
 * `array.length = 0` gives an array's backing store back in V8, and the next pushes grow a new
 * one from nothing (16 slots, then half as many again plus 16 at each step). For a list that
 * lives for good, every regrown store is alive at the next scavenge, so it is copied and then
 * promoted: garbage that costs the collector as much as live data (issue 10, thirteenth
 * session: 50 pushes and an emptying, 200,000 times, took 230 scavenges that way and none with
 * the slots kept). `clear()` drops the references and keeps the slots, up to KEPT_SLOTS_MAX.
 */
import { assert } from './assert';

/** Slots an emptied list keeps; past this, a burst's slots are let go. */
export const KEPT_SLOTS_MAX = 16384;

export class ReusedList<T> {
  private readonly slots: (T | undefined)[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    const at = this.count++;
    if (at < this.slots.length) this.slots[at] = item;
    else this.slots.push(item);
  }

  /** Item `i` (0 ≤ i < length). */
  get(i: number): T {
    if (!(i >= 0 && i < this.count)) assert(false, `item ${i} of a list of ${this.count}`);
    return this.slots[i] as T;
  }

  /** Empties the list: no item is referenced after this; the slots stay for the next pushes. */
  clear(): void {
    const slots = this.slots;
    if (slots.length > KEPT_SLOTS_MAX) {
      slots.length = 0;
    } else {
      for (let i = 0; i < this.count; i++) slots[i] = undefined;
    }
    this.count = 0;
  }
}
