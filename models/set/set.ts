/**
 * The set model: a set of byte-string members under one key. Ops add and remove; queries has,
 * members and size. All bytes here are untagged (model-tags.ts); the registry frames them.
 *
 * Members compare by bytes (unsigned, lexicographic; a prefix sorts first). The data layout is
 * the members in strictly ascending order, each as [length u32][bytes], and nothing else: one
 * canonical encoding per set, so replicas that apply the same ops hold identical bytes whatever
 * order the members of one op came in. An empty set is stored as `data: null` (key absent).
 * That holds for a small set (under `appendBytesMin`); a big one also keeps a change section
 * after the sorted members (set-log.ts), so that an add or a remove appends a few bytes in
 * place and persists only them, not the set (issue 10). Replicas still hold identical bytes:
 * the state is a function of the op sequence.
 *
 * Limits: the data layout (members plus 4 bytes each) may not exceed `bytesMax` nor hold more
 * than `membersMax` members; an add that would is refused whole with `tooLarge` and changes
 * nothing. The members query returns at most `readMax` (the smallest) and says `truncated`.
 *
 * Results start with a status byte (SetStatus); the rest is op-specific, see the decoders.
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { appendBytes } from '../append-bytes';
import type { StateMachine } from '../state-machine';
import { readU32 } from '../append-shapes';
import {
  canonicalState,
  changeRecords,
  compareBytes,
  hasMember,
  liveMembers,
  setShouldFold,
  setStoredBytesMax,
  shapeOf,
} from './set-log';
import type { SetShape } from './set-log';

export { compareBytes } from './set-log';

const OP_ADD = 1;
const OP_REMOVE = 2;
const QUERY_HAS = 1;
const QUERY_MEMBERS = 2;
const QUERY_SIZE = 3;

/** Bytes a member costs in the data layout beyond its own: its u32 length prefix. */
export const SET_ENTRY_OVERHEAD = 4;
/** The default limit on a set's data layout (members plus their length prefixes). */
export const SET_BYTES_MAX = 16 * 1024 * 1024;
/** The default limit on a set's member count. */
export const SET_MEMBERS_MAX = 1_000_000;
/** The default limit on the number of members one members query returns. */
export const SET_READ_MAX = 10_000;

/**
 * From this many bytes of data a set keeps a change section (set-log.ts): adds and removes
 * append in place. The record sections' threshold (actors/paxos/record-sections.ts): a smaller
 * record is written whole anyway.
 */
export const SET_APPEND_BYTES_MIN = 64 * 1024;
/** The change section may always grow to this many bytes before a fold (then the main's). */
export const SET_CHANGE_BYTES_MIN = 4 * 1024;

export interface SetLimits {
  readonly bytesMax: number;
  readonly membersMax: number;
  readonly readMax: number;
  /** Default SET_APPEND_BYTES_MIN (tests lower it to reach the change section cheaply). */
  readonly appendBytesMin?: number;
  /** Default SET_CHANGE_BYTES_MIN. */
  readonly changeBytesMin?: number;
}

interface SetLimitsFull extends SetLimits {
  readonly appendBytesMin: number;
  readonly changeBytesMin: number;
}

export const SET_LIMITS: SetLimits = {
  bytesMax: SET_BYTES_MAX,
  membersMax: SET_MEMBERS_MAX,
  readMax: SET_READ_MAX,
};

/** tooLarge has the queue's code (QueueStatus.tooLarge), so one status means one thing. */
export const SetStatus = { ok: 0, tooLarge: 2 } as const;
export type SetStatus = (typeof SetStatus)[keyof typeof SetStatus];

export type SetOp =
  | { readonly type: 'add'; readonly members: readonly Uint8Array[] }
  | { readonly type: 'remove'; readonly members: readonly Uint8Array[] };

export type SetQuery =
  | { readonly type: 'has'; readonly member: Uint8Array }
  | { readonly type: 'members' }
  | { readonly type: 'size' };

