/**
 * The KV workload (kv-workload.ts) generalized to any data model: seeded concurrent clients
 * issue a model's ops and queries at random replicas of a SimCluster while a nemesis partitions
 * and crashes replicas (the safety phase); then everything heals (the liveness phase) and every
 * client must finish. Produces a history for the linearizability checker against the model's
 * sequential spec (test/sim/models/).
 *
 * A `ModelDriver` says how one model's spec inputs become request bytes (with the model's own
 * encoders; this file adds the registry's tag) and how result bytes become the spec's outputs
 * exactly. Outcomes: UNKNOWN_OUTCOME on a write → `ret: undefined` (may or may not have taken
 * effect); a request the client gave up on (lost, timed out) → unknown for a write, left out for
 * a read; UNAVAILABLE, OVERLOADED and failed reads → left out (definitely not applied, or a
 * read that observed nothing).
 */
import { assert } from '../../runtime/assert';
import type { Prng } from '../../runtime/sim/prng';
import { ModelTag } from '../../models/model-tags';
import { isWrongModel, splitVersion, tagged } from '../../models/registry';
import {
  QueueStatus,
  decodeQueueResult,
  encodeQueueOp,
  encodeQueueQuery,
} from '../../models/queue/queue';
import { SetStatus, decodeSetResult, encodeSetOp, encodeSetQuery } from '../../models/set/set';
import {
  TableStatus,
  decodeTableResult,
  encodeTableOp,
  encodeTableQuery,
} from '../../models/table/table';
import type { TableCells } from '../../models/table/table';
import { DocStatus, decodeDocResult, encodeDocQuery, encodeDocUpdate } from '../../models/doc/doc';
import type { DocOp, JsonValue } from '../../models/doc/doc';
import {
  AccountStatus,
  JOURNAL_PAGE_MAX,
  TxOutcome,
  decodeAccountResult,
  encodeAccountOp,
  encodeAccountQuery,
} from '../../models/account/account';
import type { AccountBounds, AccountEntry } from '../../models/account/account';
import type { JournalEntry } from '../../actors/store/account';
import type { ClientResult } from '../../actors/paxos/core/types';
import type { HistoryOp, Model } from './linearizability';
import type { WorkloadOptions } from './kv-workload';
import type { RequestBody, SimCluster } from './paxos-cluster';
import { requestWithTimeout, runPhases } from './nemesis';
import { queueModel } from './models/queue-model';
import type { QueueInput, QueueOutput } from './models/queue-model';
import { setModel } from './models/set-model';
import type { SetInput, SetOutput } from './models/set-model';
import { tableModel } from './models/table-model';
import type { TableInput, TableOutput } from './models/table-model';
import { docModel } from './models/doc-model';
import type { DocInput, DocOutput, DocStatusName } from './models/doc-model';
import { accountModel } from './models/account-model';
import type { AccountErrorOutput, AccountInput, AccountOutput } from './models/account-model';

export type { WorkloadOptions } from './kv-workload';

/** One model's request (untagged model bytes): an op to replicate, or a query to read. */
export type ModelRequest = { kind: 'write'; op: Uint8Array } | { kind: 'read'; query: Uint8Array };

export interface ModelDriver<I, O> {
  readonly name: string;
  readonly tag: ModelTag;
  /** The sequential spec the history is checked against. */
  readonly model: Model<unknown, I, O>;
  /** Keys the workload uses when the model needs its own key layout (default: name1, name2). */
  readonly keys?: readonly string[];
  /** A random input; `client` and `n` make pushed values unique, which keeps the search small. */
  randomInput(prng: Prng, client: number, n: number): I;
  encode(input: I): ModelRequest;
  /** The spec's output for a successful result (for writes, the body without the version). */
  decode(input: I, body: Uint8Array): O;
  /** Whether a write with this output changed the data (and so took a version of its own). */
  mutated(input: I, output: O): boolean;
}

