/**
 * The sequential specification of one key of the account data model, for the linearizability
 * checker. Inputs are what the public API sends (already validated: the API refuses bad input
 * before sending, so such calls stay out of histories); outputs are what it answers, errors as
 * `{ error: code }`. The key starts absent at version 0 (no other model used it before).
 *
 * - Every write carries bounds (default [0, unbounded]); the first write that applies fixes
 *   them, a later write with others fails BOUNDS_MISMATCH. Reads ignore bounds.
 * - Invariant: balance + (negative pending) >= min and balance + (positive pending) <= max.
 *   add checks max, subtract min, prepare the side of its sign (INSUFFICIENT_FUNDS /
 *   LIMIT_EXCEEDED); more than pendingMax open transactions is TOO_LARGE.
 * - Every applied write appends a journal entry numbered by the new version; only the newest
 *   journalEntriesMax are kept, and ids are remembered only while their entry is kept.
 * - add/subtract: a kept opId of the same kind and amount answers its entry's balanceAfter
 *   and version; of another kind or amount ID_CONFLICT. An opId not kept whose seenVersion
 *   (absent: 0) is below the highest dropped version is OP_ID_TOO_OLD (it may have applied
 *   in the dropped part, so it is never applied again).
 * - prepare: pending with the same delta answers its version; another delta ID_CONFLICT; a
 *   kept commit/rollback of it TRANSACTION_FINISHED.
 * - commit/rollback: pending → applied; a kept entry of the same kind answers its version;
 *   of the other kind TRANSACTION_FINISHED; unknown: commit UNKNOWN_TRANSACTION, rollback
 *   records a delta-0 rollback (the fence).
 * - journal(fromVersion, limit): JOURNAL_TRIMMED when an entry was dropped and fromVersion is
 *   at or below the highest dropped version; else the kept entries with version >= fromVersion,
 *   at most min(limit, pageMax), and nextVersion (after the last one, or fromVersion).
 */
import { isDeepStrictEqual } from 'node:util';
import { ACCOUNT_LIMITS, ACCOUNT_UNBOUNDED_MAX } from '../../../models/account/account';
import type {
  AccountBounds,
  AccountEntryKind,
  AccountLimits,
} from '../../../models/account/account';
import type { JournalEntry } from '../../../actors/store/account';
import type { Model } from '../linearizability';

interface SpecEntry {
  readonly version: number;
  readonly kind: AccountEntryKind;
  readonly amount: number;
  readonly id: string;
  readonly balanceAfter: number;
}

interface SpecPending {
  readonly txId: string;
  readonly delta: number;
  readonly version: number;
}

interface SpecAccount {
  readonly bounds: AccountBounds;
  readonly balance: number;
  readonly droppedThrough: number;
  /** The account's window, fixed by its first applied write. */
  readonly window: number;
  /** Sorted by txId (string order), so equal accounts hash equally. */
  readonly pending: readonly SpecPending[];
  readonly journal: readonly SpecEntry[];
}

export interface AccountState {
  readonly version: number;
  readonly account: SpecAccount | null;
}

/** `journalEntries`: the window of an account this write creates (absent: the limits'). */
export type AccountInput =
  | {
      op: 'add' | 'subtract';
      opId: string;
      amount: number;
      bounds?: AccountBounds;
      seenVersion?: number;
      journalEntries?: number;
    }
  | { op: 'prepare'; txId: string; delta: number; bounds?: AccountBounds; journalEntries?: number }
  | { op: 'commit' | 'rollback'; txId: string; bounds?: AccountBounds; journalEntries?: number }
  | { op: 'balance' }
  | { op: 'journal'; fromVersion: number; limit?: number };

export type AccountErrorOutput = {
  error:
    | 'INSUFFICIENT_FUNDS'
    | 'LIMIT_EXCEEDED'
    | 'JOURNAL_TRIMMED'
    | 'BOUNDS_MISMATCH'
    | 'ID_CONFLICT'
    | 'UNKNOWN_TRANSACTION'
    | 'TRANSACTION_FINISHED'
    | 'OP_ID_TOO_OLD'
    | 'TOO_LARGE';
};

export type AccountOutput =
  /** add, subtract */
  | { balance: number; version: number }
  /** prepare */
  | { version: number }
  /** commit, rollback */
  | { outcome: 'committed' | 'rolledBack'; version: number }
  /** balance */
  | { balance: number; available: number; version: number }
  /** journal */
  | { entries: JournalEntry[]; nextVersion: number; version: number }
  | AccountErrorOutput;

