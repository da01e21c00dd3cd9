/**
 * Every invariant of an account's data and of the model, O(data): run under VERIFY only
 * (before each apply and read in tests and the simulator). Besides the model's rules it checks
 * what the sections rely on: the base run's index equals one built from its entries, the base
 * run ends on an entry at `baseVersion`, the change run is bounded by the merge threshold, and
 * the cached change run equals a fresh walk.
 */
import { assert } from '../../runtime/assert';
import { compareBytes } from '../set/set';
import { pendingSums } from './account-changes';
import { parseAccount } from './account-data';
import type { Account } from './account-data';
import { buildIndex } from './account-index';
import { AccountLayout } from './account-layout';
import type { Pending } from './account-layout';
import { changeEntriesMax } from './account-next';

export interface AccountCheckLimits {
  readonly journalEntriesMax: number;
  readonly pendingMax: number;
  readonly retainMax: number;
  readonly idBytesMax: number;
}

function checkPending(a: Account, limits: AccountCheckLimits): void {
  assert(a.pending.length <= limits.pendingMax, () => `${a.pending.length} pending transactions`);
  for (let i = 0; i < a.pending.length; i++) {
    const p = a.pending[i] as Pending;
    assert(
      Number.isSafeInteger(p.delta) && p.delta !== 0 && p.id.length >= 1,
      () => `pending tx ${i}`,
    );
    assert(p.id.length <= limits.idBytesMax, () => `pending tx ${i} id of ${p.id.length} bytes`);
    if (i > 0)
      assert(
        compareBytes((a.pending[i - 1] as Pending).id, p.id) < 0,
        () => `pending unsorted at ${i}`,
      );
  }
  const { pos, neg } = pendingSums(a.pending);
  assert(
    a.balance + neg >= a.min && a.balance + pos <= a.max,
    () => `account ${a.balance} (+${pos} ${neg}) outside bounds`,
  );
}

/** Every invariant of stored data at key version `version`. */
export function checkAccountData(
  data: Uint8Array | null,
  version: number,
  limits: AccountCheckLimits,
): void {
  if (data === null) return;
  const a = parseAccount(data, limits.journalEntriesMax);
  assert(
    Number.isSafeInteger(a.min) && Number.isSafeInteger(a.max) && a.min <= 0 && a.max >= 0,
    () => `account bounds [${a.min}, ${a.max}]`,
  );
  assert(Number.isSafeInteger(a.balance), () => `account balance ${a.balance}`);
  checkPending(a, limits);
  checkJournal(a, version, limits);
  checkRun(a, data, limits);
}

/** The journal's numbering, window and floor, and the base run's index and boundary. */
function checkJournal(a: Account, version: number, limits: AccountCheckLimits): void {
  assert(a.retain >= 1 && a.retain <= limits.retainMax, () => `account window ${a.retain}`);
  assert(Number.isSafeInteger(a.base) && a.base >= 0, () => `account journal base ${a.base}`);
  const entries = a.journal.entries();
  const first = entries[0];
  const last = entries[entries.length - 1];
  assert(first !== undefined && last !== undefined, 'an account has at least one journal entry');
  assert(
    last.version === version && last.balanceAfter === a.balance && a.lastVersion === version,
    () => `journal ends at ${last.version}, data at ${version}`,
  );
  entries.forEach((e, i) =>
    assert(e.version === first.version + i, () => `journal gap at ${e.version}`),
  );
  const kept = entries.filter((e) => e.version > a.droppedThrough).length;
  assert(kept >= 1 && kept <= a.retain, () => `${kept} kept journal entries of ${a.retain}`);
  assert(
    a.droppedThrough === 0 || a.droppedThrough >= first.version - 1,
    () => `dropped through ${a.droppedThrough}, journal from ${first.version}`,
  );
  assert(
    a.layout !== AccountLayout.three || entries.length <= a.retain + changeEntriesMax(a.retain) + 1,
    () => `${entries.length} stored entries for a window of ${a.retain}`,
  );
  assert(
    compareBytes(a.index.bytes, buildIndex(a.journal, a.base, a.baseBytes)) === 0,
    'the id index differs from the base run',
  );
}

/** The change run: it starts on an entry boundary after baseVersion; the cache is a walk's. */
function checkRun(a: Account, data: Uint8Array, limits: AccountCheckLimits): void {
  let at = 0;
  let lastBase = 0;
  // Bounded by the journal's entries.
  while (at < a.baseBytes) {
    lastBase = a.journal.version(at);
    at = a.journal.end(at);
  }
  assert(at === a.baseBytes, () => `the base run ends inside an entry at ${a.baseBytes}`);
  assert(lastBase === a.baseVersion, () => `base run ends at ${lastBase}, not ${a.baseVersion}`);
  const fresh = parseAccount(data, limits.journalEntriesMax, false);
  assert(
    fresh.balance === a.balance &&
      fresh.lastVersion === a.lastVersion &&
      fresh.droppedThrough === a.droppedThrough &&
      fresh.pending.length === a.pending.length &&
      fresh.changes.size === a.changes.size,
    'the cached change run differs from a walk',
  );
  for (const [key, offset] of fresh.changes)
    assert(a.changes.get(key) === offset, 'the cached change run differs in its ids');
}
