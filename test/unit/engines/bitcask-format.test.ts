/**
 * Table tests of bitcask's pure pieces: file names, the data file header, entry records,
 * batch frames, hint files and the merge layout. Each codec round-trips, and each kind of
 * damage is CORRUPTED (or, for frame headers, reported as a bad frame).
 */
import test from 'ava';
import {
  encodeBatchFrame,
  FRAME_HEADER_BYTES,
  frameBodyMatches,
  readFrameHeader,
  splitFrameBody,
} from '../../../engines/bitcask/batch-frame';
import { readEntryRecord } from '../../../engines/bitcask/entry-record';
import {
  DATA_HEADER_BYTES,
  decodeDataHeader,
  encodeDataHeader,
  parseFileName,
} from '../../../engines/bitcask/format';
import { decodeHint, encodeHint } from '../../../engines/bitcask/hint-file';
import { planMerge } from '../../../engines/bitcask/merge-plan';
import { isEngineError } from '../../../engines/errors';
import { setVerify, VERIFY } from '../../../runtime/assert';
import { RECORD_HEADER_BYTES, sealRecord } from '../../../engines/record-codec';

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] ^= 0x01;
  return copy;
}

test('file names: data and hint ids parse; anything else is not ours', (t) => {
  const cases: ReadonlyArray<[string, unknown]> = [
    ['000001.data', { id: 1, type: 'data' }],
    ['000042.hint', { id: 42, type: 'hint' }],
    ['1234567.data', { id: 1234567, type: 'data' }],
    ['000000.data', undefined],
    ['00001.data', undefined],
    ['000001.data.tmp', undefined],
    ['000001.data.merging', undefined],
    ['LOCK', undefined],
    ['MERGE', undefined],
  ];
  for (const [name, expected] of cases) t.deepEqual(parseFileName(name), expected, name);
});

test('data file header: round trip; any flipped bit or a short header is CORRUPTED', (t) => {
  const header = { id: 7, kind: 'merge' as const, seqFloor: 2 ** 40 + 3 };
  const bytes = encodeDataHeader(header);
  t.is(bytes.length, DATA_HEADER_BYTES);
  t.deepEqual(decodeDataHeader(bytes), header);
  for (let i = 0; i < bytes.length; i++) {
    const err = t.throws(() => decodeDataHeader(flipped(bytes, i)));
    t.true(isEngineError(err, 'CORRUPTED'), `byte ${i}`);
  }
  t.true(
    isEngineError(
      t.throws(() => decodeDataHeader(bytes.subarray(0, 10))),
      'CORRUPTED',
    ),
  );
});

test('batch frame: the last op on a key wins; records round-trip; tombstones: no value', (t) => {
  const value = Uint8Array.from([1, 2, 3]);
  const { bytes, entries } = encodeBatchFrame(
    [
      { type: 'put', key: 'a', value: Uint8Array.from([9]) },
      { type: 'put', key: 'é', value },
      { type: 'del', key: 'a' },
      { type: 'put', key: 'empty', value: new Uint8Array(0) },
    ],
    12,
  );
  t.deepEqual(
    entries.map((e) => [e.key, e.kind]),
    [
      ['a', 'tombstone'],
      ['é', 'put'],
      ['empty', 'put'],
    ],
  );
  const header = readFrameHeader(bytes);
  if (!header.ok) return t.fail(header.reason);
  t.is(header.count, 3);
  const body = bytes.subarray(FRAME_HEADER_BYTES);
  t.true(frameBodyMatches(body, header));
  const split = splitFrameBody(body, header.count);
  t.deepEqual(
    split.map(([offset]) => offset + FRAME_HEADER_BYTES),
    entries.map((e) => e.offset),
  );
  const decoded = entries.map((e) => readEntryRecord(bytes.subarray(e.offset, e.offset + e.size)));
  t.deepEqual(
    decoded.map((d) => [d.kind, d.seq, d.key, [...d.value]]),
    [
      ['tombstone', 12, 'a', []],
      ['put', 12, 'é', [1, 2, 3]],
      ['put', 12, 'empty', []],
    ],
  );
});

/**
 * The encoder checks small batches for repeated keys pair by pair and writes keys straight from
 * their strings (ASCII byte by byte, anything else through an encoder): both paths, and a batch
 * past the pairwise bound, must give the same frame a plain reference encoding gives.
 */
