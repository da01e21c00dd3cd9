/**
 * What every public data-model handle shares: input validation (INVALID_ARGUMENT before
 * anything is sent), the route to a replica, the model tag on every request, and the mapping
 * of core results to typed errors.
 */
import { REQUEST_ID_BYTES_MAX, withRequestId } from '../../models/request-id';
import type { ClientResult, Consistency } from '../paxos/core/types';
import { assert } from '../../runtime/assert';
import { transientBytes } from '../../runtime/transient-bytes';
import type { ModelTag } from '../../models/model-tags';
import { isBadRequest, isWrongModel, splitVersion, tagged } from '../../models/registry';
import {
  ErrorCodes,
  PaxosStoreError,
  checked,
  describe,
  field,
  invalid,
  isErrorCode,
  typedArrayTag,
} from './errors';
import type { ErrorCode } from './errors';
import type { Completion } from './request-pipeline';

export const KEY_BYTES_MAX = 1024;

/**
 * Options of every mutating method. `requestId`: a caller-chosen id (1..128 bytes of
 * well-formed UTF-8) that makes retries exactly-once: after UNKNOWN_OUTCOME, retry with the same
 * requestId (through any replica) until it succeeds; the write has then applied exactly once,
 * and a retry of one that had applied answers its original result (decision 22).
 */
export interface WriteOptions {
  readonly requestId?: string;
}

/** The requestId of a mutating method's options (undefined when absent). */
export function validateWriteOptions(options: unknown): string | undefined {
  // The common case first, without checked()'s closure (one per write; issue 10).
  if (options === undefined) return undefined;
  return checked('write options', () => {
    if (options === undefined) return undefined;
    if (
      typeof options !== 'object' ||
      options === null ||
      Array.isArray(options) ||
      ArrayBuffer.isView(options)
    ) {
      throw invalid(`write options must be an object, got ${describe(options)}`);
    }
    const id = field(options, 'requestId');
    if (id === undefined) return undefined;
    if (typeof id !== 'string' || id.length === 0)
      throw invalid(`requestId must be a non-empty string, got ${describe(id)}`);
    if (id.length > REQUEST_ID_BYTES_MAX || !id.isWellFormed())
      throw invalid('requestId must be well-formed UTF-16 of at most 128 UTF-8 bytes');
    const bytes = Buffer.byteLength(id, 'utf8');
    if (bytes > REQUEST_ID_BYTES_MAX)
      throw invalid(`requestId is ${bytes} bytes; the limit is ${REQUEST_ID_BYTES_MAX}`);
    return id;
  });
}

/**
 * For rest-argument writers (`push`, `add`, `remove`): a trailing plain object whose only own
 * key is `requestId` is the write options; everything before it is the values. Any other
 * object stays a value (and is refused as one), so a stray object is never taken for options.
 */
export function splitWriteOptions(args: readonly unknown[]): {
  values: unknown[];
  requestId: string | undefined;
} {
  const last = args.length > 0 ? args[args.length - 1] : undefined;
  const isOptions = checked('write options', () => {
    if (typeof last !== 'object' || last === null) return false;
    const proto: unknown = Object.getPrototypeOf(last);
    if (proto !== Object.prototype && proto !== null) return false;
    const keys = Reflect.ownKeys(last);
    return keys.length === 1 && keys[0] === 'requestId';
  });
  return isOptions
    ? { values: args.slice(0, -1), requestId: validateWriteOptions(last) }
    : { values: [...args], requestId: undefined };
}

export interface ReadOptions {
  consistency?: Consistency;
}

/**
 * `keyPrefix` and `keyName`, when both are set: `key` is `keyPrefix + keyName` (a namespace's
 * prefix and the caller's key), and the store routes and encodes the key from those parts
 * (routing.ts routeOfParts, codec.ts KeyParts) instead of reading the concatenation.
 */
export type RequestBody =
  | { kind: 'write'; key: string; op: Uint8Array; keyPrefix?: string; keyName?: string }
  | {
      kind: 'read';
      key: string;
      query: Uint8Array;
      consistency: Consistency;
      keyPrefix?: string;
      keyName?: string;
    };

/** What a handle needs from the store: route a request to a replica. */
export interface RequestBackend {
  readonly valueBytesMax: number;
  /**
   * Resolves with the core's result; rejects CLOSED / UNAVAILABLE when it cannot be sent.
   * `transientResult`: the caller copies what it keeps of the result's bytes before its next
   * await, so they may be a short-lived view (request-pipeline.ts submit).
   */
  call(
    replica: number | undefined,
    body: RequestBody,
    transientResult?: boolean,
  ): Promise<ClientResult>;
  /**
   * `call`, with the caller's answer made by `completion` as the result arrives (one promise
   * per call: request-pipeline.ts Completion). Optional: a backend without it (the remote
   * client's) is reached through `call` (ModelChannel.request).
   */
  callFor?<T>(
    replica: number | undefined,
    body: RequestBody,
    completion: Completion<T>,
    shownKey: string,
  ): Promise<T>;
}

