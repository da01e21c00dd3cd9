/**
 * Journal subscription on an embedded store (README "Journal subscription"): every applied
 * change in order per group with consecutive seqs, resume after the last ack across a reopen,
 * independent named subscribers, expiry past the retention bound, and bad input.
 */
import test from 'ava';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { StoreJournalEntry, Subscription } from '../../index';
import { codeOf, take, tempDir } from './helpers';

const OPEN = { engine: 'bitcask', workers: 1, groups: 2, repair: { enabled: false } } as const;

function checkOrder(t: import('ava').ExecutionContext, entries: StoreJournalEntry[]): void {
  const last = new Map<number, number>();
  for (const e of entries) {
    const prev = last.get(e.group);
    if (prev !== undefined) t.is(e.seq, prev + 1, `group ${e.group} seq after ${prev}`);
    last.set(e.group, e.seq);
  }
}

test('every write appears once, in order per group, and a reopened subscriber resumes after its ack', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  let store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  const kv = store.kv('ns');
  for (let i = 0; i < 20; i++) await kv.put(`k${i % 5}`, `v${i}`);
  let sub = store.subscribe('reconciler', { from: 'start' });
  // Each replica journals what it applied: 20 puts, seen on replica 0 (op or state entries).
  const first = await take(sub, 20);
  checkOrder(t, first);
  const versions = new Map<string, number>();
  for (const e of first) {
    t.is(e.namespace, 'ns');
    t.is(e.model, 'kv');
    t.is(e.kind, 'op');
    t.is(e.fromVersion, e.version - 1);
    const v = versions.get(e.key) ?? 0;
    t.is(e.version, v + 1, `${e.key} versions consecutive`);
    versions.set(e.key, e.version);
  }
  t.deepEqual([...versions.values()], [4, 4, 4, 4, 4]);
  // Ack the first 10 of each group's entries we saw, then reopen the store.
  const acked = new Map<number, number>();
  for (const e of first.slice(0, 10)) {
    await sub.ack(e);
    acked.set(e.group, e.seq);
  }
  await sub.return();
  await store.close();
  store = await PaxosStore.open({ ...OPEN, dir, journal: true });
  await store.kv('ns').put('late', 'x');
  sub = store.subscribe('reconciler');
  const again = await take(sub, 11);
  for (const e of again) t.true(e.seq > (acked.get(e.group) ?? 0), 'resumes after the ack');
  const seen = new Set(first.map((e) => `${e.group}:${e.seq}`));
  const overlap = again.filter((e) => seen.has(`${e.group}:${e.seq}`));
  t.is(overlap.length, 10, 'the unacknowledged ten come again');
  t.true(again.some((e) => e.key === 'late'));
  // Seek by time: the entry of 'late' is at or after the time it was written.
  const late = again.find((e) => e.key === 'late');
  if (late !== undefined) t.true((await store.journalSeek(late.group, late.time)) <= late.seq);
  // Another name is independent: from 'start' it sees everything retained.
  const other = await take(store.subscribe('analysis', { from: 'start' }), 21);
  t.is(new Set(other.map((e) => `${e.group}:${e.seq}`)).size, 21);
  await store.close();
});

test('a subscriber that falls past the retention bound gets SUBSCRIPTION_EXPIRED', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  const store = await PaxosStore.open({
    ...OPEN,
    groups: 1,
    dir,
    journal: { retainEntriesMax: 5, retainAckedEntries: 0 },
  });
  t.teardown(() => store.close());
  const sub = store.subscribe('slow', { from: 'start' });
  await sub.ready();
  await store.kv('ns').put('a', '1');
  const [e] = await take(sub, 1);
  t.is(e?.seq, 1);
  await sub.return();
  for (let i = 0; i < 12; i++) await store.kv('ns').put('a', `${i}`);
  const error = await take(store.subscribe('slow'), 1).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.is(codeOf(error), 'SUBSCRIPTION_EXPIRED');
  const range = await store.journalRange(0);
  t.true(range.head - range.first + 1 <= 5, `retained ${range.first}..${range.head}`);
  // Removing the cursor lets retention drop what only it held (retainAckedEntries 0); a new
  // subscriber under the name starts over and sees what comes next.
  await store.unsubscribe('slow');
  const emptied = await store.journalRange(0);
  t.is(emptied.first, range.head + 1);
  const fresh = store.subscribe('slow', { from: 'start' });
  await fresh.ready();
  await store.kv('ns').put('b', 'after');
  const [next] = await take(fresh, 1);
  t.is(next?.seq, range.head + 1);
  t.is(next?.key, 'b');
});

