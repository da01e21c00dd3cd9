/**
 * The key-value model (DESIGN.md §5): put / delete / compare-and-set by version / increment,
 * and get. Encodings are small binary layouts; the first byte of an op or query names it.
 *
 * Numbers are little-endian f64 on the platforms Node runs on (the runtime asserts little-endian).
 *
 * Versions count mutations. A missing key reads as version 0; `cas(key, 0, v)` succeeds only
 * when the key is absent (never written, or deleted), and `cas(key, n > 0, v)` only when the key
 * is present at version n. A failed CAS and a no-op change nothing. Increment treats a missing
 * key as 0 and stores decimal text; a value that is not a safe integer fails with WRONG_TYPE.
 */
import { assert } from '../../runtime/assert';
import { keptCopyOf } from '../../runtime/kept-bytes';
import { transientBytes } from '../../runtime/transient-bytes';
import { putVersionSuffix } from '../registry';
import type { StateMachine } from '../state-machine';

const OP_PUT = 1;
const OP_DELETE = 2;
const OP_CAS = 3;
const OP_INCR = 4;
const QUERY_GET = 1;

export const KvStatus = { ok: 0, versionConflict: 1, wrongType: 2 } as const;
export type KvStatus = (typeof KvStatus)[keyof typeof KvStatus];

export type KvOp =
  | { readonly type: 'put'; readonly value: Uint8Array }
  | { readonly type: 'delete' }
  | { readonly type: 'cas'; readonly expectedVersion: number; readonly value: Uint8Array }
  | { readonly type: 'incr'; readonly by: number };

export interface KvWriteResult {
  readonly status: KvStatus;
  /** The key's version after the op (on conflict: the current version). */
  readonly version: number;
  /** incr only: the new numeric value. */
  readonly value: number;
}

