/**
 * A record's recent window (the last chosen values, for at-most-once apply) stored as columns:
 * `recentIds` holds (instance, origin, seq) per entry, three numbers each, oldest first, and
 * `recentResults` holds each entry's result (decision "The recent window as columns").
 *
 * An array of plain numbers keeps them unboxed in one backing store, so a write appends three
 * numbers and a pointer instead of allocating an entry object and a boxed 53-bit seq (~72 heap
 * bytes per replica per write, all of them kept until 16 later writes of the key). A key with a
 * full window holds ~0.6 KB instead of ~1.3 KB, and a scan of the window reads one array instead
 * of sixteen objects.
 *
 * Both arrays are mutated in place by `pushApplied`, like the window array before them: a copy
 * of a record that outlives the call (a message, a snapshot) takes `copyWindow`.
 *
 * The entry count is `recentResults.length`. A live record's `recentIds` may be longer than
 * three numbers per entry: from a key's second entry on, it has room for the whole window
 * (`pushApplied`), and the numbers past the entries are unused. Every reader goes by the count
 * (these accessors); copies (`copyWindow`, `windowSlice`) hold exactly the entries.
 */
import { assert } from '../../../runtime/assert';
import type { AppliedEntry, KeyRecord } from './types';

/** Numbers per entry in `recentIds`. */
export const IDS_PER_ENTRY = 3;

export type RecentColumns = Pick<KeyRecord, 'recentIds' | 'recentResults'>;

/** Entries in the window. */
export function windowLength(rec: RecentColumns): number {
  return rec.recentResults.length;
}

export function instanceAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[i * IDS_PER_ENTRY] as number;
}

export function originAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[i * IDS_PER_ENTRY + 1] as number;
}

export function seqAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[i * IDS_PER_ENTRY + 2] as number;
}

export function resultAt(rec: RecentColumns, i: number): Uint8Array {
  return rec.recentResults[i] as Uint8Array;
}

/** The index of the entry of (origin, seq), newest first; -1 when it is not in the window. */
export function indexOfApplied(rec: RecentColumns, origin: number, seq: number): number {
  const ids = rec.recentIds;
  for (let at = windowLength(rec) * IDS_PER_ENTRY - IDS_PER_ENTRY; at >= 0; at -= IDS_PER_ENTRY) {
    if (ids[at + 2] === seq && ids[at + 1] === origin) return at / IDS_PER_ENTRY;
  }
  return -1;
}

/** Whether some entry is at `instance`. */
export function windowHasInstance(rec: RecentColumns, instance: number): boolean {
  const ids = rec.recentIds;
  const end = windowLength(rec) * IDS_PER_ENTRY;
  for (let at = 0; at < end; at += IDS_PER_ENTRY) if (ids[at] === instance) return true;
  return false;
}

/**
 * Appends an entry; the oldest goes once the window holds more than `max`.
 *
 * Allocation (issue 10, thirteenth session: the window's arrays were half of what a write left
 * for the collector to copy). A key's first entry takes exact-size arrays: most keys of a big
 * store are written once, and keep them. Its second entry gives the ids room for the whole
 * window at once (one array of 3 × max numbers) and grows the results by one push (to 19 slots,
 * room for 16); after that nothing is allocated, until the window is full and slides in place.
 * Pushes had grown the ids three times (25, then 56 slots, then an exact copy at 16 entries)
 * and the results twice: each new array was alive at the next scavenge, so it was copied and
 * then promoted.
 */