export interface ModelWorkloadResult<I, O> {
  history: HistoryOp<I, O>[];
  completed: number;
  unknown: number;
  failed: number;
  /** The version each acknowledged write reported (by history id); see checkVersions. */
  versions: Map<number, { version: number; mutated: boolean }>;
  finishedInTime: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);

// ---- the queue ----

export const queueDriver: ModelDriver<QueueInput, QueueOutput> = {
  name: 'queue',
  tag: ModelTag.queue,
  model: queueModel as Model<unknown, QueueInput, QueueOutput>,
  randomInput(prng, client, n) {
    const r = prng.int(100);
    if (r < 35) {
      const count = 1 + (prng.chance(0.25) ? prng.int(3) : 0);
      return {
        op: 'push',
        values: Array.from({ length: count }, (_, i) => `c${client}-${n}${i === 0 ? '' : `-${i}`}`),
      };
    }
    if (r < 60) return { op: 'pop' };
    if (r < 75) return { op: 'peek' };
    if (r < 90) return { op: 'length' };
    const start = prng.int(3);
    return { op: 'range', start, end: start + prng.int(4) };
  },
  encode(input) {
    switch (input.op) {
      case 'push':
        return {
          kind: 'write',
          op: encodeQueueOp({ type: 'push', values: input.values.map((v) => encoder.encode(v)) }),
        };
      case 'pop':
        return { kind: 'write', op: encodeQueueOp({ type: 'pop' }) };
      case 'peek':
        return { kind: 'read', query: encodeQueueQuery({ type: 'peek' }) };
      case 'length':
        return { kind: 'read', query: encodeQueueQuery({ type: 'length' }) };
      case 'range':
        return {
          kind: 'read',
          query: encodeQueueQuery({ type: 'range', start: input.start, end: input.end }),
        };
    }
  },
  decode(input, body) {
    switch (input.op) {
      case 'push': {
        const r = decodeQueueResult('push', body);
        return r.status === QueueStatus.tooLarge ? { error: 'TOO_LARGE' } : { length: r.length };
      }
      case 'pop':
      case 'peek': {
        const r = decodeQueueResult(input.op, body);
        return r.status === QueueStatus.ok ? { value: text(r.value) } : undefined;
      }
      case 'length':
        return { length: decodeQueueResult('length', body).length };
      case 'range': {
        const r = decodeQueueResult('range', body);
        return { values: r.values.map(text), truncated: r.truncated };
      }
    }
  },
  mutated: (input, output) =>
    (input.op === 'push' && output !== undefined && 'length' in output) ||
    (input.op === 'pop' && output !== undefined),
};

// ---- the set ----

/**
 * A small pool, so adds and removes collide and has/size answers change. U+FFFD and U+1F600
 * sort one way in UTF-16 (JS string order) and the other in UTF-8 bytes (the set's order).
 */
const MEMBERS = ['a', 'b', 'é', '\uFFFD', '\u{1F600}', ''];

function someMembers(prng: Prng): string[] {
  // Sometimes with a duplicate: it must count once.
  return Array.from({ length: 1 + prng.int(3) }, () => prng.pick(MEMBERS));
}

