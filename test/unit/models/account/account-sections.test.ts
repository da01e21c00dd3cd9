/**
 * The account journal in sections (layout 3, docs/decisions.md "The account journal in
 * sections"): writes append one entry to a change run grown in place; a merge folds the run
 * into a fresh base once it passes max(CHANGE_ENTRIES_MIN, base / 4) entries. Tested here:
 * where the merge boundary falls, opId lookups in the base run and in the change run (found,
 * duplicate, ID_CONFLICT), entries past the window but still stored (OP_ID_TOO_OLD, never a
 * duplicate), OP_ID_TOO_OLD after a merge drops them, layout 2 data read and converted, and
 * byte-identical data on replicas whose states are append views or plain copies.
 */
import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert';
import {
  ACCOUNT_LIMITS,
  ACCOUNT_UNBOUNDED_MAX,
  AccountStatus,
  createAccountStateMachine,
  decodeAccountData,
  decodeAccountResult,
  encodeAccountData,
  encodeAccountOp,
} from '../../../../models/account/account';
import type { AccountOp, AccountResults } from '../../../../models/account/account';
import { parseAccount } from '../../../../models/account/account-data';
import { buildIndex } from '../../../../models/account/account-index';
import { JournalView, writeEntry } from '../../../../models/account/account-journal';
import { AccountLayout, layoutOf } from '../../../../models/account/account-layout';
import { CHANGE_ENTRIES_MIN, changeEntriesMax } from '../../../../models/account/account-next';
import { isAppendView } from '../../../../models/append-bytes';
import type { StateMachine } from '../../../../models/state-machine';
import { ByteWriter } from '../../../../runtime/byte-codec';

const B = { min: -1_000_000, max: ACCOUNT_UNBOUNDED_MAX };
const add = (opId: string, amount = 1, seenVersion?: number): AccountOp => ({
  type: 'add',
  bounds: B,
  opId,
  amount,
  ...(seenVersion === undefined ? {} : { seenVersion }),
});

type Write = AccountResults['write'];

/** One replica's key: `copy` hands every apply a fresh plain copy of the state. */
class Replica {
  data: Uint8Array | null = null;
  version = 0;

  constructor(
    readonly machine: StateMachine,
    readonly copy = false,
  ) {}

  apply(op: AccountOp): Write {
    const fresh =
      op.type === 'add' || op.type === 'subtract'
        ? { ...op, seenVersion: op.seenVersion ?? this.version }
        : op;
    const data = this.copy && this.data !== null ? this.data.slice() : this.data;
    const out = this.machine.apply(data, this.version, encodeAccountOp(fresh));
    if (out.mutated) {
      this.data = out.data;
      this.version++;
    }
    return decodeAccountResult('write', out.result);
  }
}

const machineOf = (journalEntriesMax: number) =>
  createAccountStateMachine({ ...ACCOUNT_LIMITS, journalEntriesMax });

/** Entries in the change run (0: the data was just merged, or written whole). */
function changeEntries(data: Uint8Array | null): number {
  if (data === null) return 0;
  const a = parseAccount(data, ACCOUNT_LIMITS.journalEntriesMax);
  return a.lastVersion - a.baseVersion;
}

test('writes append to the change run in place until it passes max(min, base / 4), then merge', (t) => {
  const r = new Replica(machineOf(400));
  r.apply(add('first'));
  t.is(changeEntries(r.data), 0, 'a first write writes a base');
  // A base of 1 entry: the run merges after CHANGE_ENTRIES_MIN appends.
  for (let i = 0; i < CHANGE_ENTRIES_MIN; i++) {
    const before = r.data;
    r.apply(add(`a${i}`));
    t.is(changeEntries(r.data), i + 1);
    if (before !== null && r.data !== null && isAppendView(before))
      t.is(r.data.buffer, before.buffer, 'grown in its buffer');
  }
  r.apply(add('merge'));
  t.is(changeEntries(r.data), 0, 'the write past the threshold merged');
  // Grow the base to 200 entries; its run then holds 50 before the next merge.
  let merges = 0;
  for (let i = 0; merges < 6 && i < 1000; i++) {
    r.apply(add(`g${i}`));
    if (changeEntries(r.data) === 0) merges++;
  }
  const a = parseAccount(r.data ?? new Uint8Array(0), 400);
  const base = a.baseVersion - a.firstVersion + 1;
  for (let i = 0; i < changeEntriesMax(base); i++) r.apply(add(`h${i}`));
  t.is(changeEntries(r.data), changeEntriesMax(base), `a base of ${base} takes that many`);
  r.apply(add('one more'));
  t.is(changeEntries(r.data), 0);
  t.is(decodeAccountData(r.data)?.balance, r.version);
});

