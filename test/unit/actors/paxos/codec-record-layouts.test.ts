/**
 * The persisted key record's layouts (actors/paxos/codec.ts; decision "Persisted records in
 * the compact layout", "The durable write path: result runs"): records are written in layout 4
 * (compact-layout.ts) when they fit, and every field comes back exactly; records written by
 * earlier versions (layouts 1, 2 and 3, fixed byte vectors below) still load; a damaged
 * compact record is refused as CORRUPTED, never a crash, a hang or another error.
 */
import test from 'ava';
import {
  decodeRecord,
  encodeRecord,
  encodeSealedRecord,
  readMessage,
  writeMessage,
  blankMessage,
} from '../../../../actors/paxos/codec';
import {
  applyChosen,
  emptyRecord,
  RECENT_WINDOW,
  snapshotRecord,
} from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { isEngineError } from '../../../../engines/errors';
import { openRecord, RECORD_HEADER_BYTES, sealRecord } from '../../../../engines/record-codec';
import { encodeKvOp, kvStateMachine } from '../../../../models/kv/kv';
import { ByteReader, ByteWriter } from '../../../../runtime/byte-codec';
import { Prng } from '../../../../runtime/sim/prng';
import { windowLength, windowOf } from '../../../../actors/paxos/core/recent-window';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const NEAR_2_53 = Number.MAX_SAFE_INTEGER;

/** Sealed, then opened and decoded as a load does (paxos-actor.ts decodeLoaded). */
function storedRoundTrip(rec: KeyRecord): { layout: number; back: KeyRecord; sealed: number } {
  const sealed = encodeSealedRecord(rec).slice();
  const payload = openRecord(sealed);
  return { layout: payload[0] ?? -1, back: decodeRecord(payload), sealed: sealed.length };
}