export const setDriver: ModelDriver<SetInput, SetOutput> = {
  name: 'set',
  tag: ModelTag.set,
  model: setModel as Model<unknown, SetInput, SetOutput>,
  randomInput(prng) {
    const r = prng.int(100);
    if (r < 35) return { op: 'add', members: someMembers(prng) };
    if (r < 55) return { op: 'remove', members: someMembers(prng) };
    if (r < 75) return { op: 'has', member: prng.pick(MEMBERS) };
    if (r < 90) return { op: 'size' };
    return { op: 'members' };
  },
  encode(input) {
    switch (input.op) {
      case 'add':
        return {
          kind: 'write',
          op: encodeSetOp({ type: 'add', members: input.members.map((m) => encoder.encode(m)) }),
        };
      case 'remove':
        return {
          kind: 'write',
          op: encodeSetOp({ type: 'remove', members: input.members.map((m) => encoder.encode(m)) }),
        };
      case 'has':
        return {
          kind: 'read',
          query: encodeSetQuery({ type: 'has', member: encoder.encode(input.member) }),
        };
      case 'size':
        return { kind: 'read', query: encodeSetQuery({ type: 'size' }) };
      case 'members':
        return { kind: 'read', query: encodeSetQuery({ type: 'members' }) };
    }
  },
  decode(input, body) {
    switch (input.op) {
      case 'add': {
        const r = decodeSetResult('add', body);
        return r.status === SetStatus.tooLarge
          ? { error: 'TOO_LARGE' }
          : { added: r.added, size: r.size };
      }
      case 'remove': {
        const r = decodeSetResult('remove', body);
        return { removed: r.removed, size: r.size };
      }
      case 'has':
        return decodeSetResult('has', body).present;
      case 'size':
        return { size: decodeSetResult('size', body).size };
      case 'members': {
        const r = decodeSetResult('members', body);
        return { members: r.members.map(text), truncated: r.truncated };
      }
    }
  },
  mutated: (_input, output) =>
    typeof output === 'object' &&
    (('added' in output && output.added > 0) || ('removed' in output && output.removed > 0)),
};

// ---- the table ----

/**
 * Small pools, so sets, deletes and row deletes collide. "__proto__" must stay an ordinary
 * name; "10" is an integer-like key (JS objects order those first); U+1F600 sorts before
 * U+FFFD in UTF-16 (the table's order) but after it in UTF-8.
 */
const TABLE_ROWS = ['a', 'b', '__proto__', '\u{1F600}'];
const TABLE_COLS = ['x', 'y', '10', '\uFFFD', '__proto__'];

const tableText = (cells: TableCells): Record<string, string> =>
  Object.fromEntries(Object.entries(cells).map(([col, v]) => [col, text(v)]));

export const tableDriver: ModelDriver<TableInput, TableOutput> = {
  name: 'table',
  tag: ModelTag.table,
  model: tableModel as Model<unknown, TableInput, TableOutput>,
  randomInput(prng, client, n) {
    const r = prng.int(100);
    const row = prng.pick(TABLE_ROWS);
    const col = prng.pick(TABLE_COLS);
    // Unique values keep the search small; long ones fill the change section past its merge
    // threshold (4 KiB) within a run, so reads see merged and pending cells alike.
    if (r < 40)
      return {
        op: 'set',
        row,
        col,
        value: `c${client}-${n}${prng.chance(0.7) ? '.'.repeat(prng.range(400, 1100)) : ''}`,
      };
    if (r < 52) return { op: 'delete', row, col };
    if (r < 58) return { op: 'deleteRow', row };
    if (r < 76) return { op: 'get', row, col };
    if (r < 90) return { op: 'row', row };
    return { op: 'all' };
  },
  encode(input) {
    switch (input.op) {
      case 'set':
        return {
          kind: 'write',
          op: encodeTableOp({
            type: 'set',
            row: input.row,
            col: input.col,
            value: encoder.encode(input.value),
          }),
        };
      case 'delete':
        return {
          kind: 'write',
          op: encodeTableOp({ type: 'delete', row: input.row, col: input.col }),
        };
      case 'deleteRow':
        return { kind: 'write', op: encodeTableOp({ type: 'deleteRow', row: input.row }) };
      case 'get':
        return {
          kind: 'read',
          query: encodeTableQuery({ type: 'get', row: input.row, col: input.col }),
        };
      case 'row':
        return { kind: 'read', query: encodeTableQuery({ type: 'row', row: input.row }) };
      case 'all':
        return { kind: 'read', query: encodeTableQuery({ type: 'all' }) };
    }
  },
  decode(input, body) {
    switch (input.op) {
      case 'set':
      case 'delete':
      case 'deleteRow': {
        const r = decodeTableResult(input.op, body);
        return { status: r.status === TableStatus.ok ? 'ok' : 'tooLarge', removed: r.removed };
      }
      case 'get': {
        const { value } = decodeTableResult('get', body);
        return { value: value === undefined ? undefined : text(value) };
      }
      case 'row':
        return { cells: tableText(decodeTableResult('row', body).cells) };
      case 'all': {
        const { rows } = decodeTableResult('all', body);
        return {
          rows: Object.fromEntries(
            Object.entries(rows).map(([row, cells]) => [row, tableText(cells)]),
          ),
        };
      }
    }
  },
  mutated: (input, output) =>
    'status' in output && output.status === 'ok' && (input.op === 'set' || output.removed > 0),
};

