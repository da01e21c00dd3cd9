/**
 * The account API through the public API: idempotent add/subtract (opIds), bounds with
 * reservations counted (INSUFFICIENT_FUNDS / LIMIT_EXCEEDED), two-phase transfers (commit and
 * rollback paths, both idempotent, the rollback fence), the journal (every applied op once, in
 * order, no gaps; resuming; paging; across a replica crash), concurrent adds from every
 * replica, bad input, WRONG_TYPE against other models, an lsm store that survives reopen, and
 * a random concurrent history checked against the sequential spec.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import { PaxosStore, PaxosStoreError } from '../../index';
import type { Account, JournalEntry } from '../../index';
import { ACCOUNT_UNBOUNDED_MAX } from '../../models/account/account';
import { checkHistory } from '../sim/linearizability';
import type { HistoryOp } from '../sim/linearizability';
import { accountModel } from '../sim/models/account-model';
import type { AccountInput, AccountOutput } from '../sim/models/account-model';
import { FAST, codeOf, openStore, settleCode, tempDir } from './helpers';

/** The public signatures are typed; bad input comes from untyped callers. */
type Loose<T> = { [K in keyof T]: (...args: unknown[]) => unknown };
const loose = <T>(x: T): Loose<T> => x as unknown as Loose<T>;

async function rejects(
  t: ExecutionContext,
  p: Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  const error = await t.throwsAsync(p, undefined, what);
  t.true(error instanceof PaxosStoreError, what);
  t.is(codeOf(error), code, what);
}

async function collect(it: AsyncIterable<JournalEntry>): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** The code of a call that may throw synchronously, reject, or fail on the first next(). */
async function journalCode(call: () => unknown): Promise<unknown> {
  try {
    const it = call() as AsyncIterator<JournalEntry>;
    await it.next();
    return 'RESOLVED';
  } catch (error) {
    return codeOf(error);
  }
}

/** Entries must be numbered from `first` without gaps. */
function assertContiguous(
  t: ExecutionContext,
  entries: readonly JournalEntry[],
  first: number,
  what: string,
): void {
  entries.forEach((e, i) => t.is(e.version, first + i, `${what}: entry ${i}`));
}

const add = (
  version: number,
  amount: number,
  opId: string,
  balanceAfter: number,
): JournalEntry => ({ version, kind: 'add', amount, opId, balanceAfter });
const sub = (
  version: number,
  amount: number,
  opId: string,
  balanceAfter: number,
): JournalEntry => ({ version, kind: 'subtract', amount, opId, balanceAfter });
const tx = (
  version: number,
  kind: 'prepare' | 'commit' | 'rollback',
  delta: number,
  txId: string,
  balanceAfter: number,
): JournalEntry => ({ version, kind, delta, txId, balanceAfter });

test('add/subtract answer balance and version; an opId applies once and a retry answers the first result', async (t) => {
  const store = await openStore(t);
  const a = store.account('acct');
  t.deepEqual(
    await a.balance(),
    { balance: 0, available: 0, version: 0 },
    'an absent account reads as 0',
  );
  t.deepEqual(a.bounds, { min: 0, max: ACCOUNT_UNBOUNDED_MAX });
  t.deepEqual(await a.add(100, { opId: 'd1' }), { balance: 100, version: 1 });
  t.deepEqual(await a.add(50, { opId: 'd2' }), { balance: 150, version: 2 });
  t.deepEqual(
    await a.add(100, { opId: 'd1' }),
    { balance: 100, version: 1 },
    'the retry answers the first application',
  );
  t.deepEqual(await a.subtract(30, { opId: 's1' }), { balance: 120, version: 3 });
  t.deepEqual(await a.subtract(30, { opId: 's1' }), { balance: 120, version: 3 });
  // Retries through other replicas are recognized too.
  for (let r = 0; r < 3; r++) {
    t.deepEqual(
      await store.replica(r).account('acct').add(100, { opId: 'd1' }),
      { balance: 100, version: 1 },
      `replica ${r}`,
    );
    t.deepEqual(
      await store.replica(r).account('acct').subtract(30, { opId: 's1' }),
      { balance: 120, version: 3 },
      `replica ${r}`,
    );
  }
  // The same opId for another amount or kind is ID_CONFLICT and changes nothing.
  await rejects(t, a.add(99, { opId: 'd1' }), 'ID_CONFLICT', 'other amount');
  await rejects(t, a.subtract(100, { opId: 'd1' }), 'ID_CONFLICT', 'other kind');
  await rejects(t, a.add(30, { opId: 's1' }), 'ID_CONFLICT', 'add with a subtract opId');
  // opIds and txIds are separate name spaces.
  t.deepEqual(await a.prepare('d1', -10), { version: 4 });
  t.deepEqual(await a.rollback('d1'), { outcome: 'rolledBack', version: 5 });
  t.deepEqual(await a.balance(), { balance: 120, available: 120, version: 5 });
  t.deepEqual(await collect(a.journal()), [
    add(1, 100, 'd1', 100),
    add(2, 50, 'd2', 150),
    sub(3, 30, 's1', 120),
    tx(4, 'prepare', -10, 'd1', 120),
    tx(5, 'rollback', -10, 'd1', 120),
  ]);
  // An unbounded account takes a max-safe amount, and nothing past it.
  const big = store.account('big');
  t.deepEqual(await big.add(Number.MAX_SAFE_INTEGER, { opId: 'all' }), {
    balance: Number.MAX_SAFE_INTEGER,
    version: 1,
  });
  await rejects(t, big.add(1, { opId: 'one' }), 'LIMIT_EXCEEDED', 'past ACCOUNT_UNBOUNDED_MAX');
  t.deepEqual(await big.subtract(Number.MAX_SAFE_INTEGER, { opId: 'out' }), {
    balance: 0,
    version: 2,
  });
  await rejects(
    t,
    big.subtract(1, { opId: 'below' }),
    'INSUFFICIENT_FUNDS',
    'below the default min 0',
  );
});

