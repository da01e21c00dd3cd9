/**
 * The memory engine's digest scan (docs/decisions.md "Repair rounds that writes do not feel"):
 * records read in place from an arena cursor, hashed inline, folded in two 32-bit lanes. The
 * answer must be the one the sealed path gives (the engines' scan: seal, open, decode, hash,
 * BigInt fold) for the same records, since replicas compare these digests; and a `listOnly`
 * request lists the same keys while skipping every other bucket's.
 */
import test from 'ava';
import { emptyRecord, applyChosen } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { encodeSealedRecord } from '../../../../actors/paxos/codec';
import { VolatileRecordPort } from '../../../../actors/paxos/volatile-record-port';
import {
  MASK_64,
  STORED_KEYS_PER_TURN,
  digestReplica,
  hex64,
  keyDigest,
} from '../../../../actors/paxos/replica-digest';
import type { DigestRequest, HeldRecord } from '../../../../actors/paxos/replica-digest';
import { BucketSums, hexWords } from '../../../../actors/paxos/digest-words';
import { RecordArena } from '../../../../actors/paxos/record-arena';
import { allModels } from '../../../../models/all-models';
import { encodeKvOp } from '../../../../models/kv/kv';
import { ModelTag } from '../../../../models/model-tags';
import { tagged } from '../../../../models/registry';

/** A key written `writes` times through the kv model (a real recent window and requests). */
function written(writes: number, size: number): KeyRecord {
  const rec = emptyRecord();
  for (let i = 0; i < writes; i++) {
    const value = Buffer.alloc(size, 97 + (i % 26));
    const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value }));
    applyChosen(rec, { origin: i % 3, seq: 2 ** 32 + i, op }, allModels);
  }
  return rec;
}

/** Records of every shape: written once or many times, deleted, empty, big, unicode keys. */
function records(): [string, KeyRecord][] {
  const out: [string, KeyRecord][] = [];
  for (let i = 0; i < 400; i++) {
    const rec = written(1 + (i % 20), i % 11 === 0 ? 40_000 : i % 100);
    if (i % 13 === 0) rec.data = null;
    if (i % 17 === 0) rec.chosenOrigin = 2; // the chosen id is not the newest entry's
    out.push([i % 5 === 0 ? `ключ-${i}` : `k${i}`, rec]);
  }
  out.push(['nothing-chosen', emptyRecord()]);
  return out;
}

async function* sealed(entries: [string, KeyRecord][]): AsyncIterable<[string, Uint8Array]> {
  for (const [k, r] of entries) yield [k, encodeSealedRecord(r)];
}

const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : 1);

test('a cursor over the arena gives the answer of the sealed path, held keys winning over stored', async (t) => {
  const all = records();
  const port = new VolatileRecordPort((fn) => fn(), 8);
  for (const [k, r] of all) port.keep(k, r);
  const held: HeldRecord[] = [
    { key: 'k1', status: 'ready', rec: written(30, 5) }, // newer than its stored record
    { key: 'k2', status: 'recovering', rec: emptyRecord() },
  ];
  const request: DigestRequest = {
    kind: 'digest',
    buckets: 16,
    list: [0, 3, 9],
    listKeysMax: 1000,
    states: ['k4', 'k1'],
  };
  const fromCursor = await digestReplica(request, held, port.digestCursor());
  const fromSealed = await digestReplica(request, held, sealed(all));
  t.deepEqual(fromCursor.buckets, fromSealed.buckets);
  t.is(fromCursor.keys, fromSealed.keys);
  t.is(fromCursor.keys, all.length - 2, 'the recovering key and the empty one are left out');
  t.is(fromCursor.unsettled, 1);
  t.deepEqual([...fromCursor.listed].sort(byKey), [...fromSealed.listed].sort(byKey));
  t.deepEqual([...fromCursor.states].sort(byKey), [...fromSealed.states].sort(byKey));
  t.true(fromCursor.listed.length > 20);
});

