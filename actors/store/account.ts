/**
 * The public account API: an integer balance (money or a quota) under one name, replicated by
 * the same per-key Paxos as KV and linearizable per account. Semantics in detail:
 * models/account/account.ts. In short:
 *
 *   const acct = store.account('merchant:7', { min: 0, max: 1_000_000 });
 *   await acct.add(500, { opId: 'deposit-1' });        // { balance, version }
 *   await acct.subtract(200, { opId: 'charge-9' });     // INSUFFICIENT_FUNDS below min
 *   await acct.prepare('tx-1', -100);                   // reserves 100 (available drops)
 *   await acct.commit('tx-1');                          // { outcome: 'committed', version }
 *   for await (const e of acct.journal()) console.log(e);
 *
 * - Bounds: min defaults to 0 and max to unbounded (ACCOUNT_UNBOUNDED_MAX); they must hold 0,
 *   a new account's balance. The first write that applies fixes them; a handle with other
 *   bounds gets BOUNDS_MISMATCH on every write (reads do not check bounds).
 * - Idempotency: an opId applies once; a retry answers the first application's balance and
 *   version. The same opId with another kind or amount is ID_CONFLICT. Ids are remembered
 *   while their journal entry is kept: the account's last `journalEntries` mutations (10,000
 *   by default, 1..ACCOUNT_RETAIN_MAX, fixed by the account's first write). An add / subtract
 *   carries `seenVersion`, a version of the account seen before its first send; an opId the
 *   account no longer remembers whose seenVersion is older than the window fails with
 *   OP_ID_TOO_OLD (never a second application). The handle fills it in: a retry through the
 *   same handle reuses the first send's; a new opId takes the newest version the handle has
 *   seen. A caller that may retry from another handle (another process after a crash) stores
 *   with the opId a version it saw before the first send (a result's or balance()'s `version`)
 *   and passes it as `seenVersion` on every send; without it, a retry from a handle that never
 *   sent that opId is taken as a new op.
 * - Transactions: prepared deltas are reserved against the bounds (a debit lowers `available`;
 *   a credit counts toward max). commit / rollback repeated answer the same outcome and
 *   version. commit of a rolled-back tx, rollback of a committed one and prepare of a finished
 *   one fail with TRANSACTION_FINISHED (the message names the outcome); commit of a tx never
 *   prepared fails with UNKNOWN_TRANSACTION. rollback of a tx never prepared succeeds and
 *   fences it: a prepare of that txId arriving later fails with TRANSACTION_FINISHED. There is
 *   no expiry inside the store: a coordinator that gives up on a tx rolls it back. At most
 *   1,000 open transactions per account (TOO_LARGE beyond).
 * - Journal: one entry per applied mutation, numbered by the account's version without gaps.
 *   Only the newest 10,000 are kept; reading from an older version fails with JOURNAL_TRIMMED
 *   (the error's `oldestVersion` is the oldest kept version) rather than skipping.
 *
 * Error codes of accounts only (AccountErrorCodes, a view of ErrorCodes): INSUFFICIENT_FUNDS,
 * LIMIT_EXCEEDED, JOURNAL_TRIMMED, BOUNDS_MISMATCH, ID_CONFLICT, UNKNOWN_TRANSACTION,
 * TRANSACTION_FINISHED, OP_ID_TOO_OLD. Also INVALID_ARGUMENT, TOO_LARGE and WRONG_TYPE as other models.
 */
