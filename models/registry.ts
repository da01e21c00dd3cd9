/**
 * The dispatching state machine: one replicated key space, several data models (framing in
 * model-tags.ts). Each model sees only untagged bytes; this layer adds and checks the tags, so
 * a key written as one model is refused (RESULT_WRONG_MODEL, nothing changes) by every other.
 * Write results gain the key's version after the write, so every model's API can report it.
 */
import { assert } from '../runtime/assert';
import { ON_HEAP_BYTES_MAX, keptBytes } from '../runtime/kept-bytes';
import { appendBytes, claimLead, extendsAppendView, isAppendView } from './append-bytes';
import { REQUEST_ID_TAG } from './request-id';
import { INSTALL_OP_TAG } from './install-op';
import { RESULT_BAD_REQUEST, RESULT_WRONG_MODEL } from './model-tags';
import type { ModelTag } from './model-tags';
import type { StateMachine } from './state-machine';

const WRONG_MODEL = Uint8Array.of(RESULT_WRONG_MODEL);
const BAD_REQUEST = Uint8Array.of(RESULT_BAD_REQUEST);

/** True when a result is the one-byte "malformed op or query" answer (nothing changed). */
export function isBadRequest(result: Uint8Array): boolean {
  return result.length === 1 && result[0] === RESULT_BAD_REQUEST;
}

/** Prefixes bytes with a model tag (ops and queries from the client, data states here). */
export function tagged(tag: ModelTag, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bytes.length);
  out[0] = tag;
  out.set(bytes, 1);
  return out;
}

/** True when a result is the one-byte "key holds another model" answer. */
/**
 * The tagged state of a model's answer. An append view that grew the previous state in place
 * (the table's change section) is the same buffer one byte further on, tag included: widening
 * the view costs nothing, where a copy would cost the whole state per write. An append view
 * that moved to a new buffer takes the tag in that buffer's free lead byte (claimLead: a merge
 * or a fold of a 20 MiB state is not copied once more to be framed); only when the lead is
 * taken is it copied into an append buffer with the tag, so the next write grows in place.
 */
function taggedState(tag: ModelTag, before: Uint8Array | null, state: Uint8Array): Uint8Array {
  if (!isAppendView(state)) {
    // The key keeps it: a small one from a kept slab (kept-bytes.ts).
    const out = keptBytes(1 + state.length);
    out[0] = tag;
    out.set(state, 1);
    return out;
  }
  if (
    before !== null &&
    state.buffer === before.buffer &&
    state.byteOffset === before.byteOffset + 1 &&
    extendsAppendView(before.subarray(1), state)
  ) {
    const out = new Uint8Array(state.buffer, before.byteOffset, state.length + 1);
    if (out[0] !== tag) assert(false, `grown state lost its tag ${tag}`);
    return out;
  }
  return claimLead(state, tag, before) ?? appendBytes(Uint8Array.of(tag), state);
}

export function isWrongModel(result: Uint8Array): boolean {
  return result.length === 1 && result[0] === RESULT_WRONG_MODEL;
}

const VERSION_BYTES = 8;
const versionScratch = new Float64Array(1);
const versionScratchBytes = new Uint8Array(versionScratch.buffer);

/** Every write result ends with the key's data version after the write (8 bytes, f64). */
function withVersion(result: Uint8Array, version: number): Uint8Array {
  const out = new Uint8Array(result.length + VERSION_BYTES);
  out.set(result);
  versionScratch[0] = version;
  out.set(versionScratchBytes, result.length);
  return out;
}

/**
 * Writes the version suffix of a write result in place: `out` holds the model's result in
 * [0, out.length - 8) (for models' `applyTagged` fast paths, which allocate the whole result
 * once).
 */
export function putVersionSuffix(out: Uint8Array, version: number): void {
  if (!(out.length >= VERSION_BYTES + 1)) assert(false, `write result of ${out.length} bytes`);
  versionScratch[0] = version;
  out.set(versionScratchBytes, out.length - VERSION_BYTES);
}

/**
 * How many of a write result's bytes are the model's (the rest is the version suffix):
 * splitVersion's body length, without a view or an object (the kv client's put; issue 10).
 */
export function modelBytesLength(result: Uint8Array): number {
  // The message is built in a failing branch: a closure capturing `result` would cost a context
  // allocation on every call (each kv put's answer on the client thread).
  if (!(result.length >= VERSION_BYTES + 1))
    assert(false, `write result of ${result.length} bytes`);
  return result.length - VERSION_BYTES;
}

/**
 * Bytes [from, to) of `bytes`: a copy when `bytes` is short, else a view. A view of a typed
 * array that lives on V8's heap makes V8 move its bytes into an ArrayBuffer of their own first
 * (~0.35 us against ~0.07 for the copy); a longer array has its buffer already. Models never
 * write into what they are given, so a copy and a view answer the same.
 */
