/**
 * The account model: every op and query with its errors, idempotency of opIds and of commit /
 * rollback, reservations against min and max, the journal (numbering, no gaps, the window and
 * its error), bad requests, determinism; the public handle over an in-memory backend (input
 * validation, error codes, the journal iterator); and two properties on random op sequences:
 * the byte-level machine against a plain JS reference, and the public API (over the machine)
 * against the linearizability spec (test/sim/models/account-model).
 */
// The store wraps ops with a requestId (decision 22); the Paxos core unwraps them, so this
// one-replica stand-in does too.
import { splitRequestId } from '../../../../models/request-id';
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { Account } from '../../../../actors/store/account';
import type { AccountBoundsOptions, JournalEntry } from '../../../../actors/store/account';
import type { RequestBody, RequestBackend } from '../../../../actors/store/model-client';
import type { ClientResult } from '../../../../actors/paxos/core/types';
import {
  ACCOUNT_ID_BYTES_MAX,
  ACCOUNT_LIMITS,
  ACCOUNT_RETAIN_MAX,
  ACCOUNT_UNBOUNDED_MAX,
  AccountStatus,
  JOURNAL_ENTRIES_MAX,
  JOURNAL_PAGE_MAX,
  TxOutcome,
  accountStateMachine,
  createAccountStateMachine,
  decodeAccountData,
  decodeAccountResult,
  encodeAccountData,
  encodeAccountOp,
  encodeAccountQuery,
} from '../../../../models/account/account';
import type {
  AccountBounds,
  AccountEntry,
  AccountLimits,
  AccountOp,
  AccountResults,
} from '../../../../models/account/account';
import { parseAccount } from '../../../../models/account/account-data';
import { ModelTag, RESULT_BAD_REQUEST } from '../../../../models/model-tags';
import { encodeQueueOp, queueStateMachine } from '../../../../models/queue/queue';
import {
  createModelRegistry,
  isWrongModel,
  splitVersion,
  tagged,
} from '../../../../models/registry';
import type { StateMachine } from '../../../../models/state-machine';
import { VERIFY, setVerify } from '../../../../runtime/assert';
import { ByteWriter } from '../../../../runtime/byte-codec';
import { checkHistory } from '../../../sim/linearizability';
import type { HistoryOp } from '../../../sim/linearizability';
import { createAccountModel } from '../../../sim/models/account-model';
import type { AccountInput, AccountOutput } from '../../../sim/models/account-model';

const B: AccountBounds = { min: 0, max: ACCOUNT_UNBOUNDED_MAX };

/** True when the data has no change run: a merge (or a first write) wrote it whole. */
const isMerged = (data: Uint8Array | null): boolean => {
  const a = data === null ? undefined : parseAccount(data, JOURNAL_ENTRIES_MAX);
  return a !== undefined && a.lastVersion === a.baseVersion;
};

const add = (amount: number, opId: string, bounds = B): AccountOp => ({
  type: 'add',
  bounds,
  opId,
  amount,
});
const sub = (amount: number, opId: string, bounds = B): AccountOp => ({
  type: 'subtract',
  bounds,
  opId,
  amount,
});
const prepare = (txId: string, delta: number, bounds = B): AccountOp => ({
  type: 'prepare',
  bounds,
  txId,
  delta,
});
const commit = (txId: string, bounds = B): AccountOp => ({ type: 'commit', bounds, txId });
const rollback = (txId: string, bounds = B): AccountOp => ({ type: 'rollback', bounds, txId });

type Write = AccountResults['write'] & { mutated: boolean };

/** One key driven through the machine as the core would: the version counts mutations. */
class Key {
  data: Uint8Array | null = null;

  constructor(
    readonly machine: StateMachine = accountStateMachine,
    public version = 0,
  ) {}

  raw(op: Uint8Array): Write {
    const out = this.machine.apply(this.data, this.version, op);
    if (!out.mutated)
      deepStrictEqual(out.data, this.data, 'a refused or repeated op leaves the data as it was');
    this.data = out.data;
    if (out.mutated) this.version++;
    return { ...decodeAccountResult('write', out.result), mutated: out.mutated };
  }

  /** add / subtract without a seenVersion are new ops: sent having seen the current version. */
  op(op: AccountOp): Write {
    const fresh =
      (op.type === 'add' || op.type === 'subtract') && op.seenVersion === undefined
        ? { ...op, seenVersion: this.version }
        : op;
    return this.raw(encodeAccountOp(fresh));
  }

  ops(...ops: AccountOp[]): Write[] {
    return ops.map((o) => this.op(o));
  }

  balance(): AccountResults['balance'] {
    return decodeAccountResult(
      'balance',
      this.machine.read(this.data, this.version, encodeAccountQuery({ type: 'balance' })),
    );
  }

  journal(fromVersion: number, limit = JOURNAL_PAGE_MAX): AccountResults['journal'] {
    const q = encodeAccountQuery({ type: 'journal', fromVersion, limit });
    return decodeAccountResult('journal', this.machine.read(this.data, this.version, q));
  }
}

const ok = (
  balance: number,
  version: number,
  outcome: TxOutcome = TxOutcome.none,
  duplicate = false,
  mutated = !duplicate,
): Write => ({ status: AccountStatus.ok, outcome, duplicate, balance, version, mutated });
const refused = (
  status: AccountStatus,
  balance: number,
  version: number,
  outcome: TxOutcome = TxOutcome.none,
): Write => ({ status, outcome, duplicate: false, balance, version, mutated: false });

const entry = (
  version: number,
  kind: AccountEntry['kind'],
  amount: number,
  id: string,
  balanceAfter: number,
): AccountEntry => ({ version, kind, amount, id, balanceAfter });

// ---- add and subtract ----

test('add and subtract move the balance; each applied op is one version and one entry', (t) => {
  const k = new Key();
  t.deepEqual(k.ops(add(100, 'a'), sub(30, 'b'), add(5, 'c')), [ok(100, 1), ok(70, 2), ok(75, 3)]);
  t.deepEqual(k.balance(), { balance: 75, available: 75, version: 3 });
  t.deepEqual(k.journal(0).entries, [
    entry(1, 'add', 100, 'a', 100),
    entry(2, 'subtract', 30, 'b', 70),
    entry(3, 'add', 5, 'c', 75),
  ]);
});

test('an absent account reads as 0 at the key version', (t) => {
  const k = new Key(accountStateMachine, 4);
  t.deepEqual(k.balance(), { balance: 0, available: 0, version: 4 });
  t.deepEqual(k.journal(0), { status: AccountStatus.ok, version: 4, nextVersion: 0, entries: [] });
});

test('subtract below min is INSUFFICIENT_FUNDS and changes nothing', (t) => {
  const k = new Key();
  k.op(add(10, 'a'));
  t.deepEqual(k.op(sub(11, 'b')), refused(AccountStatus.insufficientFunds, 10, 1));
  t.deepEqual(k.op(sub(10, 'c')), ok(0, 2), 'exactly down to min is fine');
});

test('a negative min allows an overdraft down to it', (t) => {
  const over = { min: -50, max: 100 };
  const k = new Key();
  t.deepEqual(k.ops(sub(50, 'a', over), sub(1, 'b', over)), [
    ok(-50, 1),
    refused(AccountStatus.insufficientFunds, -50, 1),
  ]);
});