test('INSUFFICIENT_FUNDS and LIMIT_EXCEEDED count prepared reservations; refusals change nothing', async (t) => {
  const store = await openStore(t);
  const a = store.account('res', { min: 0, max: 1000 });
  await a.add(500, { opId: 'fund' });
  t.deepEqual(await a.prepare('debit', -300), { version: 2 });
  t.deepEqual(
    await a.balance(),
    { balance: 500, available: 200, version: 2 },
    'a debit reserves funds',
  );
  await rejects(
    t,
    a.subtract(201, { opId: 'x1' }),
    'INSUFFICIENT_FUNDS',
    'subtract past available',
  );
  await rejects(t, a.prepare('d2', -201), 'INSUFFICIENT_FUNDS', 'debit prepare past available');
  t.deepEqual(
    await a.subtract(200, { opId: 'x2' }),
    { balance: 300, version: 3 },
    'down to min counting the reservation',
  );
  await rejects(t, a.prepare('d3', -1), 'INSUFFICIENT_FUNDS', 'nothing available');
  await rejects(t, a.subtract(1, { opId: 'x3' }), 'INSUFFICIENT_FUNDS', 'nothing available');
  // A pending credit counts toward max.
  t.deepEqual(await a.prepare('credit', 600), { version: 4 });
  await rejects(t, a.add(101, { opId: 'y1' }), 'LIMIT_EXCEEDED', '300 + 600 pending + 101 > 1000');
  await rejects(t, a.prepare('c2', 101), 'LIMIT_EXCEEDED', 'credit prepare past max');
  t.deepEqual(await a.add(100, { opId: 'y2' }), { balance: 400, version: 5 });
  await rejects(t, a.prepare('c3', 1), 'LIMIT_EXCEEDED', 'at max counting the pending credit');
  // A pending credit is not available: 400 - 300 reserved leaves 100.
  await rejects(
    t,
    a.subtract(101, { opId: 'x4' }),
    'INSUFFICIENT_FUNDS',
    'a pending credit is not available',
  );
  t.deepEqual(
    await a.balance(),
    { balance: 400, available: 100, version: 5 },
    'refusals did not mutate',
  );
  // Releasing reservations frees room on each side.
  t.deepEqual(await a.rollback('credit'), { outcome: 'rolledBack', version: 6 });
  t.deepEqual(await a.add(600, { opId: 'y3' }), { balance: 1000, version: 7 });
  t.deepEqual(await a.commit('debit'), { outcome: 'committed', version: 8 });
  t.deepEqual(await a.balance(), { balance: 700, available: 700, version: 8 });
  // A refused id is not remembered: the same opId may apply once the funds are there.
  t.deepEqual(await a.subtract(201, { opId: 'x1' }), { balance: 499, version: 9 });

  // A negative min is an overdraft line; a handle with other bounds is refused on writes only.
  const o = store.account('overdraft', { min: -100, max: 50 });
  t.deepEqual(await o.subtract(60, { opId: 'o1' }), { balance: -60, version: 1 });
  t.deepEqual(await o.prepare('o-tx', -40), { version: 2 });
  await rejects(
    t,
    o.subtract(1, { opId: 'o2' }),
    'INSUFFICIENT_FUNDS',
    'the overdraft line counts reservations',
  );
  t.deepEqual(await o.balance(), { balance: -60, available: -100, version: 2 });
  const other = store.account('overdraft', { min: 0 });
  await rejects(t, other.add(1, { opId: 'o3' }), 'BOUNDS_MISMATCH', 'other bounds');
  await rejects(t, other.commit('o-tx'), 'BOUNDS_MISMATCH', 'other bounds, commit');
  await rejects(
    t,
    store.account('overdraft', { min: -100 }).add(1, { opId: 'o3' }),
    'BOUNDS_MISMATCH',
    'other max',
  );
  t.deepEqual(
    await other.balance(),
    { balance: -60, available: -100, version: 2 },
    'reads do not check bounds',
  );
  t.is((await collect(other.journal())).length, 2);
});

