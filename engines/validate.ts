/**
 * Input validation for CheckedEngine (STYLE.md §4: engines never see raw input). Each function
 * takes `unknown` from the caller, throws a EngineError with a stable code when the input is
 * bad, and otherwise returns a fresh, normalised value that the engine may trust.
 */
import { assert } from '../runtime/assert';
import type { BatchOp, IterateRange, WriteOptions } from './engine';
import { engineError } from './errors';

/** Keys longer than this (in UTF-8 bytes) are rejected with INVALID_KEY. */
export const KEY_BYTES_MAX = 4096;

export interface EngineLimits {
  /** Largest value accepted by a put, in bytes. */
  readonly valueBytesMax: number;
  /** Most operations in one batch, and most keys in one getMany. */
  readonly batchOpsMax: number;
  /** Most key and value bytes in one batch. */
  readonly batchBytesMax: number;
}

export const STORE_LIMITS_DEFAULT: EngineLimits = Object.freeze({
  valueBytesMax: 16 * 1024 * 1024,
  batchOpsMax: 10_000,
  batchBytesMax: 64 * 1024 * 1024,
});

export function validateLimits(limits: Partial<EngineLimits> | undefined): EngineLimits {
  const merged = { ...STORE_LIMITS_DEFAULT, ...(limits ?? {}) };
  for (const name of ['valueBytesMax', 'batchOpsMax', 'batchBytesMax'] as const) {
    const value: unknown = merged[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw engineError('INVALID_ARGUMENT', `limit ${name} must be a positive integer`);
    }
  }
  return Object.freeze(merged);
}

export function validateKey(key: unknown): string {
  if (typeof key !== 'string') throw engineError('INVALID_KEY', `key is ${typeof key}, not string`);
  if (key.length === 0) throw engineError('INVALID_KEY', 'key is empty');
  // UTF-8 never takes fewer bytes than UTF-16 code units, so this bounds the scans below.
  if (key.length > KEY_BYTES_MAX || Buffer.byteLength(key, 'utf8') > KEY_BYTES_MAX) {
    throw engineError('INVALID_KEY', `key is longer than ${KEY_BYTES_MAX} UTF-8 bytes`);
  }
  // A lone surrogate has no UTF-8 form; LevelDB would store U+FFFD and merge distinct keys.
  if (!isWellFormed(key)) throw engineError('INVALID_KEY', 'key has a lone UTF-16 surrogate');
  return key;
}

export function validateValue(value: unknown, limits: EngineLimits): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw engineError('INVALID_VALUE', 'value must be a Uint8Array');
  }
  if (value.byteLength > limits.valueBytesMax) {
    throw engineError('INVALID_VALUE', `value ${value.byteLength} bytes > ${limits.valueBytesMax}`);
  }
  return value;
}

export function validateKeys(keys: unknown, limits: EngineLimits): string[] {
  if (!Array.isArray(keys)) throw engineError('INVALID_ARGUMENT', 'keys must be an array');
  if (keys.length > limits.batchOpsMax) {
    throw engineError('INVALID_ARGUMENT', `${keys.length} keys > ${limits.batchOpsMax}`);
  }
  return keys.map((key: unknown) => validateKey(key));
}

/** Returns new operation objects: the engine never holds the caller's (possibly live) objects. */
export function validateBatch(batch: unknown, limits: EngineLimits): BatchOp[] {
  if (!Array.isArray(batch)) throw engineError('INVALID_BATCH', 'batch must be an array');
  if (batch.length > limits.batchOpsMax) {
    throw engineError('INVALID_BATCH', `batch of ${batch.length} ops > ${limits.batchOpsMax}`);
  }
  const ops: BatchOp[] = [];
  let bytes = 0;
  for (const raw of batch as unknown[]) {
    const op = validateOp(raw, limits);
    bytes += Buffer.byteLength(op.key, 'utf8') + (op.type === 'put' ? op.value.byteLength : 0);
    if (bytes > limits.batchBytesMax) {
      throw engineError('INVALID_BATCH', `batch larger than ${limits.batchBytesMax} bytes`);
    }
    ops.push(op);
  }
  assert(ops.length === batch.length, `validateBatch: ${ops.length} of ${batch.length} ops`);
  return ops;
}

function validateOp(raw: unknown, limits: EngineLimits): BatchOp {
  if (typeof raw !== 'object' || raw === null) {
    throw engineError('INVALID_BATCH', 'batch operation must be an object');
  }
  const { type, key, value } = raw as { type?: unknown; key?: unknown; value?: unknown };
  if (type === 'put') {
    return Object.freeze({ type, key: validateKey(key), value: validateValue(value, limits) });
  }
  if (type === 'del') return Object.freeze({ type, key: validateKey(key) });
  throw engineError('INVALID_BATCH', `batch operation type ${String(type)} is not put or del`);
}

export function validateWriteOptions(options: unknown): WriteOptions {
  if (options === undefined) return Object.freeze({ sync: false });
  if (typeof options !== 'object' || options === null) {
    throw engineError('INVALID_ARGUMENT', 'write options must be an object');
  }
  const sync: unknown = (options as { sync?: unknown }).sync;
  if (sync !== undefined && typeof sync !== 'boolean') {
    throw engineError('INVALID_ARGUMENT', 'write option sync must be a boolean');
  }
  return Object.freeze({ sync: sync === true });
}

export function validateRange(range: unknown): IterateRange {
  if (range === undefined) return Object.freeze({});
  if (typeof range !== 'object' || range === null) {
    throw engineError('INVALID_ARGUMENT', 'range must be an object');
  }
  const raw = range as { gte?: unknown; lt?: unknown; limit?: unknown; reverse?: unknown };
  const normalised: { gte?: string; lt?: string; limit?: number; reverse?: boolean } = {};
  if (raw.gte !== undefined) normalised.gte = validateBound(raw.gte, 'gte');
  if (raw.lt !== undefined) normalised.lt = validateBound(raw.lt, 'lt');
  if (raw.limit !== undefined && raw.limit !== Infinity) {
    const limit = raw.limit;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
      throw engineError('INVALID_ARGUMENT', 'range limit must be a non-negative integer');
    }
    normalised.limit = limit;
  }
  if (raw.reverse !== undefined && typeof raw.reverse !== 'boolean') {
    throw engineError('INVALID_ARGUMENT', 'range reverse must be a boolean');
  }
  normalised.reverse = raw.reverse === true;
  return Object.freeze(normalised);
}

/** A range bound is a key, except that the empty string is allowed (it sorts first). */
function validateBound(bound: unknown, name: string): string {
  if (bound === '') return bound;
  if (typeof bound !== 'string')
    throw engineError('INVALID_ARGUMENT', `range ${name} not a string`);
  try {
    return validateKey(bound);
  } catch (err) {
    throw engineError('INVALID_ARGUMENT', `range ${name} is not a valid key`, err);
  }
}

/** String.prototype.isWellFormed (ES2024), which our ES2022 lib target does not declare. */
export function isWellFormed(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit >= 0xdc00) return false; // a low surrogate with no high one before it
    const next = index + 1 < text.length ? text.charCodeAt(index + 1) : 0;
    if (next < 0xdc00 || next > 0xdfff) return false;
    index++; // the low surrogate is consumed
  }
  return true;
}