import {
  ACCOUNT_ID_BYTES_MAX,
  ACCOUNT_RETAIN_MAX,
  ACCOUNT_UNBOUNDED_MAX,
  AccountStatus,
  JOURNAL_PAGE_MAX,
  TxOutcome,
  decodeAccountResult,
  encodeAccountOp,
  encodeAccountQuery,
  isValidAccountBounds,
} from '../../models/account/account';
import type {
  AccountBounds,
  AccountEntry,
  AccountOp,
  AccountQuery,
  AccountResults,
} from '../../models/account/account';
import type { Consistency } from '../paxos/core/types';
import { ModelTag } from '../../models/model-tags';
import { ErrorCodes, PaxosStoreError, checked, describe, field, invalid } from './errors';
import { createHash } from 'node:crypto';
import type { ReadOptions, WriteOptions } from './model-client';
import {
  ModelChannel,
  objectKey,
  tooLarge,
  validateConsistency,
  validateCount,
  validateKey,
  validateWriteOptions,
} from './model-client';
import type { RequestBackend } from './model-client';

/**
 * The codes only account operations raise. A view of ErrorCodes (each code string is declared
 * once, in errors.ts), so `accountError` accepts these and no other.
 */
export const AccountErrorCodes = {
  INSUFFICIENT_FUNDS: ErrorCodes.INSUFFICIENT_FUNDS,
  LIMIT_EXCEEDED: ErrorCodes.LIMIT_EXCEEDED,
  JOURNAL_TRIMMED: ErrorCodes.JOURNAL_TRIMMED,
  BOUNDS_MISMATCH: ErrorCodes.BOUNDS_MISMATCH,
  ID_CONFLICT: ErrorCodes.ID_CONFLICT,
  UNKNOWN_TRANSACTION: ErrorCodes.UNKNOWN_TRANSACTION,
  TRANSACTION_FINISHED: ErrorCodes.TRANSACTION_FINISHED,
  OP_ID_TOO_OLD: ErrorCodes.OP_ID_TOO_OLD,
} as const;

/** How many opIds a handle remembers the first send's seenVersion of (oldest forgotten first). */
export const HANDLE_SENT_IDS_MAX = 10_000;

export interface AccountBoundsOptions {
  /** The lowest `available` balance; default 0. Must be <= 0. */
  min?: number;
  /** The highest balance counting pending credits; default unbounded. Must be >= 0. */
  max?: number;
  /**
   * The journal window of a new account: how many newest entries (and so opIds) it keeps,
   * 1..ACCOUNT_RETAIN_MAX (100,000); default 10,000. Fixed by the account's first write.
   */
  journalEntries?: number;
}

export interface OpOptions extends WriteOptions {
  /** The idempotency key: the same opId applies once. Required. */
  opId: string;
  /**
   * A version of the account seen before this op was first sent, the same on every retry
   * (default: the handle's, see above). A retry from another handle must pass it.
   */
  seenVersion?: number;
}

/**
 * The requestId an account write travels with (decision 22): the caller's, or for add and
 * subtract one derived from the opId and the arguments, so that the store's exactly-once window
 * and the account's opId memory agree (the same opId with another amount is not a retry: the
 * account answers it ID_CONFLICT as before). Transactions keep their own txId rules (a prepare
 * of a finished transaction is TRANSACTION_FINISHED), so prepare, commit and rollback carry
 * only an explicit requestId.
 */
function accountRequestId(op: AccountOp, explicit: string | undefined): string | undefined {
  if (explicit !== undefined || !('opId' in op)) return explicit;
  const what = `${op.type}\u0000${op.amount}\u0000${op.opId}`;
  return `acct:${createHash('sha256').update(what).digest('base64url')}`;
}

export interface JournalOptions extends ReadOptions {
  /** The first version to return; default 0 (the whole history, if it is all still kept). */
  fromVersion?: number;
  /** Entries per read, 1..1,000; default 1,000. */
  pageSize?: number;
}

export interface JournalPageOptions extends ReadOptions {
  /** At most this many entries, 1..1,000; default 1,000. */
  limit?: number;
}

export type JournalEntry =
  | {
      version: number;
      kind: 'add' | 'subtract';
      amount: number;
      opId: string;
      balanceAfter: number;
    }
  /** delta 0 on a rollback of a tx the account never prepared (the fence). */
  | {
      version: number;
      kind: 'prepare' | 'commit' | 'rollback';
      delta: number;
      txId: string;
      balanceAfter: number;
    };