test('add past max is LIMIT_EXCEEDED and changes nothing', (t) => {
  const capped = { min: 0, max: 100 };
  const k = new Key();
  t.deepEqual(k.ops(add(100, 'a', capped), add(1, 'b', capped)), [
    ok(100, 1),
    refused(AccountStatus.limitExceeded, 100, 1),
  ]);
});

test('a first op that fails leaves the key absent and fixes no bounds', (t) => {
  const k = new Key();
  t.deepEqual(
    k.op(sub(1, 'a', { min: 0, max: 10 })),
    refused(AccountStatus.insufficientFunds, 0, 0),
  );
  t.is(k.data, null);
  t.deepEqual(
    k.op(add(20, 'b', { min: 0, max: 30 })),
    ok(20, 1),
    'other bounds are still free to choose',
  );
});

test('balances reach the safe-integer limits exactly and not beyond', (t) => {
  const k = new Key();
  t.deepEqual(k.op(add(Number.MAX_SAFE_INTEGER, 'a')), ok(Number.MAX_SAFE_INTEGER, 1));
  t.deepEqual(k.op(add(1, 'b')), refused(AccountStatus.limitExceeded, Number.MAX_SAFE_INTEGER, 1));
  const low = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
  const m = new Key();
  t.deepEqual(m.op(sub(Number.MAX_SAFE_INTEGER, 'a', low)), ok(Number.MIN_SAFE_INTEGER, 1));
  t.deepEqual(
    m.op(sub(1, 'b', low)),
    refused(AccountStatus.insufficientFunds, Number.MIN_SAFE_INTEGER, 1),
  );
  t.deepEqual(m.op(add(Number.MAX_SAFE_INTEGER, 'c', low)), ok(0, 2));
});

// ---- opId idempotency ----

test('the same opId twice applies once and answers the first result again', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), sub(40, 'pay'), add(1, 'b'));
  t.deepEqual(k.op(sub(40, 'pay')), ok(60, 2, TxOutcome.none, true));
  t.deepEqual(k.op(add(100, 'a')), ok(100, 1, TxOutcome.none, true));
  t.deepEqual(k.balance(), { balance: 61, available: 61, version: 3 });
});

test('an opId reused with another amount or kind is ID_CONFLICT', (t) => {
  const k = new Key();
  k.op(add(100, 'a'));
  t.deepEqual(k.op(add(99, 'a')), refused(AccountStatus.idConflict, 100, 1));
  t.deepEqual(k.op(sub(100, 'a')), refused(AccountStatus.idConflict, 100, 1));
});

test('a refused op is not remembered: the same opId may apply later', (t) => {
  const k = new Key();
  t.is(k.op(sub(10, 'pay')).status, AccountStatus.insufficientFunds);
  k.op(add(10, 'top-up'));
  t.deepEqual(k.op(sub(10, 'pay')), ok(0, 2));
});

test('opIds and txIds are separate name spaces', (t) => {
  const k = new Key();
  k.op(add(10, 'x'));
  t.deepEqual(k.op(prepare('x', -5)), ok(10, 2));
  t.deepEqual(k.op(commit('x')), ok(5, 3, TxOutcome.committed));
  t.deepEqual(k.op(add(10, 'x')), ok(10, 1, TxOutcome.none, true));
});

const seen = (op: AccountOp, seenVersion: number): AccountOp =>
  ({ ...op, seenVersion }) as AccountOp;

test('ids are remembered while their entry is kept; a retry of a dropped one is opIdTooOld', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 3 }));
  // 'a' is first sent having seen version 0, and every retry says so.
  k.ops(seen(add(1, 'a'), 0), add(1, 'b'), add(1, 'c'));
  t.deepEqual(k.op(seen(add(1, 'a'), 0)), ok(1, 1, TxOutcome.none, true), 'a is kept: a duplicate');
  k.op(add(1, 'd'));
  t.is(decodeAccountData(k.data)?.droppedThrough, 1);
  t.deepEqual(
    k.op(seen(add(1, 'a'), 0)),
    refused(AccountStatus.opIdTooOld, 4, 4),
    'a dropped out of the window: the account cannot tell a retry, so it refuses',
  );
  t.deepEqual(k.op(seen(sub(1, 'a'), 0)), refused(AccountStatus.opIdTooOld, 4, 4), 'any kind');
  t.deepEqual(k.op(seen(add(1, 'b'), 0)), ok(2, 2, TxOutcome.none, true), 'b is still kept');
});

test('opIdTooOld at the boundary: seenVersion = floor is checkable, floor - 1 is not', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 2 }));
  for (let i = 1; i <= 6; i++) k.op(add(1, `op${i}`));
  const floor = decodeAccountData(k.data)?.droppedThrough;
  t.is(floor, 4, 'versions 5 and 6 are kept');
  // An op sent having seen version 4 applied (if at all) at 5 or later: kept, so checkable.
  t.deepEqual(k.op(seen(add(1, 'new'), 4)), ok(7, 7), 'seenVersion = floor: a new op applies');
  t.deepEqual(k.op(seen(add(1, 'new'), 4)), ok(7, 7, TxOutcome.none, true), 'and dedupes');
  // Now the floor is 5: seenVersion 4 might have applied at version 5, which is gone.
  t.deepEqual(k.op(seen(add(1, 'other'), 4)), refused(AccountStatus.opIdTooOld, 7, 7));
  t.deepEqual(k.op(seen(add(1, 'other'), 0)), refused(AccountStatus.opIdTooOld, 7, 7));
  t.deepEqual(k.op(seen(add(1, 'other'), 5)), ok(8, 8), 'seenVersion = the new floor');
  // A remembered opId answers its entry whatever seenVersion says (the index is checked first).
  t.deepEqual(k.op(seen(add(1, 'other'), 0)), ok(8, 8, TxOutcome.none, true));
  t.deepEqual(k.op(seen(add(2, 'other'), 0)), refused(AccountStatus.idConflict, 8, 8));
});

test('the window is per account: fixed by the first write, later values ignored', (t) => {
  const k = new Key();
  k.op({ ...add(1, 'a'), journalEntries: 2 });
  k.ops({ ...add(1, 'b'), journalEntries: 50 }, add(1, 'c'), add(1, 'd'));
  const state = decodeAccountData(k.data);
  t.is(state?.journalEntries, 2);
  t.deepEqual(
    state?.journal.map((e) => e.id),
    ['c', 'd'],
  );
  t.is(state?.droppedThrough, 2);
});

test('determinism: two replicas applying the same ops (with drops and refusals) hold equal bytes', (t) => {
  const machine = () => createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 4 });
  const ops: AccountOp[] = [];
  for (let i = 0; i < 40; i++) {
    ops.push(seen(add(1 + (i % 4), `op${i % 4}`), Math.max(0, i - 6)));
    if (i % 5 === 0)
      ops.push(prepare(`t${i}`, -1), i % 10 === 0 ? commit(`t${i}`) : rollback(`t${i}`));
  }
  const r1 = new Key(machine());
  const r2 = new Key(machine());
  const results1 = ops.map((op) => r1.op(op));
  const results2 = ops.map((op) => r2.op(op));
  t.deepEqual(results1, results2);
  t.true(
    results1.some((r) => r.status === AccountStatus.opIdTooOld),
    'the run reaches the floor',
  );
  t.true(
    results1.some((r) => r.duplicate),
    'and the window',
  );
  t.deepEqual(r1.data, r2.data);
  t.true(r1.data !== null && Buffer.from(r1.data).equals(Buffer.from(r2.data ?? [])));
});