test('more than 1,000 open transactions is TOO_LARGE; finishing one makes room', async (t) => {
  const store = await openStore(t);
  const a = store.account('busy');
  const versions: number[] = [];
  for (let i = 0; i < 1000; i += 50) {
    versions.push(
      ...(await Promise.all(Array.from({ length: 50 }, (_, k) => a.prepare(`t${i + k}`, 1)))).map(
        (r) => r.version,
      ),
    );
  }
  t.deepEqual(
    [...versions].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
  await rejects(t, a.prepare('over', 1), 'TOO_LARGE', 'the 1,001st open transaction');
  t.deepEqual(
    await a.prepare('t7', 1),
    { version: versions[7] },
    'a repeated prepare is not a new one',
  );
  t.deepEqual(
    await a.rollback('fence'),
    { outcome: 'rolledBack', version: 1001 },
    'a fence holds no reservation',
  );
  t.deepEqual(await a.add(3, { opId: 'still' }), { balance: 3, version: 1002 });
  t.deepEqual(await a.commit('t999'), { outcome: 'committed', version: 1003 });
  t.deepEqual(await a.prepare('over', 1), { version: 1004 });
  await rejects(t, a.prepare('over2', 1), 'TOO_LARGE', 'full again');
  t.deepEqual(await a.balance(), { balance: 4, available: 4, version: 1004 });
});

test('a two-phase transfer between two accounts: commit path, rollback path, both idempotent', async (t) => {
  const store = await openStore(t);
  const a = store.account('A', { min: 0 });
  const b = store.account('B', { min: 0, max: 10_000 });
  await a.add(1000, { opId: 'seed' });

  // Commit path.
  t.deepEqual(await a.prepare('t1', -300), { version: 2 });
  t.deepEqual(await b.prepare('t1', 300), { version: 1 });
  t.deepEqual(await a.prepare('t1', -300), { version: 2 }, 'a repeated prepare answers the first');
  await rejects(t, a.prepare('t1', -301), 'ID_CONFLICT', 'prepare with another delta');
  t.deepEqual(await a.balance(), { balance: 1000, available: 700, version: 2 });
  t.deepEqual(
    await b.balance(),
    { balance: 0, available: 0, version: 1 },
    'a pending credit is not available',
  );
  t.deepEqual(await a.commit('t1'), { outcome: 'committed', version: 3 });
  t.deepEqual(await b.commit('t1'), { outcome: 'committed', version: 2 });
  t.deepEqual(await a.commit('t1'), { outcome: 'committed', version: 3 }, 'commit is idempotent');
  t.deepEqual(await store.replica(2).account('B', { min: 0, max: 10_000 }).commit('t1'), {
    outcome: 'committed',
    version: 2,
  });
  await rejects(t, a.rollback('t1'), 'TRANSACTION_FINISHED', 'rollback of a committed tx');
  await rejects(t, a.prepare('t1', -300), 'TRANSACTION_FINISHED', 'prepare of a committed tx');
  t.deepEqual(await a.balance(), { balance: 700, available: 700, version: 3 });
  t.deepEqual(await b.balance(), { balance: 300, available: 300, version: 2 });

  // Rollback path.
  t.deepEqual(await a.prepare('t2', -200), { version: 4 });
  t.deepEqual(await b.prepare('t2', 200), { version: 3 });
  t.deepEqual(await a.balance(), { balance: 700, available: 500, version: 4 });
  t.deepEqual(await a.rollback('t2'), { outcome: 'rolledBack', version: 5 });
  t.deepEqual(await b.rollback('t2'), { outcome: 'rolledBack', version: 4 });
  t.deepEqual(
    await a.rollback('t2'),
    { outcome: 'rolledBack', version: 5 },
    'rollback is idempotent',
  );
  t.deepEqual(await b.rollback('t2'), { outcome: 'rolledBack', version: 4 });
  await rejects(t, a.commit('t2'), 'TRANSACTION_FINISHED', 'commit of a rolled back tx');
  await rejects(t, b.prepare('t2', 200), 'TRANSACTION_FINISHED', 'prepare of a rolled back tx');
  await rejects(t, a.commit('never'), 'UNKNOWN_TRANSACTION', 'commit of a tx never prepared');
  t.deepEqual(await a.balance(), { balance: 700, available: 700, version: 5 });
  t.deepEqual(await b.balance(), { balance: 300, available: 300, version: 4 });
  t.deepEqual(await collect(a.journal()), [
    add(1, 1000, 'seed', 1000),
    tx(2, 'prepare', -300, 't1', 1000),
    tx(3, 'commit', -300, 't1', 700),
    tx(4, 'prepare', -200, 't2', 700),
    tx(5, 'rollback', -200, 't2', 700),
  ]);
  t.deepEqual(await collect(b.journal()), [
    tx(1, 'prepare', 300, 't1', 0),
    tx(2, 'commit', 300, 't1', 300),
    tx(3, 'prepare', 200, 't2', 300),
    tx(4, 'rollback', 200, 't2', 300),
  ]);
});

test('rollback of an unknown tx is recorded and fences a later prepare', async (t) => {
  const store = await openStore(t);
  const b = store.account('fenced');
  t.deepEqual(
    await b.rollback('late'),
    { outcome: 'rolledBack', version: 1 },
    'creates the account',
  );
  t.deepEqual(await b.rollback('late'), { outcome: 'rolledBack', version: 1 });
  await rejects(t, b.prepare('late', 50), 'TRANSACTION_FINISHED', 'the late prepare');
  await rejects(t, b.prepare('late', -50), 'TRANSACTION_FINISHED', 'the late prepare, a debit');
  await rejects(t, b.commit('late'), 'TRANSACTION_FINISHED', 'commit of the fenced tx');
  for (let r = 0; r < 3; r++) {
    await rejects(
      t,
      store.replica(r).account('fenced').prepare('late', 50),
      'TRANSACTION_FINISHED',
      `via replica ${r}`,
    );
  }
  t.deepEqual(await b.balance(), { balance: 0, available: 0, version: 1 });
  t.deepEqual(
    await collect(b.journal()),
    [tx(1, 'rollback', 0, 'late', 0)],
    'the fence is a delta-0 rollback',
  );
  t.deepEqual(await b.prepare('other', 5), { version: 2 }, 'other txs are unaffected');
});

/**
 * Writes a mix of applied ops, retries and refusals to `a` (created empty, bounds 0..5000) and
 * returns the journal entries the applied ones must have made, and the balance.
 */
async function writeMixedHistory(
  t: ExecutionContext,
  a: Account,
): Promise<{ expected: JournalEntry[]; balance: number }> {
  const expected: JournalEntry[] = [];
  let balance = 0;
  const applied = (e: JournalEntry): void => {
    t.is(e.version, expected.length + 1);
    expected.push(e);
  };
  // A mix of applied ops, retries and refusals: only the applied ops are journaled.
  for (let i = 0; i < 40; i++) {
    const v = expected.length + 1;
    switch (i % 8) {
      case 0:
      case 1:
      case 2: {
        const amount = 10 + i;
        t.deepEqual(await a.add(amount, { opId: `add-${i}` }), {
          balance: balance + amount,
          version: v,
        });
        balance += amount;
        applied(add(v, amount, `add-${i}`, balance));
        await a.add(amount, { opId: `add-${i}` });
        break;
      }
      case 3:
        t.deepEqual(await a.subtract(7, { opId: `sub-${i}` }), {
          balance: balance - 7,
          version: v,
        });
        balance -= 7;
        applied(sub(v, 7, `sub-${i}`, balance));
        await rejects(
          t,
          a.subtract(99_999, { opId: `sub-big-${i}` }),
          'INSUFFICIENT_FUNDS',
          'refused',
        );
        break;
      case 4:
        await a.prepare(`tx-${i}`, -5);
        applied(tx(v, 'prepare', -5, `tx-${i}`, balance));
        await a.prepare(`tx-${i}`, -5);
        break;
      case 5:
        await a.commit(`tx-${i - 1}`);
        balance -= 5;
        applied(tx(v, 'commit', -5, `tx-${i - 1}`, balance));
        await a.commit(`tx-${i - 1}`);
        await rejects(t, a.commit(`nope-${i}`), 'UNKNOWN_TRANSACTION', 'unknown');
        break;
      case 6:
        await a.prepare(`tx-${i}`, 9);
        applied(tx(v, 'prepare', 9, `tx-${i}`, balance));
        break;
      default:
        await a.rollback(`tx-${i - 1}`);
        applied(tx(v, 'rollback', 9, `tx-${i - 1}`, balance));
        await a.rollback(`tx-${i - 1}`);
        await a.rollback(`ghost-${i}`);
        applied(tx(v + 1, 'rollback', 0, `ghost-${i}`, balance));
    }
  }
  return { expected, balance };
}

/** A journal of more entries than one store page (1,000) crosses pages. */
async function checkLongJournal(t: ExecutionContext, store: PaxosStore): Promise<void> {
  const many = store.account('many');
  const total = 1205;
  for (let i = 0; i < total; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, total - i) }, (_, k) => many.add(1, { opId: `m${i + k}` })),
    );
  }
  const all = await collect(many.journal());
  t.is(all.length, total);
  assertContiguous(t, all, 1, 'many');
  t.is(new Set(all.map((e) => (e.kind === 'add' ? e.opId : ''))).size, total, 'each opId once');
  t.is(all[total - 1]?.balanceAfter, total);
  t.deepEqual(await collect(many.journal({ fromVersion: 999 })), all.slice(998));
}