/** The typed result of each op and query kind. `size` is the set's size after the op. */
export interface SetResults {
  /** On tooLarge: added 0 and the unchanged size. */
  readonly add: { readonly status: SetStatus; readonly added: number; readonly size: number };
  readonly remove: {
    readonly status: typeof SetStatus.ok;
    readonly removed: number;
    readonly size: number;
  };
  readonly has: { readonly present: boolean };
  /** Ascending by bytes; `truncated`: the set holds more than readMax members. */
  readonly members: { readonly members: Uint8Array[]; readonly truncated: boolean };
  readonly size: { readonly size: number };
}
export type SetResultKind = keyof SetResults;

// ---- the length-prefixed entry layout (data, ops, members results) ----

/** Views (not copies) of the entries of an op's or a result's list, tiling it exactly. */
function entryViews(bytes: Uint8Array, from = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Each entry is at least 4 bytes, so this ends within length / 4 steps.
  for (let at = from; at < bytes.length;) {
    assert(
      at + SET_ENTRY_OVERHEAD <= bytes.length,
      () => `set entry header at ${at} past ${bytes.length}`,
    );
    const end = at + SET_ENTRY_OVERHEAD + readU32(bytes, at);
    assert(end <= bytes.length, () => `set entry at ${at} ends at ${end}, past ${bytes.length}`);
    out.push(bytes.subarray(at + SET_ENTRY_OVERHEAD, end));
    at = end;
  }
  return out;
}

function layoutBytes(members: readonly Uint8Array[]): number {
  let n = 0;
  for (const m of members) n += SET_ENTRY_OVERHEAD + m.length;
  return n;
}

/** The state's shape; asserts the rules of a stored state (set-log.ts). */
function checkedShape(data: Uint8Array | null, limits: SetLimitsFull): SetShape {
  const shape = shapeOf(data);
  if (data === null) return shape;
  assert(shape.count > 0, 'an empty set must be stored as null');
  assert(
    shape.mainEnd === data.length || data.length >= limits.appendBytesMin,
    () => `a set of ${data.length} bytes with a change section`,
  );
  return shape;
}

/** Sorted, duplicates dropped: the members named by one op. */
function sortedUnique(members: Uint8Array[]): Uint8Array[] {
  members.sort(compareBytes);
  return members.filter((m, i) => i === 0 || compareBytes(members[i - 1] as Uint8Array, m) !== 0);
}

/** The set's members, ascending (copies); null data is the empty set. */
export function decodeSetData(data: Uint8Array | null): Uint8Array[] {
  return liveMembers(data, shapeOf(data)).map((m) => m.slice());
}

/** The canonical data of a set of `members` (any order, duplicates allowed); null when empty. */
export function encodeSetData(members: readonly Uint8Array[]): Uint8Array | null {
  return canonicalState(sortedUnique([...members]), Infinity);
}

// ---- ops and queries ----

function encodeMembers(type: number, members: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  w.u8(type);
  for (const m of members) w.bytes(m);
  return w.finish();
}

export function encodeSetOp(op: SetOp): Uint8Array {
  switch (op.type) {
    case 'add':
      return encodeMembers(OP_ADD, op.members);
    case 'remove':
      return encodeMembers(OP_REMOVE, op.members);
  }
}

export function encodeSetQuery(q: SetQuery): Uint8Array {
  switch (q.type) {
    case 'has': {
      const out = new Uint8Array(1 + q.member.length);
      out[0] = QUERY_HAS;
      out.set(q.member, 1);
      return out;
    }
    case 'members':
      return Uint8Array.of(QUERY_MEMBERS);
    case 'size':
      return Uint8Array.of(QUERY_SIZE);
  }
}

/** [status u8][changed u32][size u32] */
function changeResult(status: SetStatus, changed: number, size: number): Uint8Array {
  const w = new ByteWriter(9);
  w.u8(status);
  w.u32(changed);
  w.u32(size);
  return w.finish();
}

