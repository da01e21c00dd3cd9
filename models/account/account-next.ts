/**
 * The account's next data after an applied op: its journal entry appended to the change run
 * (the common case: O(entry) work, the state grown in place with appendBytes, so the persist
 * path writes only the entry as a change entry), or, once the run passes a fraction of the
 * base run, a merge into a fresh layout 3 base (docs/decisions.md, "The account journal in
 * sections"). A merge drops the entries at or below the floor, indexes the change run's ids
 * and writes the header as of now; its O(n) copy spread over the run's writes is O(1) per
 * write. Which of the two a write does depends only on the data and the op, so every replica
 * holds the same bytes.
 */
import { assert } from '../../runtime/assert';
import { ByteWriter } from '../../runtime/byte-codec';
import { appendBytes, isAppendView } from '../append-bytes';
import { firstKeptOffset, floorOf } from './account-data';
import type { Account } from './account-data';
import { keptIndex, slotOf } from './account-index';
import type { Slot } from './account-index';
import { ENTRY_FIXED, JournalView, writeEntry } from './account-journal';
import { AccountLayout, writeHeader } from './account-layout';
import type { Pending } from './account-layout';

/** A change run merges once it holds more than max(this, base entries / CHANGE_FRACTION). */
export const CHANGE_ENTRIES_MIN = 32;
const CHANGE_FRACTION = 4;
/** States from this size grow in append buffers (smaller ones are copied: cheap, and exact). */
export const APPEND_BYTES_MIN = 4096;

/** The most entries a change run holds before its merge, for a base run of `baseEntries`. */
export function changeEntriesMax(baseEntries: number): number {
  return Math.max(CHANGE_ENTRIES_MIN, Math.floor(baseEntries / CHANGE_FRACTION));
}

/** What the decision changed: the balance and pending list after the op, the entry's amount. */
export interface Change {
  readonly balance: number;
  readonly pending: readonly Pending[];
  readonly amount: number;
}

/** The op's id and kind, as its entry records them. */
export interface EntryOp {
  readonly kind: number;
  readonly id: Uint8Array;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  assert(at === length, () => `concatenated ${at} of ${length} bytes`);
  return out;
}

/** True when the write after `a` (whose entry has `entryVersion`) merges instead of appending. */
function mergesAt(a: Account, entryVersion: number): boolean {
  if (a.data === null || a.layout !== AccountLayout.three) return true;
  const baseEntries = a.baseVersion - a.firstVersion + 1;
  return entryVersion - a.baseVersion > changeEntriesMax(baseEntries);
}

export function nextAccountData(
  a: Account,
  change: Change,
  op: EntryOp,
  version: number,
  appendBytesMin = APPEND_BYTES_MIN,
): Uint8Array {
  assert(
    a.data === null || a.lastVersion === version,
    () => `the journal ends at ${a.lastVersion}, the data at ${version}`,
  );
  const entryVersion = version + 1;
  const w = new ByteWriter(ENTRY_FIXED + op.id.length);
  writeEntry(w, entryVersion, op.kind, change.amount, op.id, change.balance);
  const entry = w.finish();
  if (mergesAt(a, entryVersion)) return merged(a, change, op, entry, entryVersion, appendBytesMin);
  const data = a.data;
  assert(data !== null, 'an append to a new account');
  if (isAppendView(data) || data.length + entry.length >= appendBytesMin)
    return appendBytes(data, entry);
  return concatBytes([data, entry]);
}

/** The slots of the change run's kept entries and of the new entry (pos: absolute). */
function changeSlots(a: Account, keepFrom: number, op: EntryOp, entry: Uint8Array): Slot[] {
  const slots: Slot[] = [];
  const journal = a.journal;
  // The change run is bounded by changeEntriesMax.
  for (let at = Math.max(keepFrom, a.baseBytes); at < journal.length; at = journal.end(at)) {
    const slot = slotOf(journal, at, a.base + at);
    if (slot !== undefined) slots.push(slot);
  }
  assert(op.id.length > 0, 'an entry has an id');
  const own = slotOf(new JournalView(entry), 0, a.base + journal.length);
  if (own !== undefined) slots.push(own);
  return slots;
}

/** A fresh base: the kept entries and the new one, indexed, with the header as of now. */
function merged(
  a: Account,
  change: Change,
  op: EntryOp,
  entry: Uint8Array,
  entryVersion: number,
  appendBytesMin: number,
): Uint8Array {
  const first = a.journal.length === 0 ? entryVersion : a.firstVersion;
  const droppedThrough = floorOf(a.droppedThrough, first, entryVersion, a.retain);
  const keepFrom = firstKeptOffset({ ...a, droppedThrough });
  const keptBase = a.base + keepFrom;
  const indexBytes = keptIndex(a.index, keptBase, changeSlots(a, keepFrom, op, entry));
  const kept = a.journal.bytes.subarray(keepFrom);
  const head = new ByteWriter(96 + change.pending.length * 40);
  const header = {
    min: a.min,
    max: a.max,
    balance: change.balance,
    droppedThrough,
    retain: a.retain,
    base: keptBase,
    baseBytes: kept.length + entry.length,
    baseVersion: entryVersion,
  };
  writeHeader(head, header, change.pending, indexBytes);
  const out = concatBytes([head.written(), indexBytes, kept, entry]);
  assert(
    entryVersion - droppedThrough <= a.retain || droppedThrough === 0,
    () => `merge keeps ${entryVersion - droppedThrough} entries of ${a.retain}`,
  );
  return out.length >= appendBytesMin ? appendBytes(null, out) : out;
}