type Step = { state: AccountState; output: AccountOutput };

const DEFAULT_BOUNDS: AccountBounds = { min: 0, max: ACCOUNT_UNBOUNDED_MAX };

const fail = (state: AccountState, error: AccountErrorOutput['error']): Step => ({
  state,
  output: { error },
});

function sums(pending: readonly SpecPending[]): { pos: number; neg: number } {
  let pos = 0;
  let neg = 0;
  for (const p of pending) {
    if (p.delta > 0) pos += p.delta;
    else neg += p.delta;
  }
  return { pos, neg };
}

/** The newest kept entry with this id among these kinds. */
function findKept(
  a: SpecAccount,
  id: string,
  kinds: readonly AccountEntryKind[],
): SpecEntry | undefined {
  // At most one kept entry per id and kinds can match (a repeat is answered, never recorded).
  return a.journal.find((e) => e.id === id && kinds.includes(e.kind));
}

/** Appends the entry of an applied write, dropping the oldest past the account's window. */
function applyWrite(
  _limits: AccountLimits,
  state: AccountState,
  a: SpecAccount,
  change: {
    kind: AccountEntryKind;
    id: string;
    amount: number;
    balance: number;
    pending: readonly SpecPending[];
  },
): AccountState {
  const version = state.version + 1;
  const entry: SpecEntry = {
    version,
    kind: change.kind,
    amount: change.amount,
    id: change.id,
    balanceAfter: change.balance,
  };
  const all = [...a.journal, entry];
  const dropped = all.slice(0, Math.max(0, all.length - a.window));
  const droppedThrough =
    dropped.length > 0 ? (dropped[dropped.length - 1] as SpecEntry).version : a.droppedThrough;
  const account: SpecAccount = {
    bounds: a.bounds,
    balance: change.balance,
    droppedThrough,
    window: a.window,
    pending: change.pending,
    journal: all.slice(dropped.length),
  };
  return { version, account };
}

function stepAddSubtract(
  limits: AccountLimits,
  state: AccountState,
  a: SpecAccount,
  input: AccountInput & { op: 'add' | 'subtract' },
): Step {
  const seen = findKept(a, input.opId, ['add', 'subtract']);
  if (seen !== undefined) {
    if (seen.kind !== input.op || seen.amount !== input.amount) return fail(state, 'ID_CONFLICT');
    return { state, output: { balance: seen.balanceAfter, version: seen.version } };
  }
  if ((input.seenVersion ?? 0) < a.droppedThrough) return fail(state, 'OP_ID_TOO_OLD');
  const { pos, neg } = sums(a.pending);
  const balance = input.op === 'add' ? a.balance + input.amount : a.balance - input.amount;
  if (input.op === 'add' && balance + pos > a.bounds.max) return fail(state, 'LIMIT_EXCEEDED');
  if (input.op === 'subtract' && balance + neg < a.bounds.min)
    return fail(state, 'INSUFFICIENT_FUNDS');
  const next = applyWrite(limits, state, a, {
    kind: input.op,
    id: input.opId,
    amount: input.amount,
    balance,
    pending: a.pending,
  });
  return { state: next, output: { balance, version: next.version } };
}

function stepPrepare(
  limits: AccountLimits,
  state: AccountState,
  a: SpecAccount,
  input: AccountInput & { op: 'prepare' },
): Step {
  const open = a.pending.find((p) => p.txId === input.txId);
  if (open !== undefined)
    return open.delta === input.delta
      ? { state, output: { version: open.version } }
      : fail(state, 'ID_CONFLICT');
  if (findKept(a, input.txId, ['commit', 'rollback']) !== undefined)
    return fail(state, 'TRANSACTION_FINISHED');
  if (a.pending.length >= limits.pendingMax) return fail(state, 'TOO_LARGE');
  const { pos, neg } = sums(a.pending);
  if (input.delta < 0 && a.balance + neg + input.delta < a.bounds.min)
    return fail(state, 'INSUFFICIENT_FUNDS');
  if (input.delta > 0 && a.balance + pos + input.delta > a.bounds.max)
    return fail(state, 'LIMIT_EXCEEDED');
  const added: SpecPending = { txId: input.txId, delta: input.delta, version: state.version + 1 };
  const pending = [...a.pending, added].sort((x, y) =>
    x.txId < y.txId ? -1 : x.txId > y.txId ? 1 : 0,
  );
  const next = applyWrite(limits, state, a, {
    kind: 'prepare',
    id: input.txId,
    amount: input.delta,
    balance: a.balance,
    pending,
  });
  return { state: next, output: { version: next.version } };
}

