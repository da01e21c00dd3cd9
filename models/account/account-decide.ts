/**
 * Deciding one account op against the current state (account-data.ts): refuse it, answer it
 * as a duplicate of its first application, or change the balance and pending list (the
 * caller appends the journal entry, account-next.ts). A pure function of the state and the
 * op: every replica decides alike. The check order is account.ts's ("Check order").
 */
import { pendingIndex, pendingSums } from './account-changes';
import { findId } from './account-data';
import type { Account } from './account-data';
import { IdClass } from './account-index';
import { EntryKind } from './account-journal';
import type { JournalView } from './account-journal';
import type { Pending } from './account-layout';
import { AccountStatus, TxOutcome } from './account-status';
import type { AccountBounds, AccountLimits } from './account';

const OP_ADD = EntryKind.add;
const OP_PREPARE = EntryKind.prepare;
const OP_COMMIT = EntryKind.commit;
const OP_SUBTRACT = EntryKind.subtract;

/** A decoded write op: `amount` is the amount or delta (0 for commit / rollback). */
export interface Request {
  readonly kind: number;
  readonly bounds: AccountBounds;
  readonly id: Uint8Array;
  readonly amount: number;
  /** 0 for a layout 1 op: nothing is known of its age. */
  readonly seenVersion: number;
  /** 0: the machine's default window. */
  readonly retain: number;
}

export type Decision =
  | { readonly type: 'refuse'; readonly status: AccountStatus; readonly outcome: TxOutcome }
  /** The op was applied before: answer the first application's balance and version. */
  | {
      readonly type: 'duplicate';
      readonly outcome: TxOutcome;
      readonly balance: number;
      readonly version: number;
    }
  /** Apply: the new balance and pending list, and the journal entry's amount. */
  | {
      readonly type: 'change';
      readonly balance: number;
      readonly pending: readonly Pending[];
      readonly amount: number;
      readonly outcome: TxOutcome;
    };

const refuse = (status: AccountStatus, outcome: TxOutcome = TxOutcome.none): Decision => ({
  type: 'refuse',
  status,
  outcome,
});

function duplicateOf(journal: JournalView, at: number, outcome: TxOutcome): Decision {
  return {
    type: 'duplicate',
    outcome,
    balance: journal.balanceAfter(at),
    version: journal.version(at),
  };
}

const outcomeOfKind = (kind: number): TxOutcome =>
  kind === OP_COMMIT ? TxOutcome.committed : TxOutcome.rolledBack;

/**
 * How far the balance may fall / rise: headroom of the two invariant lines. balance + neg and
 * balance + pos lie within [min, max], so they are exact; the differences are exact below
 * 2^53, and above it (only with huge bounds) still larger than any safe amount.
 */
function room(a: Account): { down: number; up: number } {
  const { pos, neg } = pendingSums(a.pending);
  return { down: a.balance + neg - a.min, up: a.max - (a.balance + pos) };
}

function decideAddSubtract(a: Account, req: Request): Decision {
  const at = findId(a, IdClass.op, req.id);
  if (at !== undefined) {
    const same = a.journal.kind(at) === req.kind && a.journal.amount(at) === req.amount;
    return same ? duplicateOf(a.journal, at, TxOutcome.none) : refuse(AccountStatus.idConflict);
  }
  // Not remembered. Had the op applied, it applied above seenVersion; every op applied above
  // droppedThrough is remembered. So below the floor "not remembered" proves nothing: refuse
  // rather than risk a second application (a pure function of the record and the op).
  if (req.seenVersion < a.droppedThrough) return refuse(AccountStatus.opIdTooOld);
  const { down, up } = room(a);
  if (req.kind === OP_ADD) {
    if (req.amount > up) return refuse(AccountStatus.limitExceeded);
    return {
      type: 'change',
      balance: a.balance + req.amount,
      pending: a.pending,
      amount: req.amount,
      outcome: TxOutcome.none,
    };
  }
  if (req.amount > down) return refuse(AccountStatus.insufficientFunds);
  return {
    type: 'change',
    balance: a.balance - req.amount,
    pending: a.pending,
    amount: req.amount,
    outcome: TxOutcome.none,
  };
}

function decidePrepare(a: Account, req: Request, version: number, limits: AccountLimits): Decision {
  const { index, found } = pendingIndex(a.pending, req.id);
  if (found) {
    const p = a.pending[index] as Pending;
    if (p.delta !== req.amount) return refuse(AccountStatus.idConflict);
    return { type: 'duplicate', outcome: TxOutcome.none, balance: a.balance, version: p.version };
  }
  const done = findId(a, IdClass.finished, req.id);
  if (done !== undefined)
    return refuse(AccountStatus.txFinished, outcomeOfKind(a.journal.kind(done)));
  if (a.pending.length >= limits.pendingMax) return refuse(AccountStatus.tooManyPending);
  const { down, up } = room(a);
  if (req.amount < 0 && -req.amount > down) return refuse(AccountStatus.insufficientFunds);
  if (req.amount > 0 && req.amount > up) return refuse(AccountStatus.limitExceeded);
  const pending = [...a.pending];
  pending.splice(index, 0, { id: req.id, delta: req.amount, version: version + 1 });
  return {
    type: 'change',
    balance: a.balance,
    pending,
    amount: req.amount,
    outcome: TxOutcome.none,
  };
}

/** commit and rollback: finish a pending tx, answer a finished one, or handle an unknown one. */
function decideFinish(a: Account, req: Request): Decision {
  const outcome = outcomeOfKind(req.kind);
  const { index, found } = pendingIndex(a.pending, req.id);
  if (found) {
    const p = a.pending[index] as Pending;
    const pending = a.pending.filter((_, i) => i !== index);
    const balance = req.kind === OP_COMMIT ? a.balance + p.delta : a.balance;
    return { type: 'change', balance, pending, amount: p.delta, outcome };
  }
  const done = findId(a, IdClass.finished, req.id);
  if (done !== undefined) {
    const recorded = outcomeOfKind(a.journal.kind(done));
    return recorded === outcome
      ? duplicateOf(a.journal, done, outcome)
      : refuse(AccountStatus.txFinished, recorded);
  }
  if (req.kind === OP_COMMIT) return refuse(AccountStatus.unknownTx);
  // Rollback of an unknown tx: record it, so a late prepare of it is refused.
  return { type: 'change', balance: a.balance, pending: a.pending, amount: 0, outcome };
}

export function decide(a: Account, req: Request, version: number, limits: AccountLimits): Decision {
  switch (req.kind) {
    case OP_ADD:
    case OP_SUBTRACT:
      return decideAddSubtract(a, req);
    case OP_PREPARE:
      return decidePrepare(a, req, version, limits);
    default:
      return decideFinish(a, req);
  }
}