// ---- the document ----

/** Paths that nest, collide and block each other ("a" set to a scalar blocks "a.b"). */
const DOC_PATHS = ['a', 'a.b', 'a.b.c', 'n', 'log', '__proto__', 'x.__proto__.y'];

const DOC_STATUS_NAMES = new Map<number, DocStatusName>(
  Object.entries(DocStatus).map(([name, code]) => [code, name as DocStatusName]),
);

function docValue(prng: Prng, client: number, n: number): JsonValue {
  switch (prng.int(10)) {
    case 0:
    case 1:
    case 2:
      return prng.range(-3, 9);
    case 1:
      return `s${client}-${n}`;
    case 2:
      return null;
    case 3:
      return prng.chance(0.5);
    case 4:
      return [client, n];
    case 5:
      return { k: n, [`c${client}`]: [null, 'é\u{1F600}'] };
    case 6:
      return 1.5;
    default:
      return {};
  }
}

function docOp(prng: Prng, client: number, n: number): DocOp {
  const path = prng.pick(DOC_PATHS);
  const r = prng.int(100);
  if (r < 30) return { op: 'set', path, value: docValue(prng, client, n) };
  if (r < 60) return { op: 'incr', path, by: prng.range(-2, 3) };
  if (r < 80) return { op: 'append', path, value: docValue(prng, client, n) };
  return { op: 'remove', path };
}

export const docDriver: ModelDriver<DocInput, DocOutput> = {
  name: 'doc',
  tag: ModelTag.doc,
  model: docModel as Model<unknown, DocInput, DocOutput>,
  randomInput(prng, client, n) {
    if (prng.int(100) < 35) {
      const path = prng.chance(0.3) ? undefined : prng.pick([...DOC_PATHS, 'a.b.c.d', '']);
      return path === undefined ? { op: 'get' } : { op: 'get', path };
    }
    const ops = Array.from({ length: prng.chance(0.6) ? 1 : 2 + prng.int(2) }, () =>
      docOp(prng, client, n),
    );
    if (!prng.chance(0.3)) return { op: 'update', ops };
    // Near the version a key may have reached by this client's n-th op: some match, most conflict.
    return { op: 'update', ops, ifVersion: Math.max(0, Math.round(n * 0.8) + prng.range(-2, 1)) };
  },
  encode(input) {
    if (input.op === 'get')
      return {
        kind: 'read',
        query: encodeDocQuery(input.path === undefined ? {} : { path: input.path }),
      };
    return {
      kind: 'write',
      op: encodeDocUpdate(
        input.ifVersion === undefined
          ? { ops: input.ops }
          : { ops: input.ops, expectedVersion: input.ifVersion },
      ),
    };
  },
  decode(input, body) {
    if (input.op === 'get') {
      const { found, version, value } = decodeDocResult('get', body);
      return { found, version, value };
    }
    const r = decodeDocResult('update', body);
    const status = DOC_STATUS_NAMES.get(r.status);
    assert(status !== undefined, () => `doc status ${r.status}`);
    return { status, version: r.version, failedOp: r.failedOp, values: r.values };
  },
  mutated: (_input, output) => 'status' in output && output.status === 'ok',
};

// ---- the account ----

/**
 * Tight bounds, so INSUFFICIENT_FUNDS and LIMIT_EXCEEDED happen; now and then a write with
 * other bounds (BOUNDS_MISMATCH, or fixing them when it is the account's first write).
 */