export interface JournalPage {
  entries: JournalEntry[];
  /** The version to read from next: after the last entry, or fromVersion when there was none. */
  nextVersion: number;
  /** The account's version when the page was read. */
  version: number;
}

export interface OpResult {
  balance: number;
  version: number;
}

export interface AccountBalance {
  /** Committed funds. */
  balance: number;
  /** balance minus pending debits: what subtract and debit prepares may still use, down to min. */
  available: number;
  /** The account's version (0 for an account never written). */
  version: number;
}

type AccountErrorCode = (typeof AccountErrorCodes)[keyof typeof AccountErrorCodes];

function accountError(code: AccountErrorCode, message: string): PaxosStoreError {
  return new PaxosStoreError(code, message);
}

function validateJournalEntries(bounds: unknown): number | undefined {
  if (typeof bounds !== 'object' || bounds === null) return undefined;
  const n = field(bounds, 'journalEntries');
  if (n === undefined) return undefined;
  const v = validateCount('journalEntries', n);
  if (v < 1 || v > ACCOUNT_RETAIN_MAX)
    throw invalid(`journalEntries must be in 1..${ACCOUNT_RETAIN_MAX}`);
  return v;
}

function validateSeenVersion(options: unknown): number | undefined {
  const n = field(options as object, 'seenVersion');
  if (n === undefined) return undefined;
  const v = validateCount('seenVersion', n);
  if (v < 0) throw invalid('seenVersion must be >= 0');
  return v;
}

function validateBounds(bounds: unknown): AccountBounds {
  if (bounds === undefined) return { min: 0, max: ACCOUNT_UNBOUNDED_MAX };
  if (typeof bounds !== 'object' || bounds === null)
    throw invalid(`account bounds must be an object, got ${describe(bounds)}`);
  const min = field(bounds, 'min');
  const max = field(bounds, 'max');
  const b = {
    min: min === undefined ? 0 : validateCount('min', min),
    max: max === undefined ? ACCOUNT_UNBOUNDED_MAX : validateCount('max', max),
  };
  if (b.min > b.max) throw invalid(`account min ${b.min} is above max ${b.max}`);
  if (!isValidAccountBounds(b))
    throw invalid('account bounds must hold 0 (min <= 0 <= max): a new account holds 0');
  return b;
}

function validateId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0)
    throw invalid(`${what} must be a non-empty string, got ${describe(id)}`);
  if (id.length > ACCOUNT_ID_BYTES_MAX)
    throw invalid(`${what} is longer than ${ACCOUNT_ID_BYTES_MAX} bytes`);
  if (!id.isWellFormed()) throw invalid(`${what} must be well-formed UTF-16 (no lone surrogates)`);
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > ACCOUNT_ID_BYTES_MAX)
    throw invalid(`${what} is ${bytes} bytes; the limit is ${ACCOUNT_ID_BYTES_MAX}`);
  return id;
}

function validateOpId(options: unknown): string {
  if (typeof options !== 'object' || options === null)
    throw invalid(`options with an opId are required, got ${describe(options)}`);
  return validateId(field(options, 'opId'), 'opId');
}

function validateAmount(amount: unknown): number {
  const n = validateCount('amount', amount);
  if (n <= 0) throw invalid('amount must be a positive integer');
  return n;
}

function validatePageSize(n: unknown, what: string): number {
  if (n === undefined) return JOURNAL_PAGE_MAX;
  const v = validateCount(what, n);
  if (v < 1 || v > JOURNAL_PAGE_MAX) throw invalid(`${what} must be in 1..${JOURNAL_PAGE_MAX}`);
  return v;
}

function validateFromVersion(n: unknown): number {
  if (n === undefined) return 0;
  const v = validateCount('fromVersion', n);
  if (v < 0) throw invalid('fromVersion must be >= 0');
  return v;
}

