/**
 * A key's persisted record in two sections (issue 10, decision "Records in sections"): a base
 * (the whole record, as every engine always stored it) and a chain of change entries since
 * the base. A change entry holds the record's small fields (acceptor state, chosen state,
 * windows) and only the bytes the data state gained since the previous entry. So a one-cell
 * write into a big table persists the cell's change record, not the table.
 *
 * When can the data be persisted as a tail? When the new data state extends the one last
 * handed to storage as a prefix. models/append-bytes.ts makes that an O(1) identity check for
 * states built by appending (the table's change section); any other state (another model, a
 * table merge, a state loaded or adopted from a peer) is written whole, as a new base.
 *
 * This module is the shell's half: `RecordSections` decides, per staged record, base or
 * change, and encodes it. The storage half (sectioned-record-port.ts) puts change entries
 * under their own engine keys and folds them back into whole records at load and in scans.
 *
 * Change entry payload (inside the usual checksummed envelope, engines/record-codec.ts):
 *
 *   [layout u8 = 0xC2][seq u32][dataOffset u32][tail bytes][recentDrop u8][requestsDrop u8]
 *   [record with data omitted, its windows holding only the entries appended]
 *
 * `seq` numbers the entries of one chain from 1; `dataOffset` is the data length the tail
 * continues. Both are checked at load: a chain that does not continue its base is damaged and
 * the key is recovered from peers, like a record that fails its checksum.
 *
 * The windows (`recent`, `requests`) are deltas too (decision "Change entries carry window
 * deltas"): each entry says how many entries its windows dropped from the front of the
 * previous entry's (or the base's) and carries the entries appended at the end, so an entry
 * does not rewrite 16 results and up to 64 KiB of request results per write. A window that
 * did not evolve that way (an install, an adoption) is carried whole: drop all, append all.
 * Layout 0xC1 (windows whole in every entry) is still read: old chains on disk load.
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { RECORD_HEADER_BYTES, sealRecordInPlace } from '../../engines/record-codec';
import { engineError } from '../../engines/errors';
import { appendBytes, extendsAppendView, isAppendView } from '../../models/append-bytes';
import type { KeyRecord, RequestEntry } from './core/types';
import type { RecentColumns } from './core/recent-window';
import {
  copyWindow,
  instanceAt,
  originAt,
  resultAt,
  seqAt,
  windowEntries,
  windowLength,
  windowOf,
  windowSlice,
} from './core/recent-window';
import { encodeSealedRecord, readRecord, writeRecord } from './codec';

export const CHANGE_ENTRY_LAYOUT = 0xc2;
/** The first layout: windows whole in every entry (read, never written). */
export const CHANGE_ENTRY_LAYOUT_WHOLE_WINDOWS = 0xc1;
/** A window's length bound in the record codec (a u8 count). */
const WINDOW_LENGTH_MAX = 255;

/**
 * Which records go in sections: those whose data has at least `dataBytesMin` bytes (a small
 * record is cheaper rewritten whole than as a chain entry and its terminator). When a chain is
 * folded into a new base: past max(min, base × multiple) bytes or max entries.
 */
export interface SectionLimits {
  readonly dataBytesMin: number;
  readonly chainBytesMin: number;
  readonly chainBaseMultiple: number;
  readonly chainEntriesMax: number;
}

/**
 * A chain may grow to twice its base before a fold rewrites the base: the fold's bytes,
 * spread over the writes since the last one, add at most half a change entry per write.
 */
export const SECTION_LIMITS: SectionLimits = {
  dataBytesMin: 64 * 1024,
  chainBytesMin: 256 * 1024,
  chainBaseMultiple: 2,
  chainEntriesMax: 1 << 17,
};

/** A record's two windows, as persisted (the base's, or as folded up to a change entry). */
export interface Windows extends RecentColumns {
  readonly requests: readonly RequestEntry[];
}

/** How an entry's windows continue the previous ones: drop from the front, then append. */
export interface WindowDeltas {
  readonly recentDrop: number;
  readonly requestsDrop: number;
}

export interface ChangeEntry {
  readonly seq: number;
  readonly dataOffset: number;
  readonly tail: Uint8Array;
  /**
   * The record's fields; its data is null here (the base and the tails hold it). With
   * `deltas`, its windows hold only the entries appended; without (layout 0xC1), whole.
   */
  readonly record: KeyRecord;
  readonly deltas: WindowDeltas | null;
}

