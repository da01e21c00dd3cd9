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
 * one holds the earlier one's bytes as its prefix: `extendsAppendView` decides it in O(1),
 * which lets the persist path write only the tail (actors/paxos/record-sections.ts).
 */
import { assert } from '../runtime/assert';

/** The buffers made here and the end of their longest view (the high-water mark). */
const highWater = new WeakMap<ArrayBuffer, number>();

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
  const mark = highWater.get(buffer);
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
    highWater.set(buffer, endOf(state) + tail.length);
    const out = new Uint8Array(buffer, state.byteOffset, length);
    assert(out.length === length, () => `append view of ${out.length}, expected ${length}`);
    return out;
  }
  const capacity = length + Math.max(SLACK_BYTES_MIN, Math.floor(length / SLACK_DIVISOR));
  const buffer = new ArrayBuffer(capacity);
  const out = new Uint8Array(buffer, 0, length);
  out.set(before);
  out.set(tail, before.length);
  highWater.set(buffer, length);
  assert(out.length === length && buffer.byteLength >= length, 'append copy too short');
  return out;
}

/**
 * True when `later` holds all of `earlier` as its prefix because both are views made by
 * appendBytes of one buffer from the same start (O(1), no byte compare). False says nothing.
 */
export function extendsAppendView(earlier: Uint8Array, later: Uint8Array): boolean {
  const buffer = later.buffer;
  if (!(buffer instanceof ArrayBuffer) || !highWater.has(buffer)) return false;
  return (
    earlier.buffer === buffer &&
    earlier.byteOffset === later.byteOffset &&
    earlier.length <= later.length
  );
}

/** True when the view was made by appendBytes (its bytes are never written again). */
export function isAppendView(view: Uint8Array): boolean {
  return view.buffer instanceof ArrayBuffer && highWater.has(view.buffer);
}