const ACCOUNT_BOUNDS: AccountBounds = { min: 0, max: 120 };
const ACCOUNT_OTHER_BOUNDS: AccountBounds = { min: -40, max: 120 };
/**
 * Small id pools, so retries (duplicates), ID_CONFLICTs, repeated and crossed commit/rollback,
 * fences and late prepares all happen. Each id has a usual kind and amount (a retry) and
 * sometimes another (a conflict).
 */
const ACCOUNT_OP_IDS = 8;
const ACCOUNT_TX_IDS = 4;
/**
 * A small window (issue 11), so entries drop during a run and the opId floor is reached: an
 * add/subtract claims a random seenVersion, below the floor (OP_ID_TOO_OLD unless remembered)
 * or above it (new). The spec takes both as inputs, so any claim checks.
 */
const ACCOUNT_WINDOW = 6;

/** The API's error code of each refusal (actors/store/account.ts). */
const ACCOUNT_ERRORS = new Map<number, AccountErrorOutput['error']>([
  [AccountStatus.insufficientFunds, 'INSUFFICIENT_FUNDS'],
  [AccountStatus.limitExceeded, 'LIMIT_EXCEEDED'],
  [AccountStatus.boundsMismatch, 'BOUNDS_MISMATCH'],
  [AccountStatus.idConflict, 'ID_CONFLICT'],
  [AccountStatus.unknownTx, 'UNKNOWN_TRANSACTION'],
  [AccountStatus.txFinished, 'TRANSACTION_FINISHED'],
  [AccountStatus.tooManyPending, 'TOO_LARGE'],
  [AccountStatus.opIdTooOld, 'OP_ID_TOO_OLD'],
]);

/** ok outputs of writes answered as duplicates (no change, the first application's values). */
const accountDuplicates = new WeakSet<object>();

function accountPublicEntry(e: AccountEntry): JournalEntry {
  const { version, balanceAfter } = e;
  if (e.kind === 'add' || e.kind === 'subtract')
    return { version, kind: e.kind, amount: e.amount, opId: e.id, balanceAfter };
  return { version, kind: e.kind, delta: e.amount, txId: e.id, balanceAfter };
}

function accountOutcome(o: TxOutcome): 'committed' | 'rolledBack' {
  // `none` on a finished tx is a model bug: let it show as a mismatch, not as either outcome.
  return o === TxOutcome.committed
    ? 'committed'
    : o === TxOutcome.rolledBack
      ? 'rolledBack'
      : ('none' as 'committed');
}