test('an amnesic restart of the serving replica expires its subscribers (a new epoch)', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  // sync 'none': a restarted replica is amnesic (its disk may be behind what it answered).
  const store = await PaxosStore.open({ ...OPEN, groups: 1, sync: 'none', dir, journal: true });
  t.teardown(() => store.close());
  const sub = store.subscribe('r', { from: 'start' });
  await sub.ready();
  await store.kv('ns').put('a', '1');
  const [e] = await take(sub, 1);
  t.truthy(e);
  if (e !== undefined) await sub.ack(e);
  await sub.return();
  await store.replica(0).crash();
  await store.replica(0).restart();
  const error = await take(store.subscribe('r'), 1).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.is(codeOf(error), 'SUBSCRIPTION_EXPIRED');
  // Another replica's journal did not start over: a subscriber there goes on.
  const other = store.subscribe('r', { replica: 1, from: 'start' });
  const [first] = await take(other, 1);
  t.is(first?.key, 'a');
  // Starting over on replica 0: the new epoch, and seqs after the stored head.
  await store.unsubscribe('r');
  const again = store.subscribe('r', { from: 'start' });
  await again.ready();
  await store.kv('ns').put('b', '2');
  const seen = await take(again, 1);
  t.true(seen.length === 1 && seen[0]?.epoch !== e?.epoch, 'a new epoch');
});

test('a replica that catches a key up from a peer journals one state entry for the jump', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  const store = await PaxosStore.open({ ...OPEN, groups: 1, dir, journal: true });
  t.teardown(() => store.close());
  const sub = store.subscribe('r', { from: 'start' });
  await sub.ready();
  await store.replica(1).kv('ns').put('a', 'v1');
  // next() itself: a for-await loop that breaks ends the subscription (return()).
  const first = (await sub.next()).value;
  t.like(first, { kind: 'op', version: 1, fromVersion: 0, key: 'a' });
  // Replica 0 misses three writes, then a read through it catches the key up.
  store.partition([[0], [1, 2]]);
  for (let i = 2; i <= 4; i++) await store.replica(1).kv('ns').put('a', `v${i}`);
  store.heal();
  t.is((await store.replica(0).kv('ns').get('a'))?.version, 4);
  const jump = (await sub.next()).value;
  t.like(jump, { kind: 'state', fromVersion: 1, version: 4, key: 'a', model: 'kv', op: null });
  t.is(new TextDecoder().decode(jump?.data ?? new Uint8Array()), 'v4');
  await sub.return();
});

test('bad input and a store without a journal are refused with codes', async (t) => {
  const store = await PaxosStore.open({ workers: 1, groups: 1 });
  t.teardown(() => store.close());
  t.is(codeOf(catchSync(() => store.subscribe('x'))), 'INVALID_ARGUMENT');
  const err = await PaxosStore.open({ workers: 1, groups: 1, journal: true }).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  t.is(codeOf(err), 'UNSUPPORTED_ENGINE');
  const dir = path.join(tempDir(t), 'data');
  const withJournal = await PaxosStore.open({ ...OPEN, dir, journal: true });
  t.teardown(() => withJournal.close());
  t.is(codeOf(catchSync(() => withJournal.subscribe('no spaces'))), 'INVALID_ARGUMENT');
  t.is(
    codeOf(catchSync(() => withJournal.subscribe('ok', { from: 'x' as 'now' }))),
    'INVALID_ARGUMENT',
  );
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}
