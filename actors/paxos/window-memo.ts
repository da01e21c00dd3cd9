/**
 * The encoded recent windows of the keys a shell persisted last, so that a key's next record
 * copies the entries its window still holds instead of encoding them again (issue 10, decision
 * "The durable write path: a key's window encoded once").
 *
 * Why: every persisted record carries the key's whole recent window (16 entries once a key has
 * been written 16 times), and the compact layout writes each entry after the first as a
 * difference from its predecessor (compact-layout.ts `recent`): most of a record's encode.
 * Between two records of a key the window moves by the entries applied meanwhile (one, for a
 * key written at every write): the oldest leave, new ones arrive at the end, and every entry
 * in between encodes to the same bytes, since it depends on itself and its predecessor only.
 *
 * When are kept bytes still the window's? The core changes a window in one way only while it
 * keeps its arrays: `pushApplied` appends, and once full slides the same arrays in place
 * (recent-window.ts); everything else (the first entry, the window filling up, an install, a
 * load, an adoption) puts new arrays in the record. So a memo is used only for the very
 * `recentResults` array it was made from, and the window it kept had consecutive instances:
 * the new first instance then says how far the arrays slid, and entry j is the kept entry j +
 * shift, the same objects. Under VERIFY (tests, the simulator) every record encoded with a memo
 * is encoded again without it and the bytes compared (compact-layout.ts).
 *
 * Storage: one slab of SLOT_BYTES per slot (count, entry ends, first instance and the entries'
 * bytes in four cache lines: a key's memo is one miss and its neighbours), a Map of key to slot,
 * and a slot picked at random reused once all are taken. Only windows of at most
 * MEMO_ENTRIES_MAX consecutive entries whose relative entries fit the slot are kept (a kv key's
 * full window takes ~190 bytes); others are encoded whole every time, as before.
 */
import { assert } from '../../runtime/assert';
import { IDS_PER_ENTRY } from './core/recent-window';

/** Entries of a window kept (the core's RECENT_WINDOW). */
export const MEMO_ENTRIES_MAX = 16;
/** Bytes per slot: the count (1), the ends of relative entries 1..15 (15), the first instance
 * (8, as a float64 at byte 16) and the relative entries. */
const SLOT_BYTES = 256;
const SLOT_HEADER_BYTES = 24;
const SLOT_DATA_BYTES = SLOT_BYTES - SLOT_HEADER_BYTES;
/** Slots per shell by default: ~5 MB once all are taken (a hot key set of 16,384 per group replica). */
export const MEMO_SLOTS_DEFAULT = 16_384;
const SLOTS_INITIAL = 256;

export class WindowMemos {
  /**
   * The slot of each record (the core's live KeyRecord of a key: an object the encode has just
   * read, so no key string to hash and no cold table of strings to probe).
   */
  private readonly slotOf = new WeakMap<object, number>();
  /** Per slot: the record that holds it, and the results array its window was kept from. */
  private readonly owners: Array<object | undefined> = [];
  private readonly arrays: Array<readonly Uint8Array[] | undefined> = [];
  private readonly free: number[] = [];
  private used = 0;
  private bytes = new Uint8Array(0);
  private firsts = new Float64Array(0);
  private capacity = 0;
  private random = 0x9e3779b9 | 0;
  /** Set by `reusable`: where the copied entries' bytes lie in `slab`. */
  private base = 0;
  private shift = 0;
  /** Records whose window copied entries, and entries copied (stats, tests). */
  readonly stats = { hits: 0, entriesCopied: 0 };

  constructor(readonly slotsMax: number = MEMO_SLOTS_DEFAULT) {
    assert(Number.isInteger(slotsMax) && slotsMax >= 1, `window memo slots ${slotsMax}`);
  }

  /** The bytes the slots live in (read between `rangeStart` and `rangeEnd`). */
  get slab(): Uint8Array {
    return this.bytes;
  }