const outcomeName = (o: number): string =>
  o === TxOutcome.committed ? 'committed' : 'rolled back';

function publicEntry(e: AccountEntry): JournalEntry {
  const { version, balanceAfter } = e;
  if (e.kind === 'add' || e.kind === 'subtract')
    return { version, kind: e.kind, amount: e.amount, opId: e.id, balanceAfter };
  return { version, kind: e.kind, delta: e.amount, txId: e.id, balanceAfter };
}

export class Account {
  /** The bounds this handle sends with every write (defaults filled in). */
  readonly bounds: Readonly<AccountBounds>;
  private readonly channel: ModelChannel;
  private readonly key: string;
  private readonly journalEntries: number | undefined;
  /** The newest account version this handle has seen in any answer (0: none yet). */
  private seenVersion = 0;
  /** The seenVersion each opId was first sent with (insertion order: oldest first). */
  private readonly sentSeen = new Map<string, number>();

  constructor(
    readonly name: string,
    backend: RequestBackend,
    replica: number | undefined,
    bounds?: AccountBoundsOptions,
  ) {
    this.key = objectKey(validateKey(name, 'account name'));
    this.bounds = validateBounds(bounds);
    this.journalEntries = validateJournalEntries(bounds);
    this.channel = new ModelChannel(backend, replica, ModelTag.account);
  }

  /** The committed balance, the available balance (minus pending debits) and the version. */
  async balance(options?: ReadOptions): Promise<AccountBalance> {
    const r = decodeAccountResult(
      'balance',
      await this.read({ type: 'balance' }, validateConsistency(options)),
    );
    this.saw(r.version);
    return { balance: r.balance, available: r.available, version: r.version };
  }

  /** Adds a positive amount once per opId. LIMIT_EXCEEDED past max (counting pending credits). */
  async add(amount: number, options: OpOptions): Promise<OpResult> {
    return this.opWithId('add', amount, options);
  }

  /** Subtracts a positive amount once per opId. INSUFFICIENT_FUNDS below min (counting reservations). */
  async subtract(amount: number, options: OpOptions): Promise<OpResult> {
    return this.opWithId('subtract', amount, options);
  }

  private async opWithId(
    type: 'add' | 'subtract',
    amount: number,
    options: OpOptions,
  ): Promise<OpResult> {
    const op = {
      type,
      bounds: this.bounds,
      amount: validateAmount(amount),
      opId: validateOpId(options),
    };
    const explicit = validateSeenVersion(options);
    const requestId = validateWriteOptions(options);
    const remembered = this.sentSeen.get(op.opId);
    const seenVersion = explicit ?? remembered ?? this.seenVersion;
    if (explicit === undefined && remembered === undefined) this.rememberSent(op.opId, seenVersion);
    try {
      const r = await this.write({ ...op, seenVersion }, requestId);
      return { balance: r.balance, version: r.version };
    } catch (e) {
      // A handle that had seen nothing sends a new opId with seenVersion 0, which an account
      // past its first window refuses: learn its version once and send the op as new.
      const isNew = explicit === undefined && remembered === undefined && seenVersion === 0;
      if (!isNew || !(e instanceof PaxosStoreError) || e.code !== ErrorCodes.OP_ID_TOO_OLD) throw e;
      const { version } = await this.balance({ consistency: 'linearizable' });
      this.sentSeen.set(op.opId, version);
      const r = await this.write({ ...op, seenVersion: version }, requestId);
      return { balance: r.balance, version: r.version };
    }
  }

  private rememberSent(opId: string, seenVersion: number): void {
    // Bounded: the oldest opId is forgotten first; a retry of it sends the handle's current
    // version, as a new opId would.
    if (this.sentSeen.size >= HANDLE_SENT_IDS_MAX) {
      const oldest = this.sentSeen.keys().next();
      if (oldest.done !== true) this.sentSeen.delete(oldest.value);
    }
    this.sentSeen.set(opId, seenVersion);
  }