test('the journal: every applied op exactly once, in order, without gaps; resuming and paging', async (t) => {
  const store = await openStore(t);
  const a = store.account('j', { min: 0, max: 5000 });
  t.deepEqual(await collect(a.journal()), [], 'an absent account has an empty journal');
  t.deepEqual(await a.journalPage(0), { entries: [], nextVersion: 0, version: 0 });
  const { expected, balance } = await writeMixedHistory(t, a);
  const n = expected.length;
  t.deepEqual(await a.balance(), { balance, available: balance, version: n });
  t.deepEqual(await collect(a.journal()), expected);
  for (const pageSize of [1, 3, 7, n, 1000]) {
    const got = await collect(a.journal({ pageSize }));
    t.deepEqual(got, expected, `pageSize ${pageSize}`);
  }
  for (const from of [0, 1, 2, 17, n - 1, n]) {
    const got = await collect(a.journal({ fromVersion: from, pageSize: 4 }));
    t.deepEqual(got, expected.slice(Math.max(0, from - 1)), `fromVersion ${from}`);
    assertContiguous(t, got, Math.max(1, from), `fromVersion ${from}`);
  }
  t.deepEqual(await collect(a.journal({ fromVersion: n + 1 })), [], 'past the end');
  t.deepEqual(await collect(a.journal({ fromVersion: n + 100 })), []);
  // Resuming by hand from each page's nextVersion reads the same entries.
  const paged: JournalEntry[] = [];
  let from = 0;
  for (let pages = 0; pages < n + 2; pages++) {
    const page = await a.journalPage(from, { limit: 6 });
    t.is(page.version, n);
    t.true(page.entries.length <= 6);
    paged.push(...page.entries);
    if (page.entries.length === 0) {
      t.is(page.nextVersion, from, 'an empty page answers fromVersion');
      break;
    }
    t.is(page.nextVersion, (page.entries[page.entries.length - 1]?.version ?? Number.NaN) + 1);
    from = page.nextVersion;
  }
  t.deepEqual(paged, expected);
  t.deepEqual(await a.journalPage(n + 5, { limit: 2 }), {
    entries: [],
    nextVersion: n + 5,
    version: n,
  });
  // A journal read through each replica agrees.
  for (let r = 0; r < 3; r++) {
    t.deepEqual(
      await collect(store.replica(r).account('j').journal({ pageSize: 9 })),
      expected,
      `replica ${r}`,
    );
  }
  // An iterator stops at the version of its first read, even while writes continue.
  const it = a.journal({ pageSize: 5 });
  const first = await it.next();
  t.deepEqual(first.value, expected[0]);
  await a.add(1, { opId: 'after' });
  const rest: JournalEntry[] = [];
  for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value);
  t.true(rest.length === n - 1 || rest.length === n, `${rest.length} more entries`);
  t.deepEqual(rest.slice(0, n - 1), expected.slice(1));
  await checkLongJournal(t, store);
});

