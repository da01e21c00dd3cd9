/**
 * The public key-value API of one namespace (DESIGN.md §5, issue #2). Every method validates
 * its input first (INVALID_ARGUMENT, nothing sent), then sends one request to one replica.
 */
import type { Consistency } from '../paxos/core/types';
import {
  KV_GET_QUERY,
  KV_TAGGED_HEADER_BYTES,
  KvStatus,
  decodeKvGetResult,
  decodeKvWriteResult,
  encodeKvOp,
  frameTaggedKvOp,
} from '../../models/kv/kv';
import type { KvOp } from '../../models/kv/kv';
import { ErrorCodes, PaxosStoreError, describe, invalid } from './errors';
import { ModelTag } from '../../models/model-tags';
import {
  ModelChannel,
  validateConsistency,
  validateCount,
  validateKey,
  validateValueAfter,
  validateWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';

export { KEY_BYTES_MAX } from './model-client';

const NAMESPACE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Separates namespace and key in the replicated key; namespaces cannot contain it. */
export const NAMESPACE_SEPARATOR = '\u0001';

export interface KvGetOptions {
  consistency?: Consistency;
}

export interface KvEntry {
  value: Buffer;
  version: number;
}

export function validateNamespace(name: unknown): string {
  if (typeof name !== 'string' || !NAMESPACE_PATTERN.test(name)) {
    throw invalid(`namespace must match ${NAMESPACE_PATTERN}, got ${describe(name)}`);
  }
  return name;
}

export class KvNamespace {
  constructor(
    readonly namespace: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.channel = new ModelChannel(backend, replica, ModelTag.kv);
  }

  private readonly channel: ModelChannel;

  async put(
    key: string,
    value: string | Uint8Array,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    const k = validateKey(key);
    // The value is copied once, behind room for the tagged op's header (no second and third copy).
    const framed = validateValueAfter(value, this.channel.valueBytesMax, KV_TAGGED_HEADER_BYTES);
    const op = frameTaggedKvOp(ModelTag.kv, framed, { type: 'put' });
    // The channel directly (not writeFramed): one async layer less on the hottest call.
    const requestId = validateWriteOptions(options);
    const written = await this.channel.writeTagged(this.fullKey(k), op, k, requestId);
    return { version: this.checked(k, written.body).version };
  }

  async get(key: string, options?: KvGetOptions): Promise<KvEntry | undefined> {
    const k = validateKey(key);
    const consistency = validateConsistency(options);
    // The answer is a short-lived view (transientResult): the value is copied out of it here,
    // before anything else runs, into a Buffer of the caller's own.
    const result = await this.channel.read(this.fullKey(k), KV_GET_QUERY, consistency, k, true);
    const g = decodeKvGetResult(result);
    return g.found ? { value: Buffer.from(g.value), version: g.version } : undefined;
  }

  async cas(
    key: string,
    expectedVersion: number,
    value: string | Uint8Array,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    const k = validateKey(key);
    const expected = validateCount('expectedVersion', expectedVersion);
    if (expected < 0) throw invalid('expectedVersion must be >= 0');
    const framed = validateValueAfter(value, this.channel.valueBytesMax, KV_TAGGED_HEADER_BYTES);
    const op = frameTaggedKvOp(ModelTag.kv, framed, { type: 'cas', expectedVersion: expected });
    const r = await this.writeFramed(k, op, validateWriteOptions(options));
    return { version: r.version };
  }

  async delete(key: string, options?: WriteOptions): Promise<{ version: number }> {
    const r = await this.write(validateKey(key), { type: 'delete' }, validateWriteOptions(options));
    return { version: r.version };
  }

  async incr(
    key: string,
    by = 1,
    options?: WriteOptions,
  ): Promise<{ value: number; version: number }> {
    const k = validateKey(key);
    const r = await this.write(
      k,
      { type: 'incr', by: validateCount('by', by) },
      validateWriteOptions(options),
    );
    return { value: r.value, version: r.version };
  }

  private fullKey(key: string): string {
    return `${this.namespace}${NAMESPACE_SEPARATOR}${key}`;
  }

  private async write(key: string, op: KvOp, requestId: string | undefined) {
    return this.checked(
      key,
      (await this.channel.write(this.fullKey(key), encodeKvOp(op), key, requestId)).body,
    );
  }

  /** A write whose op is already tagged (frameTaggedKvOp). */
  private async writeFramed(key: string, op: Uint8Array, requestId: string | undefined) {
    return this.checked(
      key,
      (await this.channel.writeTagged(this.fullKey(key), op, key, requestId)).body,
    );
  }

  private checked(key: string, body: Uint8Array) {
    const w = decodeKvWriteResult(body);
    if (w.status === KvStatus.versionConflict) {
      throw new PaxosStoreError(ErrorCodes.VERSION_CONFLICT, `${key}: version is ${w.version}`);
    }
    if (w.status === KvStatus.wrongType) {
      throw new PaxosStoreError(
        ErrorCodes.WRONG_TYPE,
        `${key}: the stored value is not an integer`,
      );
    }
    return w;
  }
}
