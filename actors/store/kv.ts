/**
 * The public key-value API of one namespace (DESIGN.md §5, issue #2). Every method validates
 * its input first (INVALID_ARGUMENT, nothing sent), then sends one request to one replica.
 */
import type { ClientResult, Consistency } from '../paxos/core/types';
import { KV_GET_QUERY, KvStatus, decodeKvGetResult, decodeKvWriteResult, encodeKvOp } from '../../engines/models/kv';
import type { KvOp } from '../../engines/models/kv';
import { ErrorCodes, PaxosStoreError, invalid } from './errors';
import { ModelTag } from '../../engines/models/model-tags';
import { isWrongModel, tagged } from '../../engines/models/registry';
import type { ErrorCode } from './errors';

export const KEY_BYTES_MAX = 1024;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Separates namespace and key in the replicated key; namespaces cannot contain it. */
const NAMESPACE_SEPARATOR = '\u0001';

export interface KvGetOptions {
  consistency?: Consistency;
}

export interface KvEntry {
  value: Buffer;
  version: number;
}

/** What a namespace needs from the store: route a request to a replica, check liveness. */
export interface KvBackend {
  readonly valueBytesMax: number;
  /** Resolves with the core's result; rejects CLOSED / UNAVAILABLE when it cannot be sent. */
  call(replica: number | undefined, body: { kind: 'write'; key: string; op: Uint8Array } | { kind: 'read'; key: string; query: Uint8Array; consistency: Consistency }): Promise<ClientResult>;
}

export function validateNamespace(name: unknown): string {
  if (typeof name !== 'string' || !NAMESPACE_PATTERN.test(name)) {
    throw invalid(`namespace must match ${NAMESPACE_PATTERN}, got ${JSON.stringify(name)}`);
  }
  return name;
}

function validateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw invalid('key must be a non-empty string');
  if (!key.isWellFormed()) throw invalid('key must be well-formed UTF-16 (no lone surrogates)');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KEY_BYTES_MAX) throw invalid(`key is ${bytes} bytes; the limit is ${KEY_BYTES_MAX}`);
  return key;
}

function validateValue(value: unknown, max: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8');
  else if (value instanceof Uint8Array) bytes = value;
  else throw invalid('value must be a string or a Uint8Array');
  if (bytes.length > max) throw invalid(`value is ${bytes.length} bytes; the limit is ${max}`);
  return bytes;
}

function validateCount(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(`${name} must be a safe integer`);
  return n;
}

const KV_QUERY = tagged(ModelTag.kv, KV_GET_QUERY);

/** The key holds another data model (a queue, a set, …). */
export function wrongModel(key: string): PaxosStoreError {
  return new PaxosStoreError(ErrorCodes.WRONG_TYPE, `${key}: the key holds another data model`);
}

function failure(res: ClientResult): PaxosStoreError {
  if (res.ok) throw new Error('failure() of a successful result');
  return new PaxosStoreError(res.code as ErrorCode, res.message);
}

export class KvNamespace {
  constructor(
    readonly namespace: string,
    private readonly backend: KvBackend,
    private readonly replica: number | undefined,
  ) {}

  async put(key: string, value: string | Uint8Array): Promise<{ version: number }> {
    const k = validateKey(key);
    const v = validateValue(value, this.backend.valueBytesMax);
    const r = await this.write(k, { type: 'put', value: v });
    return { version: r.version };
  }

  async get(key: string, options?: KvGetOptions): Promise<KvEntry | undefined> {
    const k = validateKey(key);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalid('options must be an object');
    // Only an absent (undefined) consistency means the default; null is rejected like any bad value.
    const consistency: unknown = options?.consistency === undefined ? 'linearizable' : options.consistency;
    if (consistency !== 'linearizable' && consistency !== 'local') {
      throw invalid(`consistency must be 'linearizable' or 'local', got ${String(consistency)}`);
    }
    const res = await this.backend.call(this.replica, { kind: 'read', key: this.fullKey(k), query: KV_QUERY, consistency });
    if (!res.ok) throw failure(res);
    if (isWrongModel(res.result)) throw wrongModel(k);
    const g = decodeKvGetResult(res.result);
    return g.found ? { value: Buffer.from(g.value), version: g.version } : undefined;
  }

  async cas(key: string, expectedVersion: number, value: string | Uint8Array): Promise<{ version: number }> {
    const k = validateKey(key);
    const expected = validateCount('expectedVersion', expectedVersion);
    if (expected < 0) throw invalid('expectedVersion must be >= 0');
    const v = validateValue(value, this.backend.valueBytesMax);
    const r = await this.write(k, { type: 'cas', expectedVersion: expected, value: v });
    return { version: r.version };
  }

  async delete(key: string): Promise<{ version: number }> {
    const r = await this.write(validateKey(key), { type: 'delete' });
    return { version: r.version };
  }

  async incr(key: string, by = 1): Promise<{ value: number; version: number }> {
    const k = validateKey(key);
    const r = await this.write(k, { type: 'incr', by: validateCount('by', by) });
    return { value: r.value, version: r.version };
  }

  private fullKey(key: string): string {
    return `${this.namespace}${NAMESPACE_SEPARATOR}${key}`;
  }

  private async write(key: string, op: KvOp) {
    const res = await this.backend.call(this.replica, { kind: 'write', key: this.fullKey(key), op: tagged(ModelTag.kv, encodeKvOp(op)) });
    if (!res.ok) throw failure(res);
    if (isWrongModel(res.result)) throw wrongModel(key);
    const w = decodeKvWriteResult(res.result);
    if (w.status === KvStatus.versionConflict) {
      throw new PaxosStoreError(ErrorCodes.VERSION_CONFLICT, `${key}: version is ${w.version}`);
    }
    if (w.status === KvStatus.wrongType) {
      throw new PaxosStoreError(ErrorCodes.WRONG_TYPE, `${key}: the stored value is not an integer`);
    }
    return w;
  }
}
