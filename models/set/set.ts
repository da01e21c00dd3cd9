/**
 * The set model: a set of byte-string members under one key. Ops add and remove; queries has,
 * members and size. All bytes here are untagged (model-tags.ts); the registry frames them.
 *
 * Members compare by bytes (unsigned, lexicographic; a prefix sorts first). The data layout is
 * the members in strictly ascending order, each as [length u32][bytes], and nothing else: one
 * canonical encoding per set, so replicas that apply the same ops hold identical bytes whatever
 * order the members of one op came in. An empty set is stored as `data: null` (key absent).
 *
 * Limits: the data layout (members plus 4 bytes each) may not exceed `bytesMax` nor hold more
 * than `membersMax` members; an add that would is refused whole with `tooLarge` and changes
 * nothing. The members query returns at most `readMax` (the smallest) and says `truncated`.
 *
 * Results start with a status byte (SetStatus); the rest is op-specific, see the decoders.
 */
import { VERIFY, assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import type { StateMachine } from '../state-machine';

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

export interface SetLimits {
  readonly bytesMax: number;
  readonly membersMax: number;
  readonly readMax: number;
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

/** Unsigned lexicographic byte order; a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

// ---- the length-prefixed entry layout (data, ops, members results) ----

function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) |
      ((bytes[at + 1] as number) << 8) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 24)) >>>
    0
  );
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = (n >>> 24) & 0xff;
}

/** Views (not copies) of the entries of a layout, asserting they tile it exactly. */
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

/** The layout of `members` in the given order; null when there are none. */
function encodeLayout(members: readonly Uint8Array[]): Uint8Array | null {
  if (members.length === 0) return null;
  const out = new Uint8Array(layoutBytes(members));
  let at = 0;
  for (const m of members) {
    writeU32(out, at, m.length);
    out.set(m, at + SET_ENTRY_OVERHEAD);
    at += SET_ENTRY_OVERHEAD + m.length;
  }
  return out;
}

function assertAscending(members: readonly Uint8Array[]): void {
  for (let i = 1; i < members.length; i++) {
    assert(
      compareBytes(members[i - 1] as Uint8Array, members[i] as Uint8Array) < 0,
      () => `set data unsorted at ${i}`,
    );
  }
}

/** The stored members as views, ascending; the O(n) order check runs only under VERIFY. */
function storedMembers(data: Uint8Array | null): Uint8Array[] {
  if (data === null) return [];
  assert(data.length > 0, 'an empty set must be stored as null');
  const members = entryViews(data);
  if (VERIFY) assertAscending(members);
  return members;
}

/** Sorted, duplicates dropped: the members named by one op. */
function sortedUnique(members: Uint8Array[]): Uint8Array[] {
  members.sort(compareBytes);
  return members.filter((m, i) => i === 0 || compareBytes(members[i - 1] as Uint8Array, m) !== 0);
}

/** The set's members, ascending (copies); null data is the empty set. */
export function decodeSetData(data: Uint8Array | null): Uint8Array[] {
  return storedMembers(data).map((m) => m.slice());
}

/** The canonical data of a set of `members` (any order, duplicates allowed); null when empty. */
export function encodeSetData(members: readonly Uint8Array[]): Uint8Array | null {
  return encodeLayout(sortedUnique([...members]));
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

/** Merges two ascending lists; `added` are the members of `incoming` not in `current`. */
function merge(current: readonly Uint8Array[], incoming: readonly Uint8Array[]) {
  const merged: Uint8Array[] = [];
  const added: Uint8Array[] = [];
  let i = 0;
  let j = 0;
  // Each step consumes at least one member of one list.
  while (i < current.length || j < incoming.length) {
    const a = current[i];
    const b = incoming[j];
    const order = a === undefined ? 1 : b === undefined ? -1 : compareBytes(a, b);
    if (order <= 0 && a !== undefined) {
      merged.push(a);
      i++;
      if (order === 0) j++;
    } else if (b !== undefined) {
      merged.push(b);
      added.push(b);
      j++;
    }
  }
  return { merged, added };
}

function applyAdd(data: Uint8Array | null, op: Uint8Array, limits: SetLimits) {
  const current = storedMembers(data);
  const { merged, added } = merge(current, sortedUnique(entryViews(op, 1)));
  if (added.length === 0)
    return { data, mutated: false, result: changeResult(SetStatus.ok, 0, current.length) };
  const bytes = (data === null ? 0 : data.length) + layoutBytes(added);
  if (bytes > limits.bytesMax || merged.length > limits.membersMax) {
    return { data, mutated: false, result: changeResult(SetStatus.tooLarge, 0, current.length) };
  }
  return {
    data: encodeLayout(merged),
    mutated: true,
    result: changeResult(SetStatus.ok, added.length, merged.length),
  };
}

/** The members of `current` not in `gone` (both ascending). */
function without(current: readonly Uint8Array[], gone: readonly Uint8Array[]): Uint8Array[] {
  const kept: Uint8Array[] = [];
  let j = 0;
  for (const m of current) {
    // j only moves forward, so the inner loop is bounded by gone.length overall.
    while (j < gone.length && compareBytes(gone[j] as Uint8Array, m) < 0) j++;
    const g = gone[j];
    if (g === undefined || compareBytes(g, m) !== 0) kept.push(m);
  }
  return kept;
}

function applyRemove(data: Uint8Array | null, op: Uint8Array) {
  const current = storedMembers(data);
  const kept = without(current, sortedUnique(entryViews(op, 1)));
  const removed = current.length - kept.length;
  if (removed === 0)
    return { data, mutated: false, result: changeResult(SetStatus.ok, 0, current.length) };
  return {
    data: encodeLayout(kept),
    mutated: true,
    result: changeResult(SetStatus.ok, removed, kept.length),
  };
}

function readHas(data: Uint8Array | null, member: Uint8Array): Uint8Array {
  let present = false;
  for (const m of storedMembers(data)) {
    const order = compareBytes(m, member);
    if (order >= 0) {
      present = order === 0;
      break; // ascending: nothing further can match
    }
  }
  return Uint8Array.of(SetStatus.ok, present ? 1 : 0);
}

/** [ok][truncated u8][the first readMax members as entries] */
function readMembers(data: Uint8Array | null, readMax: number): Uint8Array {
  const members = storedMembers(data);
  const w = new ByteWriter();
  w.u8(SetStatus.ok);
  w.u8(members.length > readMax ? 1 : 0);
  const n = Math.min(members.length, readMax);
  for (let i = 0; i < n; i++) w.bytes(members[i] as Uint8Array);
  return w.finish();
}

function readSize(data: Uint8Array | null): Uint8Array {
  const w = new ByteWriter(5);
  w.u8(SetStatus.ok);
  w.u32(storedMembers(data).length);
  return w.finish();
}

function assertLimit(n: number, min: number, what: string): void {
  assert(Number.isSafeInteger(n) && n >= min && n < 2 ** 32, () => `set ${what} ${n}`);
}

export function createSetStateMachine(limits: SetLimits = SET_LIMITS): StateMachine {
  assertLimit(limits.bytesMax, 0, 'bytesMax');
  assertLimit(limits.membersMax, 0, 'membersMax');
  assertLimit(limits.readMax, 1, 'readMax');
  return {
    apply(data, _version, op) {
      assert(op.length >= 1, 'empty set op');
      switch (op[0]) {
        case OP_ADD:
          return applyAdd(data, op, limits);
        case OP_REMOVE:
          return applyRemove(data, op);
        default:
          throw new Error(`unknown set op ${op[0]}`);
      }
    },
    read(data, _version, query) {
      assert(query.length >= 1, 'empty set query');
      switch (query[0]) {
        case QUERY_HAS:
          return readHas(data, query.subarray(1));
        case QUERY_MEMBERS:
          assert(query.length === 1, 'set members query has trailing bytes');
          return readMembers(data, limits.readMax);
        case QUERY_SIZE:
          assert(query.length === 1, 'set size query has trailing bytes');
          return readSize(data);
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