test('layout 1 data (no window, no index) is read, and its first write stores layout 2', (t) => {
  const w = new ByteWriter();
  for (const n of [0, ACCOUNT_UNBOUNDED_MAX, 5, 0]) w.f64(n); // min, max, balance, dropped
  w.u32(0); // no pending
  const id = new TextEncoder().encode('old');
  for (const [v, amt] of [
    [1, 2],
    [2, 3],
  ] as const) {
    w.f64(v);
    w.u8(1);
    w.f64(amt);
    w.f64(v === 1 ? 2 : 5);
    w.bytes(v === 1 ? id : new TextEncoder().encode('old2'));
  }
  const k = new Key();
  k.data = w.finish();
  k.version = 2;
  t.deepEqual(k.op(seen(add(2, 'old'), 0)), ok(2, 1, TxOutcome.none, true), 'found by a walk');
  t.deepEqual(k.op(add(1, 'new')), ok(6, 3));
  const state = decodeAccountData(k.data);
  t.is(state?.journalEntries, JOURNAL_ENTRIES_MAX);
  t.is(state?.journal.length, 3);
  if (state !== undefined) t.deepEqual(encodeAccountData(state), k.data, 'layout 2, canonical');
});

// ---- transactions ----

test('a prepared debit reserves funds: available drops, balance does not', (t) => {
  const k = new Key();
  k.op(add(100, 'a'));
  t.deepEqual(k.op(prepare('t1', -70)), ok(100, 2));
  t.deepEqual(k.balance(), { balance: 100, available: 30, version: 2 });
  t.deepEqual(k.op(sub(31, 'b')), refused(AccountStatus.insufficientFunds, 100, 2));
  t.deepEqual(k.op(prepare('t2', -31)), refused(AccountStatus.insufficientFunds, 100, 2));
  t.deepEqual(k.ops(sub(30, 'c'), commit('t1')), [ok(70, 3), ok(0, 4, TxOutcome.committed)]);
  t.deepEqual(k.balance(), { balance: 0, available: 0, version: 4 });
});

test('a prepared credit counts toward max but is not available', (t) => {
  const capped = { min: 0, max: 100 };
  const k = new Key();
  k.op(add(50, 'a', capped));
  t.deepEqual(k.op(prepare('t1', 40, capped)), ok(50, 2));
  t.deepEqual(k.op(add(11, 'b', capped)), refused(AccountStatus.limitExceeded, 50, 2));
  t.deepEqual(k.op(prepare('t2', 11, capped)), refused(AccountStatus.limitExceeded, 50, 2));
  t.deepEqual(
    k.op(sub(51, 'c', capped)),
    refused(AccountStatus.insufficientFunds, 50, 2),
    'the credit is not spendable',
  );
  t.deepEqual(k.op(commit('t1', capped)), ok(90, 3, TxOutcome.committed));
});

test('debits and credits pending together keep both lines', (t) => {
  const capped = { min: 0, max: 100 };
  const k = new Key();
  k.ops(add(50, 'a', capped), prepare('debit', -50, capped), prepare('credit', 50, capped));
  t.deepEqual(k.balance(), { balance: 50, available: 0, version: 3 });
  // Either may commit first, and either may roll back: the balance stays within [0, 100].
  t.deepEqual(k.ops(commit('credit', capped), commit('debit', capped)), [
    ok(100, 4, TxOutcome.committed),
    ok(50, 5, TxOutcome.committed),
  ]);
});

test('rollback releases the reservation', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), prepare('t1', -100));
  t.deepEqual(k.op(rollback('t1')), ok(100, 3, TxOutcome.rolledBack));
  t.deepEqual(k.balance(), { balance: 100, available: 100, version: 3 });
  t.deepEqual(k.journal(0).entries.slice(1), [
    entry(2, 'prepare', -100, 't1', 100),
    entry(3, 'rollback', -100, 't1', 100),
  ]);
});

test('commit and rollback are idempotent and answer the first version', (t) => {
  const k = new Key();
  k.ops(
    add(100, 'a'),
    prepare('c', -10),
    prepare('r', -20),
    commit('c'),
    rollback('r'),
    add(1, 'b'),
  );
  t.deepEqual(k.op(commit('c')), ok(90, 4, TxOutcome.committed, true));
  t.deepEqual(k.op(rollback('r')), ok(90, 5, TxOutcome.rolledBack, true));
  t.is(k.version, 6);
});

test('finishing a tx the other way is TRANSACTION_FINISHED with the recorded outcome', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), prepare('c', -10), prepare('r', -20), commit('c'), rollback('r'));
  t.deepEqual(k.op(rollback('c')), refused(AccountStatus.txFinished, 90, 5, TxOutcome.committed));
  t.deepEqual(k.op(commit('r')), refused(AccountStatus.txFinished, 90, 5, TxOutcome.rolledBack));
  t.deepEqual(
    k.op(prepare('c', -10)),
    refused(AccountStatus.txFinished, 90, 5, TxOutcome.committed),
  );
});

test('a repeated prepare answers its first version; another delta is ID_CONFLICT', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), prepare('t', -10), add(1, 'b'));
  t.deepEqual(k.op(prepare('t', -10)), ok(101, 2, TxOutcome.none, true));
  t.deepEqual(k.op(prepare('t', -11)), refused(AccountStatus.idConflict, 101, 3));
  t.deepEqual(k.op(prepare('t', 10)), refused(AccountStatus.idConflict, 101, 3));
});

test('commit of an unknown tx is UNKNOWN_TRANSACTION', (t) => {
  const k = new Key();
  t.deepEqual(k.op(commit('nope')), refused(AccountStatus.unknownTx, 0, 0));
  k.op(add(1, 'a'));
  t.deepEqual(k.op(commit('nope')), refused(AccountStatus.unknownTx, 1, 1));
});

test('rollback of an unknown tx succeeds, is journaled with delta 0 and fences a late prepare', (t) => {
  const k = new Key();
  t.deepEqual(k.op(rollback('late')), ok(0, 1, TxOutcome.rolledBack), 'even on an absent account');
  t.deepEqual(k.journal(0).entries, [entry(1, 'rollback', 0, 'late', 0)]);
  k.op(add(100, 'a'));
  t.deepEqual(
    k.op(prepare('late', -10)),
    refused(AccountStatus.txFinished, 100, 2, TxOutcome.rolledBack),
  );
  t.deepEqual(k.op(rollback('late')), ok(0, 1, TxOutcome.rolledBack, true));
  t.deepEqual(
    k.op(commit('late')),
    refused(AccountStatus.txFinished, 100, 2, TxOutcome.rolledBack),
  );
});

test('more than pendingMax open transactions is tooManyPending', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, pendingMax: 2 }));
  k.ops(add(100, 'a'), prepare('t1', -1), prepare('t2', 1));
  t.deepEqual(k.op(prepare('t3', -1)), refused(AccountStatus.tooManyPending, 100, 3));
  k.op(commit('t1'));
  t.deepEqual(k.op(prepare('t3', -1)), ok(99, 5));
});