const entryWriter = new ByteWriter(1024);
const HEADER_SPACE = new Uint8Array(RECORD_HEADER_BYTES);

/**
 * How many entries `next` dropped from the front of `prev` when it is `prev` minus a prefix
 * plus appended entries (compared by identity: window entries are never mutated); otherwise
 * prev.length (all dropped, `next` carried whole), which is always a true description.
 */
export function windowDrop<T>(prev: readonly T[], next: readonly T[]): number {
  if (next.length === 0 || prev.length === 0) return prev.length;
  const drop = prev.indexOf(next[0] as T);
  if (drop < 0) return prev.length;
  const kept = prev.length - drop;
  if (kept > next.length) return prev.length;
  for (let i = 1; i < kept; i++) if (prev[drop + i] !== next[i]) return prev.length;
  return drop;
}

/** Entry i of `a` and entry j of `b` have one instance, origin, seq and result array. */
function sameEntry(a: RecentColumns, i: number, b: RecentColumns, j: number): boolean {
  return (
    instanceAt(a, i) === instanceAt(b, j) &&
    seqAt(a, i) === seqAt(b, j) &&
    originAt(a, i) === originAt(b, j) &&
    resultAt(a, i) === resultAt(b, j)
  );
}

/**
 * windowDrop for the recent window's columns: entries are compared by their numbers and their
 * result's identity (a window's instances rise, so an entry is never repeated within one).
 */
export function recentDrop(prev: RecentColumns, next: RecentColumns): number {
  const p = windowLength(prev);
  const n = windowLength(next);
  if (n === 0 || p === 0) return p;
  let drop = 0;
  while (drop < p && !sameEntry(prev, drop, next, 0)) drop++;
  if (drop === p) return p;
  const kept = p - drop;
  if (kept > n) return p;
  for (let i = 1; i < kept; i++) if (!sameEntry(prev, drop + i, next, i)) return p;
  return drop;
}

/**
 * A sealed change entry: the record's small fields, `tail` (which continues `dataOffset`),
 * and its windows as a delta from `prev`, the windows of the previous entry or the base.
 */
export function encodeChangeEntry(
  rec: KeyRecord,
  seq: number,
  dataOffset: number,
  tail: Uint8Array,
  prev: Windows,
): Uint8Array {
  assert(Number.isSafeInteger(seq) && seq >= 1 && seq < 2 ** 32, () => `change seq ${seq}`);
  assert(dataOffset >= 0 && dataOffset < 2 ** 32, () => `change offset ${dataOffset}`);
  assert(
    windowLength(prev) <= WINDOW_LENGTH_MAX && prev.requests.length <= WINDOW_LENGTH_MAX,
    'window lengths fit a u8',
  );
  const dropped = recentDrop(prev, rec);
  const requestsDrop = windowDrop(prev.requests, rec.requests);
  const w = entryWriter;
  w.reset();
  w.raw(HEADER_SPACE);
  w.u8(CHANGE_ENTRY_LAYOUT);
  w.u32(seq);
  w.u32(dataOffset);
  w.bytes(tail);
  w.u8(dropped);
  w.u8(requestsDrop);
  writeRecord(w, {
    ...rec,
    data: null,
    ...windowSlice(rec, windowLength(prev) - dropped),
    requests: rec.requests.slice(prev.requests.length - requestsDrop),
  });
  return sealRecordInPlace(w.finish());
}

/** True for a sealed value this module made as a change entry (our own bytes: not checked). */
export function isChangeEntry(sealed: Uint8Array): boolean {
  assert(sealed.length > RECORD_HEADER_BYTES, () => `sealed value of ${sealed.length} bytes`);
  const layout = sealed[RECORD_HEADER_BYTES];
  return layout === CHANGE_ENTRY_LAYOUT || layout === CHANGE_ENTRY_LAYOUT_WHOLE_WINDOWS;
}

function corrupted(why: string): Error {
  return engineError('CORRUPTED', `change chain: ${why}`);
}

