/**
 * The memory engine's compact form of a settled key (actors/paxos/compact-record.ts, decision
 * 27): a record goes in and the same record comes out, field for field, whatever it holds; and
 * the form is smaller than the sealed disk record it replaces in memory.
 */
import test from 'ava';
import {
  decodeCompactRecord,
  encodeCompactRecord,
  readDigestFields,
  sealedFromCompact,
} from '../../../../actors/paxos/compact-record';
import type { DigestFieldsOut } from '../../../../actors/paxos/record-port';
import { encodeRecord, encodeSealedRecord } from '../../../../actors/paxos/codec';
import { RECORD_HEADER_BYTES } from '../../../../engines/record-codec';
import { applyChosen, emptyRecord, snapshotRecord } from '../../../../actors/paxos/core/key-record';
import { encodeKvOp, kvStateMachine } from '../../../../models/kv/kv';
import { Prng } from '../../../../runtime/sim/prng';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { windowLength, windowOf } from '../../../../actors/paxos/core/recent-window';

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
    ...windowOf([{ instance: 1, origin: 2, seq: 2 ** 40 + 17, result: bytes(1, 0) }]),
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
      ...windowOf(
        Array.from({ length: 16 }, (_, i) => ({
          instance: i + 1,
          origin: i % 3,
          seq: 1000 + i,
          result: bytes(i),
        })),
      ),
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

