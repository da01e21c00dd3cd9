/**
 * Which bucket a key lives in (pure). The hash is part of the on-disk format: index pages
 * store each key's hash, and a page holds exactly the keys whose hash falls in its bucket, so
 * it must never change for a given format version.
 *
 * Hash: 32-bit FNV-1a over the key's UTF-8 bytes, then MurmurHash3's fmix32 finaliser, so
 * that the high bits (which pick the bucket) depend on every input byte.
 *
 * Bucket: the top `bits` bits of the hash. With the top bits, growing the table from `b` to
 * `b + k` bits splits old bucket i into the contiguous new buckets [i << k, (i + 1) << k), so
 * a flush reads the old pages and writes the new ones both in one sequential pass.
 */
import { assert } from '../../runtime/assert';

/** 2^26 buckets of 12 bytes in RAM = 768 MiB: far beyond any key count one disk holds. */
export const BUCKET_BITS_MAX = 26;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function keyHash(key: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    hash ^= key[i];
    hash = Math.imul(hash, FNV_PRIME);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  const result = hash >>> 0;
  assert(result >= 0 && result <= 0xffff_ffff, () => `keyHash: ${result}`);
  return result;
}

/** The bucket of `hash` in a table of 2^bits buckets. */
export function bucketOf(hash: number, bits: number): number {
  assert(
    Number.isInteger(bits) && bits >= 0 && bits <= BUCKET_BITS_MAX,
    () => `bucketOf: bits ${bits}`,
  );
  assert(hash >>> 0 === hash, () => `bucketOf: hash ${hash} is not a u32`);
  return bits === 0 ? 0 : hash >>> (32 - bits);
}

/**
 * The table size for `keys` keys: the smallest 2^bits with at most `keysPerBucket` keys per
 * bucket on average, never below `bitsMin` (a flush only grows the table: shrinking would
 * merge buckets, which the one-pass flush does not do), never above BUCKET_BITS_MAX.
 */
export function bucketBitsFor(keys: number, keysPerBucket: number, bitsMin: number): number {
  assert(Number.isSafeInteger(keys) && keys >= 0, () => `bucketBitsFor: keys ${keys}`);
  assert(
    Number.isInteger(keysPerBucket) && keysPerBucket >= 1,
    () => `keysPerBucket ${keysPerBucket}`,
  );
  assert(bitsMin >= 0 && bitsMin <= BUCKET_BITS_MAX, () => `bucketBitsFor: bitsMin ${bitsMin}`);
  let bits = bitsMin;
  // Bounded by BUCKET_BITS_MAX rounds.
  while (bits < BUCKET_BITS_MAX && keys > keysPerBucket * 2 ** bits) bits++;
  assert(bits >= bitsMin && bits <= BUCKET_BITS_MAX, () => `bucketBitsFor: ${bits}`);
  return bits;
}