/** Decodes an opened change entry payload (input from disk: throws CORRUPTED, never asserts). */
export function decodeChangeEntry(payload: Uint8Array): ChangeEntry {
  try {
    const r = new ByteReader(payload);
    const layout = r.u8();
    if (layout !== CHANGE_ENTRY_LAYOUT && layout !== CHANGE_ENTRY_LAYOUT_WHOLE_WINDOWS)
      throw corrupted('not a change entry');
    const seq = r.u32();
    const dataOffset = r.u32();
    const tail = r.bytesCopy();
    const deltas =
      layout === CHANGE_ENTRY_LAYOUT ? { recentDrop: r.u8(), requestsDrop: r.u8() } : null;
    const record = readRecord(r);
    if (r.remaining !== 0) throw corrupted(`${r.remaining} trailing bytes`);
    if (record.data !== null) throw corrupted('an entry with data');
    return { seq, dataOffset, tail, record, deltas };
  } catch (err) {
    throw (err as { code?: unknown }).code === 'CORRUPTED'
      ? err
      : corrupted(`does not decode (${(err as Error).message})`);
  }
}

/** Applies one entry's window delta to `into` (in place); CORRUPTED when it does not fit. */
function foldWindow<T>(into: T[], drop: number, appended: readonly T[], seq: number): void {
  if (drop > into.length) throw corrupted(`entry ${seq} drops ${drop} of ${into.length}`);
  into.splice(0, drop);
  for (const e of appended) into.push(e);
  if (into.length > WINDOW_LENGTH_MAX) throw corrupted(`entry ${seq}: window of ${into.length}`);
}

/** The windows after every entry of a checked chain, from the base's. */
function foldWindows(base: KeyRecord, entries: readonly ChangeEntry[]): Windows {
  // The recent window folds as entry objects (its columns are a ring with a bound in front).
  const recent = windowEntries(base);
  const requests = base.requests.slice();
  for (const e of entries) {
    if (e.deltas === null) {
      recent.length = 0;
      requests.length = 0;
    }
    foldWindow(recent, e.deltas?.recentDrop ?? 0, windowEntries(e.record), e.seq);
    foldWindow(requests, e.deltas?.requestsDrop ?? 0, e.record.requests, e.seq);
  }
  return { ...windowOf(recent), requests };
}

/**
 * The whole record: the newest entry's fields with the base's data and every tail, in order,
 * and the windows rebuilt from the base's through every entry's delta.
 * Throws CORRUPTED when the chain does not continue the base (a gap, a stale entry).
 */
export function foldChain(base: KeyRecord, entries: readonly ChangeEntry[]): KeyRecord {
  assert(entries.length > 0, 'fold of an empty chain');
  if (base.data === null) throw corrupted('a chain after a base without data');
  let length = base.data.length;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as ChangeEntry;
    if (e.seq !== i + 1) throw corrupted(`entry ${i + 1} says seq ${e.seq}`);
    if (e.dataOffset !== length) throw corrupted(`entry ${e.seq} continues ${e.dataOffset}`);
    if (e.record.chosen < base.chosen) throw corrupted(`entry ${e.seq} older than its base`);
    length += e.tail.length;
  }
  const data = new Uint8Array(length);
  data.set(base.data);
  let at = base.data.length;
  for (const e of entries) {
    data.set(e.tail, at);
    at += e.tail.length;
  }
  assert(at === length, () => `folded ${at} of ${length} bytes`);
  const newest = (entries[entries.length - 1] as ChangeEntry).record;
  const windows = foldWindows(base, entries);
  return { ...newest, data, ...copyWindow(windows), requests: windows.requests };
}

/** What was last handed to storage for a key whose data can continue as a chain. */
interface Handed extends Windows {
  readonly data: Uint8Array;
  readonly baseBytes: number;
  readonly chainBytes: number;
  readonly entries: number;
}

/**
 * The windows as handed to storage: `recent` is copied (the core pushes and shifts a live
 * record's array in place), `requests` is kept (replaced, never mutated: types.ts).
 */
function persistedWindows(rec: KeyRecord): Windows {
  return { ...copyWindow(rec), requests: rec.requests };
}

/**
 * The shell's half. `stage` runs when a record is taken from the core's Ready (records are
 * live, so it encodes at once) and answers the value to stage for the key; the shell's staged
 * map keeps one value per key per batch, so a change is always relative to what the previous
 * batch handed to storage, never to an earlier stage of the same batch. `batched` moves the
 * staged state to handed when the shell starts a batch.
 */
