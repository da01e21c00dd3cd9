/**
 * The digest scan's hashing, as an offload task (runtime/offload-pool.ts loads this file by
 * path in the pool's thread) and as a plain function for the actor's own thread. Imports
 * node:* only, so the pool's thread loads nothing else.
 *
 * Input: one slice of packed hash inputs (`digest-slices.ts`): key `i`'s input is
 * `bytes[ends[i-1] .. ends[i])` and begins with its `keyBytes[i]` UTF-8 key bytes. Output per
 * key: the first 8 bytes (big-endian) of the input's SHA-256 as two 32-bit words (high, low:
 * digest-words.ts), the number `keyDigest` computes with three `update`s (a hash is over the
 * concatenation), and its bucket, CRC-32 of the key
 * bytes mod `buckets`, as `bucketOf` computes it.
 */
import { hash } from 'node:crypto';
import * as zlib from 'node:zlib';

export interface DigestSliceInput {
  readonly bytes: ArrayBuffer;
  readonly ends: Uint32Array;
  readonly keyBytes: Uint32Array;
  readonly buckets: number;
}

export interface DigestSliceOutput {
  /** Two words per key: the digest's high and low 32 bits. */
  readonly words: Uint32Array;
  readonly buckets: Uint16Array;
}

export default function hashDigestSlice(input: DigestSliceInput): DigestSliceOutput {
  const { bytes, ends, keyBytes } = input;
  const view = new Uint8Array(bytes);
  const words = new Uint32Array(ends.length * 2);
  const buckets = new Uint16Array(ends.length);
  if (!(keyBytes.length === ends.length && input.buckets >= 1 && input.buckets <= 0xffff)) {
    throw new RangeError(
      `digest slice: ${keyBytes.length} keys, ${ends.length} ends, ${input.buckets} buckets`,
    );
  }
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] ?? 0;
    const keyEnd = start + (keyBytes[i] ?? 0);
    if (!(end >= keyEnd && keyEnd >= start && end <= view.length))
      throw new RangeError(`digest slice: bad end ${end} at ${i}`);
    const d = hash('sha256', view.subarray(start, end), 'buffer');
    words[2 * i] = d.readUInt32BE(0);
    words[2 * i + 1] = d.readUInt32BE(4);
    buckets[i] = zlib.crc32(view.subarray(start, keyEnd)) % input.buckets;
    start = end;
  }
  return { words, buckets };
}