/**
 * The state after an op that adds `adds` or removes `removes` (ascending, each changing
 * membership): a small set stays canonical; a big one appends change records in place, or
 * folds its change section into a new main once it passes max(changeBytesMin, main) bytes,
 * SET_PENDING_MAX members, or the stored layout its bound (setShouldFold).
 */
function changed(
  data: Uint8Array | null,
  shape: SetShape,
  adds: readonly Uint8Array[],
  removes: readonly Uint8Array[],
  limits: SetLimitsFull,
): Uint8Array | null {
  const liveAfter = shape.liveBytes + layoutBytes(adds) - layoutBytes(removes);
  const records = adds.length > 0 ? changeRecords(adds, true) : changeRecords(removes, false);
  assert(adds.length === 0 || removes.length === 0, 'a set op both adds and removes');
  const big = data !== null && data.length >= limits.appendBytesMin;
  const changeBytes = (data === null ? 0 : data.length - shape.mainEnd) + records.length;
  if (
    !big ||
    liveAfter < limits.appendBytesMin ||
    setShouldFold(
      shape.mainEnd,
      changeBytes,
      limits.changeBytesMin,
      shape.pending.size,
      setStoredBytesMax(limits.bytesMax, limits.changeBytesMin),
    )
  ) {
    return canonicalState(liveMembers(data, shape, adds, removes), limits.appendBytesMin);
  }
  return appendBytes(data, records);
}

function applyAdd(data: Uint8Array | null, op: Uint8Array, limits: SetLimitsFull) {
  const shape = checkedShape(data, limits);
  const added = sortedUnique(entryViews(op, 1)).filter((m) => !hasMember(data, shape, m));
  if (added.length === 0)
    return { data, mutated: false, result: changeResult(SetStatus.ok, 0, shape.count) };
  const size = shape.count + added.length;
  if (shape.liveBytes + layoutBytes(added) > limits.bytesMax || size > limits.membersMax) {
    return { data, mutated: false, result: changeResult(SetStatus.tooLarge, 0, shape.count) };
  }
  const next = changed(data, shape, added, [], limits);
  return { data: next, mutated: true, result: changeResult(SetStatus.ok, added.length, size) };
}

function applyRemove(data: Uint8Array | null, op: Uint8Array, limits: SetLimitsFull) {
  const shape = checkedShape(data, limits);
  const gone = sortedUnique(entryViews(op, 1)).filter((m) => hasMember(data, shape, m));
  if (gone.length === 0)
    return { data, mutated: false, result: changeResult(SetStatus.ok, 0, shape.count) };
  const size = shape.count - gone.length;
  const next = size === 0 ? null : changed(data, shape, [], gone, limits);
  return { data: next, mutated: true, result: changeResult(SetStatus.ok, gone.length, size) };
}

function readHas(data: Uint8Array | null, member: Uint8Array, limits: SetLimitsFull): Uint8Array {
  const present = hasMember(data, checkedShape(data, limits), member);
  return Uint8Array.of(SetStatus.ok, present ? 1 : 0);
}

/** [ok][truncated u8][the first readMax members as entries] */
function readMembers(data: Uint8Array | null, limits: SetLimitsFull): Uint8Array {
  const members = liveMembers(data, checkedShape(data, limits));
  const w = new ByteWriter();
  w.u8(SetStatus.ok);
  w.u8(members.length > limits.readMax ? 1 : 0);
  const n = Math.min(members.length, limits.readMax);
  for (let i = 0; i < n; i++) w.bytes(members[i] as Uint8Array);
  return w.finish();
}

function readSize(data: Uint8Array | null, limits: SetLimitsFull): Uint8Array {
  const w = new ByteWriter(5);
  w.u8(SetStatus.ok);
  w.u32(checkedShape(data, limits).count);
  return w.finish();
}

function assertLimit(n: number, min: number, what: string): void {
  assert(Number.isSafeInteger(n) && n >= min && n < 2 ** 32, () => `set ${what} ${n}`);
}