test('an opId is found in the base run and in the change run: duplicate, or ID_CONFLICT', (t) => {
  const r = new Replica(machineOf(1000));
  for (let i = 0; i < 100; i++) r.apply(add(`b${i}`, 1 + (i % 3)));
  r.apply(add('c0', 5));
  r.apply(add('c1', 6));
  t.true(changeEntries(r.data) >= 2, 'c0 and c1 are in the change run');
  const inBase = r.apply(add('b7', 2, 0));
  t.deepEqual([inBase.status, inBase.duplicate, inBase.version], [AccountStatus.ok, true, 8]);
  const inRun = r.apply(add('c0', 5, 0));
  t.deepEqual([inRun.status, inRun.duplicate, inRun.version], [AccountStatus.ok, true, 101]);
  t.is(r.apply(add('b7', 3, 0)).status, AccountStatus.idConflict);
  t.is(r.apply(add('c1', 1, 0)).status, AccountStatus.idConflict);
  const otherKind: AccountOp = {
    type: 'subtract',
    bounds: B,
    opId: 'c1',
    amount: 6,
    seenVersion: 0,
  };
  t.is(r.apply(otherKind).status, AccountStatus.idConflict);
  t.is(r.version, 102, 'nothing above changed the account');
});

test('an entry past the window but still stored is not remembered: OP_ID_TOO_OLD, never a duplicate', (t) => {
  const r = new Replica(machineOf(4));
  for (let i = 0; i < 10; i++) r.apply(add(`x${i}`));
  t.true(changeEntries(r.data) > 4, 'the change run holds entries past the window');
  const state = decodeAccountData(r.data);
  t.is(state?.droppedThrough, 6);
  t.deepEqual(
    state?.journal.map((e) => e.id),
    ['x6', 'x7', 'x8', 'x9'],
  );
  // x2 is stored (the run has not merged) but below the floor: too old, not a duplicate.
  t.is(r.apply(add('x2', 1, 0)).status, AccountStatus.opIdTooOld);
  // With a seenVersion at the floor it cannot have applied before: it applies as new.
  const again = r.apply(add('x2', 1, 6));
  t.deepEqual([again.status, again.duplicate, again.version], [AccountStatus.ok, false, 11]);
  // A kept one is still a duplicate.
  t.true(r.apply(add('x9', 1, 0)).duplicate);
});

test('OP_ID_TOO_OLD after a merge dropped the entries; the merged base keeps only the window', (t) => {
  const r = new Replica(machineOf(8));
  for (let i = 0; i < 60; i++) r.apply(add(`y${i}`));
  // Run until a merge lands.
  for (let i = 0; changeEntries(r.data) !== 0 && i < 100; i++) r.apply(add(`z${i}`));
  t.is(changeEntries(r.data), 0);
  const a = parseAccount(r.data ?? new Uint8Array(0), 8);
  t.is(a.lastVersion - a.firstVersion + 1, 8, 'the merge stored the window only');
  t.is(a.droppedThrough, a.lastVersion - 8);
  t.is(r.apply(add('y0', 1, 0)).status, AccountStatus.opIdTooOld);
  t.is(r.apply(add('y0', 1, a.droppedThrough - 1)).status, AccountStatus.opIdTooOld);
  t.is(r.apply(add('y0', 1, a.droppedThrough)).status, AccountStatus.ok);
  t.deepEqual(encodeAccountData(decodeAccountData(a.data) ?? fail()), a.data, 'canonical');
});

function fail(): never {
  throw new Error('no account');
}

