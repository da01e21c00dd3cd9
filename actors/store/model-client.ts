/**
 * What every public data-model handle shares: input validation (INVALID_ARGUMENT before
 * anything is sent), the route to a replica, the model tag on every request, and the mapping
 * of core results to typed errors.
 */
import type { ClientResult, Consistency } from '../paxos/core/types';
import type { ModelTag } from '../../engines/models/model-tags';
import { isWrongModel, splitVersion, tagged } from '../../engines/models/registry';
import { ErrorCodes, PaxosStoreError, invalid } from './errors';
import type { ErrorCode } from './errors';

export const KEY_BYTES_MAX = 1024;

export interface ReadOptions {
  consistency?: Consistency;
}

export type RequestBody =
  | { kind: 'write'; key: string; op: Uint8Array }
  | { kind: 'read'; key: string; query: Uint8Array; consistency: Consistency };

/** What a handle needs from the store: route a request to a replica. */
export interface StoreBackend {
  readonly valueBytesMax: number;
  /** Resolves with the core's result; rejects CLOSED / UNAVAILABLE when it cannot be sent. */
  call(replica: number | undefined, body: RequestBody): Promise<ClientResult>;
}

export function validateKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) throw invalid(`${what} must be a non-empty string`);
  if (!key.isWellFormed()) throw invalid(`${what} must be well-formed UTF-16 (no lone surrogates)`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KEY_BYTES_MAX) throw invalid(`${what} is ${bytes} bytes; the limit is ${KEY_BYTES_MAX}`);
  return key;
}

export function validateValue(value: unknown, max: number, what = 'value'): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8');
  else if (value instanceof Uint8Array) bytes = value;
  else throw invalid(`${what} must be a string or a Uint8Array`);
  if (bytes.length > max) throw invalid(`${what} is ${bytes.length} bytes; the limit is ${max}`);
  return bytes;
}

export function validateCount(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(`${name} must be a safe integer`);
  return n;
}

/** Only `undefined` means the default; anything else must be a known consistency. */
export function validateConsistency(options: unknown): Consistency {
  if (options === undefined) return 'linearizable';
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const c = (options as { consistency?: unknown }).consistency;
  if (c === undefined) return 'linearizable';
  if (c !== 'linearizable' && c !== 'local') throw invalid(`consistency must be 'linearizable' or 'local'`);
  return c;
}

/** The key holds another data model (a queue, a set, …). */
export function wrongModel(key: string): PaxosStoreError {
  return new PaxosStoreError(ErrorCodes.WRONG_TYPE, `${key}: the key holds another data model`);
}

/** The core's error as a typed error; the internal key in its message becomes the caller's name. */
export function failure(res: ClientResult, internalKey?: string, shownKey?: string): PaxosStoreError {
  if (res.ok) throw new Error('failure() of a successful result');
  const message = internalKey !== undefined && shownKey !== undefined ? res.message.split(internalKey).join(shownKey) : res.message;
  return new PaxosStoreError(res.code as ErrorCode, message);
}

/** Requests of one model to one replicated key; results come back as the model's bytes. */
export class ModelChannel {
  constructor(
    private readonly backend: StoreBackend,
    private readonly replica: number | undefined,
    private readonly tag: ModelTag,
  ) {}

  get valueBytesMax(): number {
    return this.backend.valueBytesMax;
  }

  /** The model's result bytes and the key's version after the write. */
  async write(key: string, op: Uint8Array, shownKey = key): Promise<{ body: Uint8Array; version: number }> {
    const res = await this.backend.call(this.replica, { kind: 'write', key, op: tagged(this.tag, op) });
    return splitVersion(this.unwrap(res, key, shownKey));
  }

  async read(key: string, query: Uint8Array, consistency: Consistency, shownKey = key): Promise<Uint8Array> {
    const res = await this.backend.call(this.replica, { kind: 'read', key, query: tagged(this.tag, query), consistency });
    return this.unwrap(res, key, shownKey);
  }

  private unwrap(res: ClientResult, key: string, shownKey: string): Uint8Array {
    if (!res.ok) throw failure(res, key, shownKey);
    if (isWrongModel(res.result)) throw wrongModel(shownKey);
    return res.result;
  }
}

/**
 * Objects (queues, sets, tables, documents) live in one key space, apart from KV namespaces:
 * a name used by one model refuses every other (WRONG_TYPE) until it is empty again.
 */
export const OBJECT_PREFIX = '\u0000';

export function objectKey(name: string): string {
  return `${OBJECT_PREFIX}${name}`;
}

/** Validates one or more values given as rest arguments. */
export function validateValues(values: unknown[], max: number, what: string): Uint8Array[] {
  if (values.length === 0) throw invalid(`at least one ${what} is required`);
  const out = values.map((v, i) => validateValue(v, max, `${what} ${i}`));
  const total = out.reduce((n, v) => n + v.length, 0);
  if (total > max) throw invalid(`${what}s total ${total} bytes; the limit per request is ${max}`);
  return out;
}

export function tooLarge(name: string, what: string): PaxosStoreError {
  return new PaxosStoreError(ErrorCodes.TOO_LARGE, `${name}: the ${what} would pass its size limit`);
}
