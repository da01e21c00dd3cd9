/**
 * CRC-32 (IEEE 802.3 polynomial, the one zlib and gzip use) over bytes.
 *
 * We use node's native `zlib.crc32` (node >= 20.15) rather than a table in JavaScript: it is
 * several times faster and needs no code of ours to get right. CRC-32C would be marginally
 * better at error detection, but node has no native implementation of it, and any CRC-32
 * detects every single-bit and every burst error up to 32 bits, which is what we rely on.
 */
import * as zlib from 'node:zlib';
import { assert } from '../runtime/assert';

assert(typeof zlib.crc32 === 'function', 'zlib.crc32 is missing: node >= 20.15 is required');

/** CRC-32 of `data`. Pass a previous result as `seed` to continue a checksum across chunks. */
export function crc32(data: Uint8Array, seed: number = 0): number {
  assert(Number.isInteger(seed) && seed >= 0 && seed <= 0xffff_ffff, `crc32 seed ${seed}`);
  const sum = zlib.crc32(data, seed);
  assert(Number.isInteger(sum) && sum >= 0 && sum <= 0xffff_ffff, `crc32 result ${sum}`);
  return sum;
}