test('pending transactions are stored sorted by id, whatever the prepare order', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), prepare('b', -1), prepare('é', -1), prepare('a', -1), prepare('Z', -1));
  t.deepEqual(
    decodeAccountData(k.data)?.pending.map((p) => p.txId),
    ['Z', 'a', 'b', 'é'],
  );
  t.deepEqual(
    decodeAccountData(k.data)?.pending.map((p) => p.version),
    [5, 4, 2, 3],
  );
});

// ---- bounds ----

test('bounds are fixed by the first write; other bounds are boundsMismatch on every write', (t) => {
  const capped = { min: 0, max: 100 };
  const k = new Key();
  k.ops(add(50, 'a', capped), prepare('t', -5, capped));
  const before = k.data;
  for (const op of [
    add(1, 'b'),
    sub(1, 'c'),
    prepare('u', -1),
    commit('t'),
    rollback('t'),
    add(50, 'a', { min: -1, max: 100 }),
  ]) {
    t.deepEqual(k.op(op), refused(AccountStatus.boundsMismatch, 50, 2), op.type);
  }
  t.is(k.data, before);
  t.deepEqual(decodeAccountData(k.data)?.bounds, capped);
  t.deepEqual(k.balance(), { balance: 50, available: 45, version: 2 }, 'reads carry no bounds');
});

// ---- journal ----

test('journal versions continue the key version without gaps', (t) => {
  const k = new Key(accountStateMachine, 7);
  k.ops(
    add(10, 'a'),
    sub(20, 'x'),
    prepare('t', -5),
    sub(1, 'a'),
    commit('t'),
    rollback('u'),
    add(1, 'a'),
  );
  const { entries } = k.journal(0);
  t.deepEqual(
    entries.map((e) => e.version),
    [8, 9, 10, 11],
  );
  t.deepEqual(
    entries.map((e) => e.kind),
    ['add', 'prepare', 'commit', 'rollback'],
  );
  t.is(k.version, 11);
});

test('journal pages: fromVersion, limit, nextVersion', (t) => {
  const k = new Key();
  for (let i = 1; i <= 5; i++) k.op(add(i, `op${i}`));
  const page = k.journal(2, 2);
  t.deepEqual(
    page.entries.map((e) => e.version),
    [2, 3],
  );
  t.deepEqual([page.status, page.version, page.nextVersion], [AccountStatus.ok, 5, 4]);
  t.deepEqual(
    k.journal(4, 10).entries.map((e) => e.version),
    [4, 5],
  );
  t.deepEqual(k.journal(6, 10), {
    status: AccountStatus.ok,
    version: 5,
    nextVersion: 6,
    entries: [],
  });
  t.deepEqual(k.journal(99, 1), {
    status: AccountStatus.ok,
    version: 5,
    nextVersion: 99,
    entries: [],
  });
});

test('a journal page holds at most pageMax entries', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, pageMax: 2 }));
  for (let i = 1; i <= 3; i++) k.op(add(1, `op${i}`));
  const page = k.journal(0, 100);
  t.deepEqual([page.entries.length, page.nextVersion], [2, 3]);
});

test('the journal keeps the newest journalEntriesMax; older reads are journalTrimmed', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 3 }));
  for (let i = 1; i <= 5; i++) k.op(add(1, `op${i}`));
  t.deepEqual(
    k.journal(3).entries.map((e) => e.version),
    [3, 4, 5],
  );
  for (const from of [0, 1, 2]) {
    t.deepEqual(
      k.journal(from),
      { status: AccountStatus.journalTrimmed, version: 5, nextVersion: 3, entries: [] },
      `from ${from}`,
    );
  }
  t.is(decodeAccountData(k.data)?.droppedThrough, 2);
});

test('an account created on a reused key is not "trimmed" before its first entry', (t) => {
  const k = new Key(createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 2 }), 10);
  k.op(add(1, 'a'));
  t.deepEqual(
    k.journal(0).entries.map((e) => e.version),
    [11],
  );
});

test('the default window is JOURNAL_ENTRIES_MAX entries', (t) => {
  const k = new Key();
  // Without VERIFY's whole-data check on every apply, which would make this quadratic.
  const verify = VERIFY;
  setVerify(false);
  try {
    for (let i = 0; i <= JOURNAL_ENTRIES_MAX; i++) k.op(add(1, `op${i}`));
  } finally {
    setVerify(verify);
  }
  const state = decodeAccountData(k.data);
  t.is(state?.journal.length, JOURNAL_ENTRIES_MAX);
  t.is(state?.droppedThrough, 1);
  t.is(k.journal(1).status, AccountStatus.journalTrimmed);
  t.deepEqual(
    k.op(seen(add(1, 'op0'), 0)),
    refused(AccountStatus.opIdTooOld, JOURNAL_ENTRIES_MAX + 1, JOURNAL_ENTRIES_MAX + 1),
    'op0 was forgotten: too old to check',
  );
  t.true(k.op(seen(add(1, 'op1'), 0)).duplicate, 'op1 is the oldest kept');
});

// ---- bad input, determinism, framing ----

/** An op with any values, bypassing the encoder's asserts. */
function rawOp(code: number, bounds: AccountBounds, id: Uint8Array, amount?: number): Uint8Array {
  const w = new ByteWriter();
  w.u8(code);
  w.f64(bounds.min);
  w.f64(bounds.max);
  w.bytes(id);
  if (amount !== undefined) w.f64(amount);
  return w.finish();
}

test('invalid values in ops and queries are answered RESULT_BAD_REQUEST, never thrown', (t) => {
  const k = new Key();
  k.op(add(5, 'a'));
  const id = new TextEncoder().encode('x');
  const bad: Array<[string, Uint8Array]> = [
    ['add 0', rawOp(1, B, id, 0)],
    ['add negative', rawOp(1, B, id, -1)],
    ['add fraction', rawOp(1, B, id, 1.5)],
    ['subtract NaN', rawOp(2, B, id, Number.NaN)],
    ['add unsafe', rawOp(1, B, id, 2 ** 53)],
    ['prepare 0', rawOp(3, B, id, 0)],
    ['empty id', rawOp(4, B, new Uint8Array(0))],
    ['long id', rawOp(5, B, new Uint8Array(ACCOUNT_ID_BYTES_MAX + 1).fill(97))],
    ['min above 0', rawOp(1, { min: 1, max: 10 }, id, 1)],
    ['max below 0', rawOp(1, { min: -10, max: -1 }, id, 1)],
    ['fractional bound', rawOp(1, { min: -0.5, max: 10 }, id, 1)],
  ];
  for (const [name, op] of bad) t.deepEqual(k.raw(op), refused(RESULT_BAD_REQUEST, 5, 1), name);
  const q = new ByteWriter();
  q.u8(2);
  q.f64(-1);
  q.u32(1);
  t.is(
    decodeAccountResult('journal', accountStateMachine.read(k.data, 1, q.finish())).status,
    RESULT_BAD_REQUEST,
  );
});