function base(): KeyRecord {
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

/** 16 entries, seqs near 2^53 from two origins, results of 0, 17 and 100 bytes. */
function fullWindow(): KeyRecord {
  const recent = Array.from({ length: RECENT_WINDOW }, (_, i) => ({
    instance: 1000 + i,
    origin: i % 2,
    seq: NEAR_2_53 - 40 + i * 2 - (i % 2),
    result: i % 3 === 0 ? new Uint8Array(0) : new Uint8Array(i % 3 === 1 ? 17 : 100).fill(i),
  }));
  const last = recent[recent.length - 1];
  if (last === undefined) throw new Error('no entries');
  return {
    ...base(),
    chosen: last.instance,
    chosenOrigin: last.origin,
    chosenSeq: last.seq,
    ...windowOf(recent),
  };
}

const TABLE: ReadonlyArray<[string, KeyRecord]> = [
  ['empty record (empty window, no data)', emptyRecord()],
  ['written once', base()],
  ['a full window: 16 entries, seqs near 2^53, results of 0 and > 64 bytes', fullWindow()],
  [
    'chosen id not the newest entry, a gap in the window',
    {
      ...fullWindow(),
      chosen: 2000,
      chosenOrigin: 4,
      chosenSeq: NEAR_2_53,
      ...windowOf([
        { instance: 10, origin: 0, seq: NEAR_2_53 - 2 ** 50, result: new Uint8Array(0) },
        { instance: 1999, origin: 3, seq: NEAR_2_53, result: new Uint8Array(65).fill(3) },
      ]),
    },
  ],
  [
    'promised and accepted at the largest safe numbers, empty data',
    {
      ...base(),
      data: new Uint8Array(0),
      promised: NEAR_2_53,
      acceptedBallot: NEAR_2_53 - 1,
      accepted: { origin: 29, seq: NEAR_2_53, op: new Uint8Array(300).fill(1) },
    },
  ],
  [
    'a request window of 128 entries, non-ASCII ids, empty and long results',
    {
      ...base(),
      requests: Array.from({ length: 128 }, (_, i) => ({
        id: i % 7 === 0 ? `zähler-☃-𝄞-${i}` : `req-${i}`,
        result: i % 5 === 0 ? new Uint8Array(0) : new Uint8Array(i % 2 === 0 ? 3 : 90).fill(i),
      })),
    },
  ],
];

for (const [name, rec] of TABLE) {
  test(`persisted record round trip in layout 4: ${name}`, (t) => {
    const { layout, back } = storedRoundTrip(rec);
    t.is(layout, 4);
    t.deepEqual(back, rec);
  });
}

test('a record the compact layout cannot hold is persisted in layout 2, exactly', (t) => {
  const rec = { ...base(), version: -3, chosenSeq: 0.5 };
  const { layout, back } = storedRoundTrip(rec);
  t.is(layout, 2);
  t.deepEqual(back, rec);
});

test('a record with a MiB of data is persisted in layout 2 (a writer of its own)', (t) => {
  const rec = { ...base(), data: new Uint8Array(1 << 20).fill(5) };
  const { layout, back } = storedRoundTrip(rec);
  t.is(layout, 2);
  t.deepEqual(back, rec);
});

/** A key written 20 times through the kv model: its window full of real put results. */
function kvWrittenTwentyTimes(): KeyRecord {
  const rec = emptyRecord();
  for (let i = 0; i < 20; i++) {
    const op = encodeKvOp({ type: 'put', value: new Uint8Array(100).fill(i) });
    applyChosen(rec, { origin: 1, seq: 3 * 2 ** 32 + i, op }, kvStateMachine);
  }
  return rec;
}

test('a kv key with a full window: layout 4 is under half the bytes of layout 2', (t) => {
  const rec = kvWrittenTwentyTimes();
  t.is(windowLength(rec), RECENT_WINDOW);
  const { layout, back, sealed } = storedRoundTrip(rec);
  t.is(layout, 4);
  // A full window is a ring: the decoded record holds the same entries unrolled.
  t.deepEqual(back, snapshotRecord(rec));
  const plain = RECORD_HEADER_BYTES + encodeRecord(rec).length;
  t.true(sealed * 2 < plain, `layout 4: ${sealed} bytes, layout 2: ${plain}`);
});

/** A put's result as the store's registry tags it: status, the version, 0, the version again. */
function putResult(version: number): Uint8Array {
  const r = new Uint8Array(25);
  const view = new DataView(r.buffer);
  view.setFloat64(1, version, false);
  view.setFloat64(17, version, false);
  return r;
}

/** The record of the fixed layout-3 bytes below: results that differ in two places, requests. */
function layout3VectorRecord(): KeyRecord {
  const recent = [0, 1, 2, 3].map((i) => ({
    instance: 40 + i,
    origin: i % 3,
    seq: 9000 + i * 5,
    result: putResult(30 + i),
  }));
  recent.push({ instance: 45, origin: 2, seq: 8990, result: bytes(9, 8, 7) });
  return {
    chosen: 45,
    chosenOrigin: 2,
    chosenSeq: 8990,
    data: bytes(1, 2, 3, 4, 5),
    version: 35,
    promised: 7,
    acceptedBallot: 7,
    accepted: { origin: 1, seq: 9100, op: bytes(5, 5) },
    ...windowOf(recent),
    requests: [
      { id: 'r-1', result: putResult(33) },
      { id: 'r-2', result: putResult(34) },
    ],
  };
}

/** `encodeSealedRecord(layout3VectorRecord())` as `74097c0` wrote it (layout 3, sealed). */
const SEALED_LAYOUT_3 =
  '01000000b4b3771762032d07050102030405230707018c47020505050500a846001900403e00000000000000' +
  '00000000000000403e00000000000000010a03063f0000000000000000000000000000403f00020a03064000' +
  '00000000000000000000000000404000000a0405800000000000000000000000000040408001023100030908' +
  '070203722d3100190040408000000000000000000000000000404080000000000003722d3203054100000000' +
  '00000000000000000000404100';

test('records written in layout 3 by an earlier version still load (fixed bytes)', (t) => {
  const sealed = fromHex(SEALED_LAYOUT_3);
  t.is(openRecord(sealed)[0], 3);
  t.deepEqual(decodeRecord(openRecord(sealed)), layout3VectorRecord());
});

test("layout 4 writes a kv put's results as two runs: a fifth smaller than layout 3", (t) => {
  const { layout, back, sealed } = storedRoundTrip(layout3VectorRecord());
  t.is(layout, 4);
  t.deepEqual(back, layout3VectorRecord());
  const before = fromHex(SEALED_LAYOUT_3).length;
  t.true(sealed * 5 <= before * 4, `layout 4: ${sealed} bytes, layout 3: ${before}`);
});

test('a record inside a message stays in layout 2 (peers of an older version read it)', (t) => {
  const m = { ...blankMessage(), key: 'k', record: fullWindow() };
  const w = new ByteWriter(64);
  writeMessage(w, m);
  const payload = w.finish();
  const back = readMessage(new ByteReader(payload));
  t.deepEqual(back.record, m.record);
  const plain = encodeRecord(fullWindow());
  t.deepEqual(payload.subarray(payload.length - plain.length), plain);
});

/** Fields of the fixed vectors below (written by the build before layout 3, `f499291`). */
function vectorRecord(withRequests: boolean): KeyRecord {
  return {
    chosen: 3,
    chosenOrigin: 1,
    chosenSeq: 2 ** 32 + 5,
    data: bytes(104, 105),
    version: 2,
    promised: 7,
    acceptedBallot: 7,
    accepted: { origin: 1, seq: 2 ** 32 + 6, op: bytes(9) },
    ...windowOf([
      { instance: 2, origin: 0, seq: 4, result: bytes(1, 1) },
      { instance: 3, origin: 1, seq: 2 ** 32 + 5, result: bytes(1, 2) },
    ]),
    requests: withRequests ? [{ id: 'r1', result: bytes(5) }] : [],
  };
}

/** `encodeSealedRecord(vectorRecord(true))` as `f499291` wrote it: layout 2, sealed. */
const SEALED_LAYOUT_2 =
  '010000008293ae9277020000000000000840000000000000f03f000050000000f04101020000006869000000' +
  '00000000400000000000001c400000000000001c400101000060000000f04101000000090200000000000000' +
  '40000000000000001040020000000101000000000000084001000050000000f0410200000001020102000000' +
  '72310100000005';

/** `encodeRecord(vectorRecord(false))` as `f499291` wrote it (layout 2, unsealed). */
const PAYLOAD_LAYOUT_2_NO_REQUESTS =
  '020000000000000840000000000000f03f000050000000f04101020000006869000000000000004000000000' +
  '00001c400000000000001c400101000060000000f04101000000090200000000000000400000000000000010' +
  '40020000000101000000000000084001000050000000f04102000000010200';

test('records written in layout 2 by an earlier version still load (fixed bytes)', (t) => {
  t.deepEqual(decodeRecord(openRecord(fromHex(SEALED_LAYOUT_2))), vectorRecord(true));
});

test('records written in layout 1 (no request window) still load (fixed bytes)', (t) => {
  const v2 = fromHex(PAYLOAD_LAYOUT_2_NO_REQUESTS);
  // Layout 1 is layout 2 without the request count at the end.
  const v1 = v2.slice(0, v2.length - 1);
  v1[0] = 1;
  t.deepEqual(decodeRecord(openRecord(sealRecord(v1))), vectorRecord(false));
  t.deepEqual(decodeRecord(v2), vectorRecord(false));
});

function isRefusedAsCorrupted(payload: Uint8Array): boolean {
  try {
    decodeRecord(payload);
    return false;
  } catch (err) {
    if (!isEngineError(err, 'CORRUPTED')) throw err;
    return true;
  }
}

test('every truncation of a compact record is refused as CORRUPTED', (t) => {
  for (const [, rec] of TABLE) {
    const payload = openRecord(encodeSealedRecord(rec).slice());
    t.is(payload[0], 4);
    for (let n = 1; n < payload.length; n++) {
      if (!isRefusedAsCorrupted(payload.slice(0, n))) t.fail(`prefix of ${n} decoded`);
    }
    const longer = Uint8Array.from([...payload, 0]);
    t.true(isRefusedAsCorrupted(longer), 'a trailing byte is refused');
  }
});

test('a damaged sealed compact record fails its checksum (every byte flipped)', (t) => {
  const sealed = encodeSealedRecord(fullWindow()).slice();
  for (let i = 0; i < sealed.length; i++) {
    const damaged = sealed.slice();
    damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
    const err = t.throws(() => decodeRecord(openRecord(damaged)));
    t.true(isEngineError(err, 'CORRUPTED'), `byte ${i}: ${String(err)}`);
  }
});

test('corrupted compact payloads (past the checksum) decode or throw CORRUPTED, bounded', (t) => {
  const prng = new Prng(7);
  const good = openRecord(encodeSealedRecord(fullWindow()).slice());
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const payload = good.slice();
    for (let k = 1 + prng.int(3); k > 0; k--)
      payload[1 + prng.int(payload.length - 1)] = prng.int(256);
    if (isRefusedAsCorrupted(payload)) refused += 1;
  }
  // Random payloads, and counts and lengths at their largest, end in a refusal, not a loop.
  for (let i = 0; i < 2000; i++) {
    const payload = Uint8Array.from({ length: 1 + prng.int(64) }, () => prng.int(256));
    payload[0] = 3 + (i % 2);
    isRefusedAsCorrupted(payload);
  }
  const huge = bytes(3, 1, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
  t.true(isRefusedAsCorrupted(huge), 'a window count far past any bound');
  t.true(isRefusedAsCorrupted(bytes(4, ...huge.subarray(1))), 'the same in layout 4');
  const longVarint = bytes(3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  t.true(isRefusedAsCorrupted(longVarint), 'a varint longer than 53 bits');
  t.true(refused > 0, `${refused} of 5000 damaged payloads refused`);
});
