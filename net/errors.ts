/**
 * Operating errors of the wire layer. Callers and tests match on the stable `code`, never on the
 * message text. A programmer error (a reserved frame type, a negative size) is an assertion
 * instead (runtime/assert.ts).
 */
export type NetErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'FRAME_CRC'
  | 'FRAME_MALFORMED'
  | 'HANDSHAKE_MALFORMED'
  | 'HANDSHAKE_TIMEOUT'
  | 'UNAUTHENTICATED'
  | 'VERSION_MISMATCH'
  | 'UNAVAILABLE'
  | 'INVALID_OPTIONS'
  | 'CLOSED';

export class NetError extends Error {
  constructor(
    readonly code: NetErrorCode,
    message: string,
    /** The underlying error (an OS errno such as EADDRINUSE), for callers that map it. */
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'NetError';
  }
}

export function isNetError(error: unknown): error is NetError {
  return error instanceof NetError;
}

/** Levels of the injectable log callback; the layer never writes to the console itself. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type NetLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export const silentLog: NetLog = () => {};