/** Layout 2 bytes, as the model wrote them before layout 3 (header, pending, slots, journal). */
function layout2(
  entries: readonly [number, number, string, number][],
  pending: number,
): Uint8Array {
  const journal = new ByteWriter();
  for (const [version, kind, id, balanceAfter] of entries)
    writeEntry(
      journal,
      version,
      kind,
      kind === 5 ? 0 : 1,
      new TextEncoder().encode(id),
      balanceAfter,
    );
  const journalBytes = journal.finish();
  const index = buildIndex(new JournalView(journalBytes), 500, journalBytes.length);
  const w = new ByteWriter();
  w.raw(Uint8Array.of(0x41, 0x43, 0x43, 0x54, 0x32, 0x00, 0xf8, 0x7f));
  for (const n of [B.min, B.max, entries.at(-1)?.[3] ?? 0, 2]) w.f64(n); // dropped through 2
  w.u32(100); // window
  w.f64(500); // base: 500 bytes of entries dropped before
  w.u32(pending);
  if (pending === 1) {
    w.bytes(new TextEncoder().encode('tx'));
    w.f64(1);
    w.f64(5);
  }
  w.u32(index.length / 12);
  w.raw(index);
  w.raw(journalBytes);
  return w.finish();
}

test('layout 2 data is read as it was, and its first write converts it to layout 3', (t) => {
  const r = new Replica(machineOf(100));
  r.data = layout2(
    [
      [3, 1, 'old-a', 1],
      [4, 1, 'old-b', 2],
      [5, 3, 'tx', 2],
      [6, 5, 'gone', 2],
    ],
    1,
  );
  r.version = 6;
  t.is(layoutOf(r.data), AccountLayout.two);
  const before = decodeAccountData(r.data);
  t.is(before?.droppedThrough, 2);
  t.is(before?.journalBase, 500);
  t.deepEqual(before?.pending, [{ txId: 'tx', delta: 1, version: 5 }]);
  const dup = r.apply(add('old-b', 1, 0));
  t.deepEqual([dup.duplicate, dup.version, layoutOf(r.data)], [true, 4, AccountLayout.two]);
  t.is(r.apply(add('zz', 1, 0)).status, AccountStatus.opIdTooOld, 'below the floor of 2');
  t.is(r.apply(add('new', 3)).version, 7);
  t.is(layoutOf(r.data), AccountLayout.three, 'converted by the first write');
  const after = decodeAccountData(r.data);
  t.deepEqual(after?.journal.slice(0, 4), before?.journal);
  t.deepEqual([after?.pending, after?.journalBase, after?.balance], [before?.pending, 500, 5]);
  t.is(r.apply({ type: 'commit', bounds: B, txId: 'tx' }).status, AccountStatus.ok);
  t.is(
    r.apply({ type: 'prepare', bounds: B, txId: 'gone', delta: 1 }).status,
    AccountStatus.txFinished,
  );
  t.is(changeEntries(r.data), 1, 'the next write appends');
});

const opArb: fc.Arbitrary<AccountOp> = fc.oneof(
  fc
    .record({ i: fc.nat(40), amount: fc.integer({ min: 1, max: 9 }), lag: fc.nat(30) })
    .map(({ i, amount, lag }) => ({ ...add(`o${i}`, amount), seenVersion: -lag })),
  fc
    .record({ i: fc.nat(8), delta: fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0) })
    .map(({ i, delta }): AccountOp => ({ type: 'prepare', bounds: B, txId: `t${i}`, delta })),
  fc.record({ i: fc.nat(8), commit: fc.boolean() }).map(({ i, commit }): AccountOp => ({
    type: commit ? 'commit' : 'rollback',
    bounds: B,
    txId: `t${i}`,
  })),
);

test('property: replicas whose states are append views and plain copies hold identical bytes', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(opArb, { maxLength: 400 }),
      (window, ops) => {
        const inPlace = new Replica(machineOf(window));
        const copied = new Replica(machineOf(window), true);
        for (const op of ops) {
          // seenVersion -lag: a version `lag` writes ago (0 below), the same on both replicas.
          const seen =
            op.type === 'add' && op.seenVersion !== undefined && op.seenVersion <= 0
              ? { ...op, seenVersion: Math.max(0, inPlace.version + op.seenVersion) }
              : op;
          deepStrictEqual(copied.apply(seen), inPlace.apply(seen));
          deepStrictEqual(copied.version, inPlace.version);
          deepStrictEqual(Buffer.from(copied.data ?? []), Buffer.from(inPlace.data ?? []));
        }
      },
    ),
    { numRuns: 60 },
  );
  t.pass();
});