test('malformed bytes and bad encoder input are programmer errors', (t) => {
  const k = new Key();
  k.op(add(5, 'a'));
  const good = encodeAccountOp(add(1, 'b'));
  for (const op of [
    new Uint8Array(0),
    Uint8Array.of(9),
    good.subarray(0, good.length - 1),
    Uint8Array.of(...good, 0),
  ]) {
    t.throws(() => accountStateMachine.apply(k.data, 1, op), undefined, `op ${op.join(',')}`);
  }
  for (const q of [new Uint8Array(0), Uint8Array.of(9), Uint8Array.of(1, 0), Uint8Array.of(2, 0)]) {
    t.throws(() => accountStateMachine.read(k.data, 1, q), undefined, `query ${q.join(',')}`);
  }
  t.throws(() => encodeAccountOp(add(0, 'a')));
  t.throws(() => encodeAccountOp(add(1, '')));
  t.throws(() => encodeAccountOp(prepare('t', 0)));
  t.throws(() => encodeAccountOp(add(1, 'a', { min: 1, max: 2 })));
  t.throws(() => encodeAccountQuery({ type: 'journal', fromVersion: -1, limit: 1 }));
  t.throws(() => encodeAccountQuery({ type: 'journal', fromVersion: 0, limit: 0 }));
  t.throws(
    () => accountStateMachine.apply(new Uint8Array(0), 1, good),
    undefined,
    'empty data is not null',
  );
});

test('the same data and op give identical bytes; the data is canonical', (t) => {
  const k = new Key();
  k.ops(add(100, 'a'), prepare('t2', -5), prepare('t1', 7), sub(1, 'b'));
  const ops = [
    add(1, 'c'),
    sub(1, 'a'),
    prepare('t3', -1),
    commit('t1'),
    rollback('t2'),
    rollback('zz'),
  ].map(encodeAccountOp);
  for (const op of ops) {
    const a = accountStateMachine.apply(k.data, k.version, op);
    const b = accountStateMachine.apply(k.data?.slice() ?? null, k.version, op.slice());
    t.deepEqual([a.data, a.mutated, a.result], [b.data, b.mutated, b.result]);
  }
  const state = decodeAccountData(k.data);
  t.truthy(state);
  // Writes since the last merge append to a change run, so the data is not the canonical
  // encoding of its state; the state round-trips through it.
  if (state !== undefined) t.deepEqual(decodeAccountData(encodeAccountData(state)), state);
});

test('through the registry: tagged, the version appended, other models refused both ways', (t) => {
  const registry = createModelRegistry([
    [ModelTag.account, accountStateMachine],
    [ModelTag.queue, queueStateMachine],
  ]);
  const out = registry.apply(null, 0, tagged(ModelTag.account, encodeAccountOp(add(3, 'a'))));
  t.is(out.data?.[0], ModelTag.account);
  const { body, version } = splitVersion(out.result);
  t.deepEqual(decodeAccountResult('write', body), {
    status: AccountStatus.ok,
    outcome: TxOutcome.none,
    duplicate: false,
    balance: 3,
    version: 1,
  });
  t.is(version, 1);
  t.true(
    isWrongModel(
      registry.apply(out.data, 1, tagged(ModelTag.queue, encodeQueueOp({ type: 'pop' }))).result,
    ),
  );
  const queued = registry.apply(
    null,
    0,
    tagged(ModelTag.queue, encodeQueueOp({ type: 'push', values: [Uint8Array.of(1)] })),
  );
  t.true(
    isWrongModel(
      registry.apply(queued.data, 1, tagged(ModelTag.account, encodeAccountOp(add(1, 'a')))).result,
    ),
  );
});

// ---- the public handle over an in-memory backend ----

/** One replica's worth of keys, applying requests at once through the registry. */
function memoryBackend(
  machine: StateMachine = accountStateMachine,
): RequestBackend & { writes: number } {
  const registry = createModelRegistry([
    [ModelTag.account, machine],
    [ModelTag.queue, queueStateMachine],
  ]);
  const keys = new Map<string, { data: Uint8Array | null; version: number }>();
  const backend = {
    valueBytesMax: 1024 * 1024,
    writes: 0,
    call(_replica: number | undefined, body: RequestBody): Promise<ClientResult> {
      const rec = keys.get(body.key) ?? { data: null, version: 0 };
      if (body.kind === 'read')
        return Promise.resolve({
          token: 0,
          ok: true,
          result: registry.read(rec.data, rec.version, body.query),
        });
      backend.writes++;
      const out = registry.apply(rec.data, rec.version, splitRequestId(body.op).op);
      keys.set(body.key, { data: out.data, version: out.mutated ? rec.version + 1 : rec.version });
      return Promise.resolve({ token: 0, ok: true, result: out.result });
    },
  };
  return backend;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'resolved';
}

async function collect(it: AsyncIterable<JournalEntry>): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

test('api: shapes of every answer', async (t) => {
  const acct = new Account('merchant:7', memoryBackend(), undefined, { max: 1000 });
  t.deepEqual(acct.bounds, { min: 0, max: 1000 });
  t.deepEqual(await acct.balance(), { balance: 0, available: 0, version: 0 });
  t.deepEqual(await acct.add(100, { opId: 'a' }), { balance: 100, version: 1 });
  t.deepEqual(await acct.subtract(30, { opId: 'b' }), { balance: 70, version: 2 });
  t.deepEqual(await acct.prepare('t', -20), { version: 3 });
  t.deepEqual(await acct.balance({ consistency: 'local' }), {
    balance: 70,
    available: 50,
    version: 3,
  });
  t.deepEqual(await acct.commit('t'), { outcome: 'committed', version: 4 });
  t.deepEqual(await acct.commit('t'), { outcome: 'committed', version: 4 });
  t.deepEqual(await acct.rollback('gone'), { outcome: 'rolledBack', version: 5 });
  t.deepEqual(
    await acct.add(100, { opId: 'a' }),
    { balance: 100, version: 1 },
    'a retried opId answers the first result',
  );
  t.deepEqual(await collect(acct.journal()), [
    { version: 1, kind: 'add', amount: 100, opId: 'a', balanceAfter: 100 },
    { version: 2, kind: 'subtract', amount: 30, opId: 'b', balanceAfter: 70 },
    { version: 3, kind: 'prepare', delta: -20, txId: 't', balanceAfter: 70 },
    { version: 4, kind: 'commit', delta: -20, txId: 't', balanceAfter: 50 },
    { version: 5, kind: 'rollback', delta: 0, txId: 'gone', balanceAfter: 50 },
  ]);
  t.deepEqual(await acct.journalPage(4, { limit: 1 }), {
    entries: [{ version: 4, kind: 'commit', delta: -20, txId: 't', balanceAfter: 50 }],
    nextVersion: 5,
    version: 5,
  });
});

test('api: every refusal has its error code and sends or changes nothing more', async (t) => {
  const backend = memoryBackend(createAccountStateMachine({ ...ACCOUNT_LIMITS, pendingMax: 1 }));
  const acct = new Account('acct', backend, undefined, { min: -10, max: 100 });
  await acct.add(50, { opId: 'a' });
  t.is(await codeOf(acct.subtract(61, { opId: 'b' })), 'INSUFFICIENT_FUNDS');
  t.is(await codeOf(acct.add(51, { opId: 'c' })), 'LIMIT_EXCEEDED');
  t.is(await codeOf(acct.add(5, { opId: 'a' })), 'ID_CONFLICT');
  t.is(await codeOf(acct.commit('t')), 'UNKNOWN_TRANSACTION');
  await acct.prepare('t', -1);
  t.is(await codeOf(acct.prepare('u', -1)), 'TOO_LARGE');
  await acct.rollback('t');
  t.is(await codeOf(acct.commit('t')), 'TRANSACTION_FINISHED');
  t.is(await codeOf(acct.prepare('t', -1)), 'TRANSACTION_FINISHED');
  t.is(
    await codeOf(new Account('acct', backend, undefined).add(1, { opId: 'z' })),
    'BOUNDS_MISMATCH',
  );
  t.is(await codeOf(new Account('q', backend, undefined).add(1, { opId: 'z' })), 'resolved');
  t.deepEqual(await acct.balance(), { balance: 50, available: 50, version: 3 });
});

