/**
 * Short-lived byte buffers carved from shared slabs (issue 10, decision "Short-lived bytes
 * from a slab").
 *
 * V8 keeps a typed array of at most 64 bytes on the JS heap, where it costs ~25 ns. A bigger
 * one gets an ArrayBuffer of its own off the heap: an allocation, a backing store registered
 * with the collector and freed by its sweeper, ~1 us of CPU in all (bench/README.md
 * "Short-lived bytes from a slab"). A view into a slab costs ~100 ns. Node's `Buffer` pool
 * makes the same trade for small buffers.
 *
 * The rules that keep it safe:
 * - A slab is never reused: once full, the next carve starts a new slab, and the old one is
 *   freed by the collector when its last view goes. No view's bytes are ever written by
 *   anyone but the view's holder, so sharing a slab cannot corrupt anything.
 * - The cost is retention: a view kept for long keeps its whole slab alive. So only bytes
 *   that die within a turn or a batch come from here (a payload's copy until it is decoded, a
 *   record until its engine has written it, a read's answer until it is encoded). Bytes a
 *   key keeps (its data state, its results) never do.
 * - A view's `.buffer` is the slab: code that needs a buffer of its own (a transfer list, a
 *   DataView without offset) must not be handed one.
 *
 * Per thread (module state): every worker and the embedding thread have their own slab.
 */
import { assert } from './assert';

/** Sizes up to this stay on V8's heap (V8's in-heap typed array limit): a slab buys nothing. */
const ON_HEAP_BYTES_MAX = 64;
/** Bigger requests get their own buffer: a slab holds at least 16 of the largest carve. */
export const TRANSIENT_CARVE_BYTES_MAX = 4096;
const SLAB_BYTES = 64 * 1024;
/** Carves start on 8-byte boundaries, so a DataView over a view reads aligned. */
const ALIGN = 8;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** Zero-filled bytes of length `n` that the caller drops soon (see the rules above). */
export function transientBytes(n: number): Uint8Array {
  if (!(Number.isInteger(n) && n >= 0)) assert(false, `transient bytes of length ${n}`);
  if (n <= ON_HEAP_BYTES_MAX || n > TRANSIENT_CARVE_BYTES_MAX) return new Uint8Array(n);
  if (used + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  // The constructor, not subarray: no species lookup (about half the cost of a view).
  const out = new Uint8Array(slab, used, n);
  used += (n + ALIGN - 1) & ~(ALIGN - 1);
  return out;
}

/** A short-lived copy of `bytes` (see transientBytes). */
export function transientCopy(bytes: Uint8Array): Uint8Array {
  const out = transientBytes(bytes.length);
  out.set(bytes);
  return out;
}

/** A short-lived copy of bytes [from, to) of `bytes`. */
export function transientCopyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  if (!(0 <= from && from <= to && to <= bytes.length)) assert(false, `copy of [${from}, ${to})`);
  const out = transientBytes(to - from);
  out.set(bytes.subarray(from, to));
  return out;
}
