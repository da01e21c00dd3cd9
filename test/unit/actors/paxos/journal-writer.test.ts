/**
 * The journal's write side (actors/paxos/journal-writer.ts) and layout (journal-codec.ts): op
 * entries for applied ops, a state entry for any jump the ops do not explain, consecutive seqs
 * from the stored head, retention by cursors and bounds, and a new epoch on an amnesic start.
 */
import test from 'ava';
import type { BatchOp } from '../../../../engines/engine';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import {
  JOURNAL_META_KEY,
  JournalEntryKind,
  decodeJournalMeta,
  decodeJournalRecord,
  encodeJournalRecord,
  entryKey,
  isJournalKey,
} from '../../../../actors/paxos/journal-codec';
import { JOURNAL_LIMITS_DEFAULT } from '../../../../actors/paxos/journal-limits';
import type { JournalLimits } from '../../../../actors/paxos/journal-limits';
import { JournalWriter } from '../../../../actors/paxos/journal-writer';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function writer(limits: Partial<JournalLimits> = {}): JournalWriter {
  let now = 1000;
  const w = new JournalWriter({ ...JOURNAL_LIMITS_DEFAULT, ...limits }, () => now++);
  w.start(undefined, 7, false);
  return w;
}

function rec(version: number, data: string | null): KeyRecord {
  return { ...emptyRecord(), chosen: version, version, data: data === null ? null : bytes(data) };
}

function puts(ops: BatchOp[]): string[] {
  return ops.filter((o) => o.type === 'put').map((o) => o.key);
}

test('applied ops become op entries; a jump the ops do not explain becomes one state entry', (t) => {
  const w = writer();
  w.noteLoaded('a', undefined);
  w.noteApplied('a', bytes('op1'), 1);
  w.noteApplied('a', bytes('op2'), 2);
  const ops = w.entriesOf('a', rec(2, 'x'));
  t.deepEqual(
    ops.map((e) => [e.kind, e.fromVersion, e.version]),
    [
      [JournalEntryKind.op, 0, 1],
      [JournalEntryKind.op, 1, 2],
    ],
  );
  t.is(w.unmatched, 0);
  // Catch-up: the record moved 2 -> 5 with no op seen.
  const jump = w.entriesOf('a', rec(5, 'y'));
  t.is(jump.length, 1);
  t.is(jump[0]?.kind, JournalEntryKind.state);
  t.is(jump[0]?.fromVersion, 2);
  t.is(jump[0]?.version, 5);
  t.deepEqual(jump[0]?.bytes, bytes('y'));
  // A persist that changes no version (a promise) adds nothing.
  t.deepEqual(w.entriesOf('a', rec(5, 'y')), []);
  // Ops that do not join the covered version (one was missed) fold into one state entry.
  w.noteApplied('a', bytes('op8'), 8);
  const folded = w.entriesOf('a', rec(8, 'z'));
  t.deepEqual(
    folded.map((e) => [e.kind, e.fromVersion, e.version]),
    [[JournalEntryKind.state, 5, 8]],
  );
});

// The entry waits for its batch while the key may write its state in place (decision "A key's
// data written in place"): a state entry holds a copy of the state, not the key's array.
test('a state entry keeps a copy of the state', (t) => {
  const w = writer();
  w.noteLoaded('a', undefined);
  const record = rec(3, 'abc');
  const [entry] = w.entriesOf('a', record);
  t.is(entry?.kind, JournalEntryKind.state);
  t.not(entry?.bytes, record.data);
  record.data?.set(bytes('xyz'));
  t.deepEqual(entry?.bytes, bytes('abc'));
});

test('times never go back within a group', (t) => {
  const times = [50, 40, 60];
  const w = new JournalWriter(JOURNAL_LIMITS_DEFAULT, () => times.shift() ?? 0);
  w.start(undefined, 1, false);
  w.noteLoaded('k', undefined);
  for (let v = 1; v <= 3; v++) w.noteApplied('k', bytes(`o${v}`), v);
  t.deepEqual(
    w.entriesOf('k', rec(3, 'd')).map((e) => e.time),
    [50, 50, 60],
  );
});

test('batches number entries consecutively from the stored head and write the head', (t) => {
  const w = writer();
  w.noteLoaded('a', undefined);
  w.noteApplied('a', bytes('o1'), 1);
  const first = w.batchOps(w.entriesOf('a', rec(1, 'x')));
  t.deepEqual(puts(first), [entryKey(1), JOURNAL_META_KEY]);
  w.noteApplied('a', bytes('o2'), 2);
  w.noteApplied('a', bytes('o3'), 3);
  const second = w.batchOps(w.entriesOf('a', rec(3, 'x')));
  t.deepEqual(puts(second), [entryKey(2), entryKey(3), JOURNAL_META_KEY]);
  const entry = second[0];
  t.true(entry?.type === 'put' && decodeJournalRecord(entry.value).seq === 2);
  const meta = second[2];
  t.true(meta?.type === 'put' && decodeJournalMeta(meta.value).meta.head === 3);
  // Nothing changed: no ops at all.
  t.deepEqual(w.batchOps([]), []);
  t.true(isJournalKey(entryKey(9)) && isJournalKey(JOURNAL_META_KEY));
  t.false(isJournalKey('ns\u0001key'));
});

