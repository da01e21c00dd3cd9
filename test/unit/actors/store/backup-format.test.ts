/**
 * Backup frames (actors/store/backup-format.ts): a round trip, and a payload cut or changed
 * anywhere decodes to undefined (or to a well-formed key), never throws: backup files are input.
 */
import test from 'ava';
import { dataFileName, decodePayload, encodeFrame } from '../../../../actors/store/backup-format';
import { crc32 } from '../../../../engines/crc32';

const KEY = { key: 'ns\u0001k\u{1F600}', chosen: 7, version: 3, data: Uint8Array.of(1, 2, 3) };

test('a frame round-trips, with and without data, and carries its CRC', (t) => {
  for (const k of [KEY, { ...KEY, data: null }]) {
    const frame = encodeFrame(k);
    t.is(frame.readUInt32BE(0), frame.length - 8);
    t.is(frame.readUInt32BE(4), crc32(frame.subarray(8)));
    t.deepEqual(decodePayload(frame.subarray(8)), k);
  }
});

test('a cut or damaged payload never throws', (t) => {
  const payload = encodeFrame(KEY).subarray(8);
  for (let n = 0; n < payload.length; n++)
    t.is(decodePayload(Buffer.from(payload.subarray(0, n))), undefined, `cut at ${n}`);
  for (let i = 0; i < payload.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Buffer.from(payload);
      bad[i] = (bad[i] ?? 0) ^ bit;
      t.notThrows(() => decodePayload(bad));
    }
  }
  t.is(decodePayload(Buffer.concat([payload, Buffer.of(0)])), undefined, 'trailing byte');
});

test('data file names sort by group, then part', (t) => {
  t.is(dataFileName(3, 12), 'group-0003.0012.data');
  t.true(dataFileName(1, 2) < dataFileName(2, 1));
});