export function pushApplied(
  rec: RecentColumns,
  instance: number,
  origin: number,
  seq: number,
  result: Uint8Array,
  max: number,
): void {
  const n = rec.recentResults.length;
  if (n === 0) {
    rec.recentIds = [instance, origin, seq];
    rec.recentResults = [result];
    return;
  }
  if (n < max) {
    let ids = rec.recentIds;
    if (ids.length < max * IDS_PER_ENTRY) {
      const full = idsColumnOf(max);
      for (let i = 0; i < n * IDS_PER_ENTRY; i++) full[i] = ids[i] as number;
      rec.recentIds = ids = full;
    }
    const at = n * IDS_PER_ENTRY;
    ids[at] = instance;
    ids[at + 1] = origin;
    ids[at + 2] = seq;
    rec.recentResults.push(result);
  } else {
    // Full: slide in place (a splice would allocate the removed entries' array every write).
    const ids = rec.recentIds;
    const results = rec.recentResults;
    const last = (n - 1) * IDS_PER_ENTRY;
    for (let i = 0; i < last; i++) ids[i] = ids[i + IDS_PER_ENTRY] as number;
    ids[last] = instance;
    ids[last + 1] = origin;
    ids[last + 2] = seq;
    for (let i = 0; i < n - 1; i++) results[i] = results[i + 1] as Uint8Array;
    results[n - 1] = result;
  }
  if (!(rec.recentIds.length >= rec.recentResults.length * IDS_PER_ENTRY))
    assert(false, `window columns of ${rec.recentIds.length} ids, ${rec.recentResults.length}`);
}

/** Zeroed ids columns of 3 × max doubles, by max: `slice` of one keeps its elements unboxed. */
const idsTemplates: number[][] = [];

/** A fresh ids column with room for `max` entries (all zero). */
function idsColumnOf(max: number): number[] {
  let template = idsTemplates[max];
  if (template === undefined) {
    if (!(Number.isInteger(max) && max >= 1 && max <= 1024)) assert(false, `window of ${max}`);
    // Built from a fraction, then zeroed: an array of doubles, which seqs past 2^31 need.
    template = Array.from({ length: max * IDS_PER_ENTRY }, () => 0.5).fill(0);
    idsTemplates[max] = template;
  }
  return template.slice();
}

/** Entry i as an object (for the cold paths: digests, inspection, install ops). */
function entryAt(rec: RecentColumns, i: number): AppliedEntry {
  return {
    instance: instanceAt(rec, i),
    origin: originAt(rec, i),
    seq: seqAt(rec, i),
    result: resultAt(rec, i),
  };
}

/** The window as entry objects, oldest first. */
export function windowEntries(rec: RecentColumns): AppliedEntry[] {
  const out: AppliedEntry[] = [];
  for (let i = 0; i < windowLength(rec); i++) out.push(entryAt(rec, i));
  return out;
}

/** Columns holding `entries` (oldest first). */
export function windowOf(entries: readonly AppliedEntry[]): RecentColumns {
  const recentIds: number[] = [];
  const recentResults: Uint8Array[] = [];
  for (const e of entries) {
    recentIds.push(e.instance, e.origin, e.seq);
    recentResults.push(e.result);
  }
  return copyWindow({ recentIds, recentResults });
}

/**
 * A copy of the columns that later pushes to `rec` do not change, in arrays of exactly their
 * length: also how columns built by pushes (a decoded window) are kept, since pushes leave up
 * to 16 spare elements per array for as long as the key is held.
 */
export function copyWindow(rec: RecentColumns): RecentColumns {
  return {
    recentIds: rec.recentIds.slice(0, windowLength(rec) * IDS_PER_ENTRY),
    recentResults: rec.recentResults.slice(),
  };
}

/** Entries [from, length) as columns of their own. */
export function windowSlice(rec: RecentColumns, from: number): RecentColumns {
  return {
    recentIds: rec.recentIds.slice(from * IDS_PER_ENTRY, windowLength(rec) * IDS_PER_ENTRY),
    recentResults: rec.recentResults.slice(from),
  };
}

/** The shape check of a record's columns (not the values' rules). */
export function windowShapeProblem(rec: RecentColumns, max: number): string | undefined {
  const { recentIds, recentResults } = rec;
  if (!Array.isArray(recentIds) || !Array.isArray(recentResults)) return 'window is not columns';
  if (recentResults.length > max) return `record window of ${recentResults.length}`;
  const n = recentResults.length;
  // Exactly the entries' ids, or (a live record, pushApplied) room for the whole window.
  const roomy = n >= 2 && recentIds.length === max * IDS_PER_ENTRY;
  if (recentIds.length !== n * IDS_PER_ENTRY && !roomy)
    return `window of ${recentIds.length} ids for ${n} results`;
  return undefined;
}
