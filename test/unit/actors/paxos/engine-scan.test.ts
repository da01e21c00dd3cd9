/**
 * Engine scan pages (decision 13): query and page encodings round-trip; a records page lists
 * records holding data or an accepted op (a write in flight) and skips tombstones; a record
 * failing its checksum is listed (its read goes through Paxos); limit, resume and `more`.
 */
import test from 'ava';
import {
  AMNESIC_PAGE,
  ScanMode,
  buildScanPage,
  decodeScanPage,
  decodeScanQuery,
  encodeScanPage,
  encodeScanQuery,
} from '../../../../actors/paxos/engine-scan';
import type { ScanQuery } from '../../../../actors/paxos/engine-scan';
import { encodeSealedRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';

const query = (over: Partial<ScanQuery> = {}): ScanQuery => ({
  mode: ScanMode.records,
  withData: true,
  reverse: false,
  limit: 10,
  examineMax: 40,
  gte: 'a',
  lt: 'z',
  ...over,
});

function record(over: Partial<KeyRecord>): Uint8Array {
  return encodeSealedRecord({ ...emptyRecord(), ...over });
}

const withData = record({
  chosen: 1,
  chosenOrigin: 0,
  chosenSeq: 1,
  data: Uint8Array.of(7, 1),
  version: 1,
});
const tombstone = record({ chosen: 2, chosenOrigin: 0, chosenSeq: 2, data: null, version: 2 });
const inFlight = record({
  promised: 5,
  acceptedBallot: 5,
  accepted: { origin: 1, seq: 9, op: Uint8Array.of(7, 1) },
});
const noopAccepted = record({
  promised: 5,
  acceptedBallot: 5,
  accepted: { origin: 1, seq: 9, op: new Uint8Array(0) },
});

test('query and page encodings round-trip', (t) => {
  const q = query({
    mode: ScanMode.keys,
    reverse: true,
    gte: '\u0001t\u0000',
    lt: '\u0001t\u0001',
  });
  t.deepEqual(decodeScanQuery(encodeScanQuery(q)), q);
  const page = {
    entries: [
      { key: 'a', data: null },
      { key: 'b\u{1F600}', data: Uint8Array.of(1, 2) },
    ],
    more: true,
    resume: 'b\u{1F600}',
    amnesic: false,
  };
  t.deepEqual(decodeScanPage(encodeScanPage(page)), page);
  t.deepEqual(decodeScanPage(encodeScanPage(AMNESIC_PAGE)), AMNESIC_PAGE);
  t.throws(() => encodeScanQuery(query({ limit: 0 })));
  t.throws(() => encodeScanQuery(query({ limit: 10, examineMax: 5 })));
});

test('a records page lists data and writes in flight, skips tombstones and no-ops, lists corrupted records', (t) => {
  const corrupted = withData.slice();
  corrupted[corrupted.length - 1] = (corrupted[corrupted.length - 1] as number) ^ 0xff;
  const page = buildScanPage(
    query(),
    [
      ['a1', withData],
      ['a2', tombstone],
      ['a3', inFlight],
      ['a4', noopAccepted],
      ['a5', corrupted],
    ],
    true,
  );
  t.deepEqual(page.entries, [
    { key: 'a1', data: Uint8Array.of(7, 1) },
    { key: 'a3', data: null },
    { key: 'a5', data: null },
  ]);
  t.false(page.more);
  t.is(page.resume, 'a5');
  const noData = buildScanPage(query({ withData: false }), [['a1', withData]], true);
  t.deepEqual(noData.entries, [{ key: 'a1', data: null }]);
});

test('limit stops the page early: resume is the last key listed and more is set', (t) => {
  const examined: Array<[string, Uint8Array]> = [
    ['a1', withData],
    ['a2', tombstone],
    ['a3', withData],
    ['a4', withData],
  ];
  const page = buildScanPage(query({ limit: 2 }), examined, true);
  t.deepEqual(
    page.entries.map((e) => e.key),
    ['a1', 'a3'],
  );
  t.is(page.resume, 'a3');
  t.true(page.more, 'a4 was examined but not listed');
  const all = buildScanPage(query({ limit: 3 }), examined, true);
  t.deepEqual(
    all.entries.map((e) => e.key),
    ['a1', 'a3', 'a4'],
  );
  t.false(all.more);
  const filtered = buildScanPage(query(), [['a2', tombstone]], false);
  t.deepEqual(
    [filtered.entries.length, filtered.resume, filtered.more],
    [0, 'a2', true],
    'a page of tombstones still advances',
  );
  const keys = buildScanPage(query({ mode: ScanMode.keys }), [['i1', new Uint8Array(0)]], true);
  t.deepEqual(keys.entries, [{ key: 'i1', data: null }]);
});