  private saw(version: number): void {
    if (version > this.seenVersion) this.seenVersion = version;
  }

  /** Reserves a non-zero delta under txId (negative: a debit; positive: a credit). */
  async prepare(txId: string, delta: number, options?: WriteOptions): Promise<{ version: number }> {
    const d = validateCount('delta', delta);
    if (d === 0) throw invalid('delta must be a non-zero integer');
    const r = await this.write(
      { type: 'prepare', bounds: this.bounds, txId: validateId(txId, 'txId'), delta: d },
      validateWriteOptions(options),
    );
    return { version: r.version };
  }

  /** Applies a prepared delta. Idempotent: a repeat answers the same outcome and version. */
  async commit(
    txId: string,
    options?: WriteOptions,
  ): Promise<{ outcome: 'committed' | 'rolledBack'; version: number }> {
    return this.finish(
      { type: 'commit', bounds: this.bounds, txId: validateId(txId, 'txId') },
      validateWriteOptions(options),
    );
  }

  /** Releases a reservation; of an unknown txId, records it so a late prepare is refused. */
  async rollback(
    txId: string,
    options?: WriteOptions,
  ): Promise<{ outcome: 'committed' | 'rolledBack'; version: number }> {
    return this.finish(
      { type: 'rollback', bounds: this.bounds, txId: validateId(txId, 'txId') },
      validateWriteOptions(options),
    );
  }

  /** One bounded read of the journal: entries with version >= fromVersion, oldest first. */
  async journalPage(fromVersion: number, options?: JournalPageOptions): Promise<JournalPage> {
    const { from, limit, consistency } = checked('account.journalPage', () => {
      if (fromVersion === undefined)
        throw invalid(
          'journalPage needs fromVersion (0: from the first version, if it is still kept)',
        );
      if (options !== undefined && (typeof options !== 'object' || options === null))
        throw invalid(`options must be an object, got ${describe(options)}`);
      return {
        from: validateFromVersion(fromVersion),
        limit: validatePageSize(
          options === undefined ? undefined : field(options, 'limit'),
          'limit',
        ),
        consistency: validateConsistency(options),
      };
    });
    return this.page(from, limit, consistency);
  }

  /**
   * Every applied operation from `fromVersion` on, once and in order, read in pages until the
   * iterator has caught up with the account's version at its first read (entries written
   * meanwhile may be included). JOURNAL_TRIMMED if the window moves past an unread version.
   * Bad options throw INVALID_ARGUMENT at once, before any iteration.
   */
  journal(options?: JournalOptions): AsyncIterableIterator<JournalEntry> {
    const { from, pageSize, consistency } = checked('account.journal', () => {
      if (options !== undefined && (typeof options !== 'object' || options === null))
        throw invalid(`options must be an object, got ${describe(options)}`);
      return {
        from: validateFromVersion(
          options === undefined ? undefined : field(options, 'fromVersion'),
        ),
        pageSize: validatePageSize(
          options === undefined ? undefined : field(options, 'pageSize'),
          'pageSize',
        ),
        consistency: validateConsistency(options),
      };
    });
    return this.pages(from, pageSize, consistency);
  }

  private async *pages(
    from: number,
    pageSize: number,
    consistency: Consistency,
  ): AsyncGenerator<JournalEntry> {
    let page = await this.page(from, pageSize, consistency);
    const target = page.version;
    // A page that continues has entries, so nextVersion grows by at least one per read and
    // passes `target` within target - from + 1 reads. (Not "a short page ends it": the store
    // may clamp a page below pageSize.)
    for (;;) {
      yield* page.entries;
      if (page.entries.length === 0 || page.nextVersion > target) return;
      page = await this.page(page.nextVersion, pageSize, consistency);
    }
  }

