/**
 * Maps errors from `level` (abstract-level / classic-level) to EngineError codes. Level puts
 * its own code on the error or on its `cause` (an open that fails on the lock file throws
 * LEVEL_DATABASE_NOT_OPEN with cause LEVEL_LOCKED), so we look at both.
 */
import { assert } from '../runtime/assert';
import { isEngineError, engineError, type EngineError } from './errors';

const CAUSE_DEPTH_MAX = 4;

export function mapLevelError(err: unknown, operation: string): EngineError {
  assert(operation.length > 0, 'mapLevelError: operation must be named');
  if (isEngineError(err)) return err;
  const codes = levelCodes(err);
  const text = err instanceof Error ? err.message : String(err);
  const message = `lsm ${operation} failed: ${text}`;
  if (codes.includes('LEVEL_LOCKED')) return engineError('LOCKED', message, err);
  if (codes.includes('LEVEL_CORRUPTION')) return engineError('CORRUPTED', message, err);
  if (codes.includes('LEVEL_ITERATOR_NOT_OPEN') || onlyNotOpen(codes)) {
    return engineError('NOT_OPEN', message, err);
  }
  return engineError('IO_ERROR', message, err);
}

/** LEVEL_DATABASE_NOT_OPEN alone means "closed"; with a cause it wraps a failed open. */
function onlyNotOpen(codes: readonly string[]): boolean {
  return codes.length === 1 && codes[0] === 'LEVEL_DATABASE_NOT_OPEN';
}

/** The `code` strings of `err` and its chain of causes, outermost first. */
function levelCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && current instanceof Error; depth++) {
    const code: unknown = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = current.cause;
  }
  return codes;
}
