/**
 * The backup's per-key rule (actors/store/backup-merge.ts) as a table, and the merge of pages
 * listed by several replicas.
 */
import test from 'ava';
import type { BackupEntry, BackupPage } from '../../../../actors/paxos/backup-page';
import { decideKey, keyAfter, mergePages } from '../../../../actors/store/backup-merge';
import { compareKeys } from '../../../../engines/key-order';

function at(chosen: number, extra: Partial<BackupEntry> = {}): BackupEntry {
  const data = chosen === 0 ? null : Buffer.from(`v${chosen}`);
  return { key: 'k', chosen, version: chosen, data, pending: false, unsettled: false, ...extra };
}

const table: { name: string; states: (BackupEntry | undefined)[]; want: 'take' | 'read' | 'skip'; chosen?: number }[] = [
  { name: 'all replicas at one instance', states: [at(3), at(3), at(3)], want: 'take', chosen: 3 },
  // A replica behind (or without the key) does not matter: the newest chosen state is taken.
  { name: 'one replica behind', states: [at(1), at(4), at(4)], want: 'take', chosen: 4 },
  { name: 'the newest on one replica only', states: [at(2), undefined, at(5)], want: 'take', chosen: 5 },
  // A write accepted at c* + 1 may have been chosen and acknowledged: the listing cannot tell.
  { name: 'a pending write at the newest instance', states: [at(4), at(4, { pending: true }), at(3)], want: 'read' },
  // One pending at an older instance is at most c*: already covered by the newest state.
  { name: 'a pending write below the newest instance', states: [at(2, { pending: true }), at(4)], want: 'take', chosen: 4 },
  { name: 'a replica that does not know its state', states: [at(4), at(0, { unsettled: true })], want: 'read' },
  { name: 'only a pending first write', states: [at(0, { pending: true }), undefined], want: 'read' },
  { name: 'nothing chosen, nothing pending (a promise)', states: [at(0), undefined], want: 'skip' },
  { name: 'chosen no-ops only (reads)', states: [at(2, { data: null, version: 0 })], want: 'skip' },
  { name: 'a deleted key keeps its version', states: [at(3, { data: null, version: 2 })], want: 'take', chosen: 3 },
];

for (const row of table) {
  test(`decideKey: ${row.name}`, (t) => {
    const d = decideKey(row.states);
    t.is(d.kind, row.want);
    if (d.kind === 'take') t.is(d.entry.chosen, row.chosen ?? -1);
  });
}

test('decideKey flags replicas that hold different states at the newest instance', (t) => {
  const d = decideKey([at(3), at(3, { data: Buffer.from('other') })]);
  t.is(d.kind, 'take');
  t.true(d.kind === 'take' && d.diverged);
  const same = decideKey([at(3), at(3)]);
  t.true(same.kind === 'take' && !same.diverged);
});

function page(keys: string[], more: boolean, resume = keys[keys.length - 1] ?? ''): BackupPage {
  return { entries: keys.map((key) => ({ ...at(1), key })), more, resume, amnesic: false };
}

test('mergePages stops at the lowest key a replica with more stopped at', (t) => {
  const round = mergePages([page(['a', 'c', 'e'], true), page(['a', 'b', 'c', 'd'], true), page(['b', 'f'], false)]);
  t.is(round.through, 'd');
  t.deepEqual(round.rows.map((r) => r.key), ['a', 'b', 'c', 'd']);
  const a = round.rows[0];
  t.deepEqual(a?.states.map((s) => s !== undefined), [true, true, false]);
  const last = mergePages([page(['x'], false), page([], false)]);
  t.is(last.through, undefined);
  t.deepEqual(last.rows.map((r) => r.key), ['x']);
});

test('mergePages orders keys as the engines do (UTF-8 bytes), and keyAfter is the next key', (t) => {
  const high = '\u{10000}';
  const round = mergePages([page(['\uffff', high], false), page(['a'], false)]);
  t.deepEqual(round.rows.map((r) => r.key), ['a', '\uffff', high]);
  t.true(compareKeys('\uffff', high) < 0);
  t.true(compareKeys('k', keyAfter('k')) < 0);
  t.true(compareKeys(keyAfter('k'), 'k\u0001') < 0);
  t.true(compareKeys(keyAfter('k'), 'ka') < 0);
});
