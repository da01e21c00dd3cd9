/**
 * The public key-value API of one namespace (DESIGN.md §5, issue #2). Every method validates
 * its input first (INVALID_ARGUMENT, nothing sent), then sends one request to one replica.
 */
import type { Consistency } from '../paxos/core/types';
import {
  KV_GET_QUERY,
  KV_GET_VALUE_AT,
  KV_TAGGED_HEADER_BYTES,
  KvStatus,
  encodeKvOp,
  frameTaggedKvOp,
  readKvGetResult,
  readKvWriteResult,
} from '../../models/kv/kv';
import type { KvWriteFields } from '../../models/kv/kv';
import { ErrorCodes, PaxosStoreError, describe, invalid } from './errors';
import { ModelTag } from '../../models/model-tags';
import { modelBytesLength, tagged } from '../../models/registry';
import {
  ModelChannel,
  READ_FAILURES,
  WRITE_FAILURES,
  modelResult,
  validateConsistency,
  validateCount,
  validateKey,
  validateValueAfter,
  validateWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';
import type { Completion } from './request-pipeline';

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

/** The caller's answer to a write, read in place from the result (one record, reused). */
const written: KvWriteFields = { status: KvStatus.ok, version: 0, value: 0 };
const got = { found: false, version: 0 };

/** A kv write's result, or its typed refusal (VERSION_CONFLICT, WRONG_TYPE). */
function checkedWrite(result: Uint8Array, shownKey: string): KvWriteFields {
  const bytes = modelResult(result, shownKey);
  readKvWriteResult(bytes, modelBytesLength(bytes), written);
  if (written.status === KvStatus.versionConflict) {
    throw new PaxosStoreError(
      ErrorCodes.VERSION_CONFLICT,
      `${shownKey}: version is ${written.version}`,
    );
  }
  if (written.status === KvStatus.wrongType) {
    throw new PaxosStoreError(
      ErrorCodes.WRONG_TYPE,
      `${shownKey}: the stored value is not an integer`,
    );
  }
  return written;
}

/**
 * The answers of put, cas, delete (the version) and incr (the value too) and get, made where
 * the result is received (ModelChannel.writeAs): the result is read in place ('borrowed'), and
 * a get's value is copied out of it into a Buffer of the caller's own.
 */
const KV_WRITTEN: Completion<{ version: number }> = {
  bytes: 'borrowed',
  ok: (result, _token, _key, shownKey) => ({ version: checkedWrite(result, shownKey).version }),
  ...WRITE_FAILURES,
};
const KV_INCREMENTED: Completion<{ value: number; version: number }> = {
  bytes: 'borrowed',
  ok(result, _token, _key, shownKey) {
    const w = checkedWrite(result, shownKey);
    return { value: w.value, version: w.version };
  },
  ...WRITE_FAILURES,
};
const KV_GOT: Completion<KvEntry | undefined> = {
  bytes: 'borrowed',
  ok(result, _token, _key, shownKey) {
    const bytes = modelResult(result, shownKey);
    readKvGetResult(bytes, got);
    if (!got.found) return undefined;
    return { value: Buffer.from(bytes.subarray(KV_GET_VALUE_AT)), version: got.version };
  },
  ...READ_FAILURES,
};

/** The tagged get query, shared by every get (the pipeline copies it into its batch). */
const KV_GET_TAGGED = tagged(ModelTag.kv, KV_GET_QUERY);
const PUT = { type: 'put' } as const;

/**
 * No method is `async`: each returns the one promise its request makes (issue 10: an async
 * layer costs a promise and microtask hops per call), and a refusal before the send (bad input,
 * a closed store) is that promise's rejection, never a throw.
 */
export class KvNamespace {
  /** The replicated key is this prefix and the caller's key (built once, not per call). */
  private readonly prefix: string;
  private readonly channel: ModelChannel;

  constructor(
    readonly namespace: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.channel = new ModelChannel(backend, replica, ModelTag.kv);
    this.prefix = `${namespace}${NAMESPACE_SEPARATOR}`;
  }

  put(
    key: string,
    value: string | Uint8Array,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    try {
      const k = validateKey(key);
      // The value is copied once, behind room for the tagged op's header (no second copy).
      const framed = validateValueAfter(value, this.channel.valueBytesMax, KV_TAGGED_HEADER_BYTES);
      const op = frameTaggedKvOp(ModelTag.kv, framed, PUT);
      const requestId = validateWriteOptions(options);
      return this.channel.writeAs(this.prefix + k, op, k, requestId, KV_WRITTEN, this.prefix);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  get(key: string, options?: KvGetOptions): Promise<KvEntry | undefined> {
    try {
      const k = validateKey(key);
      const consistency = validateConsistency(options);
      return this.channel.readTaggedAs(
        this.prefix + k,
        KV_GET_TAGGED,
        consistency,
        k,
        KV_GOT,
        this.prefix,
      );
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  cas(
    key: string,
    expectedVersion: number,
    value: string | Uint8Array,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    try {
      const k = validateKey(key);
      const expected = validateCount('expectedVersion', expectedVersion);
      if (expected < 0) throw invalid('expectedVersion must be >= 0');
      const framed = validateValueAfter(value, this.channel.valueBytesMax, KV_TAGGED_HEADER_BYTES);
      const op = frameTaggedKvOp(ModelTag.kv, framed, { type: 'cas', expectedVersion: expected });
      const requestId = validateWriteOptions(options);
      return this.channel.writeAs(this.prefix + k, op, k, requestId, KV_WRITTEN, this.prefix);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  delete(key: string, options?: WriteOptions): Promise<{ version: number }> {
    try {
      const k = validateKey(key);
      const requestId = validateWriteOptions(options);
      const op = tagged(ModelTag.kv, encodeKvOp({ type: 'delete' }));
      return this.channel.writeAs(this.prefix + k, op, k, requestId, KV_WRITTEN, this.prefix);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  incr(key: string, by = 1, options?: WriteOptions): Promise<{ value: number; version: number }> {
    try {
      const k = validateKey(key);
      const op = tagged(ModelTag.kv, encodeKvOp({ type: 'incr', by: validateCount('by', by) }));
      const requestId = validateWriteOptions(options);
      return this.channel.writeAs(this.prefix + k, op, k, requestId, KV_INCREMENTED, this.prefix);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
}
