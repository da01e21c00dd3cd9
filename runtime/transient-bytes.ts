/**
 * Short-lived byte buffers carved from shared slabs (issue 10, decision "Short-lived bytes
 * from a slab"; the mechanism and its costs: slab-carver.ts).
 *
 * Only bytes that die within a turn or a batch come from here (a payload's copy until it is
 * decoded, a record until its engine has written it, a read's answer until it is encoded): a
 * view kept for long keeps its whole 64 KiB slab alive. The small data states keys keep come
 * from kept-bytes.ts, whose slabs are small.
 *
 * Per thread (module state): every worker and the embedding thread have their own slab.
 */
import { SlabCarver } from './slab-carver';

/** Bigger requests get their own buffer: a slab holds at least 4 of the largest carve. */
export const TRANSIENT_CARVE_BYTES_MAX = 16 * 1024;
const transient = new SlabCarver(64 * 1024, TRANSIENT_CARVE_BYTES_MAX);

/** Zero-filled bytes of length `n` that the caller drops soon (see the rules above). */
export function transientBytes(n: number): Uint8Array {
  return transient.bytes(n);
}

/** A short-lived copy of `bytes` (see transientBytes). */
export function transientCopy(bytes: Uint8Array): Uint8Array {
  return transient.copyOf(bytes, 0, bytes.length);
}

/** A short-lived copy of bytes [from, to) of `bytes`. */
export function transientCopyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return transient.copyOf(bytes, from, to);
}
