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
 *
 * A buffer this module makes keeps one byte free before its first view (the lead byte). The
 * model registry frames a model's state with a one-byte tag in front: `claimLead` writes the
 * tag there once instead of copying the whole state into a tagged buffer (a 20 MiB table merge
 * or a queue fold was copied twice more for that), and keeps the copied-prefix link in the
 * tagged frame, so a tagged state that outgrew its buffer still persists as a tail.
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
  parentOffset: number;
  parentLength: number;
  /** Where this buffer's copied prefix (and first view) starts: 1, or 0 once the lead is claimed. */
  start: number;
}
const buffers = new WeakMap<ArrayBuffer, BufferInfo>();
let nextBufferId = 1;

/** Spare capacity: a quarter of the state, at least this many bytes. */
const SLACK_BYTES_MIN = 256;
const SLACK_DIVISOR = 4;
/** The free byte before a new buffer's first view (claimLead). */
const LEAD_BYTES = 1;

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
  // The copied prefix continues `state` when state's own bytes never change (an append view).
  const parent = state === null ? undefined : infoOf(state);
  const out = newBuffer(length, tails, parent, state?.byteOffset ?? 0, before.length);
  out.set(before);
  out.set(tail, before.length);
  return out;
}

/** A fresh registered buffer: the lead byte, `length` bytes of view, then spare room. */
function newBuffer(
  length: number,
  tails: number,
  parent: BufferInfo | undefined,
  parentOffset: number,
  parentLength: number,
): Uint8Array {
  const slack = Math.max(SLACK_BYTES_MIN, Math.floor(length / SLACK_DIVISOR), tails);
  const buffer = new ArrayBuffer(LEAD_BYTES + length + slack);
  const out = new Uint8Array(buffer, LEAD_BYTES, length);
  buffers.set(buffer, {
    mark: LEAD_BYTES + length,
    id: nextBufferId++,
    parentId: parent?.id ?? 0,
    parentOffset,
    parentLength,
    start: LEAD_BYTES,
  });
  assert(out.length === length && buffer.byteLength > length, 'append buffer too short');
  return out;
}

/**
 * A state of `length` bytes written by `fill` straight into a fresh append buffer (a merge or
 * fold that builds a whole new state: no copy into an append buffer afterwards). `fill` must
 * write every byte; the view is handed out only after it returns.
 */
export function appendBufferOf(length: number, fill: (out: Uint8Array) => void): Uint8Array {
  assert(Number.isSafeInteger(length) && length >= 0, () => `append buffer of ${length}`);
  const out = newBuffer(length, 0, undefined, 0, 0);
  fill(out);
  assert(out.length === length, () => `filled view of ${out.length}, expected ${length}`);
  return out;
}

/**
 * `byte` followed by `state` without a copy, when `state` is the first view of a buffer made
 * here and its lead byte is still free (undefined otherwise: the caller copies). `before` is
 * the framed state `state` continues, if any: when state's buffer began as a copy of
 * before.subarray(1) and `before` starts with `byte`, the framed result continues `before`
 * for extendsAppendView, as the unframed state continued its unframed view.
 */
export function claimLead(
  state: Uint8Array,
  byte: number,
  before: Uint8Array | null,
): Uint8Array | undefined {
  const info = infoOf(state);
  if (info === undefined || info.start !== LEAD_BYTES || state.byteOffset !== LEAD_BYTES) {
    return undefined;
  }
  const buffer = state.buffer as ArrayBuffer;
  new Uint8Array(buffer)[0] = byte;
  info.start = 0;
  const prior = before === null ? undefined : infoOf(before);
  const continues =
    before !== null &&
    prior !== undefined &&
    prior.id === info.parentId &&
    before.byteOffset + 1 === info.parentOffset &&
    before[0] === byte;
  if (continues) {
    info.parentOffset -= 1;
    info.parentLength += 1;
  } else if (info.parentId !== 0) {
    // The unframed link no longer describes this buffer's first view: drop it.
    info.parentOffset = -1;
  }
  const out = new Uint8Array(buffer, 0, state.length + 1);
  assert(endOf(out) === endOf(state), 'a framed view ends where its state ends');
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
    later.byteOffset === info.start &&
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
