/**
 * Operating errors of the storage layer (STYLE.md §2): expected failures such as bad input, a
 * closed engine or a corrupted record. Each carries a stable string `code`; tests and callers
 * check the code, never the message text. Programmer errors are assertions instead
 * (`runtime/assert.ts`) and are never turned into a EngineError.
 *
 * `code` is a plain string so the public API layer can reuse this class for its own codes.
 */

/** The codes raised under `engines/`. Other layers may add their own. */
export const EngineErrorCodes = {
  /** The engine is not open (still opening, closing or closed). */
  NOT_OPEN: 'NOT_OPEN',
  /** Key is not a non-empty, well-formed string of at most 4096 UTF-8 bytes. */
  INVALID_KEY: 'INVALID_KEY',
  /** Value is not a Uint8Array, or is larger than the configured maximum. */
  INVALID_VALUE: 'INVALID_VALUE',
  /** Batch is not an array of put/del operations, or exceeds the configured bounds. */
  INVALID_BATCH: 'INVALID_BATCH',
  /** Options, ranges or configuration are malformed. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A record failed its checksum, or its framing is truncated or unknown. */
  CORRUPTED: 'CORRUPTED',
  /** The engine's directory is held by another open instance or process. */
  LOCKED: 'LOCKED',
  /** Any other failure of the underlying storage. */
  IO_ERROR: 'IO_ERROR',
} as const;

export type EngineErrorCode = (typeof EngineErrorCodes)[keyof typeof EngineErrorCodes];

export class EngineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

export function engineError(code: string, message: string, cause?: unknown): EngineError {
  if (cause === undefined) return new EngineError(code, message);
  return new EngineError(code, message, { cause });
}

/** True when `err` is a EngineError, and (if given) carries `code`. */
export function isEngineError(err: unknown, code?: string): err is EngineError {
  return err instanceof EngineError && (code === undefined || err.code === code);
}
