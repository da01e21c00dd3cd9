/**
 * The account's change run (docs/decisions.md, "The account journal in sections"): the journal
 * entries appended since the last merge, after the indexed base run. Each write appends one
 * entry and nothing else, so the current balance, pending list and newest entry per id are
 * the header's (as of the merge) plus a walk of the run:
 *   - balance: the last entry's balanceAfter;
 *   - pending: a prepare entry adds its tx (delta = amount, version = the entry's); a commit or
 *     rollback entry removes its tx when pending (a rollback of an unknown tx removes nothing);
 *   - ids: the newest entry of each add/subtract opId and commit/rollback txId, by offset.
 *
 * The walk is cached per append buffer (models/append-bytes.ts): an append buffer never
 * rewrites bytes a view covers, so a longer view from the same start is the cached run plus a
 * tail, walked alone (O(1) per write); a shorter view (an older state applied again) or
 * another start walks afresh. A cache of a pure function of the bytes: replicas agree whether
 * it hits or not. The run is bounded by the merge threshold (account-next.ts).
 */
import { assert } from '../../runtime/assert';
import { isAppendView } from '../append-bytes';
import { compareBytes } from '../set/set';
import { memberKey } from '../set/set-log';
import { idClassOfKind } from './account-index';
import type { IdClass } from './account-index';
import { ENTRY_FIXED, EntryKind } from './account-journal';
import type { JournalView } from './account-journal';
import type { Pending } from './account-layout';

export interface ChangeRun {
  /** The data's length when walked: the run covers the journal to the data's end. */
  dataLength: number;
  balance: number;
  pending: readonly Pending[];
  lastVersion: number;
  /** Entries in the run. */
  count: number;
  /** The journal offset of the newest change entry per id (idKey). */
  readonly ids: Map<string, number>;
}

/** The map key of an id in its class. */
export function idKey(idClass: IdClass, id: Uint8Array): string {
  return String.fromCharCode(idClass) + memberKey(id);
}

/** The index of the pending tx with this id, or where it would be inserted (found false). */
export function pendingIndex(
  pending: readonly Pending[],
  id: Uint8Array,
): { index: number; found: boolean } {
  let lo = 0;
  let hi = pending.length;
  // Binary search: at most log2(pendingMax) + 1 steps.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const order = compareBytes((pending[mid] as Pending).id, id);
    if (order === 0) return { index: mid, found: true };
    if (order < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: false };
}

/** The sums of the pending credits (pos) and debits (neg). */
export function pendingSums(pending: readonly Pending[]): { pos: number; neg: number } {
  let pos = 0;
  let neg = 0;
  for (const p of pending) {
    if (p.delta > 0) pos += p.delta;
    else neg += p.delta;
  }
  return { pos, neg };
}

/** The pending list after the entry at `at` (a new array when it changes: runs share lists). */
function pendingAfter(
  pending: readonly Pending[],
  journal: JournalView,
  at: number,
): readonly Pending[] {
  const kind = journal.kind(at);
  if (kind !== EntryKind.prepare && kind !== EntryKind.commit && kind !== EntryKind.rollback)
    return pending;
  const id = journal.bytes.subarray(at + ENTRY_FIXED, journal.end(at));
  const { index, found } = pendingIndex(pending, id);
  if (kind === EntryKind.prepare) {
    assert(!found, () => `a prepare at ${at} of a pending tx`);
    const next = [...pending];
    next.splice(index, 0, { id, delta: journal.amount(at), version: journal.version(at) });
    return next;
  }
  return found ? pending.filter((_, i) => i !== index) : pending;
}

/** Extends `run` over the journal's entries from offset `from` to its end. */
function walk(run: ChangeRun, journal: JournalView, from: number, dataLength: number): void {
  // Each entry is at least ENTRY_FIXED bytes: at most (length - from) / ENTRY_FIXED steps.
  for (let at = from; at < journal.length; at = journal.end(at)) {
    const version = journal.version(at);
    assert(
      version === run.lastVersion + 1,
      () => `change entry ${version} after ${run.lastVersion}`,
    );
    run.lastVersion = version;
    run.balance = journal.balanceAfter(at);
    run.pending = pendingAfter(run.pending, journal, at);
    const idClass = idClassOfKind(journal.kind(at));
    if (idClass !== undefined)
      run.ids.set(idKey(idClass, journal.bytes.subarray(at + ENTRY_FIXED, journal.end(at))), at);
    run.count++;
  }
  run.dataLength = dataLength;
}

interface CachedRun {
  readonly start: number;
  readonly journalStart: number;
  readonly run: ChangeRun;
}
const runs = new WeakMap<ArrayBuffer, CachedRun>();

/** Where a change run starts: the header's state as of the merge. */
export interface RunStart {
  readonly balance: number;
  readonly pending: readonly Pending[];
  readonly baseVersion: number;
  readonly baseBytes: number;
  readonly journalStart: number;
}

function freshRun(s: RunStart): ChangeRun {
  return {
    dataLength: 0,
    balance: s.balance,
    pending: s.pending,
    lastVersion: s.baseVersion,
    count: 0,
    ids: new Map(),
  };
}

/**
 * The change run of `data` (layout 3), whose journal is `journal`. `cached` false walks afresh
 * (the VERIFY check of the cache). The run returned may be the cache's own: callers only read
 * it, and only before the next call.
 */
export function changeRunOf(
  data: Uint8Array,
  journal: JournalView,
  s: RunStart,
  cached = true,
): ChangeRun {
  if (!cached || !isAppendView(data)) {
    const run = freshRun(s);
    walk(run, journal, s.baseBytes, data.length);
    return run;
  }
  const buffer = data.buffer as ArrayBuffer;
  const hit = runs.get(buffer);
  let run: ChangeRun;
  let from = s.baseBytes;
  if (
    hit !== undefined &&
    hit.start === data.byteOffset &&
    hit.journalStart === s.journalStart &&
    hit.run.dataLength <= data.length
  ) {
    run = hit.run;
    from = run.dataLength - s.journalStart;
  } else {
    run = freshRun(s);
    runs.set(buffer, { start: data.byteOffset, journalStart: s.journalStart, run });
  }
  assert(from >= s.baseBytes, () => `change run from ${from}, base run of ${s.baseBytes}`);
  walk(run, journal, from, data.length);
  return run;
}
