/**
 * An account's stored data, parsed into the current state the model decides on: the header
 * (account-layout.ts) plus the change run (account-changes.ts), with the id lookup over both
 * (the base run's sorted index, then the change run's map) and the opId floor derived from
 * the window. Nothing here copies the journal: it is a view into the data.
 */
import { assert } from '../../runtime/assert';
import { changeRunOf, idKey } from './account-changes';
import { IdIndexView, buildIndex, idClassOfKind, idHash } from './account-index';
import type { IdClass } from './account-index';
import { JournalView } from './account-journal';
import { AccountLayout, readParts } from './account-layout';
import type { Header, Pending } from './account-layout';
import type { AccountBounds } from './account';

/**
 * The header's fields as the account holds them (account-layout.ts): `balance` is the last
 * entry's balanceAfter, `droppedThrough` the highest version the window dropped (0: none),
 * `base` the absolute position of the journal's first stored entry.
 */
type HeaderFields = Pick<Header, 'min' | 'max' | 'balance' | 'droppedThrough' | 'retain' | 'base'>;

export interface Account extends HeaderFields {
  /** The stored bytes this state was parsed from; null for a new account. */
  readonly data: Uint8Array | null;
  readonly layout: AccountLayout;
  /** The current pending list, sorted by id bytes. */
  readonly pending: readonly Pending[];
  /** The base run's index (a view into the data). */
  readonly index: IdIndexView;
  /** Every stored entry, the dropped ones of the change run's era included (a view). */
  readonly journal: JournalView;
  /** The base run's bytes: the journal's entries before this offset are indexed. */
  readonly baseBytes: number;
  /** The base run's last version (0 for a new account). */
  readonly baseVersion: number;
  /** The journal's first stored version (0 for a new account). */
  readonly firstVersion: number;
  /** The journal's last version: the key's data version (0 for a new account). */
  readonly lastVersion: number;
  /** The newest change-run entry per id (account-changes.ts idKey), by journal offset. */
  readonly changes: ReadonlyMap<string, number>;
}

/**
 * The floor after the journal holds versions first..last: entries past the window are
 * dropped (the window is fixed per account, so this is where one-at-a-time dropping lands).
 */
export function floorOf(dropped: number, first: number, last: number, retain: number): number {
  return last - first + 1 > retain ? last - retain : dropped;
}

/** The last version of a journal without a change run (layouts 1 and 2): a walk. */
function lastVersionOf(journal: JournalView): number {
  let last = 0;
  // Each entry is at least ENTRY_FIXED bytes: at most length / ENTRY_FIXED steps.
  for (let at = 0; at < journal.length; at = journal.end(at)) last = journal.version(at);
  return last;
}

function partsAsOfMerge(
  h: Header,
  journal: JournalView,
): { baseBytes: number; baseVersion: number } {
  if (h.baseBytes !== undefined && h.baseVersion !== undefined)
    return { baseBytes: h.baseBytes, baseVersion: h.baseVersion };
  return { baseBytes: journal.length, baseVersion: lastVersionOf(journal) };
}

/** The current state of stored data; layout 1 reads with `defaultRetain` as its window. */
export function parseAccount(data: Uint8Array, defaultRetain: number, cached = true): Account {
  const parts = readParts(data, defaultRetain);
  const h = parts.header;
  const journal = new JournalView(data.subarray(parts.journalStart));
  const index = new IdIndexView(
    parts.layout === AccountLayout.one ? buildIndex(journal, h.base, journal.length) : parts.slots,
  );
  const { baseBytes, baseVersion } = partsAsOfMerge(h, journal);
  const run = changeRunOf(
    data,
    journal,
    {
      balance: h.balance,
      pending: parts.pending,
      baseVersion,
      baseBytes,
      journalStart: parts.journalStart,
    },
    cached,
  );
  const firstVersion = journal.length === 0 ? 0 : journal.version(0);
  const droppedThrough =
    run.count === 0
      ? h.droppedThrough
      : floorOf(h.droppedThrough, firstVersion, run.lastVersion, h.retain);
  return {
    data,
    layout: parts.layout,
    min: h.min,
    max: h.max,
    balance: run.balance,
    droppedThrough,
    retain: h.retain,
    base: h.base,
    pending: run.pending,
    index,
    journal,
    baseBytes,
    baseVersion,
    firstVersion,
    lastVersion: run.lastVersion,
    changes: run.ids,
  };
}

export function newAccount(bounds: AccountBounds, retain: number): Account {
  return {
    data: null,
    layout: AccountLayout.three,
    min: bounds.min,
    max: bounds.max,
    balance: 0,
    droppedThrough: 0,
    retain,
    base: 0,
    pending: [],
    index: new IdIndexView(new Uint8Array(0)),
    journal: new JournalView(new Uint8Array(0)),
    baseBytes: 0,
    baseVersion: 0,
    firstVersion: 0,
    lastVersion: 0,
    changes: new Map(),
  };
}

/** The newest entry with this id in the base run (its index), or undefined. */
function findInBase(a: Account, idClass: IdClass, id: Uint8Array): number | undefined {
  for (const pos of a.index.candidates(idHash(idClass, id))) {
    const at = pos - a.base;
    assert(at >= 0 && at < a.baseBytes, () => `id index points at ${at} of ${a.baseBytes}`);
    // A hash of the other class (or another id) may collide: the entry itself decides.
    if (idClassOfKind(a.journal.kind(at)) === idClass && a.journal.idEquals(at, id)) return at;
  }
  return undefined;
}

/**
 * The offset of the newest kept entry with this id in this class: the change run's map, else
 * a binary search of the base run's index (O(log n)). An entry at or below the floor is not
 * kept (it waits in the data for the next merge), and neither is any older one.
 */
export function findId(a: Account, idClass: IdClass, id: Uint8Array): number | undefined {
  const change = a.changes.get(idKey(idClass, id));
  if (change !== undefined)
    assert(
      change >= a.baseBytes && change < a.journal.length,
      () => `change run points at ${change}`,
    );
  const at = change ?? findInBase(a, idClass, id);
  if (at === undefined) return undefined;
  return a.journal.version(at) > a.droppedThrough ? at : undefined;
}

/** The offset of the first kept entry: past the dropped ones still stored. */
export function firstKeptOffset(a: Account): number {
  let at = 0;
  // Each step passes one stored entry: bounded by the journal's entries.
  while (at < a.journal.length && a.journal.version(at) <= a.droppedThrough) at = a.journal.end(at);
  return at;
}