export class RecordSections {
  private readonly handed = new Map<string, Handed>();
  private readonly staged = new Map<string, Handed | null>();
  /** Change entries and bases written, and their bytes (stats). */
  readonly counts = { changes: 0, changeBytes: 0, bases: 0, baseBytes: 0 };

  constructor(private readonly limits: SectionLimits = SECTION_LIMITS) {
    assert(limits.chainEntriesMax >= 1 && limits.chainEntriesMax < 2 ** 32, 'chain entries');
    assert(limits.chainBaseMultiple > 0 && limits.chainBytesMin >= 0, 'chain bytes');
  }

  stage(key: string, rec: KeyRecord): Uint8Array {
    const prev = this.handed.get(key);
    const data = rec.data;
    // The same data object (a promise, an accept, a refused write) or one grown from it.
    const continues =
      prev !== undefined &&
      data !== null &&
      data.length >= this.limits.dataBytesMin &&
      (data === prev.data || extendsAppendView(prev.data, data));
    if (continues) {
      const entry = encodeChangeEntry(
        rec,
        prev.entries + 1,
        prev.data.length,
        data.subarray(prev.data.length),
        prev,
      );
      const chainBytes = prev.chainBytes + entry.length;
      if (this.withinLimits(prev, chainBytes)) {
        this.staged.set(key, {
          data,
          ...persistedWindows(rec),
          baseBytes: prev.baseBytes,
          chainBytes,
          entries: prev.entries + 1,
        });
        this.counts.changes += 1;
        this.counts.changeBytes += entry.length;
        return entry;
      }
    }
    const base = encodeSealedRecord(rec);
    assert(!isChangeEntry(base), 'a base that reads as a change entry');
    const chainable =
      data !== null && data.length >= this.limits.dataBytesMin && isAppendView(data);
    if (chainable) {
      this.staged.set(key, {
        data,
        ...persistedWindows(rec),
        baseBytes: base.length,
        chainBytes: 0,
        entries: 0,
      });
    } else if (prev !== undefined || (this.staged.size > 0 && this.staged.has(key))) {
      // null: `batched` drops what was handed. A key with nothing handed and nothing staged
      // (every small record: most keys) has nothing to drop, and no Map entry is made for it.
      this.staged.set(key, null);
    }
    this.counts.bases += 1;
    this.counts.baseBytes += base.length;
    return base;
  }

  private withinLimits(prev: Handed, chainBytes: number): boolean {
    const l = this.limits;
    return (
      prev.entries + 1 <= l.chainEntriesMax &&
      chainBytes <= Math.max(l.chainBytesMin, prev.baseBytes * l.chainBaseMultiple)
    );
  }

  /**
   * A key loaded from storage: its data is what the base and `chain` on disk hold, so a
   * persist that keeps or grows it can continue that chain instead of writing a base. The
   * record answered is the one to hand the core: a big state moves into an append buffer
   * (one copy, at load), so a table's first write after a load grows it in place too.
   */
  loaded(key: string, rec: KeyRecord, chain: { entries: number; bytes: number }): KeyRecord {
    assert(!this.staged.has(key), () => `load of a staged key`);
    if (rec.data === null || rec.data.length < this.limits.dataBytesMin) return rec;
    assert(chain.entries >= 0 && chain.bytes >= 0, () => `chain of ${chain.entries} entries`);
    const data = isAppendView(rec.data) ? rec.data : appendBytes(null, rec.data);
    this.handed.set(key, {
      data,
      ...persistedWindows(rec),
      baseBytes: rec.data.length,
      chainBytes: chain.bytes,
      entries: chain.entries,
    });
    return data === rec.data ? rec : { ...rec, data };
  }

  /** The shell handed everything staged to storage in one batch (in submission order). */
  batched(): void {
    for (const [key, h] of this.staged) {
      if (h === null) this.handed.delete(key);
      else this.handed.set(key, h);
    }
    this.staged.clear();
  }

  /** The key left the core (evicted): its next record is written whole. */
  forget(key: string): void {
    assert(!this.staged.has(key), () => `forget of a staged key`);
    this.handed.delete(key);
  }

  /** Keys whose chain state is held (a bound for tests: only append-built states). */
  get size(): number {
    return this.handed.size;
  }
}
