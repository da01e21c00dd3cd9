/**
 * The public error type. Every rejection of the public API is a PaxosStoreError with a stable
 * `code`; callers and tests check the code, never the message.
 */
import { StoreError } from '../../engines/errors';

export const ErrorCodes = {
  /** Bad input: wrong types, empty or oversized key, oversized value, bad namespace or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The store (or that replica) is closed. */
  CLOSED: 'CLOSED',
  /** No majority answered in time, or the replica is down. Nothing was applied. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A write timed out after its value reached an acceptor: it may or may not be applied. */
  UNKNOWN_OUTCOME: 'UNKNOWN_OUTCOME',
  /** compare-and-set found another version. Nothing was applied. */
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  /** The stored value has the wrong type for the operation (incr on non-numeric text). */
  WRONG_TYPE: 'WRONG_TYPE',
  /** The write would grow a queue, set or table past its size limit. Nothing was applied. */
  TOO_LARGE: 'TOO_LARGE',
  /** The write would grow a small table past its size limit (20 MiB). Nothing was applied. */
  TABLE_TOO_LARGE: 'TABLE_TOO_LARGE',
  /** Accounts: a subtract or debit prepare would take available funds below min. */
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  /** Accounts: an add or credit prepare would take the balance (with pending credits) past max. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** Accounts: the journal no longer holds the requested version. */
  JOURNAL_TRIMMED: 'JOURNAL_TRIMMED',
  /** Accounts: the account was created with other bounds. */
  BOUNDS_MISMATCH: 'BOUNDS_MISMATCH',
  /** Accounts: the opId was used for another operation, or the txId is prepared with another delta. */
  ID_CONFLICT: 'ID_CONFLICT',
  /** Accounts: commit of a txId this account never prepared. */
  UNKNOWN_TRANSACTION: 'UNKNOWN_TRANSACTION',
  /** Accounts: the transaction already finished the other way (or a prepare came after it). */
  TRANSACTION_FINISHED: 'TRANSACTION_FINISHED',
  /** open(): the directory's last sync 'none' run crashed; acknowledged writes may be lost. */
  DATA_LOSS_POSSIBLE: 'DATA_LOSS_POSSIBLE',
  /** open(): another open store, in this process or another, holds the directory. Nothing changed. */
  LOCKED: 'LOCKED',
  /** Big tables: insert of a primary key that already has a row. Nothing was applied. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Big tables: update of a primary key that has no row. Nothing was applied. */
  NOT_FOUND: 'NOT_FOUND',
  /** Big tables: the handle's indexes differ from those the table was created with. */
  INDEX_MISMATCH: 'INDEX_MISMATCH',
  /** The operation needs another storage engine (big tables need engine 'lsm'). */
  UNSUPPORTED_ENGINE: 'UNSUPPORTED_ENGINE',
  /** Too many requests queued for one key on one replica. Nothing was applied. */
  OVERLOADED: 'OVERLOADED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PaxosStoreError extends StoreError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'PaxosStoreError';
  }
}

export function invalid(message: string): PaxosStoreError {
  return new PaxosStoreError(ErrorCodes.INVALID_ARGUMENT, message);
}