test('api: WRONG_TYPE on a name that holds another model', async (t) => {
  const backend = memoryBackend();
  await backend.call(undefined, {
    kind: 'write',
    key: '\u0000jobs',
    op: tagged(ModelTag.queue, encodeQueueOp({ type: 'push', values: [Uint8Array.of(1)] })),
  });
  const acct = new Account('jobs', backend, undefined);
  t.is(await codeOf(acct.add(1, { opId: 'a' })), 'WRONG_TYPE');
  t.is(await codeOf(acct.balance()), 'WRONG_TYPE');
});

test('api: bad input is INVALID_ARGUMENT before anything is sent', async (t) => {
  const backend = memoryBackend();
  const acct = new Account('acct', backend, undefined);
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['amount 0', () => acct.add(0, { opId: 'a' })],
    ['negative amount', () => acct.subtract(-5, { opId: 'a' })],
    ['fractional amount', () => acct.add(1.5, { opId: 'a' })],
    ['unsafe amount', () => acct.add(2 ** 53, { opId: 'a' })],
    ['string amount', () => acct.add('5' as unknown as number, { opId: 'a' })],
    ['missing opId', () => acct.add(5, {} as { opId: string })],
    ['missing options', () => acct.add(5, undefined as unknown as { opId: string })],
    ['empty opId', () => acct.add(5, { opId: '' })],
    ['long opId', () => acct.add(5, { opId: 'x'.repeat(ACCOUNT_ID_BYTES_MAX + 1) })],
    ['lone surrogate', () => acct.add(5, { opId: '\ud800' })],
    ['delta 0', () => acct.prepare('t', 0)],
    ['fractional delta', () => acct.prepare('t', 0.5)],
    ['empty txId', () => acct.commit('')],
    ['bad consistency', () => acct.balance({ consistency: 'eventual' as 'local' })],
    ['page limit 0', () => acct.journalPage(0, { limit: 0 })],
    ['page limit too big', () => acct.journalPage(0, { limit: JOURNAL_PAGE_MAX + 1 })],
    ['negative fromVersion', () => acct.journalPage(-1)],
  ];
  for (const [name, call] of calls) t.is(await codeOf(call()), 'INVALID_ARGUMENT', name);
  t.throws(() => acct.journal({ fromVersion: 0.5 }), { code: 'INVALID_ARGUMENT' });
  const bounds: AccountBoundsOptions[] = [
    { min: 5, max: 1 },
    { min: 1 },
    { max: -1 },
    { min: 0.5 },
    { max: Infinity },
  ];
  for (const b of bounds)
    t.throws(
      () => new Account('a', backend, undefined, b),
      { code: 'INVALID_ARGUMENT' },
      JSON.stringify(b),
    );
  t.throws(() => new Account('', backend, undefined), { code: 'INVALID_ARGUMENT' });
  t.is(backend.writes, 0);
});

test('api: the journal iterator pages through everything from fromVersion, in order, once', async (t) => {
  const acct = new Account('acct', memoryBackend(), undefined);
  for (let i = 1; i <= 25; i++) await acct.add(i, { opId: `op${i}` });
  for (const pageSize of [1, 4, 5, 1000]) {
    const all = await collect(acct.journal({ pageSize }));
    t.deepEqual(
      all.map((e) => e.version),
      Array.from({ length: 25 }, (_, i) => i + 1),
      `pageSize ${pageSize}`,
    );
  }
  t.deepEqual(
    (await collect(acct.journal({ fromVersion: 20, pageSize: 2 }))).map((e) => e.version),
    [20, 21, 22, 23, 24, 25],
  );
  t.deepEqual(await collect(acct.journal({ fromVersion: 26 })), []);
  t.deepEqual(await collect(new Account('empty', memoryBackend(), undefined).journal()), []);
});

test('api: the iterator stops at the version it saw first even while writes continue', async (t) => {
  const acct = new Account('acct', memoryBackend(), undefined);
  for (let i = 1; i <= 6; i++) await acct.add(1, { opId: `op${i}` });
  const seen: number[] = [];
  let extra = 0;
  for await (const e of acct.journal({ pageSize: 2 })) {
    seen.push(e.version);
    await acct.add(1, { opId: `more${extra++}` });
  }
  t.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
});

test('api: the iterator fails with JOURNAL_TRIMMED rather than skip', async (t) => {
  const backend = memoryBackend(
    createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax: 4 }),
  );
  const acct = new Account('acct', backend, undefined);
  for (let i = 1; i <= 6; i++) await acct.add(1, { opId: `op${i}` });
  t.is(await codeOf(collect(acct.journal())), 'JOURNAL_TRIMMED');
  t.is(await codeOf(acct.journalPage(2)), 'JOURNAL_TRIMMED');
  t.deepEqual(
    (await collect(acct.journal({ fromVersion: 3 }))).map((e) => e.version),
    [3, 4, 5, 6],
  );
  // A reader slower than the writers loses its place: an error, not a silent gap.
  const seen: number[] = [];
  const reading = (async () => {
    for await (const e of acct.journal({ fromVersion: 3, pageSize: 1 })) {
      seen.push(e.version);
      for (let i = 0; i < 4; i++) await acct.add(1, { opId: `late${e.version}-${i}` });
    }
  })();
  t.is(await codeOf(reading), 'JOURNAL_TRIMMED');
  t.deepEqual(seen, [3]);
});

// ---- properties ----

const bounds = [{ min: 0, max: 40 }, { min: -10, max: 25 }, B] as const;
const idArb = fc.constantFrom('a', 'b', 'c', 'd');
const amountArb = fc.integer({ min: 1, max: 20 });
const deltaArb = fc.integer({ min: -20, max: 20 }).filter((d) => d !== 0);
// Mostly the first bounds, so most writes reach the account rather than boundsMismatch.
const boundsArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(bounds[0]) },
  { weight: 1, arbitrary: fc.constantFrom(...bounds) },
);
const limitsArb: fc.Arbitrary<AccountLimits> = fc.record({
  journalEntriesMax: fc.integer({ min: 1, max: 8 }),
  pendingMax: fc.integer({ min: 0, max: 3 }),
  pageMax: fc.integer({ min: 1, max: 4 }),
});

// Weighted toward writes, so balances grow and reservations pile up against the bounds.
const inputArb: fc.Arbitrary<AccountInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom('add' as const, 'subtract' as const),
      opId: idArb,
      amount: amountArb,
      bounds: boundsArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('prepare' as const),
      txId: idArb,
      delta: deltaArb,
      bounds: boundsArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('commit' as const, 'rollback' as const),
      txId: idArb,
      bounds: boundsArb,
    }),
  },
  { weight: 1, arbitrary: fc.constant<AccountInput>({ op: 'balance' }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('journal' as const),
      fromVersion: fc.nat(12),
      limit: fc.integer({ min: 1, max: 5 }),
    }),
  },
);
/** Long enough runs to fill the small windows and limits many times over. */
const inputsArb = (maxLength: number) => fc.array(inputArb, { maxLength, size: 'max' });

