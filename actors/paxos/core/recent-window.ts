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
  for (let at = ids.length - IDS_PER_ENTRY; at >= 0; at -= IDS_PER_ENTRY) {
    if (ids[at + 2] === seq && ids[at + 1] === origin) return at / IDS_PER_ENTRY;
  }
  return -1;
}

/** Whether some entry is at `instance`. */
export function windowHasInstance(rec: RecentColumns, instance: number): boolean {
  const ids = rec.recentIds;
  for (let at = 0; at < ids.length; at += IDS_PER_ENTRY) if (ids[at] === instance) return true;
  return false;
}

/** Appends an entry; the oldest goes once the window holds more than `max`. */
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
    rec.recentIds = [instance, origin, seq];
    rec.recentResults = [result];
    return;
  }
  const ids = rec.recentIds;
  const results = rec.recentResults;
  const n = results.length;
  if (n < max) {
    ids.push(instance, origin, seq);
    results.push(result);
    // A push grows an array by half plus 16 elements: once full, the window keeps arrays of
    // exactly its size for good (a hot key's 48 numbers, not the 85 that pushes reserved).
    if (n + 1 === max) {
      rec.recentIds = ids.slice();
      rec.recentResults = results.slice();
    }
  } else {
    // Full: slide in place (a splice would allocate the removed entries' array every write).
    const last = ids.length - IDS_PER_ENTRY;
    for (let i = 0; i < last; i++) ids[i] = ids[i + IDS_PER_ENTRY] as number;
    ids[last] = instance;
    ids[last + 1] = origin;
    ids[last + 2] = seq;
    for (let i = 0; i < n - 1; i++) results[i] = results[i + 1] as Uint8Array;
    results[n - 1] = result;
  }
  if (!(rec.recentIds.length === rec.recentResults.length * IDS_PER_ENTRY))
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
  return { recentIds: rec.recentIds.slice(), recentResults: rec.recentResults.slice() };
}

/** Entries [from, length) as columns of their own. */
export function windowSlice(rec: RecentColumns, from: number): RecentColumns {
  return {
    recentIds: rec.recentIds.slice(from * IDS_PER_ENTRY),
    recentResults: rec.recentResults.slice(from),
  };
}

/** The shape check of a decoded or received record's columns (not the values' rules). */
export function windowShapeProblem(rec: RecentColumns, max: number): string | undefined {
  const { recentIds, recentResults } = rec;
  if (!Array.isArray(recentIds) || !Array.isArray(recentResults)) return 'window is not columns';
  if (recentResults.length > max) return `record window of ${recentResults.length}`;
  if (recentIds.length !== recentResults.length * IDS_PER_ENTRY)
    return `window of ${recentIds.length} ids for ${recentResults.length} results`;
  return undefined;
}
