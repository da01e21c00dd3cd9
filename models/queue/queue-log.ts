/**
 * The queue's log layout (issue 10, "queues and sets near their limits"): how a big queue
 * pushes and pops without copying itself. A queue's data is a sequence of items, oldest first:
 *
 *   value entry  [length u32 < POP_MARKER][bytes]   a pushed value
 *   pop marker   [POP_MARKER u32]                  removes the oldest value still live
 *
 * A queue without markers is the canonical layout (values only, head first), the one every
 * queue had before this file: old data reads unchanged, and a small queue (under
 * `appendBytesMin`) is always canonical. A big queue appends: a push appends its entries, a
 * pop appends a 4-byte marker (with appendBytes, models/append-bytes.ts, so the state grows in
 * place and the persist path writes only the new bytes as a change entry). The dead prefix
 * (popped values and markers) is folded away, by copying the live values into a fresh
 * canonical state, once it passes half the live bytes (or the live part drops under
 * `appendBytesMin`): each fold copies at most two live bytes per byte popped since the last.
 * The stored layout is also bounded: an op that would take it past `queueStoredBytesMax`
 * (the limit plus a quarter, at least appendBytesMin) folds first, so a full queue's record
 * stays under 1.25 × its limit (it reached 1.5 ×), for at most four live bytes copied per
 * byte pushed near the limit.
 * Whether a pop folds is a function of the state's bytes, so every replica folds at the same op
 * and holds the same bytes.
 *
 * The head, count and live bytes of a big state are derived by one walk and cached per append
 * buffer (a cache of a pure function; append buffers never rewrite bytes a view covers, so a
 * longer view of the same buffer from the same start is the cached one plus a tail, walked
 * alone). The walk is O(bytes) once per buffer, then O(tail) per op.
 */
import { assert } from '../../runtime/assert';
import { appendBufferOf, appendBytes } from '../append-bytes';
import { AppendShapes, readU32 } from '../append-shapes';

/** The u32 that starts a pop marker: no value is this long (a queue is under 2^32 bytes). */
export const POP_MARKER = 0xffff_ffff;
/** Bytes of a value entry beyond the value, and of a pop marker. */
const ENTRY_OVERHEAD = 4;
const MARKER = Uint8Array.of(0xff, 0xff, 0xff, 0xff);

/** What a state holds: where its head value starts, how many values, their layout bytes. */
export interface QueueShape {
  /** Offset of the oldest live value entry (the state's length when there is none). */
  headAt: number;
  count: number;
  /** Σ (4 + value length) over live values: the size the limit counts. */
  liveBytes: number;
  markers: number;
  /** The state's length this shape describes. */
  length: number;
}

/** The end of the item at `at` (a value entry or a marker); asserts it lies within `bytes`. */
export function itemEnd(bytes: Uint8Array, at: number): number {
  assert(at + ENTRY_OVERHEAD <= bytes.length, () => `queue item at ${at} past ${bytes.length}`);
  const n = readU32(bytes, at);
  if (n === POP_MARKER) return at + ENTRY_OVERHEAD;
  const end = at + ENTRY_OVERHEAD + n;
  assert(end <= bytes.length, () => `queue entry at ${at} ends at ${end}, past ${bytes.length}`);
  return end;
}

export function isMarker(bytes: Uint8Array, at: number): boolean {
  return readU32(bytes, at) === POP_MARKER;
}

/** The first value entry at or after `at` (markers skipped), or the end. */
export function nextValue(bytes: Uint8Array, at: number): number {
  // Each step passes one 4-byte marker.
  while (at < bytes.length && isMarker(bytes, at)) at += ENTRY_OVERHEAD;
  return at;
}

/** Extends `shape` (which describes bytes[0, shape.length)) over bytes[shape.length, end). */
function walk(bytes: Uint8Array, shape: QueueShape, end: number): void {
  // Each step consumes one item of at least 4 bytes; the head only moves forward.
  for (let at = shape.length; at < end;) {
    const next = itemEnd(bytes, at);
    if (isMarker(bytes, at)) {
      assert(shape.count > 0, () => `queue pop marker at ${at} with no value to pop`);
      const head = nextValue(bytes, shape.headAt);
      const headEnd = itemEnd(bytes, head);
      shape.liveBytes -= headEnd - head;
      shape.count -= 1;
      shape.markers += 1;
      shape.headAt = headEnd;
    } else {
      if (shape.count === 0) shape.headAt = at;
      shape.liveBytes += next - at;
      shape.count += 1;
    }
    at = next;
  }
  shape.length = end;
  shape.headAt = nextValue(bytes, shape.headAt);
}