export function createSetStateMachine(given: SetLimits = SET_LIMITS): StateMachine {
  const limits: SetLimitsFull = {
    ...given,
    appendBytesMin: given.appendBytesMin ?? SET_APPEND_BYTES_MIN,
    changeBytesMin: given.changeBytesMin ?? SET_CHANGE_BYTES_MIN,
  };
  assertLimit(limits.bytesMax, 0, 'bytesMax');
  assertLimit(limits.membersMax, 0, 'membersMax');
  assertLimit(limits.readMax, 1, 'readMax');
  assertLimit(limits.appendBytesMin, 1, 'appendBytesMin');
  assertLimit(limits.changeBytesMin, 0, 'changeBytesMin');
  return {
    apply(data, _version, op) {
      assert(op.length >= 1, 'empty set op');
      switch (op[0]) {
        case OP_ADD:
          return applyAdd(data, op, limits);
        case OP_REMOVE:
          return applyRemove(data, op, limits);
        default:
          throw new Error(`unknown set op ${op[0]}`);
      }
    },
    read(data, _version, query) {
      assert(query.length >= 1, 'empty set query');
      switch (query[0]) {
        case QUERY_HAS:
          return readHas(data, query.subarray(1), limits);
        case QUERY_MEMBERS:
          assert(query.length === 1, 'set members query has trailing bytes');
          return readMembers(data, limits);
        case QUERY_SIZE:
          assert(query.length === 1, 'set size query has trailing bytes');
          return readSize(data, limits);
        default:
          throw new Error(`unknown set query ${query[0]}`);
      }
    },
  };
}

export const setStateMachine: StateMachine = createSetStateMachine();

// ---- results ----

function decodeChange(bytes: Uint8Array): { status: SetStatus; changed: number; size: number } {
  const r = new ByteReader(bytes);
  const status = r.u8();
  assert(status === SetStatus.ok || status === SetStatus.tooLarge, () => `set status ${status}`);
  const changed = r.u32();
  const size = r.u32();
  assert(r.remaining === 0, 'set result has trailing bytes');
  return { status, changed, size };
}

function assertOkHeader(bytes: Uint8Array, length: number | undefined, what: string): void {
  assert(
    bytes.length >= 1 && bytes[0] === SetStatus.ok,
    () => `set ${what} result status ${bytes[0]}`,
  );
  assert(
    length === undefined || bytes.length === length,
    () => `set ${what} result of ${bytes.length} bytes`,
  );
}

const decoders: { readonly [K in SetResultKind]: (bytes: Uint8Array) => SetResults[K] } = {
  add: (bytes) => {
    const { status, changed, size } = decodeChange(bytes);
    return { status, added: changed, size };
  },
  remove: (bytes) => {
    const { status, changed, size } = decodeChange(bytes);
    assert(status === SetStatus.ok, () => `set remove status ${status}`);
    return { status, removed: changed, size };
  },
  has: (bytes) => {
    assertOkHeader(bytes, 2, 'has');
    assert(bytes[1] === 0 || bytes[1] === 1, () => `set has flag ${bytes[1]}`);
    return { present: bytes[1] === 1 };
  },
  members: (bytes) => {
    assertOkHeader(bytes, undefined, 'members');
    assert(bytes[1] === 0 || bytes[1] === 1, () => `set truncated flag ${bytes[1]}`);
    return { members: entryViews(bytes, 2).map((m) => m.slice()), truncated: bytes[1] === 1 };
  },
  size: (bytes) => {
    assertOkHeader(bytes, 5, 'size');
    return { size: new ByteReader(bytes.subarray(1)).u32() };
  },
};

/** Decodes the result of an op or query of the given kind. */
export function decodeSetResult<K extends SetResultKind>(
  kind: K,
  bytes: Uint8Array,
): SetResults[K] {
  return decoders[kind](bytes);
}
