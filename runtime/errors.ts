/**
 * Operating errors of the runtime (bad options, bad addresses, a closed system, a dead worker).
 * Callers and tests match on the stable `code`, never on the message text.
 */
export type RuntimeErrorCode =
  | 'PXS_INVALID_OPTIONS'
  | 'PXS_INVALID_ADDRESS'
  | 'PXS_PAYLOAD_TOO_LARGE'
  | 'PXS_CLOSED'
  | 'PXS_START_FAILED'
  | 'PXS_WORKER_DIED'
  | 'PXS_TIMEOUT'
  | 'PXS_OFFLOAD_CLOSED'
  | 'PXS_OFFLOAD_BUSY'
  | 'PXS_OFFLOAD_CANCELLED';

export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RuntimeError';
  }
}