/** Keys up to this many UTF-16 units are first scanned for ASCII (validateKey). */
const ASCII_SCAN_UNITS_MAX = 64;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

export function validateKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0)
    throw invalid(`${what} must be a non-empty string, got ${describe(key)}`);
  // UTF-8 never takes fewer bytes than UTF-16 units: a long string is refused before any scan.
  if (key.length > KEY_BYTES_MAX) throw invalid(`${what} is longer than ${KEY_BYTES_MAX} bytes`);
  // Most keys are short ASCII: one scan answers both checks below (a UTF-8 byte per unit, and
  // no surrogate), without two calls into the runtime per request.
  if (key.length <= ASCII_SCAN_UNITS_MAX && isAscii(key)) return key;
  if (!key.isWellFormed()) throw invalid(`${what} must be well-formed UTF-16 (no lone surrogates)`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KEY_BYTES_MAX)
    throw invalid(`${what} is ${bytes} bytes; the limit is ${KEY_BYTES_MAX}`);
  return key;
}

const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as Uint8Array;
const BYTE_LENGTH = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, 'byteLength')?.get;
const TYPED_ARRAY_SET = TYPED_ARRAY_PROTO.set;

/**
 * A string (UTF-8, well-formed) or bytes, as a fresh copy of at most `max` bytes. Only genuine
 * Uint8Arrays (Buffers included) are bytes: a Proxy of one, an object made from its prototype
 * or a view of a detached buffer is INVALID_ARGUMENT. The bytes are read through the typed
 * array intrinsics (never the caller's own properties) and copied before the call returns, so
 * what is replicated is what the caller passed at the call, whatever it does to its buffer later.
 * A string with a lone surrogate has no UTF-8 form (it would be stored as U+FFFD and two
 * different strings would become one): refused like such a key.
 */
export function validateValue(value: unknown, max: number, what = 'value'): Uint8Array {
  return validateValueAfter(value, max, 0, what);
}

/**
 * validateValue's checks and copy, with `headerBytes` zero bytes before the value in the same
 * allocation: a caller that frames the value (kv put: model tag, op type, number) writes its
 * header in place instead of copying the value again (issue 10: each copy of a value above
 * 64 bytes is an off-heap ArrayBuffer). The value is bytes [headerBytes, end). A framed op
 * lives until its request is encoded for the worker, so it comes from a slab
 * (transient-bytes.ts); a plain value copy (no header) may be kept by its caller and does not.
 */
export function validateValueAfter(
  value: unknown,
  max: number,
  headerBytes: number,
  what = 'value',
): Uint8Array {
  // Asserts on this path build their message only when they fail, in a branch, never in a
  // closure: a closure that captures this function's variables makes V8 allocate a context for
  // them on every call (~100 bytes per put, issue 10, seventh session).
  if (!Number.isInteger(headerBytes) || headerBytes < 0) assert(false, `header ${headerBytes}`);
  if (typeof value === 'string') return stringCopyAfter(value, max, headerBytes, what);
  if (typedArrayTag(value) !== 'Uint8Array' || BYTE_LENGTH === undefined) {
    throw invalid(
      `${what} must be a string or a genuine Uint8Array (not a Proxy of one, nor an object made from its prototype), got ${describe(value)}`,
    );
  }
  const view = value as Uint8Array;
  const length = BYTE_LENGTH.call(view) as number;
  if (length > max) throw invalid(`${what} is ${length} bytes; the limit is ${max}`);
  const copy = headerBytes === 0 ? new Uint8Array(length) : transientBytes(headerBytes + length);
  try {
    // Throws on a view of a detached (transferred) buffer, whatever its length.
    TYPED_ARRAY_SET.call(copy, view, headerBytes);
  } catch (error) {
    throw invalid(`${what}: its bytes cannot be read (a detached buffer?)`, error);
  }
  if (copy.byteLength !== headerBytes + length || length > max)
    assert(false, `value copy of ${copy.byteLength} bytes, expected ${headerBytes} + ${length}`);
  return copy;
}

/** validateValueAfter of a string: its UTF-8, well-formed, behind `headerBytes`. */
function stringCopyAfter(value: string, max: number, headerBytes: number, what: string) {
  if (value.length > max) throw invalid(`${what} is longer than ${max} bytes`);
  if (!value.isWellFormed())
    throw invalid(`${what} must be well-formed UTF-16 (no lone surrogates)`);
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > max) throw invalid(`${what} is ${bytes.length} bytes; the limit is ${max}`);
  if (bytes.length < value.length)
    assert(false, `UTF-8 of ${value.length} units is ${bytes.length} bytes`);
  if (headerBytes === 0) return bytes;
  const framed = transientBytes(headerBytes + bytes.length);
  framed.set(bytes, headerBytes);
  return framed;
}

