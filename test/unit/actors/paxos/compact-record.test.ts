/**
 * The memory engine's compact form of a settled key (actors/paxos/compact-record.ts, decision
 * 27): a record goes in and the same record comes out, field for field, whatever it holds; and
 * the form is smaller than the sealed disk record it replaces in memory.
 */
import test from 'ava';
import { decodeCompactRecord, encodeCompactRecord } from '../../../../actors/paxos/compact-record';
import { encodeSealedRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** A key written once with a 100-byte value (the bench's settled key). */
function writtenOnce(): KeyRecord {
  return {
    ...emptyRecord(),
    chosen: 1,
    chosenOrigin: 2,
    chosenSeq: 2 ** 40 + 17,
    data: new Uint8Array(100).fill(7),
    version: 1,
    recent: [{ instance: 1, origin: 2, seq: 2 ** 40 + 17, result: bytes(1, 0) }],
  };
}

const TABLE: ReadonlyArray<[string, KeyRecord]> = [
  ['empty', emptyRecord()],
  ['written once', writtenOnce()],
  [
    'promised, accepted, largest safe numbers',
    {
      ...writtenOnce(),
      promised: Number.MAX_SAFE_INTEGER,
      acceptedBallot: 2 ** 50 + 3,
      accepted: { origin: 29, seq: Number.MAX_SAFE_INTEGER, op: bytes(9, 8, 7) },
    },
  ],
  [
    'no-op accepted, empty data',
    {
      ...writtenOnce(),
      data: new Uint8Array(0),
      promised: 5,
      acceptedBallot: 5,
      accepted: { origin: 0, seq: 0, op: new Uint8Array(0) },
    },
  ],
  [
    'request window with non-ASCII ids',
    {
      ...writtenOnce(),
      requests: [
        { id: 'req-1', result: bytes(1) },
        { id: 'zähler-☃-𝄞', result: new Uint8Array(300).fill(200) },
      ],
    },
  ],
  [
    'a full recent window',
    {
      ...writtenOnce(),
      chosen: 16,
      recent: Array.from({ length: 16 }, (_, i) => ({
        instance: i + 1,
        origin: i % 3,
        seq: 1000 + i,
        result: bytes(i),
      })),
    },
  ],
  // Not produced by the core today; kept exactly through the sealed fallback all the same.
  ['a number no varint holds (fallback form)', { ...writtenOnce(), version: -3, chosenSeq: 0.5 }],
];

for (const [name, rec] of TABLE) {
  test(`compact record round trip: ${name}`, (t) => {
    const bytes = encodeCompactRecord(rec).slice();
    // The encoder's scratch is reused: an encode in between must not change a copy's meaning.
    encodeCompactRecord(emptyRecord());
    const back = decodeCompactRecord(bytes);
    t.deepEqual(back, rec);
    if (back.data !== null && rec.data !== null && rec.data.length > 0) {
      t.not(back.data.buffer, rec.data.buffer, 'the data is a copy, not shared');
    }
  });
}

test('the compact form of a key written once is far smaller than its sealed record', (t) => {
  const rec = writtenOnce();
  const compact = encodeCompactRecord(rec).length;
  const sealed = encodeSealedRecord(rec).length;
  // value 100 bytes: the compact form spends ~30 bytes on the rest, the sealed one ~90.
  t.true(compact <= 100 + 35, `compact ${compact} bytes`);
  t.true(sealed - compact >= 50, `sealed ${sealed} vs compact ${compact}`);
});

test('a damaged compact record is refused, not misread', (t) => {
  const bytes = encodeCompactRecord(writtenOnce()).slice();
  t.throws(() => decodeCompactRecord(bytes.slice(0, bytes.length - 3)));
  t.throws(() => decodeCompactRecord(Uint8Array.from([...bytes, 1])));
  t.throws(() => decodeCompactRecord(Uint8Array.from([7, ...bytes.slice(1)])));
});
