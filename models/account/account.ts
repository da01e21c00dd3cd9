/**
 * The account model: an integer balance (money, or a quota counter) under one key, with
 * idempotent adds and subtracts, two-phase reservations (prepare, then commit or rollback) and
 * a journal of every applied mutation. All bytes here are untagged (model-tags.ts); the
 * registry frames them and appends the post-write version to every write result.
 *
 * Amounts are safe integers (cents, units); nothing here is fractional.
 *
 * Bounds. Every write op carries the caller's bounds [min, max] (min <= 0 <= max: a new
 * account holds 0). The first write that applies fixes them in the account's data; a later
 * write with other bounds answers `boundsMismatch` and changes nothing. Reads do not carry
 * bounds. "No max" is ACCOUNT_UNBOUNDED_MAX, which also keeps every sum a safe integer.
 *
 * Reservations. A prepared transaction holds a non-zero delta, pending until commit or
 * rollback. The invariant, kept by every op, is that any subset of the pending deltas may
 * commit without leaving [min, max]:
 *     balance + (sum of negative pending) >= min     ("available" below)
 *     balance + (sum of positive pending) <= max
 * so add checks the second line, subtract the first, prepare the line of its sign, and commit
 * and rollback never fail on funds. Failures: `insufficientFunds` (the min line),
 * `limitExceeded` (the max line), `tooManyPending` (more than pendingMax open transactions).
 *
 * Transactions. prepare(tx, delta) again with the same delta while pending answers ok with the
 * first prepare's version (a retry); another delta is `idConflict`. commit(tx) applies the delta;
 * commit of a tx never prepared is `unknownTx`. rollback(tx) releases the reservation; rollback
 * of a tx this account does not know succeeds and is recorded (a journal entry with delta 0),
 * so a prepare of that tx arriving late is refused with `txFinished`: a coordinator that gave
 * up on a tx (its prepare lost or slow) can roll back every participant safely. The model has
 * no clock, so nothing expires by itself: "expired" is the coordinator's decision. A repeated
 * commit or rollback answers ok with the first one's version (`duplicate`); commit of a rolled
 * back tx, rollback of a committed one, or prepare of a finished one is `txFinished` with the
 * recorded outcome.
 *
 * Journal. Every mutation (mutated: true) appends exactly one entry
 * {version, kind, amount, id, balanceAfter}: `version` is the key's data version after the
 * write (`version + 1` inside apply), so entries are numbered without gaps. `amount` is the
 * positive amount of add/subtract and the delta of prepare/commit/rollback (0 for a rollback
 * of an unknown tx). Only the newest entries are kept: the account's window, chosen by its
 * first applied write (`journalEntries`, 1..ACCOUNT_RETAIN_MAX; default the machine's
 * `journalEntriesMax`). The data records the highest version dropped, and a journal query from
 * a version at or below it answers `journalTrimmed` (with the oldest kept version) instead of
 * silently skipping.
 *
 * Idempotency window. Remembered ids are exactly the ids of the kept journal entries plus the
 * pending transactions, found through an index inside the data (account-index.ts, O(log n)).
 * opIds and txIds are separate name spaces. The same opId with another kind or amount is
 * `idConflict` and changes nothing. An add/subtract carries `seenVersion`, a version of the
 * account seen before it was first sent: an opId not remembered applies only if seenVersion
 * >= the highest dropped version (then it cannot have applied before: its entry would be
 * kept); otherwise it answers `opIdTooOld` and changes nothing, never a second application.
 * A pure function of the data and the op, so every replica answers alike (docs/decisions.md,
 * "The account journal: a deterministic opId floor"). A finished txId is remembered while its
 * entry is kept (a late prepare after that is accepted).
 *
 * Check order (the first that fails answers): malformed request (RESULT_BAD_REQUEST), bounds,
 * the id (duplicate / idConflict / opIdTooOld / txFinished / unknownTx), pendingMax, funds and
 * limits.
 *
 * Bad input: the encoders assert (the API validates first). Apply and read still check
 * amounts, ids and bounds and answer RESULT_BAD_REQUEST instead of throwing: a replicated op
 * that threw would be re-applied, and throw, on every replica forever. Truncated bytes are
 * still assertions (no client of this module writes them).
 *
 * Data layout 3 (account-layout.ts; docs/decisions.md "The account journal in sections"): a
 * header as of the last merge (bounds, balance, floor, window, positions, pending list sorted
 * by id bytes), the sorted id index of the base run (account-index.ts), then the journal
 * entries, oldest first (account-journal.ts): the base run, as of the merge, then the change
 * run, one entry appended per write since. The current balance, pending list and floor are
 * the header's plus the change run's (account-changes.ts, cached per append buffer); an id is
 * looked up in the change run's map, then by binary search in the base index, and counts only
 * above the floor (entries past the window wait in the data for the next merge). A write
 * appends its entry in place (appendBytes: the record persists only the entry as a change
 * entry); once the run passes max(32, base / 4) entries the write merges instead: a fresh base
 * of the kept entries, indexed (account-next.ts). Same bytes on every replica: both paths are
 * functions of the data and the op. Data is canonical (encodeAccountData) right after a merge.
 * Layouts 1 (no marker, window, base or slots) and 2 (no change run) are still read; the first
 * write stores layout 3. Ops: layout 2 ops end with [seenVersion f64][window u32] (0: the
 * default); layout 1 ops, without them, read as seenVersion 0. The journal stays raw bytes,
 * never decoded into objects on a write (bench/README.md "account-growth"). An account never
 * returns to null (the key stays an account: there is no delete).
 */
