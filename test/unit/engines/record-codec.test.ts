import test from 'ava';
import fc from 'fast-check';
import { isEngineError } from '../../../engines/errors';
import {
  openRecord,
  RECORD_FORMAT_V1,
  RECORD_HEADER_BYTES,
  sealRecord,
} from '../../../engines/record-codec';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

function corrupted(t: import('ava').ExecutionContext, record: Uint8Array): void {
  const err = t.throws(() => openRecord(record));
  t.true(isEngineError(err, 'CORRUPTED'), String(err));
}

const payloads: ReadonlyArray<[string, Uint8Array]> = [
  ['empty', bytes()],
  ['one byte', bytes(0)],
  ['header-sized', bytes(1, 2, 3, 4, 5, 6, 7, 8, 9)],
  ['all byte values', Uint8Array.from({ length: 256 }, (_, i) => i)],
  ['64 KiB', new Uint8Array(65536).fill(0xa5)],
];

for (const [name, payload] of payloads) {
  test(`seal/open round-trips: ${name}`, (t) => {
    const record = sealRecord(payload);
    t.is(record.length, RECORD_HEADER_BYTES + payload.length);
    t.is(record[0], RECORD_FORMAT_V1);
    t.deepEqual(openRecord(record), payload);
  });
}

test('header layout: format, big-endian length, big-endian checksum', (t) => {
  const record = sealRecord(bytes(0xde, 0xad));
  t.deepEqual(Array.from(record.subarray(0, 5)), [1, 0, 0, 0, 2]);
  t.deepEqual(Array.from(record.subarray(9)), [0xde, 0xad]);
});

test('sealRecord copies the payload', (t) => {
  const payload = bytes(1, 2, 3);
  const record = sealRecord(payload);
  payload[0] = 9;
  t.deepEqual(openRecord(record), bytes(1, 2, 3));
});

test('opens a record that sits at an offset inside a larger buffer', (t) => {
  const record = sealRecord(bytes(7, 8, 9));
  const big = new Uint8Array(record.length + 6);
  big.set(record, 3);
  t.deepEqual(openRecord(big.subarray(3, 3 + record.length)), bytes(7, 8, 9));
});

test('every single-bit flip at every position is detected', (t) => {
  const record = sealRecord(bytes(0x00, 0xff, 0x10, 0x42));
  let flips = 0;
  for (let index = 0; index < record.length; index++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = record.slice();
      damaged[index] ^= 1 << bit;
      corrupted(t, damaged);
      flips++;
    }
  }
  t.is(flips, record.length * 8);
});

test('every truncation is detected, including to nothing', (t) => {
  const record = sealRecord(bytes(1, 2, 3, 4, 5));
  for (let length = 0; length < record.length; length++) {
    corrupted(t, record.subarray(0, length));
  }
});

test('trailing bytes after the payload are detected', (t) => {
  const record = sealRecord(bytes(1, 2));
  const longer = new Uint8Array(record.length + 1);
  longer.set(record);
  corrupted(t, longer);
});

test('unknown format byte is detected', (t) => {
  const record = sealRecord(bytes(1));
  for (const format of [0x00, 0x02, 0xff]) {
    const damaged = record.slice();
    damaged[0] = format;
    corrupted(t, damaged);
  }
});

test('property: any payload round-trips; any byte change is detected', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 512 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (payload, position, delta) => {
        const record = sealRecord(payload);
        if (!equal(openRecord(record), payload)) return false;
        const damaged = record.slice();
        const index = position % damaged.length;
        damaged[index] = (damaged[index] + delta) & 0xff;
        try {
          openRecord(damaged);
          return false;
        } catch (err) {
          return isEngineError(err, 'CORRUPTED');
        }
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