test('the journal survives a replica crash and restart (memory engine)', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  const name = 'crashy';
  const via = (r: number): Account => store.replica(r).account(name, { min: 0, max: 1_000_000 });
  const expected: JournalEntry[] = [];
  let balance = 0;
  const write = async (r: number, i: number): Promise<void> => {
    const amount = 1 + i;
    t.deepEqual(await via(r).add(amount, { opId: `op-${i}` }), {
      balance: balance + amount,
      version: expected.length + 1,
    });
    balance += amount;
    expected.push(add(expected.length + 1, amount, `op-${i}`, balance));
  };
  for (let i = 0; i < 6; i++) await write(i % 3, i);
  await via(0).prepare('held', -4);
  expected.push(tx(expected.length + 1, 'prepare', -4, 'held', balance));
  await store.replica(1).crash();
  t.is(await settleCode(via(1).journalPage(0)), 'UNAVAILABLE', 'a down replica refuses');
  for (let i = 6; i < 14; i++) await write(i % 2 === 0 ? 0 : 2, i);
  await via(2).commit('held');
  balance -= 4;
  expected.push(tx(expected.length + 1, 'commit', -4, 'held', balance));
  await store.replica(1).restart();
  t.deepEqual(
    await collect(via(1).journal()),
    expected,
    'the restarted replica reads the whole journal',
  );
  t.deepEqual(await collect(via(1).journal({ fromVersion: 8, pageSize: 2 })), expected.slice(7));
  t.deepEqual(await via(1).balance(), { balance, available: balance, version: expected.length });
  // Ids written while it was down are remembered through it.
  const op9 = expected.find((e) => e.kind === 'add' && e.opId === 'op-9');
  t.deepEqual(await via(1).add(1 + 9, { opId: 'op-9' }), {
    balance: op9?.balanceAfter,
    version: op9?.version,
  });
  t.deepEqual(await via(1).commit('held'), { outcome: 'committed', version: expected.length });
  await write(1, 14);
  for (let r = 0; r < 3; r++)
    t.deepEqual(await collect(via(r).journal({ pageSize: 5 })), expected, `replica ${r}`);
});

test.serial(
  'concurrent adds from all three replicas with distinct opIds: balance is the sum, each journaled once',
  async (t) => {
    const store = await openStore(t);
    const name = 'hot';
    const n = 60;
    let retries = 0;
    // UNKNOWN_OUTCOME (racing proposers) is retried with the same opId: that is what opIds are for.
    const addOnce = async (i: number): Promise<{ balance: number; version: number }> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await store
            .replica((i + attempt) % 3)
            .account(name)
            .add(i + 1, { opId: `c-${i}` });
        } catch (error) {
          t.is(codeOf(error), 'UNKNOWN_OUTCOME', `add ${i}`);
          if (attempt > 20) throw error;
          retries += 1;
        }
      }
    };
    const results = await Promise.all(Array.from({ length: n }, (_, i) => addOnce(i)));
    const sum = (n * (n + 1)) / 2;
    t.deepEqual(await store.account(name).balance(), { balance: sum, available: sum, version: n });
    t.is(new Set(results.map((r) => r.version)).size, n, 'each add has a version of its own');
    const journal = await collect(store.replica(1).account(name).journal());
    t.is(journal.length, n);
    assertContiguous(t, journal, 1, 'concurrent');
    const byOpId = new Map(journal.map((e) => [e.kind === 'add' ? e.opId : '', e]));
    t.is(byOpId.size, n, 'each opId exactly once');
    let running = 0;
    for (const e of journal) {
      t.is(e.kind, 'add');
      if (e.kind !== 'add') continue;
      running += e.amount;
      t.is(e.balanceAfter, running, 'balanceAfter follows the journal order');
    }
    results.forEach((r, i) => {
      const e = byOpId.get(`c-${i}`);
      t.is(e?.kind === 'add' ? e.amount : undefined, i + 1);
      t.is(e?.version, r.version, `c-${i}: the acknowledged version is its journal entry`);
      t.is(e?.balanceAfter, r.balance, `c-${i}: the acknowledged balance is its entry's`);
    });
    t.log(`${retries} retries after UNKNOWN_OUTCOME`);
  },
);