import { VERIFY, assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { EntryKind, JournalView, KIND_NAMES, writeEntry } from './account-journal';
import type { AccountEntry } from './account-journal';
import { buildIndex } from './account-index';
import { checkAccountData } from './account-check';
import { pendingSums } from './account-changes';
import { firstKeptOffset, newAccount, parseAccount } from './account-data';
import type { Account } from './account-data';
import { decide } from './account-decide';
import type { Request } from './account-decide';
import { writeHeader } from './account-layout';
import { nextAccountData } from './account-next';
import { AccountStatus, TxOutcome } from './account-status';
import { compareBytes } from '../set/set';
import type { StateMachine } from '../state-machine';

// Op codes double as journal entry kinds: one entry per applied op, of the op's kind.
const OP_ADD = EntryKind.add;
const OP_SUBTRACT = EntryKind.subtract;
const OP_PREPARE = EntryKind.prepare;
const OP_COMMIT = EntryKind.commit;
const OP_ROLLBACK = EntryKind.rollback;
const QUERY_BALANCE = 1;
const QUERY_JOURNAL = 2;

/** The default number of newest journal entries kept (and so the idempotency window). */
export const JOURNAL_ENTRIES_MAX = 10_000;
/** The largest window an account may choose (its data holds ~80 bytes per kept entry). */
export const ACCOUNT_RETAIN_MAX = 100_000;
/** The default limit on open (prepared) transactions per account. */
export const ACCOUNT_PENDING_MAX = 1_000;
/** The default limit on entries one journal query returns. */
export const JOURNAL_PAGE_MAX = 1_000;
/** The longest opId or txId in UTF-8 bytes: room for UUIDs and usual idempotency keys. */
export const ACCOUNT_ID_BYTES_MAX = 128;
/** The max of an account created without one: every balance and sum stays a safe integer. */
export const ACCOUNT_UNBOUNDED_MAX = Number.MAX_SAFE_INTEGER;

export interface AccountLimits {
  readonly journalEntriesMax: number;
  readonly pendingMax: number;
  readonly pageMax: number;
  /**
   * Data from this size grows in an append buffer (account-next.ts; default 4 KiB). Only
   * where the bytes live, never which bytes: replicas may differ in it. Tests and the
   * simulator lower it to reach the in-place path with small accounts.
   */
  readonly appendBytesMin?: number;
}

export const ACCOUNT_LIMITS: AccountLimits = {
  journalEntriesMax: JOURNAL_ENTRIES_MAX,
  pendingMax: ACCOUNT_PENDING_MAX,
  pageMax: JOURNAL_PAGE_MAX,
};

export { AccountStatus, TxOutcome } from './account-status';

export type { AccountEntry, AccountEntryKind } from './account-journal';

export interface AccountBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * `journalEntries` (every op): the window a new account keeps, 1..ACCOUNT_RETAIN_MAX; absent
 * or 0: the machine's default. Fixed by the account's first applied write, ignored after.
 */
interface OpCommon {
  readonly bounds: AccountBounds;
  readonly journalEntries?: number;
}

export type AccountOp =
  | (OpCommon & {
      readonly type: 'add' | 'subtract';
      readonly opId: string;
      readonly amount: number;
      /**
       * A version of the account seen before this op was first sent (0: none), the same on
       * every retry: the op, if it applied, applied above it. An opId the account does not
       * remember answers opIdTooOld when this is below the account's floor.
       */
      readonly seenVersion?: number;
    })
  | (OpCommon & { readonly type: 'prepare'; readonly txId: string; readonly delta: number })
  | (OpCommon & { readonly type: 'commit' | 'rollback'; readonly txId: string });

export type AccountQuery =
  | { readonly type: 'balance' }
  /** Entries with version >= fromVersion, oldest first, at most min(limit, pageMax). */
  | { readonly type: 'journal'; readonly fromVersion: number; readonly limit: number };

export interface AccountPending {
  readonly txId: string;
  readonly delta: number;
  /** The version of the prepare's journal entry. */
  readonly version: number;
}

/** A whole account, decoded (tests and tools; the machine itself works on the bytes). */
export interface AccountState {
  readonly bounds: AccountBounds;
  readonly balance: number;
  /**
   * The highest journal version dropped by the window; 0 when none was. Also the opId floor:
   * every op applied above it is remembered.
   */
  readonly droppedThrough: number;
  /** The account's window (kept entries), fixed at creation. */
  readonly journalEntries: number;
  /** The absolute byte position of the first kept entry (entries dropped before it, in bytes). */
  readonly journalBase: number;
  /** Sorted by txId's UTF-8 bytes. */
  readonly pending: readonly AccountPending[];
  readonly journal: readonly AccountEntry[];
}

/** The typed result of each result kind: every op answers `write`. */
export interface AccountResults {
  /**
   * ok: `balance` is the balance after the op and `version` its journal entry's version; for a
   * duplicate (a remembered opId, or a repeated prepare / commit / rollback) both are the first
   * application's (prepare: the current balance). Otherwise both are the current ones.
   * `outcome` is the tx's fate for commit / rollback and for txFinished; none otherwise.
   */
  readonly write: {
    readonly status: AccountStatus;
    readonly outcome: TxOutcome;
    readonly duplicate: boolean;
    readonly balance: number;
    readonly version: number;
  };
  /** An absent account reads as balance 0. `version` is the key's data version. */
  readonly balance: {
    readonly balance: number;
    readonly available: number;
    readonly version: number;
  };
  /**
   * ok: the entries and `nextVersion` to ask for next (last entry + 1, or fromVersion when
   * none). journalTrimmed: no entries; `nextVersion` is the oldest version still kept.
   * `version` is the key's data version at the read.
   */
  readonly journal: {
    readonly status:
      | typeof AccountStatus.ok
      | typeof AccountStatus.journalTrimmed
      | typeof AccountStatus.badRequest;
    readonly version: number;
    readonly nextVersion: number;
    readonly entries: AccountEntry[];
  };
}
export type AccountResultKind = keyof AccountResults;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- validity (shared by the encoders' asserts and apply's bad-request checks) ----

export function isValidAccountBounds(b: AccountBounds): boolean {
  return Number.isSafeInteger(b.min) && Number.isSafeInteger(b.max) && b.min <= 0 && b.max >= 0;
}

function isValidIdBytes(id: Uint8Array): boolean {
  return id.length >= 1 && id.length <= ACCOUNT_ID_BYTES_MAX;
}

/** True for a non-empty well-formed string of at most ACCOUNT_ID_BYTES_MAX UTF-8 bytes. */
export function isValidAccountId(id: string): boolean {
  return typeof id === 'string' && id.isWellFormed() && isValidIdBytes(encoder.encode(id));
}

const isAmount = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
const isDelta = (n: number): boolean => Number.isSafeInteger(n) && n !== 0;
const isRetain = (n: number): boolean =>
  Number.isSafeInteger(n) && n >= 1 && n <= ACCOUNT_RETAIN_MAX;
const isSeenVersion = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

// ---- ops and queries ----

function writeBounds(w: ByteWriter, bounds: AccountBounds): void {
  w.f64(bounds.min);
  w.f64(bounds.max);
}

export function encodeAccountOp(op: AccountOp): Uint8Array {
  assert(isValidAccountBounds(op.bounds), () => `account bounds ${JSON.stringify(op.bounds)}`);
  const w = new ByteWriter(64);
  switch (op.type) {
    case 'add':
    case 'subtract':
      assert(isValidAccountId(op.opId), 'account opId');
      assert(isAmount(op.amount), () => `account amount ${op.amount}`);
      w.u8(op.type === 'add' ? OP_ADD : OP_SUBTRACT);
      writeBounds(w, op.bounds);
      w.str(op.opId);
      w.f64(op.amount);
      break;
    case 'prepare':
      assert(isValidAccountId(op.txId), 'account txId');
      assert(isDelta(op.delta), () => `account delta ${op.delta}`);
      w.u8(OP_PREPARE);
      writeBounds(w, op.bounds);
      w.str(op.txId);
      w.f64(op.delta);
      break;
    case 'commit':
    case 'rollback':
      assert(isValidAccountId(op.txId), 'account txId');
      w.u8(op.type === 'commit' ? OP_COMMIT : OP_ROLLBACK);
      writeBounds(w, op.bounds);
      w.str(op.txId);
      break;
  }
  // Layout 2 of ops: two trailing fields (layout 1 ops, without them, still decode).
  const seen = op.type === 'add' || op.type === 'subtract' ? (op.seenVersion ?? 0) : 0;
  const retain = op.journalEntries ?? 0;
  assert(isSeenVersion(seen), () => `account seenVersion ${seen}`);
  assert(retain === 0 || isRetain(retain), () => `account journalEntries ${retain}`);
  w.f64(seen);
  w.u32(retain);
  return w.finish();
}

export function encodeAccountQuery(q: AccountQuery): Uint8Array {
  if (q.type === 'balance') return Uint8Array.of(QUERY_BALANCE);
  assert(
    Number.isSafeInteger(q.fromVersion) && q.fromVersion >= 0,
    () => `journal fromVersion ${q.fromVersion}`,
  );
  assert(
    Number.isSafeInteger(q.limit) && q.limit >= 1 && q.limit < 2 ** 32,
    () => `journal limit ${q.limit}`,
  );
  const w = new ByteWriter(13);
  w.u8(QUERY_JOURNAL);
  w.f64(q.fromVersion);
  w.u32(q.limit);
  return w.finish();
}

/** The op, or undefined when its values are invalid (answered RESULT_BAD_REQUEST). */
function decodeOp(op: Uint8Array): Request | undefined {
  const r = new ByteReader(op);
  const kind = r.u8();
  assert(kind >= OP_ADD && kind <= OP_ROLLBACK, () => `unknown account op ${kind}`);
  const bounds = { min: r.f64(), max: r.f64() };
  const id = r.bytes();
  const amount = kind === OP_COMMIT || kind === OP_ROLLBACK ? 0 : r.f64();
  const layout2 = r.remaining > 0;
  const seenVersion = layout2 ? r.f64() : 0;
  const retain = layout2 ? r.u32() : 0;
  assert(r.remaining === 0, 'account op has trailing bytes');
  if (!isValidAccountBounds(bounds) || !isValidIdBytes(id)) return undefined;
  if ((kind === OP_ADD || kind === OP_SUBTRACT) && !isAmount(amount)) return undefined;
  if (kind === OP_PREPARE && !isDelta(amount)) return undefined;
  if (!isSeenVersion(seenVersion) || (retain !== 0 && !isRetain(retain))) return undefined;
  return { kind, bounds, id, amount, seenVersion, retain };
}

// ---- applying ----

/** [status u8][outcome u8][duplicate u8][balance f64][version f64] */
function writeResult(
  status: AccountStatus,
  outcome: TxOutcome,
  duplicate: boolean,
  balance: number,
  version: number,
): Uint8Array {
  const w = new ByteWriter(19);
  w.u8(status);
  w.u8(outcome);
  w.u8(duplicate ? 1 : 0);
  w.f64(balance);
  w.f64(version);
  return w.finish();
}

function applyOp(data: Uint8Array | null, version: number, op: Uint8Array, limits: AccountLimits) {
  const req = decodeOp(op);
  const stored = data === null ? undefined : parseAccount(data, limits.journalEntriesMax);
  const unchanged = (status: AccountStatus, outcome: TxOutcome = TxOutcome.none) => ({
    data,
    mutated: false,
    result: writeResult(status, outcome, false, stored?.balance ?? 0, version),
  });
  if (req === undefined) return unchanged(AccountStatus.badRequest);
  if (stored !== undefined && (stored.min !== req.bounds.min || stored.max !== req.bounds.max)) {
    return unchanged(AccountStatus.boundsMismatch);
  }
  const a =
    stored ?? newAccount(req.bounds, req.retain === 0 ? limits.journalEntriesMax : req.retain);
  const d = decide(a, req, version, limits);
  switch (d.type) {
    case 'refuse':
      return unchanged(d.status, d.outcome);
    case 'duplicate':
      return {
        data,
        mutated: false,
        result: writeResult(AccountStatus.ok, d.outcome, true, d.balance, d.version),
      };
    case 'change':
      return {
        data: nextAccountData(a, d, req, version, limits.appendBytesMin),
        mutated: true,
        result: writeResult(AccountStatus.ok, d.outcome, false, d.balance, version + 1),
      };
  }
}

// ---- reading ----

function readBalance(a: Account | undefined, version: number): Uint8Array {
  const w = new ByteWriter(25);
  w.u8(AccountStatus.ok);
  w.f64(a?.balance ?? 0);
  w.f64(a === undefined ? 0 : a.balance + pendingSums(a.pending).neg);
  w.f64(version);
  return w.finish();
}

/** [status][version f64][nextVersion f64][count u32][raw entries]. */
function journalResult(
  status: AccountStatus,
  version: number,
  nextVersion: number,
  count: number,
  entries: Uint8Array,
): Uint8Array {
  const w = new ByteWriter(21 + entries.length);
  w.u8(status);
  w.f64(version);
  w.f64(nextVersion);
  w.u32(count);
  w.raw(entries);
  return w.finish();
}

function readJournal(
  a: Account | undefined,
  version: number,
  r: ByteReader,
  pageMax: number,
): Uint8Array {
  const from = r.f64();
  const limit = r.u32();
  assert(r.remaining === 0, 'account journal query has trailing bytes');
  const none = new Uint8Array(0);
  if (!Number.isSafeInteger(from) || from < 0 || limit < 1)
    return journalResult(AccountStatus.badRequest, version, from, 0, none);
  if (a === undefined) return journalResult(AccountStatus.ok, version, from, 0, none);
  if (a.droppedThrough > 0 && from <= a.droppedThrough)
    return journalResult(AccountStatus.journalTrimmed, version, a.droppedThrough + 1, 0, none);
  const j = a.journal;
  const n = Math.min(limit, pageMax);
  // The page is one run of consecutive entries: find its start, then walk n entries.
  let start = 0;
  while (start < j.length && j.version(start) < from) start = j.end(start);
  let end = start;
  let count = 0;
  let last = from - 1;
  for (; end < j.length && count < n; count++) {
    last = j.version(end);
    end = j.end(end);
  }
  return journalResult(AccountStatus.ok, version, last + 1, count, j.bytes.subarray(start, end));
}

export function createAccountStateMachine(limits: AccountLimits = ACCOUNT_LIMITS): StateMachine {
  assert(
    isRetain(limits.journalEntriesMax),
    () => `account journalEntriesMax ${limits.journalEntriesMax} outside 1..${ACCOUNT_RETAIN_MAX}`,
  );
  assert(Number.isSafeInteger(limits.pendingMax) && limits.pendingMax >= 0, 'account pendingMax');
  assert(Number.isSafeInteger(limits.pageMax) && limits.pageMax >= 1, 'account pageMax');
  return {
    apply(data, version, op) {
      if (VERIFY) checkAccountData(data, version, checkLimits(limits));
      return applyOp(data, version, op, limits);
    },
    read(data, version, query) {
      if (VERIFY) checkAccountData(data, version, checkLimits(limits));
      const a = data === null ? undefined : parseAccount(data, limits.journalEntriesMax);
      const r = new ByteReader(query);
      const type = r.u8();
      switch (type) {
        case QUERY_BALANCE:
          assert(r.remaining === 0, 'account balance query has trailing bytes');
          return readBalance(a, version);
        case QUERY_JOURNAL:
          return readJournal(a, version, r, limits.pageMax);
        default:
          throw new Error(`unknown account query ${type}`);
      }
    },
  };
}

/** What the VERIFY check of the data needs of the machine's limits. */
const checkLimits = (limits: AccountLimits) => ({
  journalEntriesMax: limits.journalEntriesMax,
  pendingMax: limits.pendingMax,
  retainMax: ACCOUNT_RETAIN_MAX,
  idBytesMax: ACCOUNT_ID_BYTES_MAX,
});

export const accountStateMachine: StateMachine = createAccountStateMachine();

// ---- data (tests and tools) ----

/**
 * The whole account, or undefined for an absent key. Layout 1 data reads with the default
 * window (JOURNAL_ENTRIES_MAX), as the machine with default limits reads it.
 */
export function decodeAccountData(data: Uint8Array | null): AccountState | undefined {
  if (data === null) return undefined;
  const a = parseAccount(data, JOURNAL_ENTRIES_MAX);
  const keptFrom = firstKeptOffset(a);
  return {
    bounds: { min: a.min, max: a.max },
    balance: a.balance,
    droppedThrough: a.droppedThrough,
    journalEntries: a.retain,
    journalBase: a.base + keptFrom,
    pending: a.pending.map((p) => ({
      txId: decoder.decode(p.id),
      delta: p.delta,
      version: p.version,
    })),
    journal: new JournalView(a.journal.bytes.subarray(keptFrom)).entries(),
  };
}

/**
 * The canonical data of an account state: layout 3 as a merge writes it (every entry in the
 * base run, indexed; pending sorted). Without journalEntries / journalBase: the default
 * window, and a journal that starts at position 0. Data grown by writes since a merge holds
 * the same state in other bytes (a change run): compare states, or data after a merge.
 */
export function encodeAccountData(
  s: Omit<AccountState, 'journalEntries' | 'journalBase'> &
    Partial<Pick<AccountState, 'journalEntries' | 'journalBase'>>,
): Uint8Array {
  const pending = s.pending
    .map((p) => ({ id: encoder.encode(p.txId), delta: p.delta, version: p.version }))
    .sort((x, y) => compareBytes(x.id, y.id));
  const entries = new ByteWriter();
  for (const e of s.journal) {
    writeEntry(
      entries,
      e.version,
      KIND_NAMES.indexOf(e.kind) + 1,
      e.amount,
      encoder.encode(e.id),
      e.balanceAfter,
    );
  }
  const journal = entries.written();
  const base = s.journalBase ?? 0;
  const indexBytes = buildIndex(new JournalView(journal), base, journal.length);
  const header = {
    min: s.bounds.min,
    max: s.bounds.max,
    balance: s.balance,
    droppedThrough: s.droppedThrough,
    retain: s.journalEntries ?? JOURNAL_ENTRIES_MAX,
    base,
    baseBytes: journal.length,
    baseVersion: s.journal[s.journal.length - 1]?.version ?? 0,
  };
  const w = new ByteWriter();
  writeHeader(w, header, pending, indexBytes);
  w.raw(indexBytes);
  w.raw(journal);
  return w.finish();
}

// ---- results ----

const STATUSES = new Set<number>(Object.values(AccountStatus));

function decodeWrite(bytes: Uint8Array): AccountResults['write'] {
  const r = new ByteReader(bytes);
  const status = r.u8();
  const outcome = r.u8();
  const duplicate = r.u8();
  assert(STATUSES.has(status), () => `account status ${status}`);
  assert(outcome <= TxOutcome.rolledBack && duplicate <= 1, 'account write result flags');
  const balance = r.f64();
  const version = r.f64();
  assert(r.remaining === 0, 'account write result has trailing bytes');
  return {
    status: status as AccountStatus,
    outcome: outcome as TxOutcome,
    duplicate: duplicate === 1,
    balance,
    version,
  };
}

function decodeBalance(bytes: Uint8Array): AccountResults['balance'] {
  const r = new ByteReader(bytes);
  assert(r.u8() === AccountStatus.ok, 'account balance status');
  const out = { balance: r.f64(), available: r.f64(), version: r.f64() };
  assert(r.remaining === 0, 'account balance result has trailing bytes');
  return out;
}

function decodeJournal(bytes: Uint8Array): AccountResults['journal'] {
  const r = new ByteReader(bytes);
  const status = r.u8();
  assert(
    status === AccountStatus.ok ||
      status === AccountStatus.journalTrimmed ||
      status === AccountStatus.badRequest,
    () => `account journal status ${status}`,
  );
  const version = r.f64();
  const nextVersion = r.f64();
  const count = r.u32();
  const entries = new JournalView(bytes.subarray(bytes.length - r.remaining)).entries();
  assert(
    entries.length === count,
    () => `journal result holds ${entries.length} entries, says ${count}`,
  );
  return { status, version, nextVersion, entries };
}

const decoders: { readonly [K in AccountResultKind]: (bytes: Uint8Array) => AccountResults[K] } = {
  write: decodeWrite,
  balance: decodeBalance,
  journal: decodeJournal,
};

/** Decodes a result: `write` for every op, `balance` / `journal` for the queries. */
export function decodeAccountResult<K extends AccountResultKind>(
  kind: K,
  bytes: Uint8Array,
): AccountResults[K] {
  return decoders[kind](bytes);
}
