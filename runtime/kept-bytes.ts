/**
 * The bytes a key keeps (its data state, a decoded record's fields), carved from small slabs
 * (issue 10, decision "Kept bytes from small slabs"; the mechanism: slab-carver.ts).
 *
 * A 100-byte value used to get an ArrayBuffer of its own per replica per write: ~1 us of
 * process CPU each, most of it in the collector's threads. A view into a 4 KiB slab costs
 * ~0.1 us, and the slab's own cost is shared by at least 8 carves.
 *
 * What it costs is retention, and the sizes bound it:
 * - A live view keeps its whole slab: at worst 4 KiB per view kept (every other carve of its
 *   slab dead). Views are kept by keys in the core's key cache (cachedKeysMax per replica;
 *   evicted keys are encoded or written, so their views go) and by values in flight.
 * - Under random overwrites a slab stays until its last carve is replaced; measured, the RSS
 *   was still lower than with a buffer per value (decision). Keys written once fill slabs
 *   densely.
 * - Only carves of (64, 512] bytes share slabs: smaller ones live on the JS heap, bigger ones
 *   get their own buffer, as before.
 *
 * Per thread (module state): every worker and the embedding thread have their own slab.
 */
import { SlabCarver } from './slab-carver';

/** V8's in-heap typed array limit, for callers that choose between a copy and a view. */
export { ON_HEAP_BYTES_MAX } from './slab-carver';

export const KEPT_SLAB_BYTES = 4096;
/** Bigger requests get their own buffer: a slab holds at least 8 of the largest carve. */
export const KEPT_CARVE_BYTES_MAX = 512;
const kept = new SlabCarver(KEPT_SLAB_BYTES, KEPT_CARVE_BYTES_MAX);

/** Zero-filled bytes of length `n` that a key may keep (see the rules above). */
export function keptBytes(n: number): Uint8Array {
  return kept.bytes(n);
}

/** A copy of bytes [from, to) of `bytes` that a key may keep. */
export function keptCopyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return kept.copyOf(bytes, from, to);
}