  /** How many relative entries (1..r) of the window can be copied from `rec`'s memo; 0: none. */
  reusable(rec: object, ids: readonly number[], results: readonly Uint8Array[]): number {
    const n = results.length;
    if (n < 2) return 0;
    const slot = this.slotOf.get(rec);
    if (slot === undefined || this.arrays[slot] !== results || this.owners[slot] !== rec) return 0;
    const base = slot * SLOT_BYTES;
    const count = this.bytes[base];
    const shift = (ids[0] as number) - (this.firsts[slot * (SLOT_BYTES / 8) + 2] as number);
    if (!(shift >= 0 && shift < count)) return 0;
    const r = Math.min(n - 1, count - 1 - shift);
    if (r < 1) return 0;
    this.base = base;
    this.shift = shift;
    this.stats.hits += 1;
    this.stats.entriesCopied += r;
    return r;
  }

  /** Where relative entry `from` (new numbering, after `reusable`) starts in `slab`. */
  rangeStart(from: number): number {
    return this.base + SLOT_HEADER_BYTES + this.endOf(from - 1 + this.shift);
  }

  /** Where relative entry `to` (new numbering, after `reusable`) ends in `slab`. */
  rangeEnd(to: number): number {
    return this.base + SLOT_HEADER_BYTES + this.endOf(to + this.shift);
  }

  /**
   * Keeps the window just encoded: entry e ended at `ends[e]` in `buf`, so its relative
   * entries are `buf[ends[0], ends[n-1])`. A window that is too long, not consecutive or whose
   * entries do not fit a slot is not kept (and the record's memo dropped).
   */
  keep(
    rec: object,
    ids: readonly number[],
    results: readonly Uint8Array[],
    buf: Uint8Array,
    ends: Uint32Array,
  ): void {
    const n = results.length;
    const first = ids[0] as number;
    const start = ends[0] as number;
    const length = n >= 2 && n <= MEMO_ENTRIES_MAX ? (ends[n - 1] as number) - start : -1;
    // Instances rise (the encoder checked), so a span of n - 1 means consecutive.
    const consecutive = (ids[(n - 1) * IDS_PER_ENTRY] as number) - first === n - 1;
    if (!(length > 0 && length <= SLOT_DATA_BYTES && consecutive)) {
      this.forget(rec);
      return;
    }
    const slot = this.take(rec);
    const base = slot * SLOT_BYTES;
    const bytes = this.bytes;
    bytes[base] = n;
    for (let e = 1; e < n; e++) bytes[base + e] = (ends[e] as number) - start;
    this.firsts[slot * (SLOT_BYTES / 8) + 2] = first;
    bytes.set(buf.subarray(start, start + length), base + SLOT_HEADER_BYTES);
    this.arrays[slot] = results;
  }

  forget(rec: object): void {
    const slot = this.slotOf.get(rec);
    if (slot === undefined || this.owners[slot] !== rec) return;
    this.slotOf.delete(rec);
    this.owners[slot] = undefined;
    this.arrays[slot] = undefined;
    this.free.push(slot);
  }

  /** The end of relative entry e of the slot at `base` (entry 0 ends where they start). */
  private endOf(e: number): number {
    if (!(e >= 0 && e < this.bytes[this.base])) assert(false, `window memo entry ${e}`);
    return e === 0 ? 0 : this.bytes[this.base + e];
  }

  /**
   * The record's slot, a free one, a new one, or a taken one picked at random (xorshift32: no
   * order of visits can make every record miss, as a cycle over more keys than slots would
   * under first in, first out). A record that loses its slot keeps a stale entry in `slotOf`,
   * which `owners` disowns.
   */
  private take(rec: object): number {
    const held = this.slotOf.get(rec);
    if (held !== undefined && this.owners[held] === rec) return held;
    let slot = this.free.pop();
    if (slot === undefined && this.used < this.slotsMax) {
      slot = this.used++;
      if (slot >= this.capacity) this.grow();
    }
    if (slot === undefined) {
      let x = this.random;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.random = x;
      slot = (x >>> 0) % this.slotsMax;
    }
    this.slotOf.set(rec, slot);
    this.owners[slot] = rec;
    return slot;
  }

  private grow(): void {
    const capacity = Math.min(this.slotsMax, Math.max(SLOTS_INITIAL, this.capacity * 2));
    assert(capacity > this.capacity, `window memo grows from ${this.capacity}`);
    const buffer = new ArrayBuffer(capacity * SLOT_BYTES);
    const bytes = new Uint8Array(buffer);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.firsts = new Float64Array(buffer);
    this.capacity = capacity;
  }
}