export function validateCount(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw invalid(`${name} must be a safe integer, got ${describe(n)}`);
  return n;
}

/** Only `undefined` means the default; anything else must be a known consistency. */
export function validateConsistency(options: unknown): Consistency {
  if (options === undefined) return 'linearizable';
  if (typeof options !== 'object' || options === null)
    throw invalid(`options must be an object, got ${describe(options)}`);
  const c = field(options, 'consistency');
  if (c === undefined) return 'linearizable';
  if (c !== 'linearizable' && c !== 'local')
    throw invalid(`consistency must be 'linearizable' or 'local', got ${describe(c)}`);
  return c;
}

/** The key holds another data model (a queue, a set, …). */
export function wrongModel(key: string): PaxosStoreError {
  return new PaxosStoreError(ErrorCodes.WRONG_TYPE, `${key}: the key holds another data model`);
}

/** The core's error as a typed error; the internal key in its message becomes the caller's name. */
export function failure(
  res: ClientResult,
  internalKey?: string,
  shownKey?: string,
): PaxosStoreError {
  if (res.ok) throw new Error('failure() of a successful result');
  return failureOf(res.code, res.message, internalKey, shownKey);
}

/** failure() of a failed result's code and message. */
export function failureOf(
  code: string,
  message: string,
  internalKey?: string,
  shownKey?: string,
): PaxosStoreError {
  const shown =
    internalKey !== undefined && shownKey !== undefined
      ? message.split(internalKey).join(shownKey)
      : message;
  // A code this client does not document (a version skew): nothing says it applied or not.
  return new PaxosStoreError(isErrorCode(code) ? code : ErrorCodes.UNKNOWN_OUTCOME, shown);
}

/** A failure of the store's own machinery as a typed error (typed ones pass through). */
export function internal(error: unknown, code: ErrorCode, shownKey: string): PaxosStoreError {
  if (error instanceof PaxosStoreError) return error;
  return new PaxosStoreError(code, `${describe(shownKey)}: the request failed inside the store`, {
    cause: error,
  });
}

/**
 * A model's answer to a request: the result bytes, unless they say the key holds another model
 * (WRONG_TYPE) or the store could not read the request (INVALID_ARGUMENT).
 */
export function modelResult(result: Uint8Array, shownKey: string): Uint8Array {
  if (isWrongModel(result)) throw wrongModel(shownKey);
  if (isBadRequest(result))
    throw invalid(
      `${describe(shownKey)}: the store could not read the request (a client of another version?)`,
    );
  return result;
}

/**
 * A completion's failures (the core's, typed) and refusals (errors thrown before the send):
 * an untyped refusal becomes `refusedCode`.
 */
function failuresRefusedAs(refusedCode: ErrorCode) {
  return {
    failed(code: string, message: string, _token: number, key: string, shownKey: string): never {
      throw failureOf(code, message, key, shownKey);
    },
    refused: (error: unknown, shownKey: string): unknown => internal(error, refusedCode, shownKey),
  } as const;
}

/**
 * What every model's write completion shares: an untyped refusal is UNKNOWN_OUTCOME (the write
 * may have left).
 */
export const WRITE_FAILURES = failuresRefusedAs(ErrorCodes.UNKNOWN_OUTCOME);

/** ... and every read completion's: UNAVAILABLE (a read changes nothing). */
export const READ_FAILURES = failuresRefusedAs(ErrorCodes.UNAVAILABLE);

/** A write's model bytes and the key's version after it. */
const WRITTEN: Completion<{ body: Uint8Array; version: number }> = {
  bytes: 'copy',
  ok: (result, _token, _key, shownKey) => splitVersion(modelResult(result, shownKey)),
  ...WRITE_FAILURES,
};

/** A read's model bytes: a copy of their own, or from a slab (`transientResult`). */
const READ: Completion<Uint8Array> = {
  bytes: 'copy',
  ok: (result, _token, _key, shownKey) => modelResult(result, shownKey),
  ...READ_FAILURES,
};
const READ_TRANSIENT: Completion<Uint8Array> = { ...READ, bytes: 'transient' };

/**
 * Requests of one model to one replicated key; results come back as the model's bytes, or as
 * the handle's own answer (writeAs, readTaggedAs). No method throws: every refusal is the
 * returned promise's rejection, and each call makes that one promise (issue 10).
 */
export class ModelChannel {
  constructor(
    private readonly backend: RequestBackend,
    private readonly replica: number | undefined,
    private readonly tag: ModelTag,
  ) {}

  get valueBytesMax(): number {
    return this.backend.valueBytesMax;
  }

