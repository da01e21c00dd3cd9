import test from 'ava';
import { crc32, crc32Combine, crc32Range, crc32Shift } from '../../../engines/crc32';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const vectors: ReadonlyArray<[string, number]> = [
  ['', 0x0000_0000],
  ['a', 0xe8b7_be43],
  ['123456789', 0xcbf4_3926], // the standard CRC-32 check value
  ['The quick brown fox jumps over the lazy dog', 0x414f_a339],
];

for (const [input, expected] of vectors) {
  test(`crc32(${JSON.stringify(input)}) = ${expected.toString(16)}`, (t) => {
    t.is(crc32(ascii(input)), expected);
  });
}

test('a seed continues the checksum across chunks', (t) => {
  const whole = ascii('123456789');
  for (let split = 0; split <= whole.length; split++) {
    t.is(crc32(whole.subarray(split), crc32(whole.subarray(0, split))), 0xcbf4_3926);
  }
});

test('respects the view offset of a subarray', (t) => {
  const padded = ascii('xx123456789yy');
  t.is(crc32(padded.subarray(2, 11)), 0xcbf4_3926);
});

test('crc32Range equals crc32 of the subarray, table and native lengths, any seed', (t) => {
  // Past the table's bound (128) too, and every start modulo 8 (the eight-byte steps).
  const bytes = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11 + (i >>> 3)) & 0xff);
  for (const seed of [0, 1, 0xcbf4_3926, 0xffff_ffff]) {
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end++) {
        t.is(crc32Range(bytes, start, end, seed), crc32(bytes.subarray(start, end), seed));
      }
    }
  }
  t.is(crc32Range(ascii('xx123456789yy'), 2, 11), 0xcbf4_3926);
});

test('crc32Combine: crc(A ‖ B) from crc(A), crc(B) and |B|, any split and length', (t) => {
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 131 + (i >>> 7)) & 0xff);
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 100, 333, 4096, 65_535, 65_536, 69_990];
  for (const a of [0, 1, 5, 9, 10]) {
    for (const b of lengths) {
      const whole = bytes.subarray(0, a + b);
      const left = crc32(whole.subarray(0, a));
      const right = crc32(whole.subarray(a));
      t.is(crc32Combine(left, right, b), crc32(whole), `${a} + ${b}`);
    }
  }
  // Cached and uncached lengths agree on a second call.
  t.is(crc32Shift(0x1234_5678, 333), crc32Shift(0x1234_5678, 333));
  t.is(crc32Shift(0xffff_ffff, 0), 0xffff_ffff);
});