function stepFinish(
  limits: AccountLimits,
  state: AccountState,
  a: SpecAccount,
  input: AccountInput & { op: 'commit' | 'rollback' },
): Step {
  const outcome = input.op === 'commit' ? 'committed' : 'rolledBack';
  const open = a.pending.find((p) => p.txId === input.txId);
  if (open !== undefined) {
    const balance = input.op === 'commit' ? a.balance + open.delta : a.balance;
    const pending = a.pending.filter((p) => p !== open);
    const next = applyWrite(limits, state, a, {
      kind: input.op,
      id: input.txId,
      amount: open.delta,
      balance,
      pending,
    });
    return { state: next, output: { outcome, version: next.version } };
  }
  const done = findKept(a, input.txId, ['commit', 'rollback']);
  if (done !== undefined) {
    return done.kind === input.op
      ? { state, output: { outcome, version: done.version } }
      : fail(state, 'TRANSACTION_FINISHED');
  }
  if (input.op === 'commit') return fail(state, 'UNKNOWN_TRANSACTION');
  const next = applyWrite(limits, state, a, {
    kind: 'rollback',
    id: input.txId,
    amount: 0,
    balance: a.balance,
    pending: a.pending,
  });
  return { state: next, output: { outcome, version: next.version } };
}

function publicEntry(e: SpecEntry): JournalEntry {
  const { version, balanceAfter } = e;
  if (e.kind === 'add' || e.kind === 'subtract')
    return { version, kind: e.kind, amount: e.amount, opId: e.id, balanceAfter };
  return { version, kind: e.kind, delta: e.amount, txId: e.id, balanceAfter };
}

function stepJournal(
  limits: AccountLimits,
  state: AccountState,
  fromVersion: number,
  limit: number | undefined,
): Step {
  const a = state.account;
  if (a !== null && a.droppedThrough > 0 && fromVersion <= a.droppedThrough)
    return fail(state, 'JOURNAL_TRIMMED');
  const n = Math.min(limit ?? limits.pageMax, limits.pageMax);
  const entries = (a?.journal ?? []).filter((e) => e.version >= fromVersion).slice(0, n);
  const last = entries[entries.length - 1];
  const nextVersion = last === undefined ? fromVersion : last.version + 1;
  return {
    state,
    output: { entries: entries.map(publicEntry), nextVersion, version: state.version },
  };
}

function stepWrite(
  limits: AccountLimits,
  state: AccountState,
  input: AccountInput & { bounds?: AccountBounds; journalEntries?: number },
): Step {
  const bounds = input.bounds ?? DEFAULT_BOUNDS;
  const stored = state.account;
  if (stored !== null && (stored.bounds.min !== bounds.min || stored.bounds.max !== bounds.max))
    return fail(state, 'BOUNDS_MISMATCH');
  const a: SpecAccount = stored ?? {
    bounds: { min: bounds.min, max: bounds.max },
    balance: 0,
    droppedThrough: 0,
    window: input.journalEntries ?? limits.journalEntriesMax,
    pending: [],
    journal: [],
  };
  switch (input.op) {
    case 'add':
    case 'subtract':
      return stepAddSubtract(limits, state, a, input);
    case 'prepare':
      return stepPrepare(limits, state, a, input);
    case 'commit':
    case 'rollback':
      return stepFinish(limits, state, a, input);
    default:
      throw new Error(`not a write: ${JSON.stringify(input)}`);
  }
}

function stepAccount(limits: AccountLimits, state: AccountState, input: AccountInput): Step {
  switch (input.op) {
    case 'balance': {
      const a = state.account;
      const balance = a?.balance ?? 0;
      const available = a === null ? 0 : a.balance + sums(a.pending).neg;
      return { state, output: { balance, available, version: state.version } };
    }
    case 'journal':
      return stepJournal(limits, state, input.fromVersion, input.limit);
    default:
      return stepWrite(limits, state, input);
  }
}

/** The account spec under the given limits (tests use small ones to reach them). */
export function createAccountModel(
  limits: AccountLimits = ACCOUNT_LIMITS,
): Model<AccountState, AccountInput, AccountOutput> {
  return {
    init: () => ({ version: 0, account: null }),
    step: (state, input) => stepAccount(limits, state, input),
    equalOutput: (a, b) => isDeepStrictEqual(a, b),
    // Built with fixed key order and pending sorted, so JSON is one string per state.
    hash: (state) => JSON.stringify(state),
  };
}

export const accountModel = createAccountModel();