test('batch frame: repeats found in batches of any size; keys of any script; big seqs', (t) => {
  const keys = ['a', 'é', 'k\u{1F600}', 'z'.repeat(300), '\u0005x\u00001'];
  for (const size of [1, 2, 15, 16, 17, 40]) {
    const batch = Array.from({ length: size }, (_, i) => ({
      type: 'put' as const,
      key: keys[i % keys.length] + (i % 7 === 6 ? '' : String(i)),
      value: Uint8Array.of(i, size),
    }));
    if (size > 2) batch.push({ ...batch[1], value: Uint8Array.of(99) }); // a repeat, last wins
    const seq = 2 ** 40 + size;
    const { bytes, entries } = encodeBatchFrame(batch, seq);
    const last = new Map(batch.map((op) => [op.key, op]));
    t.is(entries.length, last.size, `size ${size}`);
    const header = readFrameHeader(bytes);
    if (!header.ok) return t.fail(header.reason);
    t.true(frameBodyMatches(bytes.subarray(FRAME_HEADER_BYTES), header));
    for (const e of entries) {
      const d = readEntryRecord(bytes.subarray(e.offset, e.offset + e.size));
      const op = last.get(d.key);
      t.truthy(op, `key ${d.key}`);
      t.is(d.seq, seq);
      t.deepEqual([...d.value], [...(op?.value ?? [])]);
      t.is(e.key, d.key);
    }
  }
});

test('batch frame: a flipped header bit: bad frame; a flipped body bit fails its check', (t) => {
  const { bytes } = encodeBatchFrame([{ type: 'put', key: 'k', value: Uint8Array.of(5, 6) }], 1);
  for (let i = 0; i < FRAME_HEADER_BYTES; i++) {
    const header = readFrameHeader(flipped(bytes, i));
    // The body checksum field is covered by the header checksum too.
    t.false(header.ok, `header byte ${i}`);
  }
  const header = readFrameHeader(bytes);
  if (!header.ok) return t.fail(header.reason);
  for (let i = FRAME_HEADER_BYTES; i < bytes.length; i++) {
    const body = flipped(bytes, i).subarray(FRAME_HEADER_BYTES);
    t.false(frameBodyMatches(body, header), `body byte ${i}`);
  }
});

test('entry record: every flipped bit is CORRUPTED on read', (t) => {
  const op = { type: 'put' as const, key: 'key', value: Uint8Array.of(7, 7) };
  const { bytes, entries } = encodeBatchFrame([op], 3);
  const record = bytes.subarray(entries[0].offset, entries[0].offset + entries[0].size);
  t.is(record.length, RECORD_HEADER_BYTES + 11 + 3 + 2);
  for (let i = 0; i < record.length; i++) {
    const err = t.throws(() => readEntryRecord(flipped(record, i)));
    t.true(isEngineError(err, 'CORRUPTED'), `byte ${i}`);
  }
});

test('entry record around a sealed value: the same bytes; flips, cuts, zeros CORRUPTED', (t) => {
  // BatchOp.sealed: the entry's checksum is derived from the value's own (record-codec's
  // sealRecordAroundSealedAt). The frame must be byte for byte the one a full pass writes, so
  // recovery's tear and damage checks see nothing new.
  for (const payloadBytes of [0, 1, 5, 100, 333, 5000]) {
    const payload = Uint8Array.from({ length: payloadBytes }, (_, i) => (i * 29 + 3) & 0xff);
    const value = sealRecord(payload);
    for (const key of ['k', 'key-00000123', 'ключ-'.repeat(9)]) {
      const plain = encodeBatchFrame([{ type: 'put', key, value }], 77);
      const derived = encodeBatchFrame([{ type: 'put', key, value, sealed: true }], 77);
      t.deepEqual(derived.bytes, plain.bytes, `${payloadBytes} B, ${key}`);
    }
  }
  const value = sealRecord(Uint8Array.of(1, 2, 3, 4, 5, 6, 7));
  const { bytes, entries } = encodeBatchFrame([{ type: 'put', key: 'k', value, sealed: true }], 3);
  const record = bytes.subarray(entries[0].offset, entries[0].offset + entries[0].size);
  for (let i = 0; i < record.length; i++) {
    const err = t.throws(() => readEntryRecord(flipped(record, i)));
    t.true(isEngineError(err, 'CORRUPTED'), `flipped byte ${i}`);
  }
  for (let cut = 0; cut < record.length; cut++) {
    const err = t.throws(() => readEntryRecord(record.slice(0, cut)));
    t.true(isEngineError(err, 'CORRUPTED'), `cut at ${cut}`);
    const zeroed = record.slice();
    zeroed.fill(0, cut);
    const zeroErr = t.throws(() => readEntryRecord(zeroed));
    t.true(isEngineError(zeroErr, 'CORRUPTED'), `zeroed from ${cut}`);
  }
});