  private async page(from: number, limit: number, consistency: Consistency): Promise<JournalPage> {
    const r = decodeAccountResult(
      'journal',
      await this.read({ type: 'journal', fromVersion: from, limit }, consistency),
    );
    if (r.status === AccountStatus.journalTrimmed) {
      throw new PaxosStoreError(
        AccountErrorCodes.JOURNAL_TRIMMED,
        `${this.name}: journal version ${from} was trimmed; the oldest kept is ${r.nextVersion}`,
        { oldestVersion: r.nextVersion },
      );
    }
    if (r.status !== AccountStatus.ok)
      throw invalid(`${this.name}: the store refused the journal query`);
    this.saw(r.version);
    return { entries: r.entries.map(publicEntry), nextVersion: r.nextVersion, version: r.version };
  }

  private async finish(
    op: AccountOp,
    requestId: string | undefined,
  ): Promise<{ outcome: 'committed' | 'rolledBack'; version: number }> {
    const r = await this.write(op, requestId);
    return {
      outcome: r.outcome === TxOutcome.committed ? 'committed' : 'rolledBack',
      version: r.version,
    };
  }

  /** Sends a write and turns every refusal into its error; answers the ok result. */
  private async write(
    op: AccountOp,
    requestId: string | undefined,
  ): Promise<AccountResults['write']> {
    const sent: AccountOp =
      this.journalEntries === undefined ? op : { ...op, journalEntries: this.journalEntries };
    const { body } = await this.channel.write(
      this.key,
      encodeAccountOp(sent),
      this.name,
      accountRequestId(op, requestId),
    );
    const r = decodeAccountResult('write', body);
    this.saw(r.version);
    if (r.status !== AccountStatus.ok) throw this.refusal(op, r);
    return r;
  }

  private refusal(op: AccountOp, r: AccountResults['write']): PaxosStoreError {
    const who = `${this.name}: ${op.type}`;
    switch (r.status) {
      case AccountStatus.insufficientFunds:
        return accountError(
          AccountErrorCodes.INSUFFICIENT_FUNDS,
          `${who} would take available funds below ${this.bounds.min}`,
        );
      case AccountStatus.limitExceeded:
        return accountError(
          AccountErrorCodes.LIMIT_EXCEEDED,
          `${who} would take the balance past ${this.bounds.max}`,
        );
      case AccountStatus.boundsMismatch:
        return accountError(
          AccountErrorCodes.BOUNDS_MISMATCH,
          `${who}: the account was created with other bounds than [${this.bounds.min}, ${this.bounds.max}]`,
        );
      case AccountStatus.idConflict:
        return accountError(
          AccountErrorCodes.ID_CONFLICT,
          `${who}: the id was already used with another amount or operation`,
        );
      case AccountStatus.unknownTx:
        return accountError(
          AccountErrorCodes.UNKNOWN_TRANSACTION,
          `${who}: the transaction was never prepared here`,
        );
      case AccountStatus.txFinished:
        return accountError(
          AccountErrorCodes.TRANSACTION_FINISHED,
          `${who}: the transaction already ${outcomeName(r.outcome)}`,
        );
      case AccountStatus.opIdTooOld:
        return accountError(
          AccountErrorCodes.OP_ID_TOO_OLD,
          `${who}: the account no longer remembers opIds of ops first sent before version ` +
            `${'seenVersion' in op ? op.seenVersion : '?'} (past its journal window); nothing was applied`,
        );
      case AccountStatus.tooManyPending:
        return tooLarge(this.name, 'account (open transactions)');
      case AccountStatus.badRequest:
        return invalid(`${who}: the store refused the request as malformed`);
      default:
        // A status this client does not know (a version skew between client and model): the
        // write was chosen, but nothing says what it did.
        return new PaxosStoreError(
          ErrorCodes.UNKNOWN_OUTCOME,
          `${who}: unexpected account status ${r.status}`,
        );
    }
  }

  private read(query: AccountQuery, consistency: Consistency): Promise<Uint8Array> {
    return this.channel.read(this.key, encodeAccountQuery(query), consistency, this.name);
  }
}
