/**
 * The public error type. Every rejection of the public API is a PaxosStoreError with a stable
 * `code`; callers and tests check the code, never the message.
 */
import { EngineError } from '../../engines/errors';
import { CoreErrorCodes } from '../paxos/core/types';

export const ErrorCodes = {
  /** Bad input: wrong types, empty or oversized key, oversized value, bad namespace or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The store (or that replica) is closed. */
  CLOSED: 'CLOSED',
  /** No majority answered in time, or the replica is down. Nothing was applied. */
  UNAVAILABLE: CoreErrorCodes.UNAVAILABLE,
  /** A write timed out after its value reached an acceptor: it may or may not be applied. */
  UNKNOWN_OUTCOME: CoreErrorCodes.UNKNOWN_OUTCOME,
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
  /**
   * Accounts: the account no longer remembers the opIds of ops as old as the one sent (its
   * `seenVersion` is below the account's window), so it cannot tell a retry from a new op.
   * Nothing was applied.
   */
  OP_ID_TOO_OLD: 'OP_ID_TOO_OLD',
  /** open(): the directory's last sync 'none' run crashed; acknowledged writes may be lost. */
  DATA_LOSS_POSSIBLE: 'DATA_LOSS_POSSIBLE',
  /** open(): another open store, in this process or another, holds the directory. Nothing changed. */
  LOCKED: 'LOCKED',
  /** connect(): a node refused the cluster secret (nothing was read or written). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Big tables: insert of a primary key that already has a row. Nothing was applied. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** Big tables: update of a primary key that has no row. Nothing was applied. */
  NOT_FOUND: 'NOT_FOUND',
  /** Big tables: the handle's indexes differ from those the table was created with. */
  INDEX_MISMATCH: 'INDEX_MISMATCH',
  /** The operation needs another storage engine (big tables need engine 'lsm'). */
  UNSUPPORTED_ENGINE: 'UNSUPPORTED_ENGINE',
  /** restore(): the backup is damaged or incomplete (the message names the file). Nothing was restored. */
  CORRUPTED: 'CORRUPTED',
  /**
   * subscribe(): the journal no longer holds the entries after this subscriber's cursor (it fell
   * past the retention bounds, or the serving replica's journal started over). Never a silent gap.
   */
  SUBSCRIPTION_EXPIRED: 'SUBSCRIPTION_EXPIRED',
  /** Too many requests queued for one key on one replica. Nothing was applied. */
  OVERLOADED: CoreErrorCodes.OVERLOADED,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PaxosStoreError extends EngineError {
  /** JOURNAL_TRIMMED: the oldest journal version the account still keeps. */
  readonly oldestVersion?: number;

  constructor(
    code: ErrorCode,
    message: string,
    details?: { cause?: unknown; oldestVersion?: number },
  ) {
    super(code, message, details?.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PaxosStoreError';
    if (details?.oldestVersion !== undefined) this.oldestVersion = details.oldestVersion;
  }
}

export function invalid(message: string, cause?: unknown): PaxosStoreError {
  return new PaxosStoreError(
    ErrorCodes.INVALID_ARGUMENT,
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Longest rendering of a caller's string in an error message (the rest is elided). */
const DESCRIBE_CHARS_MAX = 64;

/**
 * A short description of any caller-supplied value for an error message. Total: it never
 * throws and never runs caller code that could (no toString, no JSON of objects, no proxy
 * traps it does not catch), so building an error can never fail. BigInts, symbols, cyclic and
 * null-prototype objects, proxies and revoked proxies all have a description.
 */
export function describe(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string': {
        const shown =
          value.length > DESCRIBE_CHARS_MAX ? `${value.slice(0, DESCRIBE_CHARS_MAX)}…` : value;
        // JSON.stringify of a string never throws; lone surrogates come out escaped.
        const text = JSON.stringify(shown);
        return value.length > DESCRIBE_CHARS_MAX ? `${text} (${value.length} UTF-16 units)` : text;
      }
      case 'number':
        return Object.is(value, -0) ? '-0' : `${value}`;
      case 'bigint':
        return `${value}n`;
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return 'a symbol';
      case 'function':
        return 'a function';
      default:
        break;
    }
    if (value === null) return 'null';
    return describeObject(value as object);
  } catch {
    return 'an object';
  }
}

function describeObject(value: object): string {
  // Array.isArray throws on a revoked proxy; the caller catches that.
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const tag = typedArrayTag(value);
  if (tag !== undefined) return `a ${tag}`;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return 'an object with a null prototype';
  if (proto === Object.prototype) return 'an object';
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name: unknown =
    typeof ctor === 'function' ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
  return typeof name === 'string' && name.length > 0 && name.length <= DESCRIBE_CHARS_MAX
    ? `an instance of ${name}`
    : 'an object';
}

const TYPED_ARRAY_TAG = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)?.get;

/** The typed array's kind ('Uint8Array', …) from its internal slot, or undefined: never spoofed. */
export function typedArrayTag(value: unknown): string | undefined {
  if (TYPED_ARRAY_TAG === undefined) return undefined;
  const tag: unknown = TYPED_ARRAY_TAG.call(value);
  return typeof tag === 'string' ? tag : undefined;
}

/**
 * Runs the validation of a public call's arguments. Whatever it throws that is not already a
 * PaxosStoreError (a getter or proxy trap of the caller's object that throws, a revoked proxy,
 * …) becomes INVALID_ARGUMENT: nothing was sent.
 */
export function checked<T>(what: string, validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof PaxosStoreError) throw error;
    throw invalid(`${what}: the arguments could not be read`, error);
  }
}

/**
 * `object[name]` of a caller's object; a getter or proxy trap that throws is INVALID_ARGUMENT.
 * `object` must be a non-null object (checked by the caller).
 */
export function field(object: object, name: string): unknown {
  try {
    return (object as Record<string, unknown>)[name];
  } catch (error) {
    throw invalid(`option ${name} could not be read`, error);
  }
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** True when `code` is one of the documented codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CODES.has(code);
}