function fill(w: JournalWriter, n: number, key = 'k'): BatchOp[] {
  const out: BatchOp[] = [];
  for (let i = 0; i < n; i++) {
    const v = w.current.head + 1;
    w.noteApplied(key, bytes(`op${v}`), v);
    out.push(...w.batchOps(w.entriesOf(key, rec(v, 'd'))));
  }
  return out;
}

test('retention: entries a cursor has not acknowledged stay; acknowledged ones go', (t) => {
  const w = writer({ retainAckedEntries: 0 });
  w.noteLoaded('k', undefined);
  w.setCursor('r', { epoch: 7, acked: 0 });
  fill(w, 5);
  t.is(w.current.first, 1, 'nothing acknowledged, nothing trimmed');
  w.setCursor('r', { epoch: 7, acked: 3 });
  const ops = w.batchOps([]);
  t.deepEqual(
    ops.filter((o) => o.type === 'del').map((o) => o.key),
    [entryKey(1), entryKey(2), entryKey(3)],
  );
  t.is(w.current.first, 4);
  // A cursor of an older epoch holds nothing back.
  w.setCursor('old', { epoch: 6, acked: 0 });
  w.setCursor('r', { epoch: 7, acked: 5 });
  w.batchOps([]);
  t.is(w.current.first, 6);
});

test('retention: the entry bound wins over a cursor; retainAckedEntries keeps the newest', (t) => {
  const w = writer({ retainEntriesMax: 4, retainAckedEntries: 2 });
  w.noteLoaded('k', undefined);
  w.setCursor('slow', { epoch: 7, acked: 0 });
  fill(w, 10);
  t.is(w.current.head - w.current.first + 1, 4, 'at most 4 entries');
  w.setCursor('slow', { epoch: 7, acked: 10 });
  w.batchOps([]);
  t.is(w.current.first, 9, 'the newest 2 acknowledged entries stay');
});

test('retention: the byte bound trims the oldest entries', (t) => {
  const w = writer({ retainBytesMax: 1024, retainAckedEntries: 1000 });
  w.noteLoaded('k', undefined);
  const size = encodeJournalRecord({
    seq: 1,
    time: 1,
    kind: 0,
    key: 'k',
    fromVersion: 0,
    version: 1,
    bytes: bytes('op1'),
  }).length;
  fill(w, 200);
  t.true(w.current.bytes <= 1024, `${w.current.bytes} bytes retained`);
  t.true(w.current.head - w.current.first + 1 >= Math.floor(1024 / (size + 2)) - 1);
});

test('an amnesic start begins a new epoch; seqs go on from the stored head', (t) => {
  const old = writer();
  old.noteLoaded('k', undefined);
  old.setCursor('r', { epoch: 7, acked: 1 });
  const ops = fill(old, 3);
  const metaOp = ops.filter((o) => o.key === JOURNAL_META_KEY).pop();
  if (metaOp?.type !== 'put') return t.fail('no journal head written');
  const stored = decodeJournalMeta(metaOp.value);
  const restarted = new JournalWriter(JOURNAL_LIMITS_DEFAULT, () => 1);
  restarted.start(stored, 9, true);
  t.is(restarted.current.epoch, 9);
  t.is(restarted.current.first, 1, 'the stored entries stay (they match the stored records)');
  t.is(restarted.current.head, 3);
  // Seqs go on from the stored head.
  restarted.noteLoaded('k', rec(3, 'd'));
  restarted.noteApplied('k', bytes('op4'), 4);
  restarted.batchOps(restarted.entriesOf('k', rec(4, 'd')));
  t.is(restarted.current.head, 4);
  t.deepEqual(restarted.cursors.get('r'), { epoch: 7, acked: 1 });
  const durable = new JournalWriter(JOURNAL_LIMITS_DEFAULT, () => 1);
  durable.start(stored, 9, false);
  t.is(durable.current.epoch, 7, 'a durable restart keeps the epoch');
  t.is(durable.current.first, 1);
});

test('damaged entries and heads are refused on decode', (t) => {
  const good = encodeJournalRecord({
    seq: 3,
    time: 5,
    kind: 1,
    key: 'k',
    fromVersion: 1,
    version: 4,
    bytes: null,
  });
  t.is(decodeJournalRecord(good).seq, 3);
  const bad = good.slice();
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
  t.throws(() => decodeJournalRecord(bad));
  t.throws(() => decodeJournalMeta(good));
});