export const accountDriver: ModelDriver<AccountInput, AccountOutput> = {
  name: 'account',
  tag: ModelTag.account,
  model: accountModel as Model<unknown, AccountInput, AccountOutput>,
  randomInput(prng, _client, n) {
    const r = prng.int(100);
    const bounds = n >= 3 && prng.chance(0.03) ? ACCOUNT_OTHER_BOUNDS : ACCOUNT_BOUNDS;
    if (r < 40) {
      const i = prng.int(ACCOUNT_OP_IDS);
      const usual = prng.chance(0.85);
      const op = (usual ? i % 3 !== 2 : prng.chance(0.5)) ? 'add' : 'subtract';
      const amount = usual ? 5 + 10 * (i % 4) : prng.range(1, 40);
      const seenVersion = prng.chance(0.7) ? prng.int(1 + 3 * n) : 0;
      return { op, opId: `op${i}`, amount, bounds, seenVersion, journalEntries: ACCOUNT_WINDOW };
    }
    if (r < 70) {
      const i = prng.int(ACCOUNT_TX_IDS);
      const roll = prng.int(10);
      if (roll < 4) {
        // Even txs debit, odd ones credit.
        const delta = prng.chance(0.85)
          ? (i % 2 === 0 ? -1 : 1) * (10 + 15 * (i >> 1))
          : prng.pick([-7, 7]);
        return { op: 'prepare', txId: `tx${i}`, delta, bounds, journalEntries: ACCOUNT_WINDOW };
      }
      const op = roll < 7 ? 'commit' : 'rollback';
      return { op, txId: `tx${i}`, bounds, journalEntries: ACCOUNT_WINDOW };
    }
    if (r < 82) return { op: 'balance' };
    const fromVersion = prng.chance(0.3) ? 0 : prng.int(2 + n * 2);
    return prng.chance(0.3)
      ? { op: 'journal', fromVersion }
      : { op: 'journal', fromVersion, limit: 1 + prng.int(5) };
  },
  encode(input) {
    switch (input.op) {
      case 'add':
      case 'subtract':
        return {
          kind: 'write',
          op: encodeAccountOp({
            type: input.op,
            bounds: input.bounds ?? ACCOUNT_BOUNDS,
            opId: input.opId,
            amount: input.amount,
            seenVersion: input.seenVersion ?? 0,
            journalEntries: input.journalEntries ?? 0,
          }),
        };
      case 'prepare':
        return {
          kind: 'write',
          op: encodeAccountOp({
            type: 'prepare',
            bounds: input.bounds ?? ACCOUNT_BOUNDS,
            txId: input.txId,
            delta: input.delta,
            journalEntries: input.journalEntries ?? 0,
          }),
        };
      case 'commit':
      case 'rollback':
        return {
          kind: 'write',
          op: encodeAccountOp({
            type: input.op,
            bounds: input.bounds ?? ACCOUNT_BOUNDS,
            txId: input.txId,
            journalEntries: input.journalEntries ?? 0,
          }),
        };
      case 'balance':
        return { kind: 'read', query: encodeAccountQuery({ type: 'balance' }) };
      case 'journal':
        // The API's default page is JOURNAL_PAGE_MAX; the spec's absent limit is pageMax.
        return {
          kind: 'read',
          query: encodeAccountQuery({
            type: 'journal',
            fromVersion: input.fromVersion,
            limit: input.limit ?? JOURNAL_PAGE_MAX,
          }),
        };
    }
  },
  decode(input, body) {
    switch (input.op) {
      case 'balance': {
        const r = decodeAccountResult('balance', body);
        return { balance: r.balance, available: r.available, version: r.version };
      }
      case 'journal': {
        const r = decodeAccountResult('journal', body);
        if (r.status === AccountStatus.journalTrimmed) return { error: 'JOURNAL_TRIMMED' };
        assert(r.status === AccountStatus.ok, () => `account journal status ${r.status}`);
        return {
          entries: r.entries.map(accountPublicEntry),
          nextVersion: r.nextVersion,
          version: r.version,
        };
      }
      default: {
        const r = decodeAccountResult('write', body);
        if (r.status !== AccountStatus.ok) {
          const error = ACCOUNT_ERRORS.get(r.status);
          assert(
            error !== undefined,
            () => `account write status ${r.status} for ${JSON.stringify(input)}`,
          );
          return { error };
        }
        const output: AccountOutput =
          input.op === 'prepare'
            ? { version: r.version }
            : input.op === 'commit' || input.op === 'rollback'
              ? { outcome: accountOutcome(r.outcome), version: r.version }
              : { balance: r.balance, version: r.version };
        if (r.duplicate) accountDuplicates.add(output);
        return output;
      }
    }
  },
  mutated: (input, output) =>
    input.op !== 'balance' &&
    input.op !== 'journal' &&
    !('error' in output) &&
    !accountDuplicates.has(output),
};

export const MODEL_DRIVERS = {
  queue: queueDriver,
  set: setDriver,
  table: tableDriver,
  doc: docDriver,
  account: accountDriver,
} as const;

// ---- the workload ----

type Outcome<O> = { output: O; unknown: false } | { unknown: true } | 'omit';