const BAD_AMOUNTS: [string, unknown][] = [
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['2^53', 2 ** 53],
  ['"5"', '5'],
  ['undefined', undefined],
  ['null', null],
  ['5n', 5n],
  ['Number object', new Number(5)],
];
const BAD_IDS: [string, unknown][] = [
  ['empty', ''],
  ['number', 7],
  ['undefined', undefined],
  ['null', null],
  ['129 bytes', 'a'.repeat(129)],
  ['130 bytes of é', 'é'.repeat(65)],
  ['lone surrogate', 'x\uD800'],
  ['String object', new String('id')],
];

test('bad input rejects with INVALID_ARGUMENT and changes nothing', async (t) => {
  const store = await openStore(t);
  const a = store.account('bad', { min: -10, max: 100 });
  await a.add(5, { opId: 'keep' });
  await a.prepare('keep-tx', -1);
  const la = loose(a);
  const calls: [string, () => unknown][] = [];
  for (const [what, amount] of BAD_AMOUNTS) {
    calls.push([`add(${what})`, () => la.add(amount, { opId: 'new' })]);
    calls.push([`subtract(${what})`, () => la.subtract(amount, { opId: 'new' })]);
    if (what !== '-1') calls.push([`prepare delta ${what}`, () => la.prepare('new-tx', amount)]);
  }
  calls.push(['prepare delta -2^53', () => la.prepare('new-tx', -(2 ** 53))]);
  for (const [what, id] of BAD_IDS) {
    calls.push([`add opId ${what}`, () => la.add(1, { opId: id })]);
    calls.push([`subtract opId ${what}`, () => la.subtract(1, { opId: id })]);
    calls.push([`prepare txId ${what}`, () => la.prepare(id, 1)]);
    calls.push([`commit txId ${what}`, () => la.commit(id)]);
    calls.push([`rollback txId ${what}`, () => la.rollback(id)]);
  }
  calls.push(['add without options', () => la.add(1)]);
  calls.push(['add options null', () => la.add(1, null)]);
  calls.push(['add options string', () => la.add(1, 'op')]);
  calls.push(['subtract options {}', () => la.subtract(1, {})]);
  for (const [what, from] of [
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', NaN],
    ['"0"', '0'],
    ['null', null],
    ['2^53', 2 ** 53],
  ] as const) {
    calls.push([`journalPage(${what})`, () => la.journalPage(from)]);
  }
  for (const limit of [0, -1, 1001, 1.5, NaN, '5', null]) {
    calls.push([`journalPage limit ${String(limit)}`, () => la.journalPage(0, { limit })]);
  }
  calls.push([
    'journalPage consistency strong',
    () => la.journalPage(0, { consistency: 'strong' }),
  ]);
  calls.push(['balance consistency strong', () => la.balance({ consistency: 'strong' })]);
  calls.push(['balance options null', () => la.balance(null)]);
  for (const [what, call] of calls) {
    const code = await settleCode(Promise.resolve().then(call));
    t.is(code, 'INVALID_ARGUMENT', what);
  }
  // The iterator: refused at the call or at its first step, never silently empty.
  const JOURNAL_BAD: [string, unknown][] = [
    ['null', null],
    ['string', 'x'],
    ['fromVersion -1', { fromVersion: -1 }],
    ['fromVersion 0.5', { fromVersion: 0.5 }],
    ['fromVersion "1"', { fromVersion: '1' }],
    ['pageSize 0', { pageSize: 0 }],
    ['pageSize 1001', { pageSize: 1001 }],
    ['pageSize 2.5', { pageSize: 2.5 }],
    ['consistency strong', { consistency: 'strong' }],
  ];
  for (const [what, options] of JOURNAL_BAD)
    t.is(await journalCode(() => la.journal(options)), 'INVALID_ARGUMENT', `journal(${what})`);
  // Names and bounds: checked when the handle is made.
  const BAD_BOUNDS: [string, unknown][] = [
    ['min 1', { min: 1 }],
    ['max -1', { max: -1 }],
    ['min -0.5', { min: -0.5 }],
    ['min NaN', { min: NaN }],
    ['max Infinity', { max: Infinity }],
    ['max 2^53', { max: 2 ** 53 }],
    ['min > max', { min: 5, max: 3 }],
    ['null', null],
    ['string', 'x'],
    ['min "0"', { min: '0' }],
    ['number', 5],
  ];
  for (const [what, bounds] of BAD_BOUNDS) {
    for (const make of [
      () => store.account('b2', bounds as never),
      () => store.replica(1).account('b2', bounds as never),
    ]) {
      const error = t.throws(make, undefined, what);
      t.is(codeOf(error), 'INVALID_ARGUMENT', `bounds ${what}`);
    }
  }
  for (const name of ['', 42, undefined, 'a'.repeat(1025), 'ab\uD800']) {
    const error = t.throws(() => store.account(name as string), undefined, JSON.stringify(name));
    t.is(codeOf(error), 'INVALID_ARGUMENT', String(name));
  }
  // Limits that are fine: 128-byte ids, the widest bounds.
  t.deepEqual(await a.add(1, { opId: 'a'.repeat(128) }), { balance: 6, version: 3 });
  t.deepEqual(await a.prepare('é'.repeat(64), 2), { version: 4 });
  t.notThrows(() =>
    store.account('wide', { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  );
  t.deepEqual(
    await a.balance(),
    { balance: 6, available: 5, version: 4 },
    'nothing bad was applied',
  );
  t.is((await collect(a.journal())).length, 4);
  t.is((await store.stats()).inFlight, 0);
});

test('a name holding another model refuses account ops with WRONG_TYPE, and an account refuses theirs', async (t) => {
  const store = await openStore(t);
  await store.queue('name').push('q1', 'q2');
  const ops = (acct: Account): [string, () => Promise<unknown>][] => [
    ['balance', () => acct.balance()],
    ['add', () => acct.add(1, { opId: 'o' })],
    ['subtract', () => acct.subtract(1, { opId: 'o' })],
    ['prepare', () => acct.prepare('t', -1)],
    ['commit', () => acct.commit('t')],
    ['rollback', () => acct.rollback('t')],
    ['journalPage', () => acct.journalPage(0)],
    ['journal', () => collect(acct.journal())],
  ];
  for (let r = 0; r < 3; r++) {
    for (const [what, call] of ops(store.replica(r).account('name'))) {
      t.is(await settleCode(call()), 'WRONG_TYPE', `account.${what} on a queue via replica ${r}`);
    }
  }
  t.deepEqual(
    await store.queue('name').range(0, 10),
    [Buffer.from('q1'), Buffer.from('q2')],
    'the queue is unchanged',
  );
  t.deepEqual(
    await store.queue('name').push('q3'),
    { length: 3, version: 2 },
    'refused ops did not mutate',
  );
  await store.set('a-set').add('m');
  await store.table('a-table').set('r', 'c', 'v');
  await store.doc('a-doc').update([{ op: 'set', path: 'x', value: 1 }]);
  for (const name of ['a-set', 'a-table', 'a-doc']) {
    t.is(await settleCode(store.account(name).add(1, { opId: 'o' })), 'WRONG_TYPE', name);
    t.is(await settleCode(store.account(name).balance()), 'WRONG_TYPE', name);
  }
  // The emptied queue frees the name; the account's journal continues the name's version count.
  for (let i = 0; i < 3; i++) await store.queue('name').pop();
  const acct = store.account('name');
  t.deepEqual(await acct.add(10, { opId: 'first' }), { balance: 10, version: 6 });
  t.deepEqual(await collect(acct.journal()), [add(6, 10, 'first', 10)]);
  t.deepEqual(await acct.journalPage(0), {
    entries: [add(6, 10, 'first', 10)],
    nextVersion: 7,
    version: 6,
  });
  // An account never returns to absent, even at balance 0: other models stay refused.
  t.deepEqual(await acct.subtract(10, { opId: 'second' }), { balance: 0, version: 7 });
  t.is(await settleCode(store.queue('name').push('x')), 'WRONG_TYPE');
  t.is(await settleCode(store.queue('name').length()), 'WRONG_TYPE');
  t.is(await settleCode(store.set('name').add('x')), 'WRONG_TYPE');
  t.is(await settleCode(store.doc('name').get()), 'WRONG_TYPE');
  // KV namespaces are apart from object names.
  t.deepEqual(await store.kv('name').put('name', 'v'), { version: 1 });
  t.deepEqual(await acct.balance(), { balance: 0, available: 0, version: 7 });
});

test('lsm: accounts, reservations, fences and journals survive close and reopen', async (t) => {
  const dir = tempDir(t);
  const options = { ...FAST, engine: 'lsm' as const, dir };
  const bounds = { min: 0, max: 900 };
  const first = await PaxosStore.open(options);
  t.teardown(() => first.close());
  const a1 = first.account('saved', bounds);
  await a1.add(500, { opId: 'dep' });
  await a1.subtract(50, { opId: 'fee' });
  await a1.prepare('pending', -100);
  await a1.prepare('incoming', 400);
  await a1.rollback('fenced');
  const before = await collect(a1.journal());
  t.is(before.length, 5);
  await first.close();

  const second = await PaxosStore.open(options);
  t.teardown(() => second.close());
  for (let r = 0; r < 3; r++) {
    const a = second.replica(r).account('saved', bounds);
    t.deepEqual(await a.balance(), { balance: 450, available: 350, version: 5 }, `replica ${r}`);
    t.deepEqual(await collect(a.journal({ pageSize: 2 })), before, `replica ${r}`);
  }
  const a2 = second.account('saved', bounds);
  t.deepEqual(
    await a2.add(500, { opId: 'dep' }),
    { balance: 500, version: 1 },
    'opIds are remembered across reopen',
  );
  await rejects(
    t,
    a2.add(51, { opId: 'x' }),
    'LIMIT_EXCEEDED',
    'the pending credit still counts: 450 + 400 + 51 > 900',
  );
  await rejects(
    t,
    a2.subtract(351, { opId: 'y' }),
    'INSUFFICIENT_FUNDS',
    'the pending debit still counts',
  );
  await rejects(t, a2.prepare('fenced', 1), 'TRANSACTION_FINISHED', 'the fence survives');
  await rejects(
    t,
    second.account('saved').add(1, { opId: 'z' }),
    'BOUNDS_MISMATCH',
    'the bounds survive',
  );
  t.deepEqual(await a2.commit('pending'), { outcome: 'committed', version: 6 });
  t.deepEqual(await a2.commit('incoming'), { outcome: 'committed', version: 7 });
  t.deepEqual(await a2.balance(), { balance: 750, available: 750, version: 7 });
  t.deepEqual(await collect(a2.journal({ fromVersion: 5 })), [
    tx(5, 'rollback', 0, 'fenced', 450),
    tx(6, 'commit', -100, 'pending', 350),
    tx(7, 'commit', 400, 'incoming', 750),
  ]);
});

/** The refusals the account's sequential spec models (the linearizability test records them). */
const SPEC_ERRORS = new Set([
  'INSUFFICIENT_FUNDS',
  'LIMIT_EXCEEDED',
  'JOURNAL_TRIMMED',
  'BOUNDS_MISMATCH',
  'ID_CONFLICT',
  'UNKNOWN_TRANSACTION',
  'TRANSACTION_FINISHED',
  'TOO_LARGE',
]);

/**
 * A random concurrent history on real threads through every replica, checked against the
 * account's sequential spec: the public API's results are the spec's outputs exactly.
 */
test.serial('random concurrent account ops through every replica are linearizable', async (t) => {
  const store = await openStore(t);
  const bounds = { min: 0, max: 300 };
  const history: HistoryOp<AccountInput, AccountOutput>[] = [];
  let nextId = 1;
  let unknown = 0;
  const record = async (
    input: AccountInput,
    write: boolean,
    run: () => Promise<AccountOutput>,
  ): Promise<void> => {
    const id = nextId++;
    const call = performance.now();
    try {
      const output = await run();
      history.push({ id, key: 'k', input, call, ret: performance.now(), output });
    } catch (error) {
      const code = codeOf(error);
      if (typeof code === 'string' && SPEC_ERRORS.has(code)) {
        history.push({
          id,
          key: 'k',
          input,
          call,
          ret: performance.now(),
          output: { error: code } as AccountOutput,
        });
        return;
      }
      t.is(code, 'UNKNOWN_OUTCOME', JSON.stringify(input));
      if (write) {
        unknown += 1;
        history.push({ id, key: 'k', input, call, ret: undefined });
      }
    }
  };
  const client = async (c: number): Promise<void> => {
    let seed = 7 + c * 31;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed >> 4) % n;
    };
    for (let i = 0; i < 22; i++) {
      const acct = store.replica((c + i) % 3).account('lin-acct', bounds);
      const opId = `o${next(6)}`;
      const txId = `t${next(4)}`;
      const amount = [10, 40, 100][next(3)] as number;
      switch (next(10)) {
        case 0:
        case 1:
          await record({ op: 'add', opId, amount, bounds }, true, () => acct.add(amount, { opId }));
          break;
        case 2:
          await record({ op: 'subtract', opId, amount, bounds }, true, () =>
            acct.subtract(amount, { opId }),
          );
          break;
        case 3: {
          const delta = next(2) === 0 ? -amount : amount;
          await record({ op: 'prepare', txId, delta, bounds }, true, () =>
            acct.prepare(txId, delta),
          );
          break;
        }
        case 4:
          await record({ op: 'commit', txId, bounds }, true, () => acct.commit(txId));
          break;
        case 5:
          await record({ op: 'rollback', txId, bounds }, true, () => acct.rollback(txId));
          break;
        case 6:
        case 7:
          await record({ op: 'balance' }, false, () => acct.balance());
          break;
        default: {
          const fromVersion = next(8);
          const limit = 1 + next(4);
          await record({ op: 'journal', fromVersion, limit }, false, () =>
            acct.journalPage(fromVersion, { limit }),
          );
        }
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(client));
  t.true(history.length > 60, `${history.length} ops`);
  t.deepEqual(checkHistory(history, accountModel), { ok: true });
  t.log(`${history.length} account ops, ${unknown} unknown outcomes`);
});

test('issue 11: past the window (and the store requestId window), a retry is OP_ID_TOO_OLD, never applied twice', async (t) => {
  const store = await openStore(t);
  const a = store.account('small', { journalEntries: 3 });
  t.deepEqual(await a.add(1, { opId: 'first' }), { balance: 1, version: 1 });
  // More than the store's 128 remembered requestIds, so only the account's own check is left.
  for (let i = 0; i < 140; i++) await a.add(1, { opId: `o${i}` });
  t.deepEqual(await a.balance(), { balance: 141, available: 141, version: 141 });
  await rejects(t, a.add(1, { opId: 'first' }), 'OP_ID_TOO_OLD', 'a retry through the same handle');
  const other = store.account('small');
  await rejects(
    t,
    other.add(1, { opId: 'first', seenVersion: 0 }),
    'OP_ID_TOO_OLD',
    'a retry from another handle with the first send seenVersion',
  );
  t.deepEqual(await a.balance(), { balance: 141, available: 141, version: 141 }, 'nothing applied');
  t.deepEqual(await a.add(1, { opId: 'o139' }), { balance: 141, version: 141 }, 'a kept opId');
  const fresh = store.account('small');
  t.deepEqual(await fresh.add(5, { opId: 'new' }), { balance: 146, version: 142 }, 'a new op');
  t.deepEqual(
    (await collect(a.journal({ fromVersion: 140 }))).map((e) => e.version),
    [140, 141, 142],
    'the history API pages the kept window',
  );
  t.is(await journalCode(() => a.journal({ fromVersion: 139 })), 'JOURNAL_TRIMMED');
});
