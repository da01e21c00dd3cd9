/**
 * CRC-32 (IEEE 802.3 polynomial, the one zlib and gzip use) over bytes.
 *
 * We use node's native `zlib.crc32` (node >= 20.15) rather than a table in JavaScript: it is
 * several times faster and needs no code of ours to get right. CRC-32C would be marginally
 * better at error detection, but node has no native implementation of it, and any CRC-32
 * detects every single-bit and every burst error up to 32 bits, which is what we rely on.
 *
 * The one exception is a few header bytes (`crc32Range`): there the native call and the
 * subarray it needs cost more than a table lookup per byte (the record and frame headers are
 * 5 and 16 bytes, sealed once per record on the write path; issue 10, disk engines).
 */
import * as zlib from 'node:zlib';
import { assert } from '../runtime/assert';

assert(typeof zlib.crc32 === 'function', 'zlib.crc32 is missing: node >= 20.15 is required');

/** Ranges longer than this go to zlib even through `crc32Range`. */
const TABLE_BYTES_MAX = 32;

/** The byte-at-a-time table of the reflected polynomial 0xEDB88320 (zlib's). */
const TABLE = ((): Int32Array => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 of `data`. Pass a previous result as `seed` to continue a checksum across chunks. */
export function crc32(data: Uint8Array, seed: number = 0): number {
  // Guards, not closures: this runs two or three times for every record written or read.
  if (seed >>> 0 !== seed) assert(false, `crc32 seed ${seed}`);
  const sum = zlib.crc32(data, seed);
  if (sum >>> 0 !== sum) assert(false, `crc32 result ${sum}`);
  return sum;
}

/**
 * CRC-32 of `data[start, end)`, equal to `crc32(data.subarray(start, end), seed)`, without the
 * subarray: a table loop for short ranges, zlib for longer ones.
 */
export function crc32Range(data: Uint8Array, start: number, end: number, seed: number = 0): number {
  if (!(start >= 0 && start <= end && end <= data.length))
    assert(false, `crc32Range ${start}..${end}`);
  if (end - start > TABLE_BYTES_MAX) return crc32(data.subarray(start, end), seed);
  if (seed >>> 0 !== seed) assert(false, `crc32Range seed ${seed}`);
  let c = ~seed;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
