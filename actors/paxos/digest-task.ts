/**
 * The digest scan's hashing, as an offload task (runtime/offload-pool.ts loads this file by
 * path in the pool's thread) and as a plain function for the actor's own thread. Imports
 * node:crypto only, so the pool's thread loads nothing else.
 *
 * Input: one slice of packed hash inputs (`digest-slices.ts`): key `i`'s bytes are
 * `bytes[ends[i-1] .. ends[i])`. Output: the first 8 bytes (big-endian) of each one's SHA-256,
 * the same number `keyDigest` computes with three `update`s (hashing is over the concatenation).
 */
import { createHash } from 'node:crypto';

export interface DigestSliceInput {
  readonly bytes: ArrayBuffer;
  readonly ends: Uint32Array;
}

export default function hashDigestSlice(input: DigestSliceInput): BigUint64Array {
  const { bytes, ends } = input;
  const view = new Uint8Array(bytes);
  const digests = new BigUint64Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] ?? 0;
    if (!(end >= start && end <= view.length)) throw new RangeError(`digest slice: bad end ${end} at ${i}`);
    const hash = createHash('sha256').update(view.subarray(start, end)).digest();
    digests[i] = hash.readBigUInt64BE(0);
    start = end;
  }
  return digests;
}