/** `seenVersion`: what add / subtract claim to have seen before their first send. */
function toOp(input: AccountInput, seenVersion = 0): AccountOp | undefined {
  const b = 'bounds' in input && input.bounds !== undefined ? input.bounds : B;
  switch (input.op) {
    case 'add':
    case 'subtract':
      return { type: input.op, bounds: b, opId: input.opId, amount: input.amount, seenVersion };
    case 'prepare':
      return { type: 'prepare', bounds: b, txId: input.txId, delta: input.delta };
    case 'commit':
    case 'rollback':
      return { type: input.op, bounds: b, txId: input.txId };
    default:
      return undefined;
  }
}

/** A plain JS account: what the machine must answer for each op, and its whole state. */
class Reference {
  version = 0;
  bounds: AccountBounds | undefined;
  balance = 0;
  dropped = 0;
  /** The bytes of every dropped entry (29 fixed + the id's UTF-8): the data's journalBase. */
  base = 0;
  pending = new Map<string, { delta: number; version: number }>();
  journal: AccountEntry[] = [];

  constructor(private readonly limits: AccountLimits) {}

  apply(op: AccountOp): AccountResults['write'] {
    const b = this.bounds ?? op.bounds;
    const no = (status: AccountStatus, outcome: TxOutcome = TxOutcome.none) => ({
      status,
      outcome,
      duplicate: false,
      balance: this.balance,
      version: this.version,
    });
    if (b.min !== op.bounds.min || b.max !== op.bounds.max) return no(AccountStatus.boundsMismatch);
    const kept = (id: string, kinds: string[]) =>
      this.journal.find((e) => e.id === id && kinds.includes(e.kind));
    const again = (e: AccountEntry, outcome: TxOutcome) => ({
      status: AccountStatus.ok,
      outcome,
      duplicate: true,
      balance: e.balanceAfter,
      version: e.version,
    });
    let pos = 0;
    let neg = 0;
    for (const p of this.pending.values()) {
      if (p.delta > 0) pos += p.delta;
      else neg += p.delta;
    }
    if ('opId' in op) {
      const e = kept(op.opId, ['add', 'subtract']);
      if (e !== undefined)
        return e.kind === op.type && e.amount === op.amount
          ? again(e, TxOutcome.none)
          : no(AccountStatus.idConflict);
      // Not remembered, and it may have applied at or below the floor: too old to check.
      if ((op.seenVersion ?? 0) < this.dropped) return no(AccountStatus.opIdTooOld);
      const next = this.balance + (op.type === 'add' ? op.amount : -op.amount);
      if (next + pos > b.max) return no(AccountStatus.limitExceeded);
      if (next + neg < b.min) return no(AccountStatus.insufficientFunds);
      return this.record(b, op.type, op.opId, op.amount, next, TxOutcome.none);
    }
    const p = this.pending.get(op.txId);
    const done = kept(op.txId, ['commit', 'rollback']);
    const doneOutcome = done?.kind === 'commit' ? TxOutcome.committed : TxOutcome.rolledBack;
    if (op.type === 'prepare') {
      if (p !== undefined)
        return p.delta === op.delta
          ? { ...no(AccountStatus.ok), duplicate: true, version: p.version }
          : no(AccountStatus.idConflict);
      if (done !== undefined) return no(AccountStatus.txFinished, doneOutcome);
      if (this.pending.size >= this.limits.pendingMax) return no(AccountStatus.tooManyPending);
      if (this.balance + neg + Math.min(op.delta, 0) < b.min)
        return no(AccountStatus.insufficientFunds);
      if (this.balance + pos + Math.max(op.delta, 0) > b.max)
        return no(AccountStatus.limitExceeded);
      this.pending.set(op.txId, { delta: op.delta, version: this.version + 1 });
      return this.record(b, 'prepare', op.txId, op.delta, this.balance, TxOutcome.none);
    }
    const outcome = op.type === 'commit' ? TxOutcome.committed : TxOutcome.rolledBack;
    if (p !== undefined) {
      this.pending.delete(op.txId);
      return this.record(
        b,
        op.type,
        op.txId,
        p.delta,
        this.balance + (op.type === 'commit' ? p.delta : 0),
        outcome,
      );
    }
    if (done !== undefined)
      return doneOutcome === outcome
        ? again(done, outcome)
        : no(AccountStatus.txFinished, doneOutcome);
    if (op.type === 'commit') return no(AccountStatus.unknownTx);
    return this.record(b, 'rollback', op.txId, 0, this.balance, outcome);
  }

  private record(
    b: AccountBounds,
    kind: AccountEntry['kind'],
    id: string,
    amount: number,
    balance: number,
    outcome: TxOutcome,
  ) {
    this.bounds = b;
    this.version++;
    this.balance = balance;
    this.journal.push({ version: this.version, kind, amount, id, balanceAfter: balance });
    while (this.journal.length > this.limits.journalEntriesMax) {
      const gone = this.journal.shift();
      if (gone === undefined) break;
      this.dropped = gone.version;
      this.base += 29 + Buffer.byteLength(gone.id);
    }
    return { status: AccountStatus.ok, outcome, duplicate: false, balance, version: this.version };
  }

  state() {
    if (this.bounds === undefined) return undefined;
    const pending = [...this.pending]
      .map(([txId, p]) => ({ txId, delta: p.delta, version: p.version }))
      .sort((x, y) => Buffer.compare(Buffer.from(x.txId), Buffer.from(y.txId)));
    return {
      bounds: this.bounds,
      balance: this.balance,
      droppedThrough: this.dropped,
      journalEntries: this.limits.journalEntriesMax,
      journalBase: this.base,
      pending,
      journal: this.journal,
    };
  }
}

test('property: the state machine behaves like a plain JS account; its state round-trips', (t) => {
  fc.assert(
    // Each op claims to have seen the version `lag` writes ago (0 and a lag past the window
    // reach opIdTooOld; a short lag is a new op inside the window).
    fc.property(limitsArb, inputsArb(60), fc.array(fc.nat(10)), (limits, inputs, lags) => {
      const k = new Key(createAccountStateMachine(limits));
      const ref = new Reference(limits);
      for (const [i, input] of inputs.entries()) {
        const lag = lags[i % Math.max(1, lags.length)] ?? 0;
        const op = toOp(input, lag === 10 ? 0 : Math.max(0, ref.version - lag));
        if (op === undefined) continue;
        const { mutated, ...got } = k.op(op);
        const before = ref.version;
        deepStrictEqual(got, ref.apply(op), JSON.stringify(op));
        deepStrictEqual(mutated, ref.version === before + 1);
        deepStrictEqual(k.version, ref.version);
        const state = decodeAccountData(k.data);
        deepStrictEqual(state, ref.state());
        if (state === undefined) continue;
        // The state round-trips through its canonical encoding; data just merged is it.
        deepStrictEqual(decodeAccountData(encodeAccountData(state)), state);
        if (isMerged(k.data))
          deepStrictEqual(encodeAccountData(state), k.data, 'merged data is canonical');
        // Consecutive entries chain: each balanceAfter is the previous one plus the entry's effect.
        for (let i = 1; i < state.journal.length; i++) {
          const e = state.journal[i] as AccountEntry;
          const effect =
            e.kind === 'add'
              ? e.amount
              : e.kind === 'subtract'
                ? -e.amount
                : e.kind === 'commit'
                  ? e.amount
                  : 0;
          deepStrictEqual(
            e.balanceAfter,
            (state.journal[i - 1] as AccountEntry).balanceAfter + effect,
          );
        }
      }
    }),
    { numRuns: 400 },
  );
  t.pass();
});