  /** The model's result bytes and the key's version after the write. */
  write(
    key: string,
    op: Uint8Array,
    shownKey = key,
    requestId?: string,
  ): Promise<{ body: Uint8Array; version: number }> {
    return this.writeAs(key, tagged(this.tag, op), shownKey, requestId, WRITTEN);
  }

  /** write() for an op that already starts with this channel's model tag (built in place). */
  writeTagged(
    key: string,
    op: Uint8Array,
    shownKey = key,
    requestId?: string,
  ): Promise<{ body: Uint8Array; version: number }> {
    return this.writeAs(key, op, shownKey, requestId, WRITTEN);
  }

  /**
   * A write of a tagged op, answered by `completion` (a handle's own answer, decoded in place).
   * `keyPrefix`: `key` is `keyPrefix + shownKey` (a namespace's key; RequestBody).
   */
  writeAs<T>(
    key: string,
    op: Uint8Array,
    shownKey: string,
    requestId: string | undefined,
    completion: Completion<T>,
    keyPrefix?: string,
  ): Promise<T> {
    let wire: Uint8Array;
    try {
      // The message is built in a failing branch, not a closure: a closure capturing `op` and
      // `this` would cost a context allocation on every write (issue 10).
      if (op[0] !== this.tag) assert(false, `op tagged ${op[0]} on a channel of model ${this.tag}`);
      wire = requestId === undefined ? op : withRequestId(requestId, op);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Every body has the same fields, set or not: one object shape per kind.
    const keyName = keyPrefix === undefined ? undefined : shownKey;
    const body: RequestBody = { kind: 'write', key, op: wire, keyPrefix, keyName };
    return this.request(body, completion, shownKey);
  }

  /**
   * The model's answer. `transientResult`: the caller copies what it keeps of the answer
   * before its next await (kv get), so the answer may be a short-lived view into a slab.
   */
  read(
    key: string,
    query: Uint8Array,
    consistency: Consistency,
    shownKey = key,
    transientResult = false,
  ): Promise<Uint8Array> {
    const completion = transientResult ? READ_TRANSIENT : READ;
    return this.readTaggedAs(key, tagged(this.tag, query), consistency, shownKey, completion);
  }

  /** A read of a tagged query, answered by `completion`; `keyPrefix` as writeAs's. */
  readTaggedAs<T>(
    key: string,
    query: Uint8Array,
    consistency: Consistency,
    shownKey: string,
    completion: Completion<T>,
    keyPrefix?: string,
  ): Promise<T> {
    if (query[0] !== this.tag) {
      const error = new Error(`query tagged ${query[0]} on a channel of model ${this.tag}`);
      return Promise.reject(completion.refused(error, shownKey));
    }
    const keyName = keyPrefix === undefined ? undefined : shownKey;
    const body: RequestBody = { kind: 'read', key, query, consistency, keyPrefix, keyName };
    return this.request(body, completion, shownKey);
  }

  /** Sends `body` through the backend; never throws (a refusal is a rejection). */
  private request<T>(body: RequestBody, completion: Completion<T>, shownKey: string): Promise<T> {
    const backend = this.backend;
    try {
      if (backend.callFor !== undefined)
        return backend.callFor(this.replica, body, completion, shownKey);
      return backend.call(this.replica, body, completion.bytes !== 'copy').then(
        (res) =>
          res.ok
            ? completion.ok(res.result, res.token, body.key, shownKey)
            : completion.failed(res.code, res.message, res.token, body.key, shownKey),
        (error: unknown) => {
          throw completion.refused(error, shownKey);
        },
      );
    } catch (error) {
      return Promise.reject(completion.refused(error, shownKey));
    }
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

/** Most values one push, add or remove takes. */
export const VALUES_PER_CALL_MAX = 10_000;

/** Validates one or more values given as rest arguments; their count and total are bounded too. */
export function validateValues(values: unknown[], max: number, what: string): Uint8Array[] {
  if (values.length === 0) throw invalid(`at least one ${what} is required`);
  if (values.length > VALUES_PER_CALL_MAX)
    throw invalid(`${values.length} ${what}s; the limit per call is ${VALUES_PER_CALL_MAX}`);
  const out: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = validateValue(values[i], max, `${what} ${i}`);
    total += v.length;
    if (total > max)
      throw invalid(`${what}s total more than ${max} bytes; the limit per request is ${max}`);
    out.push(v);
  }
  assert(
    out.length === values.length && total <= max,
    () => `validateValues kept ${out.length} of ${values.length}, ${total} bytes`,
  );
  return out;
}

export function tooLarge(name: string, what: string): PaxosStoreError {
  return new PaxosStoreError(
    ErrorCodes.TOO_LARGE,
    `${name}: the ${what} would pass its size limit`,
  );
}
