/**
 * The backup's per-key rule (actors/store/backup-merge.ts) as a table, and the merge of pages
 * listed by several replicas.
 */
import test from 'ava';
import type { BackupEntry, BackupPage } from '../../../../actors/paxos/backup-page';
import { decideKey, keyAfter, mergePages } from '../../../../actors/store/backup-merge';
import { compareKeys } from '../../../../engines/key-order';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import { encodeKvOp } from '../../../../models/kv/kv';
import { ModelTag } from '../../../../models/model-tags';
import { tagged } from '../../../../models/registry';

/** A put of `text`, as the KV handle proposes it. */
function put(text: string): Uint8Array {
  return tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(text) }));
}

interface At {
  readonly data?: Uint8Array | null;
  readonly version?: number;
  readonly unsettled?: boolean;
  /** A write accepted at chosen + 1: its ballot and seq (the same pair = the same vote). */
  readonly pending?: { readonly ballot: number; readonly seq: number };
}

/** A replica's entry at instance `chosen` (its data: a KV state, version = chosen). */
function at(chosen: number, extra: At = {}): BackupEntry {
  if (extra.unsettled === true)
    return {
      key: 'k',
      chosen: 0,
      version: 0,
      data: null,
      pending: false,
      unsettled: true,
      record: null,
    };
  const record = emptyRecord();
  record.chosen = chosen;
  record.version = extra.version ?? chosen;
  record.data =
    extra.data !== undefined
      ? extra.data
      : chosen === 0
        ? null
        : tagged(ModelTag.kv, Buffer.from(`v${chosen}`));
  if (extra.pending !== undefined) {
    record.acceptedBallot = extra.pending.ballot;
    record.accepted = { origin: 1, seq: extra.pending.seq, op: put(`next ${extra.pending.seq}`) };
  }
  const { version, data } = record;
  return {
    key: 'k',
    chosen,
    version,
    data,
    pending: extra.pending !== undefined,
    unsettled: false,
    record,
  };
}

const P1 = { ballot: 5, seq: 1 };

const table: {
  name: string;
  states: (BackupEntry | undefined)[];
  want: 'take' | 'read' | 'skip';
  chosen?: number;
}[] = [
  { name: 'all replicas at one instance', states: [at(3), at(3), at(3)], want: 'take', chosen: 3 },
  // A replica behind (or without the key) does not matter: the newest chosen state is taken.
  { name: 'one replica behind', states: [at(1), at(4), at(4)], want: 'take', chosen: 4 },
  {
    name: 'the newest on one replica only',
    states: [at(2), undefined, at(5)],
    want: 'take',
    chosen: 5,
  },
  // A write accepted at c* + 1 by one replica may have been chosen and acknowledged: the
  // listing cannot tell (the replicas that accepted it with the listed one may be down).
  {
    name: 'a write pending on one replica at the newest instance',
    states: [at(4), at(4, { pending: P1 }), at(3)],
    want: 'read',
  },
  // Accepted by a majority of the Set in one ballot: chosen, and applied here.
  {
    name: 'a write pending on a majority in one ballot',
    states: [at(4, { pending: P1 }), at(4, { pending: P1 }), undefined],
    want: 'take',
    chosen: 5,
  },
  {
    name: 'a first write pending on a majority',
    states: [at(0, { pending: P1 }), at(0, { pending: P1 })],
    want: 'take',
    chosen: 1,
  },
  {
    name: 'pending on two replicas in different ballots',
    states: [at(4, { pending: P1 }), at(4, { pending: { ballot: 6, seq: 1 } })],
    want: 'read',
  },
  {
    name: 'pending on two replicas, different values',
    states: [at(4, { pending: P1 }), at(4, { pending: { ballot: 5, seq: 2 } })],
    want: 'read',
  },
  // One pending at an older instance is at most c*: already covered by the newest state.
  {
    name: 'a write pending below the newest instance',
    states: [at(2, { pending: P1 }), at(4)],
    want: 'take',
    chosen: 4,
  },
  {
    name: 'a replica that does not know its state',
    states: [at(4), at(0, { unsettled: true })],
    want: 'read',
  },
  { name: 'nothing chosen, nothing pending (a promise)', states: [at(0), undefined], want: 'skip' },
  { name: 'chosen no-ops only (reads)', states: [at(2, { data: null, version: 0 })], want: 'skip' },
  {
    name: 'a deleted key keeps its version',
    states: [at(3, { data: null, version: 2 })],
    want: 'take',
    chosen: 3,
  },
];

for (const row of table) {
  test(`decideKey: ${row.name}`, (t) => {
    const d = decideKey(row.states, 3);
    t.is(d.kind, row.want);
    if (d.kind === 'take') t.is(d.entry.chosen, row.chosen ?? -1);
  });
}

test('decideKey applies a majority-accepted write as the replicas will (the model, the version)', (t) => {
  const d = decideKey([at(4, { pending: P1 }), at(4, { pending: P1 }), at(4)], 3);
  t.true(d.kind === 'take');
  if (d.kind !== 'take') return;
  t.is(d.entry.chosen, 5);
  t.is(d.entry.version, 5);
  t.deepEqual(d.entry.data, tagged(ModelTag.kv, Buffer.from('next 1')));
  // A majority of a Set of 5 is 3: two votes are not enough.
  t.is(decideKey([at(4, { pending: P1 }), at(4, { pending: P1 }), at(4)], 5).kind, 'read');
});

test('decideKey flags replicas that hold different states at the newest instance', (t) => {
  const d = decideKey([at(3), at(3, { data: Buffer.from('other') })], 3);
  t.is(d.kind, 'take');
  t.true(d.kind === 'take' && d.diverged);
  const same = decideKey([at(3), at(3)], 3);
  t.true(same.kind === 'take' && !same.diverged);
});

function page(keys: string[], more: boolean, resume = keys[keys.length - 1] ?? ''): BackupPage {
  return { entries: keys.map((key) => ({ ...at(1), key })), more, resume, amnesic: false };
}

test('mergePages stops at the lowest key a replica with more stopped at', (t) => {
  const round = mergePages([
    page(['a', 'c', 'e'], true),
    page(['a', 'b', 'c', 'd'], true),
    page(['b', 'f'], false),
  ]);
  t.is(round.through, 'd');
  t.deepEqual(
    round.rows.map((r) => r.key),
    ['a', 'b', 'c', 'd'],
  );
  const a = round.rows[0];
  t.deepEqual(
    a?.states.map((s) => s !== undefined),
    [true, true, false],
  );
  const last = mergePages([page(['x'], false), page([], false)]);
  t.is(last.through, undefined);
  t.deepEqual(
    last.rows.map((r) => r.key),
    ['x'],
  );
});

test('mergePages orders keys as the engines do (UTF-8 bytes), and keyAfter is the next key', (t) => {
  const high = '\u{10000}';
  const round = mergePages([page(['\uffff', high], false), page(['a'], false)]);
  t.deepEqual(
    round.rows.map((r) => r.key),
    ['a', '\uffff', high],
  );
  t.true(compareKeys('\uffff', high) < 0);
  t.true(compareKeys('k', keyAfter('k')) < 0);
  t.true(compareKeys(keyAfter('k'), 'k\u0001') < 0);
  t.true(compareKeys(keyAfter('k'), 'ka') < 0);
});