/** The spec's input through the public handle (and so the registry and the machine). */
async function viaApi(
  acct: (b: AccountBounds) => Account,
  input: AccountInput,
): Promise<AccountOutput> {
  const b = 'bounds' in input && input.bounds !== undefined ? input.bounds : B;
  const a = acct(b);
  try {
    switch (input.op) {
      case 'add':
      case 'subtract':
        return await a[input.op](input.amount, {
          opId: input.opId,
          seenVersion: input.seenVersion ?? 0,
        });
      case 'prepare':
        return await a.prepare(input.txId, input.delta);
      case 'commit':
        return await a.commit(input.txId);
      case 'rollback':
        return await a.rollback(input.txId);
      case 'balance':
        return await a.balance();
      case 'journal':
        return await a.journalPage(input.fromVersion, { limit: input.limit });
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === undefined || code === 'INVALID_ARGUMENT' || code === 'WRONG_TYPE') throw error;
    return { error: code as Extract<AccountOutput, { error: string }>['error'] };
  }
}

test('property: the linearizability spec and the public API over the machine agree', async (t) => {
  await fc.assert(
    fc.asyncProperty(limitsArb, inputsArb(60), fc.nat(6), async (limits, inputs, lag) => {
      const backend = memoryBackend(createAccountStateMachine(limits));
      const handles = new Map(
        bounds.map((b) => [b, new Account('acct', backend, undefined, b)] as const),
      );
      const acct = (b: AccountBounds): Account => {
        const h = handles.get(b as (typeof bounds)[number]);
        if (h === undefined) throw new Error(`no handle for ${JSON.stringify(b)}`);
        return h;
      };
      const model = createAccountModel(limits);
      let state = model.init();
      for (const plain of inputs) {
        // add / subtract claim to have seen the spec's version `lag` writes ago.
        const input =
          plain.op === 'add' || plain.op === 'subtract'
            ? { ...plain, seenVersion: Math.max(0, state.version - lag) }
            : plain;
        const spec = model.step(state, input);
        const got = await viaApi(acct, input);
        if (!model.equalOutput(spec.output, got)) {
          throw new Error(
            `${JSON.stringify(input)}: spec ${JSON.stringify(spec.output)}, api ${JSON.stringify(got)}`,
          );
        }
        state = spec.state;
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a history of API answers is linearizable under the spec; a wrong answer is not', async (t) => {
  const acct = new Account('acct', memoryBackend(), undefined, { min: 0, max: 100 });
  const bounded = { min: 0, max: 100 };
  const inputs: AccountInput[] = [
    { op: 'add', opId: 'a', amount: 60, bounds: bounded },
    { op: 'prepare', txId: 't', delta: -50, bounds: bounded },
    { op: 'subtract', opId: 'b', amount: 20, bounds: bounded },
    { op: 'commit', txId: 't', bounds: bounded },
    { op: 'add', opId: 'a', amount: 60, bounds: bounded },
    { op: 'balance' },
    { op: 'journal', fromVersion: 2, limit: 10 },
  ];
  const history: Array<HistoryOp<AccountInput, AccountOutput>> = [];
  for (const [i, input] of inputs.entries()) {
    history.push({
      id: i,
      key: 'acct',
      input,
      call: 2 * i,
      ret: 2 * i + 1,
      output: await viaApi(() => acct, input),
    });
  }
  t.deepEqual(history[2]?.output, { error: 'INSUFFICIENT_FUNDS' });
  t.deepEqual(history[5]?.output, { balance: 10, available: 10, version: 3 });
  t.deepEqual(checkHistory(history, createAccountModel()), { ok: true });
  const wrong = history.map((h) =>
    h.id === 5 ? { ...h, output: { balance: 60, available: 10, version: 3 } } : h,
  );
  t.is(checkHistory(wrong, createAccountModel()).ok, false);
});

// ---- the handle's seenVersion (issue 11) ----

test('the handle: retries reuse the first send seenVersion; a fresh handle sends new ops as new', async (t) => {
  const backend = memoryBackend();
  const a1 = new Account('acct', backend, undefined, { journalEntries: 2 });
  t.deepEqual(await a1.add(1, { opId: 'o1' }), { balance: 1, version: 1 });
  for (let i = 2; i <= 5; i++) await a1.add(1, { opId: `o${i}` });
  // o1 was first sent having seen nothing (0); the window (2) now starts at version 4.
  t.is(await codeOf(a1.add(1, { opId: 'o1' })), 'OP_ID_TOO_OLD', 'its own old retry');
  t.deepEqual(await a1.add(1, { opId: 'o5' }), { balance: 5, version: 5 }, 'a kept retry');
  const a2 = new Account('acct', backend, undefined);
  t.is(
    await codeOf(a2.add(1, { opId: 'o2', seenVersion: 1 })),
    'OP_ID_TOO_OLD',
    'a retry from another handle with the first send seenVersion',
  );
  // A handle that has seen nothing: its first new op is refused at seenVersion 0 once, then
  // sent as new with the version it reads.
  const a3 = new Account('acct', backend, undefined);
  const before = backend.writes;
  t.deepEqual(await a3.add(7, { opId: 'fresh' }), { balance: 12, version: 6 }, 'a new op');
  t.is(backend.writes - before, 2, 'refused once at seenVersion 0, then sent as new');
  t.deepEqual(await a3.add(7, { opId: 'fresh' }), { balance: 12, version: 6 }, 'its retry');
  t.deepEqual(await a3.add(1, { opId: 'next' }), { balance: 13, version: 7 }, 'no refusal now');
  t.is(backend.writes - before, 4);
  // a2 learned version 5 from its refusal: a new op goes straight through.
  t.deepEqual(await a2.add(1, { opId: 'a2-new' }), { balance: 14, version: 8 });
  t.is(backend.writes - before, 5);
});

test('the handle validates journalEntries and seenVersion', async (t) => {
  const backend = memoryBackend();
  for (const journalEntries of [0, -1, 1.5, ACCOUNT_RETAIN_MAX + 1])
    t.throws(() => new Account('acct', backend, undefined, { journalEntries }), {
      code: 'INVALID_ARGUMENT',
    });
  const a = new Account('acct', backend, undefined, { journalEntries: ACCOUNT_RETAIN_MAX });
  for (const seenVersion of [-1, 0.5, Number.NaN])
    t.is(await codeOf(a.add(1, { opId: 'x', seenVersion })), 'INVALID_ARGUMENT');
  t.deepEqual(await a.add(1, { opId: 'x', seenVersion: 0 }), { balance: 1, version: 1 });
});