test('the compact form of a key written once is far smaller than a sealed plain record', (t) => {
  const rec = writtenOnce();
  const compact = encodeCompactRecord(rec).length;
  // Layout 2 (codec.ts) in its checksum envelope: what the memory engine kept before.
  const sealed = RECORD_HEADER_BYTES + encodeRecord(rec).length;
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

/**
 * A key written 20 times through the kv model (the recent window full of real 17-byte write
 * results), seqs from two origins as a live group numbers them (incarnation × 2^32 + count).
 */
function writtenTwentyTimes(): KeyRecord {
  const rec = emptyRecord();
  for (let i = 0; i < 20; i++) {
    const op = encodeKvOp({ type: 'put', value: new Uint8Array(100).fill(i) });
    applyChosen(rec, { origin: i % 2, seq: 2 ** 32 + 1000 * i + 7 * (i % 2), op }, kvStateMachine);
  }
  return rec;
}

test('a key written 16+ times: its full recent window costs a fraction of the plain layout', (t) => {
  const rec = writtenTwentyTimes();
  t.is(windowLength(rec), 16);
  const bytes = encodeCompactRecord(rec).slice();
  // A full window is a ring: the decoded record holds the same entries unrolled.
  t.deepEqual(decodeCompactRecord(bytes), snapshotRecord(rec));
  // The plain layout spent ~29 bytes per entry (instance, origin, 8-byte seq, 17-byte result):
  // ~465 for the window. Gaps, seq differences and result differences: ~6–8 per entry.
  const beyondValue = bytes.length - 100;
  t.true(beyondValue <= 140, `compact record of ${bytes.length} bytes`);
});

/** A random record the core could hold, or one it could not (the layout is exact for both). */
function randomRecord(prng: Prng): KeyRecord {
  const n = prng.int(18);
  const chosen = n + prng.int(3) * 1_000_000;
  const seqBase = prng.chance(0.1) ? Number.MAX_SAFE_INTEGER - 100 : 2 ** 32 * (1 + prng.int(4));
  const randomBytes = (max: number): Uint8Array =>
    Uint8Array.from({ length: prng.int(max + 1) }, () => prng.int(256));
  const recent = Array.from({ length: n }, (_, i) => ({
    instance: chosen - n + 1 + i - (prng.chance(0.05) ? 1 : 0),
    origin: prng.int(5),
    seq: seqBase + prng.int(100_000),
    result: prng.chance(0.5) ? Uint8Array.of(0, 1, 2, 3, prng.int(256), 5, 6) : randomBytes(20),
  }));
  const last = recent[recent.length - 1];
  const useLast = last !== undefined && last.instance === chosen && prng.chance(0.8);
  return {
    chosen,
    chosenOrigin: useLast ? last.origin : chosen === 0 ? -1 : prng.int(5),
    chosenSeq: useLast ? last.seq : prng.int(2 ** 30) * 2 ** 10,
    data: prng.chance(0.2) ? null : randomBytes(50),
    version: prng.int(1000),
    promised: prng.int(2 ** 30) * 2 ** 15,
    acceptedBallot: 0,
    accepted: null,
    ...windowOf(recent),
    requests: Array.from({ length: prng.int(4) }, (_, i) => ({
      id: `req-${i}-${prng.int(1000)}`,
      result: prng.chance(0.5) ? Uint8Array.of(9, 9, i) : randomBytes(10),
    })),
  };
}

test('compact record round trip: 2,000 random records, exact whatever they hold', (t) => {
  const prng = new Prng(42);
  for (let i = 0; i < 2000; i++) {
    const rec = randomRecord(prng);
    if (prng.chance(0.3)) {
      rec.acceptedBallot = rec.promised;
      rec.accepted = {
        origin: prng.int(5),
        seq: prng.int(2 ** 30) * 2 ** 20,
        op: Uint8Array.of(i & 0xff),
      };
    }
    const bytes = encodeCompactRecord(rec).slice();
    const back = decodeCompactRecord(bytes);
    if (JSON.stringify(back, replacer) !== JSON.stringify(rec, replacer)) {
      t.fail(`record ${i} differs: ${JSON.stringify(rec, replacer)}`);
      return;
    }
  }
  t.pass();
});

/** A digest-fields output, filled by readDigestFields. */
function digestOut(): DigestFieldsOut {
  return { chosen: -1, chosenOrigin: -1, chosenSeq: -1, version: -1, data: null };
}

test('the digest fields read in place are those of the decoded record, for 2,000 random records', (t) => {
  const prng = new Prng(7);
  const out = digestOut();
  let compact = 0;
  for (let i = 0; i < 2000; i++) {
    const rec = randomRecord(prng);
    if (prng.chance(0.3)) {
      rec.acceptedBallot = rec.promised;
      rec.accepted = { origin: prng.int(5), seq: prng.int(2 ** 20), op: Uint8Array.of(i & 0xff) };
    }
    const bytes = encodeCompactRecord(rec).slice();
    const whole = decodeCompactRecord(bytes);
    // A record kept in the sealed layout is read whole by the caller (false here).
    if (!readDigestFields(bytes, out)) continue;
    compact += 1;
    const got = [out.chosen, out.chosenOrigin, out.chosenSeq, out.version];
    const want = [whole.chosen, whole.chosenOrigin, whole.chosenSeq, whole.version];
    const data = out.data === null ? null : [...out.data];
    if (JSON.stringify([got, data]) !== JSON.stringify([want, whole.data && [...whole.data]])) {
      t.fail(`record ${i}: ${JSON.stringify([got, data])} vs ${JSON.stringify(want)}`);
      return;
    }
  }
  t.true(compact > 1000, `${compact} records in the compact layout`);
});

function replacer(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? [...v] : v;
}

/**
 * Windows whose results differ from the previous one in a few scattered bytes (as a kv put's
 * result carries its version twice), of every length up to past the runs' bound: written as
 * runs or spans (layout 4, compact-layout.ts), every one comes back exact, and the digest
 * reader walks them to the same fields.
 */
test('results that differ in scattered bytes: exact round trip, runs or spans, 3,000 records', (t) => {
  const prng = new Prng(99);
  const out = digestOut();
  let runsSmaller = 0;
  for (let i = 0; i < 3000; i++) {
    const n = prng.int(130);
    let previous = Uint8Array.from({ length: n }, () => prng.int(256));
    const recent = [];
    const entries = 1 + prng.int(16);
    for (let e = 0; e < entries; e++) {
      const result = previous.slice();
      for (let k = prng.int(5); k > 0 && n > 0; k--) result[prng.int(n)] = prng.int(256);
      recent.push({ instance: 100 + e, origin: e % 3, seq: 5000 + e, result });
      previous = result;
    }
    const last = recent[recent.length - 1];
    if (last === undefined) return t.fail('no entries');
    const rec: KeyRecord = {
      ...emptyRecord(),
      chosen: last.instance,
      chosenOrigin: last.origin,
      chosenSeq: last.seq,
      data: bytes(1, 2),
      version: 3,
      ...windowOf(recent),
    };
    const encoded = encodeCompactRecord(rec).slice();
    const back = decodeCompactRecord(encoded);
    if (JSON.stringify(back, replacer) !== JSON.stringify(rec, replacer))
      return t.fail(`record ${i} differs`);
    if (!readDigestFields(encoded, out) || out.chosenSeq !== rec.chosenSeq)
      return t.fail(`record ${i}: digest fields ${JSON.stringify(out.chosenSeq)}`);
    if (encoded.length < 1 + encodeRecord(rec).length / 2) runsSmaller += 1;
  }
  t.true(runsSmaller > 0, `${runsSmaller} records well under the plain layout`);
});

// A kept record's load (kept-record-port.ts) seals the compact bytes without decoding them: the
// very bytes encodeSealedRecord makes of the record, for records of either compact format.
test('sealedFromCompact is encodeSealedRecord of the record, byte for byte, 2,000 records', (t) => {
  const prng = new Prng(5);
  for (let i = 0; i < 2000; i++) {
    const rec = randomRecord(prng);
    const want = encodeSealedRecord(rec).slice();
    const got = sealedFromCompact(encodeCompactRecord(rec).slice());
    if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0)
      return t.fail(`record ${i}: ${got.length} bytes against ${want.length}`);
  }
  t.pass();
});
