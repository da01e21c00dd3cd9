/**
 * Table tests of point-in-time replay (actors/store/backup-replay.ts) and the segment frame
 * (backup-journal-format.ts): entries the full copy already holds are skipped, ops are applied
 * with the models' registry, state entries adopted, and a gap is reported, never guessed over.
 */
import test from 'ava';
import { encodeKvOp, parseCounter } from '../../../../models/kv/kv';
import { ModelTag } from '../../../../models/model-tags';
import { tagged } from '../../../../models/registry';
import { allModels } from '../../../../models/all-models';
import { JournalEntryKind } from '../../../../actors/paxos/journal-codec';
import { foldKey } from '../../../../actors/store/backup-replay';
import { decodeShipped, encodeShipped } from '../../../../actors/store/backup-journal-format';
import type { ShippedEntry } from '../../../../actors/store/backup-journal-format';

const incr = tagged(ModelTag.kv, encodeKvOp({ type: 'incr', by: 1 }));

function op(seq: number, version: number): ShippedEntry {
  const kind = JournalEntryKind.op;
  return {
    group: 0,
    seq,
    time: seq,
    kind,
    key: 'k',
    version,
    fromVersion: version - 1,
    bytes: incr,
  };
}

/** The counter after `n` increments, as a replica computes it. */
function counterAt(n: number): Uint8Array | null {
  let data: Uint8Array | null = null;
  for (let v = 0; v < n; v++) data = allModels.apply(data, v, incr).data;
  return data;
}

const counter = (d: Uint8Array | null): number | undefined =>
  d === null ? undefined : parseCounter(d.subarray(1));

const cases: {
  name: string;
  base: number;
  entries: ShippedEntry[];
  want: number | string;
}[] = [
  { name: 'no entries: the copy', base: 3, entries: [], want: 3 },
  { name: 'ops after the copy apply', base: 2, entries: [op(1, 3), op(2, 4)], want: 4 },
  {
    name: 'ops the copy holds are skipped',
    base: 3,
    entries: [op(1, 2), op(2, 3), op(3, 4)],
    want: 4,
  },
  { name: 'a key new after the copy', base: 0, entries: [op(1, 1), op(2, 2)], want: 2 },
  { name: 'a gap is reported', base: 1, entries: [op(1, 3)], want: 'applies to k at 2' },
  {
    name: 'a state entry jumps, then ops continue',
    base: 1,
    entries: [
      { ...op(1, 5), kind: JournalEntryKind.state, fromVersion: 1, bytes: counterAt(5) },
      op(2, 6),
    ],
    want: 6,
  },
  {
    name: 'a state entry from beyond the copy is a gap',
    base: 1,
    entries: [{ ...op(1, 5), kind: JournalEntryKind.state, fromVersion: 3, bytes: counterAt(5) }],
    want: 'jumps k from 3',
  },
];

for (const c of cases) {
  test(`foldKey: ${c.name}`, (t) => {
    const out = foldKey({ version: c.base, data: counterAt(c.base) }, c.entries);
    if (typeof c.want === 'string') {
      t.is(typeof out, 'string');
      t.true(String(out).includes(c.want), String(out));
      return;
    }
    if (typeof out === 'string') return t.fail(out);
    t.is(out.version, c.want);
    t.is(counter(out.data), c.want);
  });
}

test('segment frames round-trip, and a changed byte does not decode as the same entry', (t) => {
  const e: ShippedEntry = { ...op(7, 9), key: 'ns\u0001clé', time: 1_765_000_000_123 };
  const frame = encodeShipped(e);
  t.deepEqual(decodeShipped(frame.subarray(8)), e);
  const state: ShippedEntry = { ...e, kind: JournalEntryKind.state, bytes: null };
  t.deepEqual(decodeShipped(encodeShipped(state).subarray(8)), state);
  const cut = frame.subarray(8, frame.length - 1);
  t.is(decodeShipped(cut), undefined);
});
