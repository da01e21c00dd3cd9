/**
 * Change entries carry window deltas (record-sections.ts, decision "Change entries carry
 * window deltas"): each entry holds what its `recent` and `requests` windows dropped from the
 * front and appended at the end since the previous entry (or the base), and folding a chain
 * rebuilds the exact windows. Entries of the first layout (0xC1, windows whole) still fold.
 */
import test from 'ava';
import { decodeRecord, encodeRecord, writeRecord } from '../../../../actors/paxos/codec';
import { RECENT_WINDOW, emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { AppliedEntry, KeyRecord, RequestEntry } from '../../../../actors/paxos/core/types';
import {
  CHANGE_ENTRY_LAYOUT_WHOLE_WINDOWS,
  RecordSections,
  decodeChangeEntry,
  encodeChangeEntry,
  foldChain,
  isChangeEntry,
  recentDrop,
  windowDrop,
} from '../../../../actors/paxos/record-sections';
import type { ChangeEntry } from '../../../../actors/paxos/record-sections';
import {
  RECORD_HEADER_BYTES,
  openRecord,
  sealRecordInPlace,
} from '../../../../engines/record-codec';
import { appendBytes } from '../../../../models/append-bytes';
import { ByteWriter } from '../../../../runtime/byte-codec';
import { pushApplied, windowEntries, windowOf } from '../../../../actors/paxos/core/recent-window';

const same = (a: KeyRecord, b: KeyRecord): boolean =>
  Buffer.from(encodeRecord(a)).equals(Buffer.from(encodeRecord(b)));

function applied(i: number, resultBytes: number): AppliedEntry {
  return { instance: i, origin: i % 3, seq: 1000 + i, result: new Uint8Array(resultBytes).fill(i) };
}

function request(i: number, resultBytes: number): RequestEntry {
  return { id: `req-${i}`, result: new Uint8Array(resultBytes).fill(i) };
}

function record(
  data: Uint8Array | null,
  chosen: number,
  more: Partial<KeyRecord> & { recent?: AppliedEntry[] },
): KeyRecord {
  const { recent, ...rest } = more;
  const window = recent === undefined ? {} : windowOf(recent);
  return { ...emptyRecord(), data, chosen, chosenOrigin: 1, chosenSeq: chosen, ...window, ...rest };
}

const decode = (sealed: Uint8Array): ChangeEntry => decodeChangeEntry(openRecord(sealed));

test('windowDrop: a slide names its drop; anything else drops everything', (t) => {
  const [a, b, c, d] = [applied(1, 0), applied(2, 0), applied(3, 0), applied(4, 0)];
  t.is(windowDrop([a, b, c], [a, b, c]), 0);
  t.is(windowDrop([a, b, c], [a, b, c, d]), 0);
  t.is(windowDrop([a, b, c], [b, c, d]), 1);
  t.is(windowDrop([a, b, c], [c]), 2);
  t.is(windowDrop([a, b, c], [d]), 3);
  t.is(windowDrop([a, b, c], []), 3);
  t.is(windowDrop([a, b, c], [b, d]), 3, 'not a slide: carried whole');
  t.is(windowDrop([a, b, c], [a, b]), 3, 'a shorter window is not a drop from the front');
  t.is(windowDrop([a, b, c], [applied(2, 0), c]), 3, 'entries are compared by identity');
  t.is(windowDrop([], [a]), 0);
});

test('recentDrop: the same on the window columns, entries compared by numbers and result', (t) => {
  const [a, b, c, d] = [applied(1, 0), applied(2, 0), applied(3, 0), applied(4, 0)];
  const cols = (...es: AppliedEntry[]) => windowOf(es);
  t.is(recentDrop(cols(a, b, c), cols(a, b, c)), 0);
  t.is(recentDrop(cols(a, b, c), cols(a, b, c, d)), 0);
  t.is(recentDrop(cols(a, b, c), cols(b, c, d)), 1);
  t.is(recentDrop(cols(a, b, c), cols(c)), 2);
  t.is(recentDrop(cols(a, b, c), cols(d)), 3);
  t.is(recentDrop(cols(a, b, c), cols()), 3);
  t.is(recentDrop(cols(a, b, c), cols(b, d)), 3, 'not a slide: carried whole');
  t.is(recentDrop(cols(a, b, c), cols(a, b)), 3, 'a shorter window is not a drop from the front');
  t.is(recentDrop(cols(a, b, c), cols(applied(2, 0), c)), 3, 'another result array: not the same');
  t.is(recentDrop(cols(a, b, c), cols({ ...b, seq: b.seq + 1 }, c)), 3, 'another seq');
  t.is(recentDrop(cols(), cols(a)), 0);
});

test('a chain folds the exact windows: slides past the bound, replaced requests, data tails', (t) => {
  let rec = record(appendBytes(null, new Uint8Array(100).fill(7)), 20, {
    recent: Array.from({ length: RECENT_WINDOW }, (_, i) => applied(5 + i, 4000)),
    requests: [request(1, 9000), request(2, 9000)],
  });
  const base = rec;
  let prev: KeyRecord = base;
  const entries: ChangeEntry[] = [];
  let entryBytes = 0;
  for (let seq = 1; seq <= 40; seq++) {
    const grow = seq % 3 === 0 ? 0 : seq; // some entries add no data (a promise, a refusal)
    const data = appendBytes(prev.data, new Uint8Array(grow).fill(seq));
    const recent = [...windowEntries(prev), applied(20 + seq, 4000)].slice(-RECENT_WINDOW);
    let requests = prev.requests;
    if (seq % 2 === 0) requests = [...requests, request(100 + seq, 9000)].slice(-4);
    if (seq === 25) requests = [request(999, 10)]; // replaced: no slide
    rec = record(data, 20 + seq, { recent, requests, version: seq, promised: seq * 10 });
    const sealed = encodeChangeEntry(
      rec,
      seq,
      (prev.data as Uint8Array).length,
      data.subarray((prev.data as Uint8Array).length),
      prev,
    );
    t.true(isChangeEntry(sealed));
    if (seq !== 25) entryBytes = Math.max(entryBytes, sealed.length);
    entries.push(decode(sealed));
    t.true(same(foldChain(base, entries), rec), `fold after entry ${seq}`);
    prev = rec;
  }
  // One appended recent result (4000) and at most one request result (9000), never 16 + 4.
  t.true(entryBytes < 14_000, `largest entry ${entryBytes} bytes`);
  t.true(same(foldChain(base, entries), rec));
});

test('an entry whose windows were replaced (an install, an adoption) carries them whole', (t) => {
  const base = record(new Uint8Array(10), 3, {
    recent: [applied(1, 10), applied(2, 10)],
    requests: [request(1, 10)],
  });
  const installed = record(new Uint8Array(10), 4, { recent: [applied(9, 10)], requests: [] });
  const e = decode(encodeChangeEntry(installed, 1, 10, new Uint8Array(0), base));
  t.deepEqual(e.deltas, { recentDrop: 2, requestsDrop: 1 });
  const whole = foldChain(base, [e]);
  t.true(same(whole, installed));
  t.deepEqual(whole.requests, []);
});

test('an entry that drops more than its window holds is CORRUPTED', (t) => {
  const rich = record(null, 2, { recent: [applied(1, 1), applied(2, 1), applied(3, 1)] });
  const e = decode(encodeChangeEntry(record(null, 3, {}), 1, 4, new Uint8Array(0), rich));
  t.is(e.deltas?.recentDrop, 3);
  const poor = record(new Uint8Array(4), 1, { recent: [applied(1, 1)] });
  t.is((t.throws(() => foldChain(poor, [e])) as { code?: string }).code, 'CORRUPTED');
});

/** An entry as the first layout wrote it: windows whole. */
function oldLayoutEntry(rec: KeyRecord, seq: number, dataOffset: number, tail: Uint8Array) {
  const w = new ByteWriter(256);
  w.raw(new Uint8Array(RECORD_HEADER_BYTES));
  w.u8(CHANGE_ENTRY_LAYOUT_WHOLE_WINDOWS);
  w.u32(seq);
  w.u32(dataOffset);
  w.bytes(tail);
  writeRecord(w, { ...rec, data: null });
  return sealRecordInPlace(w.finish());
}

test('a chain of the first layout (0xC1, windows whole) still folds, also mixed with 0xC2', (t) => {
  const base = record(Uint8Array.of(1), 1, { recent: [applied(1, 5)], requests: [request(1, 5)] });
  const r2 = record(Uint8Array.of(1, 2), 2, {
    recent: [applied(1, 5), applied(2, 5)],
    requests: [request(1, 5)],
  });
  const old = oldLayoutEntry(r2, 1, 1, Uint8Array.of(2));
  t.true(isChangeEntry(old));
  const e1 = decode(old);
  t.is(e1.deltas, null);
  t.true(same(foldChain(base, [e1]), r2));
  // A process of this version continues the chain it loaded with the new layout.
  const r3 = record(Uint8Array.of(1, 2, 3), 3, {
    recent: [...windowEntries(r2), applied(3, 5)],
    requests: [...r2.requests, request(3, 5)],
  });
  const e2 = decode(encodeChangeEntry(r3, 2, 2, Uint8Array.of(3), foldChain(base, [e1])));
  t.true(same(foldChain(base, [e1, e2]), r3));
});

test('RecordSections stages deltas against what it last handed, per key', (t) => {
  const limits = {
    dataBytesMin: 16,
    chainBytesMin: 1 << 20,
    chainBaseMultiple: 4,
    chainEntriesMax: 100,
  };
  const sections = new RecordSections(limits);
  let rec = record(appendBytes(null, new Uint8Array(32)), 1, {
    recent: Array.from({ length: RECENT_WINDOW }, (_, i) => applied(i, 1000)),
  });
  const sealedBase = sections.stage('k', rec);
  t.false(isChangeEntry(sealedBase));
  const base = decodeRecord(openRecord(sealedBase));
  sections.batched();
  const entries: ChangeEntry[] = [];
  for (let i = 0; i < 30; i++) {
    // The core pushes and shifts the live record's recent array in place.
    const next = applied(100 + i, 1000);
    pushApplied(rec, next.instance, next.origin, next.seq, next.result, RECENT_WINDOW);
    rec = { ...rec, chosen: rec.chosen + 1, data: appendBytes(rec.data, Uint8Array.of(i)) };
    const sealed = sections.stage('k', rec);
    t.true(isChangeEntry(sealed));
    t.true(sealed.length < 1500, `entry of ${sealed.length} bytes`);
    sections.batched();
    entries.push(decode(sealed));
  }
  t.true(same(foldChain(base, entries), rec));
});
