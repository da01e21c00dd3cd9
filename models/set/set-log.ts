/**
 * The set's change section (issue 10, "queues and sets near their limits"): how a big set adds
 * and removes members without copying itself. A set's data is a main section and, on a big set,
 * a change section after it:
 *
 *   MAIN    the members in strictly ascending byte order, each [length u32][bytes] (the
 *           canonical layout every set had before this file: old data reads unchanged)
 *   CHANGE  records, oldest first, each [ADD_MARKER | REMOVE_MARKER u32][length u32][bytes]
 *
 * The markers are u32 values no member length can take (a set is under 2^32 bytes), so the
 * first marker ends the main section. A small set (under `appendBytesMin`) is always canonical,
 * main only. A big one appends a record per member an op adds or removes (with appendBytes,
 * models/append-bytes.ts: the state grows in place and the persist path writes only the
 * records as a change entry). Once the change section passes max(changeBytesMin, main) bytes or
 * SET_PENDING_MAX members (or the stored layout its bound, limit + a quarter) the set is folded
 * into a fresh canonical main (like the table's merge): its bytes, spread over the ops since
 * the last fold, cost about 1 byte copied per byte appended. Whether an op
 * appends or folds is a function of the state's bytes and the op, so replicas stay identical.
 *
 * Lookups: the main section's entry offsets (binary search) and the change section's latest
 * record per member (a map), built by one walk and cached per append buffer (a cache of a pure
 * function: append buffers never rewrite bytes a view covers, so a longer view from the same
 * start is the cached one plus a tail, walked alone). O(bytes) once per buffer, then O(tail).
 */
import { assert } from '../../runtime/assert';
import { appendBufferOf } from '../append-bytes';
import { AppendShapes, readU32, writeU32 } from '../append-shapes';

export const ADD_MARKER = 0xffff_ffff;
export const REMOVE_MARKER = 0xffff_fffe;
const ENTRY_OVERHEAD = 4;
/** A change record's bytes beyond its member: marker and length. */
export const SET_RECORD_OVERHEAD = 8;

/** Unsigned lexicographic byte order; a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * A member's bytes as a map key (one UTF-16 unit per byte: injective). Node's latin1 decoding
 * is exactly that mapping, done natively: building it with String.fromCharCode cost ~20 ms
 * per 256 KiB member, which a shape rebuilt over big pending members paid per member.
 */
export function memberKey(member: Uint8Array): string {
  const key = Buffer.from(member.buffer, member.byteOffset, member.length).toString('latin1');
  assert(key.length === member.length, () => `member key of ${key.length} / ${member.length}`);
  return key;
}

interface Pending {
  readonly member: Uint8Array;
  readonly present: boolean;
}

/** What a state holds, derived by a walk (set-log.ts header). */
export interface SetShape {
  readonly mainEnd: number;
  /** Start of each main entry, ascending by member. */
  readonly offsets: readonly number[];
  /** The latest change record per member key. */
  readonly pending: Map<string, Pending>;
  count: number;
  /** Σ (4 + member length) over the members: the canonical size the limit counts. */
  liveBytes: number;
  length: number;
}

function mainMember(data: Uint8Array, at: number): Uint8Array {
  return data.subarray(at + ENTRY_OVERHEAD, at + ENTRY_OVERHEAD + readU32(data, at));
}