const emptyShape = (): QueueShape => ({ headAt: 0, count: 0, liveBytes: 0, markers: 0, length: 0 });

const shapes = new AppendShapes<QueueShape>('queue', {
  start: emptyShape,
  extend: (data, shape) => walk(data, shape, data.length),
});

/** The shape of a state (null: the empty queue). Cached for append views, O(tail) per op. */
export function shapeOf(data: Uint8Array | null): QueueShape {
  // A shape is shared by the longer views of its buffer: hand out a copy.
  return data === null ? emptyShape() : { ...shapes.of(data) };
}

/**
 * The most bytes a queue's stored layout may hold: its limit on live values plus room for
 * popped values not yet folded away (a quarter of the limit, at least appendBytesMin).
 */
export function queueStoredBytesMax(bytesMax: number, appendBytesMin: number): number {
  assert(bytesMax >= 0 && appendBytesMin >= 1, () => `queue limits ${bytesMax}/${appendBytesMin}`);
  return bytesMax + Math.max(appendBytesMin, Math.floor(bytesMax / 4));
}

/** Copies the live values of data[from..] into `out` (canonical layout), then `extra`. */
function fillLive(out: Uint8Array, data: Uint8Array, from: number, extra: Uint8Array): void {
  let to = 0;
  // Each step consumes one item.
  for (let at = from; at < data.length;) {
    const end = itemEnd(data, at);
    if (!isMarker(data, at)) {
      out.set(data.subarray(at, end), to);
      to += end - at;
    }
    at = end;
  }
  out.set(extra, to);
  to += extra.length;
  assert(to === out.length, () => `queue fold copied ${to} of ${out.length} bytes`);
}

/**
 * The live values of data[from..] as the canonical layout, followed by `extra` (pushed
 * entries): straight into an append buffer when big (it grows in place from its next op;
 * one copy of the live values), exact when small.
 */
function folded(
  data: Uint8Array,
  from: number,
  liveBytes: number,
  extra: Uint8Array,
  appendBytesMin: number,
): Uint8Array {
  const length = liveBytes + extra.length;
  const fill = (out: Uint8Array): void => fillLive(out, data, from, extra);
  if (length >= appendBytesMin) return appendBufferOf(length, fill);
  const out = new Uint8Array(length);
  fill(out);
  return out;
}

/**
 * `data` plus pushed entries (already checked against the limit): the same bytes either way.
 * A big state whose stored layout would pass `storedMax` folds its dead prefix first.
 */
export function pushEntries(
  data: Uint8Array | null,
  shape: QueueShape,
  entries: Uint8Array,
  appendBytesMin: number,
  storedMax: number,
): Uint8Array {
  const size = data === null ? 0 : data.length;
  if (data !== null && size + entries.length > storedMax) {
    assert(shape.liveBytes + entries.length <= storedMax, 'a push past the live limit');
    return folded(data, shape.headAt, shape.liveBytes, entries, appendBytesMin);
  }
  if (size + entries.length >= appendBytesMin) return appendBytes(data, entries);
  const next = new Uint8Array(size + entries.length);
  if (data !== null) next.set(data);
  next.set(entries, size);
  return next;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The state after popping the head of a big state (shape.count ≥ 2): a marker appended, or,
 * when the dead prefix has grown past half the live bytes (or the rest is small, or the marker
 * would take the stored layout past `storedMax`), the live values folded into a fresh
 * canonical state.
 */
export function popHead(
  data: Uint8Array,
  shape: QueueShape,
  appendBytesMin: number,
  storedMax: number,
): Uint8Array {
  assert(shape.count >= 2, () => `popHead of a queue of ${shape.count}`);
  const headEnd = itemEnd(data, shape.headAt);
  const liveAfter = shape.liveBytes - (headEnd - shape.headAt);
  const storedAfter = data.length + ENTRY_OVERHEAD;
  const deadAfter = storedAfter - liveAfter;
  if (liveAfter < appendBytesMin || deadAfter > liveAfter / 2 || storedAfter > storedMax) {
    return folded(data, headEnd, liveAfter, NO_BYTES, appendBytesMin);
  }
  return appendBytes(data, MARKER);
}
