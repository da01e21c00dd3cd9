/**
 * A record's recent window (the last chosen values, for at-most-once apply) stored as columns:
 * `recentIds` holds (instance, origin, seq) per entry, three numbers each, and `recentResults`
 * holds each entry's result (decision "The recent window as columns").
 *
 * An array of plain numbers keeps them unboxed in one backing store, so a write appends three
 * numbers and a pointer instead of allocating an entry object and a boxed 53-bit seq (~72 heap
 * bytes per replica per write, all of them kept until 16 later writes of the key). A key with a
 * full window holds ~0.6 KB instead of ~1.3 KB, and a scan of the window reads one array instead
 * of sixteen objects.
 *
 * A write touches as little of the window as it can (decision "A write touches one window
 * entry"): a key's window is cold when it is written (its arrays span up to eight cache lines),
 * and reading all of it on every write cost more than anything else the write does to it. So
 * `recentIds` starts with two numbers before the entries, on the cache line its length is read
 * from anyway:
 * - **a seq bound** (`BOUND_AT`), at least every seq in the window: a value whose seq is above it
 *   is not in the window, found without a scan. A core's seqs rise, so a key written through one
 *   replica never scans. The bound only ever skips a scan that would find nothing, so replicas
 *   whose bounds differ still decide alike;
 * - **the ring's head** (`HEAD_AT`): entries are oldest first from slot `head`. Until the window
 *   is full the head is 0 and entries append; once full, a new entry takes the oldest's slot and
 *   the head moves on, instead of every entry sliding down one. Copies unroll the ring.
 * An empty window is two empty arrays.
 *
 * Both arrays are mutated in place by `pushApplied`: a copy of a record that outlives the call
 * (a message, a snapshot) takes `copyWindow`. Read them only through this module.
 */
import { assert } from '../../../runtime/assert';
import type { AppliedEntry, KeyRecord } from './types';

/** Numbers per entry in `recentIds`. */
export const IDS_PER_ENTRY = 3;
/** Where `recentIds` keeps the seq bound and the ring's head; the entries start after them. */
const BOUND_AT = 0;
const HEAD_AT = 1;
const ENTRIES_AT = 2;

export type RecentColumns = Pick<KeyRecord, 'recentIds' | 'recentResults'>;

/** Entries in the window. */
export function windowLength(rec: RecentColumns): number {
  return rec.recentResults.length;
}

/** The slot of the oldest entry (0 until the window is full, and in every copy). */
export function windowHead(rec: RecentColumns): number {
  return rec.recentResults.length === 0 ? 0 : (rec.recentIds[HEAD_AT] as number);
}

/** At least every seq in the window; -1 when it is empty (seqs are counts). */
export function windowSeqBound(rec: RecentColumns): number {
  return rec.recentResults.length === 0 ? -1 : (rec.recentIds[BOUND_AT] as number);
}

/** Where entry i (oldest first) is in `recentIds`; its result is at the same slot. */
function slotOf(rec: RecentColumns, i: number): number {
  const slot = (rec.recentIds[HEAD_AT] as number) + i;
  const n = rec.recentResults.length;
  return slot < n ? slot : slot - n;
}

export function instanceAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[ENTRIES_AT + slotOf(rec, i) * IDS_PER_ENTRY] as number;
}

export function originAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[ENTRIES_AT + slotOf(rec, i) * IDS_PER_ENTRY + 1] as number;
}

export function seqAt(rec: RecentColumns, i: number): number {
  return rec.recentIds[ENTRIES_AT + slotOf(rec, i) * IDS_PER_ENTRY + 2] as number;
}

export function resultAt(rec: RecentColumns, i: number): Uint8Array {
  return rec.recentResults[slotOf(rec, i)] as Uint8Array;
}

/** The index of the entry of (origin, seq), newest first; -1 when it is not in the window. */
export function indexOfApplied(rec: RecentColumns, origin: number, seq: number): number {
  // Above the bound: not in the window, and none of the entries' cache lines touched.
  if (seq > windowSeqBound(rec)) return -1;
  const ids = rec.recentIds;
  for (let i = rec.recentResults.length - 1; i >= 0; i--) {
    const at = ENTRIES_AT + slotOf(rec, i) * IDS_PER_ENTRY;
    if (ids[at + 2] === seq && ids[at + 1] === origin) return i;
  }
  return -1;
}

/** Whether some entry is at `instance`. */
export function windowHasInstance(rec: RecentColumns, instance: number): boolean {
  const ids = rec.recentIds;
  for (let at = ENTRIES_AT; at < ids.length; at += IDS_PER_ENTRY)
    if (ids[at] === instance) return true;
  return false;
}

