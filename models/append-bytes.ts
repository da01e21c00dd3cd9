/**
 * Append-only byte states that grow in place (issue 10, "a small table that is cheap to
 * write"). A model whose apply only appends to its state (the table's change section) would
 * otherwise copy the whole state per write: a one-cell write on an 18 MiB table copied 18 MiB
 * on every replica. `appendBytes` instead writes the tail into spare capacity after the state
 * and returns a longer view of the same buffer.
 *
 * The rule that keeps this safe: bytes that a returned view covers are never written again.
 * A view may be extended in place only while it is the longest view of its buffer (its end is
 * the buffer's high-water mark); any other view (an older state applied again, a branch) is
 * copied into a fresh buffer. Every earlier view therefore keeps its bytes, so states held
 * elsewhere (a record being encoded, a digest, a backup page) never change under them.
 *
 * Because of that rule, a later view of the same buffer that is at least as long as an earlier
 * one holds the earlier one's bytes as its prefix (and so does a copy made when the state
 * outgrew its buffer, of the buffer before): `extendsAppendView` decides it in O(1),
 * which lets the persist path write only the tail (actors/paxos/record-sections.ts).
 */
import { assert } from '../runtime/assert';

/**
 * The buffers made here: the end of their longest view (the high-water mark), an id, and
 * where their first bytes were copied from when a state outgrew its buffer (by id, so an old
 * buffer is not kept alive by its successor).
 */
interface BufferInfo {
  mark: number;
  readonly id: number;
  readonly parentId: number;
  readonly parentOffset: number;
  readonly parentLength: number;
}
const buffers = new WeakMap<ArrayBuffer, BufferInfo>();
let nextBufferId = 1;

/** Spare capacity: a quarter of the state, at least this many bytes. */
const SLACK_BYTES_MIN = 256;
const SLACK_DIVISOR = 4;

function endOf(view: Uint8Array): number {
  return view.byteOffset + view.length;
}

/** True when `view` ends at its buffer's high-water mark and the tail fits after it. */
function extendsInPlace(view: Uint8Array, tailBytes: number): boolean {
  const buffer = view.buffer;
  if (!(buffer instanceof ArrayBuffer)) return false;
  const mark = buffers.get(buffer)?.mark;
  return mark === endOf(view) && mark + tailBytes <= buffer.byteLength;
}

/**
 * `state` followed by `tail`. The result may share `state`'s buffer; neither `state` nor any
 * earlier view changes. `state` null is the empty state.
 */
export function appendBytes(state: Uint8Array | null, tail: Uint8Array): Uint8Array {
  const before = state ?? new Uint8Array(0);
  const length = before.length + tail.length;
  if (state !== null && extendsInPlace(state, tail.length)) {
    const buffer = state.buffer as ArrayBuffer;
    new Uint8Array(buffer).set(tail, endOf(state));
    (buffers.get(buffer) as BufferInfo).mark = endOf(state) + tail.length;
    const out = new Uint8Array(buffer, state.byteOffset, length);
    assert(out.length === length, () => `append view of ${out.length}, expected ${length}`);
    return out;
  }
  // Room for a quarter more, and, when this is an append to a state (not a first copy), for
  // several more tails like this one (big cells), at most the state's size again.
  const tails = before.length >= tail.length ? Math.min(tail.length * 4, length) : 0;
  const slack = Math.max(SLACK_BYTES_MIN, Math.floor(length / SLACK_DIVISOR), tails);
  const capacity = length + slack;
  const buffer = new ArrayBuffer(capacity);
  const out = new Uint8Array(buffer, 0, length);
  out.set(before);
  out.set(tail, before.length);
  // The copied prefix continues `state` when state's own bytes never change (an append view).
  const parent = state === null ? undefined : infoOf(state);
  buffers.set(buffer, {
    mark: length,
    id: nextBufferId++,
    parentId: parent?.id ?? 0,
    parentOffset: state?.byteOffset ?? 0,
    parentLength: before.length,
  });
  assert(out.length === length && buffer.byteLength >= length, 'append copy too short');
  return out;
}

/**
 * True when `later` holds all of `earlier` as its prefix because both are views made by
 * appendBytes of one buffer from the same start (O(1), no byte compare). False says nothing.
 */
export function extendsAppendView(earlier: Uint8Array, later: Uint8Array): boolean {
  const info = infoOf(later);
  if (info === undefined || earlier.length > later.length) return false;
  if (earlier.buffer === later.buffer) return earlier.byteOffset === later.byteOffset;
  // One buffer back: `later` starts with a copy of a view of earlier's buffer.
  const before = infoOf(earlier);
  return (
    before !== undefined &&
    info.parentId === before.id &&
    later.byteOffset === 0 &&
    earlier.byteOffset === info.parentOffset &&
    earlier.length <= info.parentLength
  );
}

function infoOf(view: Uint8Array): BufferInfo | undefined {
  return view.buffer instanceof ArrayBuffer ? buffers.get(view.buffer) : undefined;
}

/** True when the view was made by appendBytes (its bytes are never written again). */
export function isAppendView(view: Uint8Array): boolean {
  return infoOf(view) !== undefined;
}