test('listOnly: only the keys of listed buckets and the states, the same listings', async (t) => {
  const all = records();
  const port = new VolatileRecordPort((fn) => fn(), 8);
  for (const [k, r] of all) port.keep(k, r);
  const request: DigestRequest = { kind: 'digest', buckets: 64, list: [5, 40], listKeysMax: 1000 };
  const full = await digestReplica(request, [], port.digestCursor());
  for (const stored of [port.digestCursor(), sealed(all)]) {
    const only = await digestReplica({ ...request, listOnly: true, states: ['k7'] }, [], stored);
    t.deepEqual([...only.listed].sort(byKey), [...full.listed].sort(byKey));
    t.deepEqual(
      only.states.map((s) => s.key),
      ['k7'],
    );
    t.true(only.keys < full.keys / 4, `${only.keys} digested of ${full.keys}`);
    for (const b of [5, 40]) t.is(only.buckets[b], full.buckets[b], `bucket ${b} summed alike`);
  }
});

test('the cursor is a snapshot: keys set or deleted after it is taken do not show', (t) => {
  const arena = new RecordArena(8);
  for (let i = 0; i < 100; i++) arena.set(`k${i}`, Uint8Array.of(i, i, i));
  const cursor = arena.snapshotCursor();
  for (let i = 0; i < 100; i += 2) arena.delete(`k${i}`); // evacuates slabs under the cursor
  arena.set('late', Uint8Array.of(1));
  const seen: string[] = [];
  const utf8 = new TextDecoder();
  for (let n = 0; cursor.next(); n++) {
    t.true(n < 1000, 'bounded');
    seen.push(utf8.decode(cursor.bytes.subarray(cursor.keyFrom, cursor.keyTo)));
    const v = cursor.bytes.subarray(cursor.valueFrom, cursor.valueTo);
    t.deepEqual(
      [...v],
      [Number(seen[seen.length - 1]?.slice(1))].flatMap((x) => [x, x, x]),
    );
  }
  t.deepEqual(seen.sort(), Array.from({ length: 100 }, (_, i) => `k${i}`).sort());
});

test('bucket sums in two 32-bit lanes are the BigInt sums mod 2^64', (t) => {
  const sums = new BucketSums(2);
  let big = 0n;
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  for (const k of keys) {
    const d = keyDigest(k, { chosen: 1, chosenOrigin: 0, chosenSeq: 1, version: 1, data: null });
    big = (big + d) & MASK_64;
    sums.add(1, Number(d >> 32n), Number(d & 0xffffffffn));
  }
  // Carries: the top word wraps too.
  sums.add(0, 0xffffffff, 0xffffffff);
  sums.add(0, 0, 2);
  t.deepEqual(sums.hex(), ['0000000000000001', hex64(big)]);
  t.is(hexWords(0xabc, 0x1), '00000abc00000001');
});

test('paced scans of one thread, run together, give the answers of unpaced ones', async (t) => {
  const all = records();
  const ports = [0, 1, 2].map(() => new VolatileRecordPort((fn) => fn(), 8));
  const small = written(1, 10);
  for (const port of ports) {
    for (const [k, r] of all) port.keep(k, r);
    // More than two slices of records: the paced pauses run.
    for (let i = 0; i < 2 * STORED_KEYS_PER_TURN + 100; i++) port.keep(`s${i}`, small);
  }
  const request: DigestRequest = { kind: 'digest', buckets: 32, list: [2], listKeysMax: 5000 };
  const unpaced = await digestReplica(request, [], ports[0]?.digestCursor());
  // Three replicas of a group on one worker: their paced scans share the thread's budget.
  const paced = await Promise.all(
    ports.map((port) => digestReplica({ ...request, paced: true }, [], port.digestCursor())),
  );
  for (const answer of paced) t.deepEqual(answer, unpaced);
  t.true((unpaced.keys ?? 0) > 2 * STORED_KEYS_PER_TURN);
});