/** Appends an entry; once the window holds `max`, the new entry takes the oldest's slot. */
export function pushApplied(
  rec: RecentColumns,
  instance: number,
  origin: number,
  seq: number,
  result: Uint8Array,
  max: number,
): void {
  if (rec.recentResults.length === 0) {
    // Exact-size arrays for a key's first entry: a push onto an empty array reserves room for
    // 16 elements, which a key written once (most keys of a big store) would keep for good.
    rec.recentIds = [seq, 0, instance, origin, seq];
    rec.recentResults = [result];
    return;
  }
  const ids = rec.recentIds;
  const results = rec.recentResults;
  const n = results.length;
  if (seq > (ids[BOUND_AT] as number)) ids[BOUND_AT] = seq;
  if (n < max) {
    if (!(ids[HEAD_AT] === 0)) assert(false, `window of ${n} with its head at ${ids[HEAD_AT]}`);
    ids.push(instance, origin, seq);
    results.push(result);
    // A push grows an array by half plus 16 elements: once full, the window keeps arrays of
    // exactly its size for good (a hot key's 50 numbers, not the 87 that pushes reserved).
    if (n + 1 === max) {
      rec.recentIds = ids.slice();
      rec.recentResults = results.slice();
    }
  } else {
    // Full: the oldest entry's slot takes the new one (a slide would touch every entry).
    const slot = ids[HEAD_AT] as number;
    const at = ENTRIES_AT + slot * IDS_PER_ENTRY;
    ids[at] = instance;
    ids[at + 1] = origin;
    ids[at + 2] = seq;
    results[slot] = result;
    ids[HEAD_AT] = slot + 1 === n ? 0 : slot + 1;
  }
  if (!(rec.recentIds.length === ENTRIES_AT + rec.recentResults.length * IDS_PER_ENTRY))
    assert(false, `window columns of ${rec.recentIds.length} ids, ${rec.recentResults.length}`);
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
  const ids: number[] = [];
  const results: Uint8Array[] = [];
  for (const e of entries) {
    ids.push(e.instance, e.origin, e.seq);
    results.push(e.result);
  }
  return columnsOf(ids, results);
}

/**
 * Columns holding entries given as plain columns, oldest first: `ids` (instance, origin, seq)
 * per entry, no bound or head (a decoded window). The copies are arrays of exactly their
 * length, since pushes leave up to 16 spare elements per array for as long as the key is held.
 */
export function columnsOf(ids: readonly number[], results: readonly Uint8Array[]): RecentColumns {
  if (!(ids.length === results.length * IDS_PER_ENTRY))
    assert(false, `columns of ${ids.length} ids for ${results.length} results`);
  if (results.length === 0) return { recentIds: [], recentResults: [] };
  let bound = -1;
  // Each entry's seq, its third number.
  for (let at = 2; at < ids.length; at += IDS_PER_ENTRY) bound = Math.max(bound, ids[at] as number);
  return { recentIds: [bound, 0].concat(ids), recentResults: results.slice() };
}

/**
 * A copy of the columns that later pushes to `rec` do not change, oldest first from slot 0
 * (a full ring is unrolled in the copy), in arrays of exactly their length.
 */
export function copyWindow(rec: RecentColumns): RecentColumns {
  const recentIds = rec.recentIds.slice();
  const recentResults = rec.recentResults.slice();
  const head = windowHead(rec);
  if (head !== 0) {
    rotateLeft(recentIds, ENTRIES_AT, head * IDS_PER_ENTRY);
    rotateLeft(recentResults, 0, head);
    recentIds[HEAD_AT] = 0;
  }
  return { recentIds, recentResults };
}

/**
 * Entries [from, length) as columns of their own (unrolled; the seq bound still holds): the
 * copy's front entries are dropped in place, so a slice allocates what a copy does.
 */
export function windowSlice(rec: RecentColumns, from: number): RecentColumns {
  if (from >= windowLength(rec)) return { recentIds: [], recentResults: [] };
  const copy = copyWindow(rec);
  if (from > 0) {
    const ids = copy.recentIds;
    const results = copy.recentResults;
    ids.copyWithin(ENTRIES_AT, ENTRIES_AT + from * IDS_PER_ENTRY);
    ids.length -= from * IDS_PER_ENTRY;
    results.copyWithin(0, from);
    results.length -= from;
  }
  return copy;
}

/** Moves `a[start + by]` to `a[start]`, rotating a[start..] in place (three reversals). */
function rotateLeft<T>(a: T[], start: number, by: number): void {
  reverse(a, start, start + by);
  reverse(a, start + by, a.length);
  reverse(a, start, a.length);
}

function reverse<T>(a: T[], from: number, to: number): void {
  for (let i = from, j = to - 1; i < j; i++, j--) {
    const x = a[i] as T;
    a[i] = a[j] as T;
    a[j] = x;
  }
}

/** The shape check of a decoded or received record's columns (not the values' rules). */
export function windowShapeProblem(rec: RecentColumns, max: number): string | undefined {
  const { recentIds: ids, recentResults: results } = rec;
  if (!Array.isArray(ids) || !Array.isArray(results)) return 'window is not columns';
  const n = results.length;
  if (n > max) return `record window of ${n}`;
  if (n === 0) return ids.length === 0 ? undefined : `empty window with ${ids.length} ids`;
  if (ids.length !== ENTRIES_AT + n * IDS_PER_ENTRY)
    return `window of ${ids.length} ids for ${n} results`;
  const head = ids[HEAD_AT];
  // The head moves only once the window is full.
  if (!(Number.isInteger(head) && head !== undefined && head >= 0 && head < n))
    return `window head ${head} of ${n}`;
  if (head !== 0 && n !== max) return `window of ${n} with its head at ${head}`;
  const bound = ids[BOUND_AT];
  if (typeof bound !== 'number' || Number.isNaN(bound)) return `window seq bound ${bound}`;
  for (let at = ENTRIES_AT + 2; at < ids.length; at += IDS_PER_ENTRY)
    if (!((ids[at] as number) <= bound)) return `window seq ${ids[at]} above its bound ${bound}`;
  return undefined;
}