test('entry record around a sealed value: an unsealed value claimed sealed', (t) => {
  // Not a record's header at all: the claim is ignored (a full pass), the entry reads back.
  const raw = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9);
  const { bytes, entries } = encodeBatchFrame(
    [{ type: 'put', key: 'k', value: raw, sealed: true }],
    3,
  );
  const record = bytes.subarray(entries[0].offset, entries[0].offset + entries[0].size);
  t.deepEqual(readEntryRecord(record).value, raw);
  // A record's header over a wrong checksum: a programmer error, asserted under VERIFY (on in
  // tests); without VERIFY the derived checksum fails on read (CORRUPTED), never passes.
  const forged = sealRecord(Uint8Array.of(1, 2, 3));
  forged[5] ^= 0x40;
  const verify = VERIFY;
  setVerify(true);
  try {
    t.throws(() => encodeBatchFrame([{ type: 'put', key: 'k', value: forged, sealed: true }], 3));
  } finally {
    setVerify(false);
  }
  try {
    const frame = encodeBatchFrame([{ type: 'put', key: 'k', value: forged, sealed: true }], 3);
    const entry = frame.entries[0];
    const err = t.throws(() =>
      readEntryRecord(frame.bytes.subarray(entry.offset, entry.offset + entry.size)),
    );
    t.true(isEngineError(err, 'CORRUPTED'));
  } finally {
    setVerify(verify);
  }
});

test('hint file: round trip; damage and a short file are CORRUPTED', (t) => {
  const hint = {
    dataId: 9,
    dataBytes: 12345,
    entries: [
      { key: 'a', seq: 1, offset: 44, size: 30 },
      { key: '\u{1F600}', seq: 2 ** 45, offset: 2 ** 33, size: 70000 },
    ],
  };
  const bytes = encodeHint(hint);
  t.deepEqual(decodeHint(bytes), hint);
  t.deepEqual(decodeHint(encodeHint({ dataId: 1, dataBytes: 24, entries: [] })).entries, []);
  const damages = [
    flipped(bytes, 0),
    flipped(bytes, 20),
    flipped(bytes, bytes.length - 1),
    bytes.subarray(0, 30),
  ];
  for (const damaged of damages) {
    t.true(
      isEngineError(
        t.throws(() => decodeHint(damaged)),
        'CORRUPTED',
      ),
    );
  }
});

test('merge plan: files fill to the limit, frames to bounds; a huge record: own file', (t) => {
  let id = 100;
  const layout = { fileBytesMax: 1000, frameBytesMax: 300, frameRecordsMax: 3 };
  const sizes = [100, 100, 100, 100, 100, 100, 100, 100, 100, 2000, 50];
  const plan = planMerge(sizes, layout, () => id++);
  t.deepEqual(
    plan.outputs.map((o) => [o.id, o.first, o.end, o.frameEnds]),
    [
      [100, 0, 8, [3, 6, 8]],
      [101, 8, 9, [9]],
      [102, 9, 10, [10]],
      [103, 10, 11, [11]],
    ],
  );
  // File 100: header 24, then frames of 3, 3 and 2 records, each behind a 20-byte header.
  t.deepEqual([...plan.offsets.slice(0, 8)], [44, 144, 244, 364, 464, 564, 684, 784]);
  t.is(plan.outputs[0].bytes, 884);
  t.is(plan.outputs[2].bytes, DATA_HEADER_BYTES + FRAME_HEADER_BYTES + 2000);
  t.deepEqual([...plan.outputIndex], [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
  for (const output of plan.outputs) {
    t.true(output.bytes <= layout.fileBytesMax || output.end - output.first === 1);
  }
  t.deepEqual(planMerge([], layout, () => id++).outputs, []);
});
