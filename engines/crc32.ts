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
 * 5 and 16 bytes, sealed once per record on the write path; bitcask's entry fields and key
 * before a sealed value, ~35-45 bytes; issue 10, disk engines).
 */
import * as zlib from 'node:zlib';
import { assert } from '../runtime/assert';

assert(typeof zlib.crc32 === 'function', 'zlib.crc32 is missing: node >= 20.15 is required');

/**
 * Ranges longer than this go to zlib even through `crc32Range`. Measured here (node 20, ns per
 * call; twelfth session): the table loop eight bytes a step (below) 19 / 33 / 50 / 74 for 16 /
 * 40 / 64 / 96 bytes, byte by byte 31 / 84 / 133 / 206, zlib with its subarray 88 / 136 / 176 /
 * 172; past ~128 bytes zlib's per-byte speed wins.
 */
const TABLE_BYTES_MAX = 128;

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

/**
 * Eight tables back to back ("slicing by 8"): table k holds the CRC of a byte followed by k zero
 * bytes, so eight bytes fold into the CRC with eight independent lookups per step instead of a
 * chain of eight dependent ones. Table 0 is TABLE.
 */
const TABLES_8 = ((): Int32Array => {
  const tables = new Int32Array(8 * 256);
  tables.set(TABLE);
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(k - 1) * 256 + n];
      tables[k * 256 + n] = TABLE[previous & 0xff] ^ (previous >>> 8);
    }
  }
  return tables;
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
  const t = TABLES_8;
  let c = ~seed;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** The reflected polynomial (zlib's `POLY`), as an int32 (no heap number in the loops). */
const POLY = 0xedb8_8320 | 0;
/** x^0 in the reflected representation (zlib's `multmodp` identity), as an int32. */
const X_TO_THE_0 = 0x8000_0000 | 0;

/**
 * a × b modulo the polynomial, both reflected (zlib's `multmodp`), in int32 arithmetic (a uint32
 * above 2^31 would be a heap number in every step) and without branches on the bits of `a`
 * (random bits mispredict: 7× slower). Returns an int32 (`>>> 0` for the CRC).
 */
function multiplyModPoly(a: number, b: number): number {
  let p = 0;
  let bb = b | 0;
  for (let bit = 31; bit >= 0; bit--) {
    p ^= bb & -((a >>> bit) & 1);
    bb = (bb >>> 1) ^ (POLY & -(bb & 1));
  }
  return p;
}

/** x^(2^k) modulo the polynomial for k = 0..31 (zlib's `x2n_table`). */
const X_TO_THE_2_TO_THE = ((): Int32Array => {
  const table = new Int32Array(32);
  let p = 0x4000_0000; // x^1
  table[0] = p;
  for (let k = 1; k < 32; k++) table[k] = p = multiplyModPoly(p, p);
  return table;
})();

/** x^(8n) modulo the polynomial (zlib's `x2nmodp(n, 3)`), as an int32. */
function xToThe8n(n: number): number {
  let p = X_TO_THE_0;
  let k = 3;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2), k++) {
    if (rest % 2 === 1) p = multiplyModPoly(X_TO_THE_2_TO_THE[k & 31] as number, p);
  }
  return p;
}

/** Lengths whose x^(8n) is kept once computed (a record's payload: almost always below). */
const SHIFT_CACHED_BYTES = 1 << 16;
/** x^(8n) by n, 0 where not computed yet (no power of x is 0 modulo the polynomial). */
const shiftCache = new Int32Array(SHIFT_CACHED_BYTES);

/**
 * The CRC-32 of A‖B from crc(A), crc(B) and B's length (zlib's `crc32_combine`): lets a
 * checksum over bytes that end with a sealed record be derived from the record's own checksum
 * instead of a second pass over its bytes (bitcask's entry records, issue 10).
 */
export function crc32Combine(crcA: number, crcB: number, bytesB: number): number {
  if (!(crcA >>> 0 === crcA && crcB >>> 0 === crcB && Number.isSafeInteger(bytesB) && bytesB >= 0))
    assert(false, `crc32Combine ${crcA}, ${crcB}, ${bytesB}`);
  return (crc32Shift(crcA, bytesB) ^ crcB) >>> 0;
}

/**
 * crc × x^(8n) modulo the polynomial: what a CRC state becomes over n more bytes, less what
 * those bytes add (linear in the state; used by crc32Combine and its callers).
 */
export function crc32Shift(crc: number, n: number): number {
  if (n === 0) return crc >>> 0;
  let power: number;
  if (n < SHIFT_CACHED_BYTES) {
    power = shiftCache[n] as number;
    if (power === 0) shiftCache[n] = power = xToThe8n(n);
  } else {
    power = xToThe8n(n);
  }
  return multiplyModPoly(power, crc) >>> 0;
}
