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