export interface KvGetResult {
  readonly found: boolean;
  readonly version: number;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeKvOp(op: KvOp): Uint8Array {
  switch (op.type) {
    case 'put':
      return withHeader(OP_PUT, 0, op.value);
    case 'delete':
      return Uint8Array.of(OP_DELETE);
    case 'cas':
      return withHeader(OP_CAS, op.expectedVersion, op.value);
    case 'incr':
      return withHeader(OP_INCR, op.by, new Uint8Array(0));
  }
}

/** Bytes before the value in a tagged put or cas op: model tag, op type, f64 number. */
export const KV_TAGGED_HEADER_BYTES = 10;

/**
 * Writes the header of a put or cas op in place, in front of a value already copied to
 * [KV_TAGGED_HEADER_BYTES, end) (one allocation for the whole tagged op; same bytes as
 * tagged(tag, encodeKvOp(op))).
 */
export function frameTaggedKvOp(
  tag: number,
  framed: Uint8Array,
  op: { type: 'put' } | { type: 'cas'; expectedVersion: number },
): Uint8Array {
  if (!(framed.length >= KV_TAGGED_HEADER_BYTES))
    assert(false, `framed kv op of ${framed.length} bytes`);
  framed[0] = tag;
  framed[1] = op.type === 'put' ? OP_PUT : OP_CAS;
  putF64(framed, 2, op.type === 'put' ? 0 : op.expectedVersion);
  return framed;
}

/** [type u8][f64 number][payload]; put carries a zero number to keep one layout. */
// One scratch float for every f64 read and write: no DataView allocation on the apply path.
const scratchFloat = new Float64Array(1);
const scratchBytes = new Uint8Array(scratchFloat.buffer);

function putF64(out: Uint8Array, at: number, n: number): void {
  scratchFloat[0] = n;
  out.set(scratchBytes, at);
}

function getF64(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = bytes[at + i] as number;
  return scratchFloat[0] as number;
}

function withHeader(type: number, n: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = type;
  putF64(out, 1, n);
  out.set(payload, 9);
  return out;
}

function headerNumber(op: Uint8Array): number {
  if (!(op.length >= 9)) assert(false, `kv op of ${op.length} bytes`);
  return getF64(op, 1);
}

export const KV_GET_QUERY = Uint8Array.of(QUERY_GET);

function writeResult(status: KvStatus, version: number, value = 0): Uint8Array {
  const out = new Uint8Array(17);
  out[0] = status;
  putF64(out, 1, version);
  putF64(out, 9, value);
  return out;
}

export function decodeKvWriteResult(bytes: Uint8Array): KvWriteResult {
  if (bytes.length !== 17) assert(false, `kv write result of ${bytes.length} bytes`);
  const status = bytes[0] as KvStatus;
  if (!(status === 0 || status === 1 || status === 2)) assert(false, `kv status ${status}`);
  return { status, version: getF64(bytes, 1), value: getF64(bytes, 9) };
}

/** A kv write result's fields, as decodeKvWriteResult returns them, in a record the caller reuses. */
export interface KvWriteFields {
  status: KvStatus;
  version: number;
  value: number;
}

/**
 * decodeKvWriteResult of bytes [0, length) of `bytes` (a write result that the registry's
 * version suffix may follow), read in place into `out`: no view and no object per result (the
 * client decodes each put's answer this way; issue 10).
 */
export function readKvWriteResult(bytes: Uint8Array, length: number, out: KvWriteFields): void {
  if (!(length === 17 && bytes.length >= length))
    assert(false, `kv write result of ${length} bytes`);
  const status = bytes[0] as KvStatus;
  if (!(status === 0 || status === 1 || status === 2)) assert(false, `kv status ${status}`);
  out.status = status;
  out.version = getF64(bytes, 1);
  out.value = getF64(bytes, 9);
}

/** Where a get result's value starts (after [found][version f64]). */
export const KV_GET_VALUE_AT = 9;

/**
 * decodeKvGetResult's found flag and version, read in place into `out`; the value is bytes
 * [KV_GET_VALUE_AT, end) of `bytes` (meaningless when not found).
 */
export function readKvGetResult(bytes: Uint8Array, out: { found: boolean; version: number }): void {
  if (!(bytes.length >= KV_GET_VALUE_AT)) assert(false, `kv get result of ${bytes.length} bytes`);
  out.found = bytes[0] === 1;
  out.version = getF64(bytes, 1);
}

export function decodeKvGetResult(bytes: Uint8Array): KvGetResult {
  if (!(bytes.length >= 9)) assert(false, `kv get result of ${bytes.length} bytes`);
  return { found: bytes[0] === 1, version: getF64(bytes, 1), value: bytes.subarray(9) };
}

/** Parses a stored value as a safe integer in decimal text; undefined when it is not one. */
export function parseCounter(data: Uint8Array | null): number | undefined {
  if (data === null) return 0;
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return undefined;
  }
  if (!/^-?\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function applyIncr(data: Uint8Array | null, version: number, by: number) {
  const current = parseCounter(data);
  const next = current === undefined ? undefined : current + by;
  if (next === undefined || !Number.isSafeInteger(next)) {
    return { data, mutated: false, result: writeResult(KvStatus.wrongType, version) };
  }
  return {
    data: encoder.encode(String(next)),
    mutated: true,
    result: writeResult(KvStatus.ok, version + 1, next),
  };
}

function casMatches(data: Uint8Array | null, version: number, expected: number): boolean {
  return expected === 0 ? data === null : data !== null && version === expected;
}

/** Tagged put results kept for sharing: versions after the write in [1, PUT_RESULTS_SHARED). */
const PUT_RESULTS_SHARED = 4096;
const putResults = new Array<Uint8Array | undefined>(PUT_RESULTS_SHARED).fill(undefined);

/** writeResult(ok, v) with the registry's version suffix: [ok][v f64][0 f64][v f64]. */
function newPutResult(versionAfter: number): Uint8Array {
  const result = new Uint8Array(17 + 8);
  result[0] = KvStatus.ok;
  putF64(result, 1, versionAfter);
  putVersionSuffix(result, versionAfter);
  return result;
}

/**
 * The tagged result of a put that leaves the key at `versionAfter`: a function of that version
 * alone, so every put at one version (any key, any replica of this thread) answers one shared
 * array. A result is kept in its key's recent window (16 writes) and request window, so a
 * fresh 25-byte array per put per replica (~230 heap bytes each: V8's typed array, its buffer
 * object and its bytes) was most of what a put left for the collector to copy and promote
 * (docs/decisions.md "What a write leaves behind"). Results are never written after they are
 * made (as the registry's shared one-byte answers), and each is checked against its version
 * when it is handed out (a damaged one is replaced). Past PUT_RESULTS_SHARED (a hot key) a put
 * allocates its own.
 */
function putResult(versionAfter: number): Uint8Array {
  // Versions are whole and at least 1 after a put; anything else simply is not shared.
  const shareable = versionAfter >= 1 && versionAfter < PUT_RESULTS_SHARED;
  if (!shareable || !Number.isInteger(versionAfter)) return newPutResult(versionAfter);
  const shared = putResults[versionAfter];
  // A written byte would answer the wrong version to every later put at it. Not an assert: the
  // registry turns a model's throw into BAD_REQUEST, which would make this replica skip a put
  // the others apply. A damaged array is replaced instead (this is a 25-byte check).
  if (shared !== undefined && isPutResult(shared, versionAfter)) return shared;
  return (putResults[versionAfter] = newPutResult(versionAfter));
}

function isPutResult(bytes: Uint8Array, versionAfter: number): boolean {
  if (bytes.length !== 25 || bytes[0] !== KvStatus.ok) return false;
  for (let i = 9; i < 17; i++) if (bytes[i] !== 0) return false;
  // The version's eight bytes, compared byte by byte: reading a float back from eight one-byte
  // stores (getF64) stalls the load (no store forwarding), twice per put on every replica.
  // `versionAfter` is a whole number >= 1, so equal bytes are an equal version.
  scratchFloat[0] = versionAfter;
  for (let i = 0; i < 8; i++) {
    const b = scratchBytes[i];
    if (bytes[1 + i] !== b || bytes[17 + i] !== b) return false;
  }
  return true;
}

/** Longest value copied byte by byte into a state (a loop beats `set` and its view for these). */
const VALUE_COPY_LOOP_MAX = 256;

/** A put's value ([tag][put][f64][value]) written over a state of its length ([tag][value]). */
function copyValueInto(state: Uint8Array, op: Uint8Array): void {
  if (!(state.length === op.length - (KV_TAGGED_HEADER_BYTES - 1)))
    assert(false, `a ${op.length}-byte put over a ${state.length}-byte state`);
  const from = KV_TAGGED_HEADER_BYTES - 1;
  state[0] = op[0] as number;
  if (state.length <= VALUE_COPY_LOOP_MAX) {
    for (let i = 1; i < state.length; i++) state[i] = op[from + i] as number;
  } else {
    state.set(op.subarray(KV_TAGGED_HEADER_BYTES), 1);
  }
}

/**
 * A put's new state is a view of its op, no copy: the registry (registry.ts) copies it once
 * into the tagged state it keeps, so the op's buffer is never kept alive by a key's data.
 */
export const kvStateMachine: StateMachine = {
  apply(data, version, op) {
    assert(op.length >= 1, 'empty kv op');
    switch (op[0]) {
      case OP_PUT:
        return {
          data: op.subarray(9),
          mutated: true,
          result: writeResult(KvStatus.ok, version + 1),
        };
      case OP_DELETE:
        return { data: null, mutated: true, result: writeResult(KvStatus.ok, version + 1) };
      case OP_CAS: {
        if (!casMatches(data, version, headerNumber(op))) {
          return {
            data,
            mutated: false,
            result: writeResult(KvStatus.versionConflict, data === null ? 0 : version),
          };
        }
        return {
          data: op.subarray(9),
          mutated: true,
          result: writeResult(KvStatus.ok, version + 1),
        };
      }
      case OP_INCR:
        return applyIncr(data, version, headerNumber(op));
      default:
        throw new Error(`unknown kv op ${op[0]}`);
    }
  },
  applyTagged(data, version, op, mayOverwrite) {
    // Only put: the generic path answers everything else (and every malformed op).
    if (op.length < KV_TAGGED_HEADER_BYTES || op[1] !== OP_PUT) return undefined;
    // [tag][put][f64][value] → [tag][value]. A state the key holds alone, of the new state's
    // length, takes the value in place: no allocation, and nothing new for the collector to
    // copy and promote (decision "A key's data written in place"). Nothing below throws, so a
    // state is never left half written.
    const length = op.length - (KV_TAGGED_HEADER_BYTES - 1);
    if (mayOverwrite === true && data !== null && data.length === length) {
      copyValueInto(data, op);
      return { data, mutated: true, result: putResult(version + 1), owned: true };
    }
    // Otherwise one copy from the byte before the value, whose first byte becomes the tag
    // (registry.tagged(tag, value) in one allocation). The key keeps it: from a kept slab
    // (kept-bytes.ts).
    const fresh = keptCopyOf(op, KV_TAGGED_HEADER_BYTES - 1, op.length);
    fresh[0] = op[0] as number;
    return { data: fresh, mutated: true, result: putResult(version + 1), owned: true };
  },
  readTagged(data, version, query) {
    // Only get ([tag][get]); anything else (and every malformed query) takes the generic path.
    if (query.length !== 2 || query[1] !== QUERY_GET) return undefined;
    if (data === null) return new Uint8Array(9);
    // data is [tag][value]; the answer is [found][version f64][value]. Copy the whole of data
    // at 8, so its tag lands on the version's last byte, which the version then overwrites:
    // one copy and no view of the state. An answer lives until it is encoded for the client:
    // from a slab (transient-bytes.ts).
    const out = transientBytes(8 + data.length);
    out.set(data, 8);
    out[0] = 1;
    putF64(out, 1, version);
    return out;
  },
  read(data, version, query) {
    assert(query.length === 1 && query[0] === QUERY_GET, 'unknown kv query');
    if (data === null) return new Uint8Array(9);
    const out = new Uint8Array(9 + data.length);
    out[0] = 1;
    putF64(out, 1, version);
    out.set(data, 9);
    return out;
  },
};