function partOf(bytes: Uint8Array, from: number, to = bytes.length): Uint8Array {
  return bytes.length <= ON_HEAP_BYTES_MAX ? bytes.slice(from, to) : bytes.subarray(from, to);
}

/** Splits a write result into the model's bytes and the version after the write. */
export function splitVersion(result: Uint8Array): { body: Uint8Array; version: number } {
  if (!(result.length >= VERSION_BYTES + 1))
    assert(false, `write result of ${result.length} bytes`);
  const at = result.length - VERSION_BYTES;
  for (let i = 0; i < VERSION_BYTES; i++) versionScratchBytes[i] = result[at + i] as number;
  return { body: partOf(result, 0, at), version: versionScratch[0] as number };
}

export function createModelRegistry(
  models: ReadonlyArray<readonly [ModelTag, StateMachine]>,
): StateMachine {
  const byTagMap = new Map<number, StateMachine>(models);
  assert(byTagMap.size === models.length, 'a model tag is registered twice');
  // Indexed by the tag byte: one array load per op and query instead of a Map lookup.
  const byTag = new Array<StateMachine | undefined>(256).fill(undefined);
  for (const [tag, machine] of models) {
    if (!(Number.isInteger(tag) && tag >= 0 && tag < 256)) assert(false, `model tag ${tag}`);
    byTag[tag] = machine;
  }
  // The Paxos core applies install ops itself (install-op.ts); a model under their tag would
  // never see its ops.
  if (byTagMap.has(INSTALL_OP_TAG))
    assert(false, `model tag ${INSTALL_OP_TAG} is reserved for install ops`);
  if (byTagMap.has(REQUEST_ID_TAG))
    assert(false, `model tag ${REQUEST_ID_TAG} is reserved for request ids`);
  const machineOf = (bytes: Uint8Array, what: string): StateMachine => {
    if (!(bytes.length >= 1)) assert(false, `empty ${what}`);
    const machine = byTag[bytes[0] as number];
    if (machine === undefined) assert(false, `${what} for unknown model tag ${bytes[0]}`);
    return machine;
  };
  // A chosen op is applied by every replica, again after every restart: one that throws would
  // stop its group for good. Ops and queries come from clients (over the network, too), so
  // malformed bytes answer BAD_REQUEST and change nothing, the same on every replica (the
  // models are pure functions of their input).
  const apply: StateMachine['apply'] = (data, version, op, mayOverwrite) => {
    const machine = machineOf(op, 'op');
    if (data !== null && data[0] !== op[0]) return { data, mutated: false, result: WRONG_MODEL };
    // Only the fast paths may write into an owned state; the generic path never does.
    const fast = machine.applyTagged?.(data, version, op, mayOverwrite);
    if (fast !== undefined) return fast;
    const out = machine.apply(data === null ? null : partOf(data, 1), version, partOf(op, 1));
    assert(
      !isWrongModel(out.result) && !isBadRequest(out.result),
      'a model returned a reserved result',
    );
    // A fresh copy: a model may answer a view of its op (kv put), and the op may be a view of
    // a whole inbound payload (codec.ts readBatch); the key's data must own its bytes. Except
    // for states a model grew with appendBytes (append-bytes.ts): those own their buffer.
    const next = out.data === null ? null : taggedState(op[0] as ModelTag, data, out.data);
    const result = withVersion(out.result, out.mutated ? version + 1 : version);
    return { data: next, mutated: out.mutated, result };
  };
  const read: StateMachine['read'] = (data, version, query, dataMayChange) => {
    const machine = machineOf(query, 'query');
    if (data !== null && data[0] !== query[0]) return WRONG_MODEL;
    const fast = machine.readTagged?.(data, version, query);
    if (fast !== undefined) return fast;
    const answer = machine.read(data === null ? null : partOf(data, 1), version, partOf(query, 1));
    // The model read a view of the state (partOf: a long state is not copied) and may answer a
    // view of it; a state its key will write into must not show through the answer.
    const mayAlias = dataMayChange === true && data !== null && data.length > ON_HEAP_BYTES_MAX;
    return mayAlias && answer.buffer === data.buffer ? answer.slice() : answer;
  };
  return {
    apply(data, version, op, mayOverwrite) {
      try {
        return apply(data, version, op, mayOverwrite);
      } catch {
        return { data, mutated: false, result: BAD_REQUEST };
      }
    },
    read(data, version, query, dataMayChange) {
      try {
        return read(data, version, query, dataMayChange);
      } catch {
        return BAD_REQUEST;
      }
    },
  };
}
