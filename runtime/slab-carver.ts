/**
 * Byte views carved from shared slabs: the mechanism under transient-bytes.ts (bytes that die
 * within a turn) and kept-bytes.ts (the small data states keys keep). Each module owns one
 * carver per thread and says why its sizes are safe.
 *
 * V8 keeps a typed array of at most 64 bytes on the JS heap, where it costs ~25 ns. A bigger
 * one gets an ArrayBuffer of its own off the heap: an allocation, a backing store registered
 * with the collector and freed by its sweeper, ~1 us of process CPU in all (bench/README.md
 * "Short-lived bytes from a slab", "Kept bytes from small slabs"). A view into a slab costs
 * ~100 ns.
 *
 * A slab is never reused: once full, the next carve starts a new slab, and the old one is freed
 * by the collector when its last view goes. No view's bytes are written by anyone but the
 * view's holder, so sharing a slab cannot corrupt anything; what sharing costs is retention (a
 * live view keeps its whole slab). A view's `.buffer` is the slab: code that needs a buffer of
 * its own (a transfer list, a DataView without offset) must not be handed one.
 */
import { assert } from './assert';

/** Sizes up to this stay on V8's heap (V8's in-heap typed array limit): a slab buys nothing. */
export const ON_HEAP_BYTES_MAX = 64;
/** Carves start on 8-byte boundaries, so a DataView over a view reads aligned. */
const ALIGN = 8;
/** A part this short is copied byte by byte: as fast as `set`, without a subarray view. */
const COPY_LOOP_BYTES_MAX = 512;

export class SlabCarver {
  private slab: ArrayBuffer;
  private used = 0;

  /** Carves of (64, carveBytesMax] bytes share slabs of slabBytes; others get their own. */
  constructor(
    private readonly slabBytes: number,
    readonly carveBytesMax: number,
  ) {
    assert(carveBytesMax > ON_HEAP_BYTES_MAX && slabBytes >= carveBytesMax, 'slab carver sizes');
    this.slab = new ArrayBuffer(slabBytes);
  }

  /** Zero-filled bytes of length `n`. */
  bytes(n: number): Uint8Array {
    if (!(Number.isInteger(n) && n >= 0)) assert(false, `carve of length ${n}`);
    if (n <= ON_HEAP_BYTES_MAX || n > this.carveBytesMax) return new Uint8Array(n);
    if (this.used + n > this.slabBytes) {
      this.slab = new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    // The constructor, not subarray: no species lookup (about half the cost of a view).
    const out = new Uint8Array(this.slab, this.used, n);
    this.used += (n + ALIGN - 1) & ~(ALIGN - 1);
    return out;
  }

  /** A copy of bytes [from, to) of `bytes`. */
  copyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
    if (!(0 <= from && from <= to && to <= bytes.length)) assert(false, `copy of [${from}, ${to})`);
    const n = to - from;
    const out = this.bytes(n);
    if (from === 0 && to === bytes.length) out.set(bytes);
    else if (n <= COPY_LOOP_BYTES_MAX)
      for (let i = 0; i < n; i++) out[i] = bytes[from + i] as number;
    else out.set(bytes.subarray(from, to));
    return out;
  }
}