/** The index of `member` among the main section's entries, or -1. */
function mainIndex(data: Uint8Array, shape: SetShape, member: Uint8Array): number {
  let lo = 0;
  let hi = shape.offsets.length;
  // Binary search: log2(count) steps.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const order = compareBytes(mainMember(data, shape.offsets[mid] as number), member);
    if (order === 0) return mid;
    if (order < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

function inMain(data: Uint8Array, shape: SetShape, member: Uint8Array): boolean {
  return mainIndex(data, shape, member) >= 0;
}

/** True when `member` is in the set `data` (described by `shape`) holds. */
export function hasMember(data: Uint8Array | null, shape: SetShape, member: Uint8Array): boolean {
  if (data === null) return false;
  const p = shape.pending.get(memberKey(member));
  return p !== undefined ? p.present : inMain(data, shape, member);
}

/** Walks the main section: offsets, count and bytes, the ascending order asserted. */
function walkMain(data: Uint8Array): SetShape {
  const offsets: number[] = [];
  let at = 0;
  let previous: Uint8Array | undefined;
  // Each entry is at least 4 bytes; a marker ends the main section.
  while (at < data.length) {
    assert(at + ENTRY_OVERHEAD <= data.length, () => `set entry header at ${at} past end`);
    const n = readU32(data, at);
    if (n === ADD_MARKER || n === REMOVE_MARKER) break;
    const end = at + ENTRY_OVERHEAD + n;
    assert(end <= data.length, () => `set entry at ${at} ends at ${end}, past ${data.length}`);
    const member = data.subarray(at + ENTRY_OVERHEAD, end);
    assert(previous === undefined || compareBytes(previous, member) < 0, 'set main unsorted');
    previous = member;
    offsets.push(at);
    at = end;
  }
  const pending = new Map<string, Pending>();
  return { mainEnd: at, offsets, pending, count: offsets.length, liveBytes: at, length: at };
}

/** Extends `shape` over the change records in data[shape.length, data.length). */
function walkChanges(data: Uint8Array, shape: SetShape): void {
  // Each record is at least 8 bytes.
  for (let at = shape.length; at < data.length;) {
    assert(at + SET_RECORD_OVERHEAD <= data.length, () => `set record at ${at} past end`);
    const marker = readU32(data, at);
    assert(marker === ADD_MARKER || marker === REMOVE_MARKER, () => `set record ${marker}`);
    const end = at + SET_RECORD_OVERHEAD + readU32(data, at + ENTRY_OVERHEAD);
    assert(end <= data.length, () => `set record at ${at} ends at ${end}, past ${data.length}`);
    const member = data.subarray(at + SET_RECORD_OVERHEAD, end);
    const was = hasMember(data, shape, member);
    const add = marker === ADD_MARKER;
    if (add !== was) {
      shape.count += add ? 1 : -1;
      shape.liveBytes += (add ? 1 : -1) * (ENTRY_OVERHEAD + member.length);
    }
    shape.pending.set(memberKey(member), { member, present: add });
    at = end;
  }
  shape.length = data.length;
}

const EMPTY: SetShape = Object.freeze({
  mainEnd: 0,
  offsets: [],
  pending: new Map<string, Pending>(),
  count: 0,
  liveBytes: 0,
  length: 0,
});

const shapes = new AppendShapes<SetShape>('set', { start: walkMain, extend: walkChanges });

/**
 * The shape of a state (null: the empty set). Cached for append views. The shape returned may
 * be the cache's own (shared by the longer views of the buffer): callers only read it.
 */
export function shapeOf(data: Uint8Array | null): SetShape {
  return data === null ? EMPTY : shapes.of(data);
}

/** Change records for members added or removed (ascending, each changing membership). */
export function changeRecords(members: readonly Uint8Array[], add: boolean): Uint8Array {
  let bytes = 0;
  for (const m of members) bytes += SET_RECORD_OVERHEAD + m.length;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const m of members) {
    writeU32(out, at, add ? ADD_MARKER : REMOVE_MARKER);
    writeU32(out, at + ENTRY_OVERHEAD, m.length);
    out.set(m, at + SET_RECORD_OVERHEAD);
    at += SET_RECORD_OVERHEAD + m.length;
  }
  assert(at === bytes, () => `set records of ${at} / ${bytes} bytes`);
  return out;
}

/**
 * The members of the set after an op, ascending (views): the main's kept members merged with
 * the pending and new additions. `adds` and `removes` are ascending and change membership.
 * Work beyond the copy is per pending record (a binary search each), never per main member:
 * a fold of a 16 MiB main with a few big members must not rebuild their keys.
 */
export function liveMembers(
  data: Uint8Array | null,
  shape: SetShape,
  adds: readonly Uint8Array[] = [],
  removes: readonly Uint8Array[] = [],
): Uint8Array[] {
  if (data === null) return [...adds];
  const gone = new Set<string>(removes.map(memberKey));
  const removed = new Set<number>();
  const extra: Uint8Array[] = [...adds];
  for (const [key, p] of shape.pending) {
    const index = mainIndex(data, shape, p.member);
    const present = p.present && !gone.has(key);
    if (index >= 0 && !present) removed.add(index);
    else if (index < 0 && present) extra.push(p.member);
  }
  for (const m of removes) {
    const index = mainIndex(data, shape, m);
    if (index >= 0) removed.add(index);
  }
  extra.sort(compareBytes);
  const out: Uint8Array[] = [];
  let j = 0;
  for (let i = 0; i < shape.offsets.length; i++) {
    const m = mainMember(data, shape.offsets[i] as number);
    // j only moves forward: bounded by extra.length overall.
    while (j < extra.length && compareBytes(extra[j] as Uint8Array, m) < 0) {
      out.push(extra[j++] as Uint8Array);
    }
    if (!removed.has(i)) out.push(m);
  }
  while (j < extra.length) out.push(extra[j++] as Uint8Array);
  return out;
}

/**
 * The canonical layout of ascending members: written straight into an append buffer when big
 * (one copy of the members; the registry frames it in the buffer's lead byte), exact if small.
 */
export function canonicalState(
  members: readonly Uint8Array[],
  appendBytesMin: number,
): Uint8Array | null {
  if (members.length === 0) return null;
  let bytes = 0;
  for (const m of members) bytes += ENTRY_OVERHEAD + m.length;
  const fill = (out: Uint8Array): void => {
    let at = 0;
    for (const m of members) {
      writeU32(out, at, m.length);
      out.set(m, at + ENTRY_OVERHEAD);
      at += ENTRY_OVERHEAD + m.length;
    }
    assert(at === bytes, () => `set layout of ${at} / ${bytes} bytes`);
  };
  if (bytes >= appendBytesMin) return appendBufferOf(bytes, fill);
  const out = new Uint8Array(bytes);
  fill(out);
  return out;
}

/** Pending members a big set may hold before its change section folds (their map's bound). */
export const SET_PENDING_MAX = 65_536;

/**
 * True when a change section of `changeBytes` (with `pending` members in it) should be folded
 * into a main of `mainBytes`: past max(changeBytesMin, main) bytes — each fold rewrites the set
 * and its record, so a set filled from empty is rewritten about twice in all (at main / 8 it
 * was nine times, one 16 MiB record per ~2 MiB added) — or SET_PENDING_MAX pending members,
 * or when the stored layout would pass `storedMax`.
 */
export function setShouldFold(
  mainBytes: number,
  changeBytes: number,
  changeBytesMin: number,
  pending = 0,
  storedMax = Infinity,
): boolean {
  return (
    changeBytes > Math.max(changeBytesMin, mainBytes) ||
    pending > SET_PENDING_MAX ||
    mainBytes + changeBytes > storedMax
  );
}

/** The most bytes a set's stored layout may hold: its limit plus a quarter (pending changes). */
export function setStoredBytesMax(bytesMax: number, changeBytesMin: number): number {
  assert(bytesMax >= 0 && changeBytesMin >= 0, () => `set limits ${bytesMax}/${changeBytesMin}`);
  return bytesMax + Math.max(changeBytesMin, Math.floor(bytesMax / 4));
}