function toOutcome<I, O>(
  driver: ModelDriver<I, O>,
  input: I,
  write: boolean,
  res: ClientResult | undefined,
): Outcome<O> {
  // Lost or timed out: a write may have taken effect; a read observed nothing.
  if (res === undefined) return write ? { unknown: true } : 'omit';
  if (!res.ok) return res.code === 'UNKNOWN_OUTCOME' && write ? { unknown: true } : 'omit';
  assert(
    !isWrongModel(res.result),
    () => `${driver.name}: a key of one model answered WRONG_MODEL`,
  );
  return {
    output: driver.decode(input, write ? splitVersion(res.result).body : res.result),
    unknown: false,
  };
}

export function runModelWorkload<I, O>(
  cluster: SimCluster,
  driver: ModelDriver<I, O>,
  o: WorkloadOptions,
): ModelWorkloadResult<I, O> {
  const sim = cluster.sim;
  const prng = sim.forkPrng();
  const result: ModelWorkloadResult<I, O> = {
    history: [],
    completed: 0,
    unknown: 0,
    failed: 0,
    versions: new Map(),
    finishedInTime: false,
  };
  let running = o.clients;
  let nextId = 1;
  const issue = (client: number, n: number): void => {
    if (n >= o.opsPerClient) {
      running -= 1;
      return;
    }
    const input = driver.randomInput(prng, client, n);
    const req = driver.encode(input);
    const write = req.kind === 'write';
    const key = prng.pick(o.keys);
    const replica = prng.int(cluster.replicas);
    const call = sim.now();
    const id = nextId++;
    let settled = false;
    const settle = (res: ClientResult | undefined): void => {
      if (settled) return;
      settled = true;
      const out = toOutcome(driver, input, write, res);
      if (out === 'omit') result.failed += 1;
      else if (out.unknown) {
        result.unknown += 1;
        result.history.push({ id, key, input, call, ret: undefined });
      } else {
        result.completed += 1;
        result.history.push({ id, key, input, call, ret: sim.now(), output: out.output });
      }
      if (write && res?.ok === true && out !== 'omit' && !out.unknown) {
        result.versions.set(id, {
          version: splitVersion(res.result).version,
          mutated: driver.mutated(input, out.output),
        });
      }
      sim.schedule(prng.int(5), () => issue(client, n + 1));
    };
    const body: RequestBody =
      req.kind === 'read'
        ? { kind: 'read', key, query: tagged(driver.tag, req.query), consistency: 'linearizable' }
        : { kind: 'write', key, op: tagged(driver.tag, req.op) };
    requestWithTimeout(cluster, replica, body, o.clientTimeoutMs, settle);
  };
  result.finishedInTime = runPhases(
    cluster,
    prng,
    o,
    (c) => issue(c, 0),
    () => running === 0,
  );
  return result;
}

/**
 * The versions writes report, beyond what the spec models: per key, every write that changed
 * the data has a version of its own, and versions follow real time (a write that returned
 * before another was called has a lower version, or an equal one when the later changed
 * nothing). Returns a description of the first violation, or undefined.
 */
export function checkVersions<I, O>(r: ModelWorkloadResult<I, O>): string | undefined {
  const byKey = new Map<
    string,
    { id: number; call: number; ret: number; version: number; mutated: boolean }[]
  >();
  for (const op of r.history) {
    const v = r.versions.get(op.id as number);
    if (v === undefined || op.ret === undefined) continue;
    const list = byKey.get(op.key) ?? [];
    list.push({ id: op.id as number, call: op.call, ret: op.ret, ...v });
    byKey.set(op.key, list);
  }
  for (const [key, ops] of byKey) {
    const seen = new Map<number, number>();
    for (const a of ops) {
      if (!a.mutated) continue;
      const other = seen.get(a.version);
      if (other !== undefined)
        return `${key}: writes ${other} and ${a.id} both changed the data at version ${a.version}`;
      seen.set(a.version, a.id);
    }
    for (const a of ops) {
      for (const b of ops) {
        if (a.ret >= b.call) continue;
        const ok = b.mutated ? a.version < b.version : a.version <= b.version;
        if (!ok)
          return `${key}: write ${a.id} (version ${a.version}) returned before write ${b.id} (version ${b.version}) was called`;
      }
    }
  }
  return undefined;
}
