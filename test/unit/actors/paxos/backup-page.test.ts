/**
 * A replica group's answer to a backup (actors/paxos/backup-page.ts): memory wins over disk
 * for ready keys, derived entries are skipped, pages are bounded, amnesic replicas list nothing.
 */
import test from 'ava';
import { backupKeys, backupPage } from '../../../../actors/paxos/backup-page';
import type { BackupSource } from '../../../../actors/paxos/backup-page';
import { encodeSealedRecord } from '../../../../actors/paxos/codec';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyStatus } from '../../../../actors/paxos/core/key-state';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { compareKeys } from '../../../../engines/key-order';

function rec(chosen: number, data: string | null, accepted = false): KeyRecord {
  const r = emptyRecord();
  r.chosen = chosen;
  r.version = chosen;
  r.data = data === null ? null : Buffer.from(data);
  if (accepted) {
    r.acceptedBallot = 1;
    r.accepted = { origin: 0, seq: 9, op: Uint8Array.of(1, 2) };
  }
  return r;
}

function source(
  disk: [string, KeyRecord | Uint8Array][],
  held: { key: string; status: KeyStatus; rec: KeyRecord }[],
  amnesic = false,
): BackupSource {
  const stored = disk
    .map(([k, r]): [string, Uint8Array] => [k, r instanceof Uint8Array ? r : encodeSealedRecord(r)])
    .sort((a, b) => compareKeys(a[0], b[0]));
  return {
    amnesic,
    held: () => held,
    isDerived: (key) => key.startsWith('~'),
    scan: (range, cb) => {
      const inRange = stored.filter(
        ([k]) => compareKeys(k, range.gte) >= 0 && compareKeys(k, range.lt) < 0,
      );
      queueMicrotask(() =>
        cb(inRange.slice(0, range.examineMax), inRange.length <= range.examineMax),
      );
    },
  };
}

test('a page prefers the held record of a ready key, and lists the disk otherwise', async (t) => {
  const s = source(
    [
      ['a', rec(1, 'old')],
      ['b', rec(2, 'disk', true)],
      ['c', rec(3, 'c')],
      ['~idx', rec(1, 'x')],
    ],
    [
      { key: 'a', status: 'ready', rec: rec(4, 'new') },
      { key: 'c', status: 'recovering', rec: rec(0, null) },
    ],
  );
  const page = await backupPage({ kind: 'backup-page', gte: '', limit: 10, bytesMax: 1 << 20 }, s);
  t.false(page.more);
  t.false(page.amnesic);
  t.deepEqual(
    page.entries.map((e) => [e.key, e.chosen, e.pending, e.unsettled]),
    [
      ['a', 4, false, false],
      ['b', 2, true, false],
      ['c', 0, false, true],
    ],
  );
  t.is(Buffer.from(page.entries[0]?.data ?? []).toString(), 'new');
});

test('a page is bounded by keys and bytes, and resumes after its last key', async (t) => {
  const s = source(
    [
      ['a', rec(1, 'x'.repeat(100))],
      ['b', rec(1, 'y'.repeat(100))],
      ['c', rec(1, 'z')],
    ],
    [],
  );
  const byKeys = await backupPage({ kind: 'backup-page', gte: '', limit: 2, bytesMax: 1 << 20 }, s);
  t.deepEqual(
    byKeys.entries.map((e) => e.key),
    ['a', 'b'],
  );
  t.true(byKeys.more);
  t.is(byKeys.resume, 'b');
  const byBytes = await backupPage({ kind: 'backup-page', gte: '', limit: 10, bytesMax: 50 }, s);
  t.deepEqual(
    byBytes.entries.map((e) => e.key),
    ['a'],
  );
  t.true(byBytes.more);
  t.is(byBytes.resume, 'a');
  const rest = await backupPage({ kind: 'backup-page', gte: 'b', limit: 10, bytesMax: 1 << 20 }, s);
  t.deepEqual(
    rest.entries.map((e) => e.key),
    ['b', 'c'],
  );
  t.false(rest.more);
});

test('a damaged record on disk is listed as unsettled', async (t) => {
  const bad = encodeSealedRecord(rec(1, 'x'));
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
  const page = await backupPage(
    { kind: 'backup-page', gte: '', limit: 10, bytesMax: 1 << 20 },
    source([['a', bad]], []),
  );
  t.deepEqual(
    page.entries.map((e) => [e.key, e.unsettled]),
    [['a', true]],
  );
});

test('an amnesic replica lists nothing; named keys come from memory only', async (t) => {
  const amnesic = await backupPage(
    { kind: 'backup-page', gte: '', limit: 10, bytesMax: 1 << 20 },
    source([['a', rec(1, 'x')]], [], true),
  );
  t.deepEqual(amnesic, { entries: [], more: false, resume: '', amnesic: true });
  const s = source(
    [['b', rec(1, 'x')]],
    [
      { key: 'a', status: 'ready', rec: rec(2, 'a') },
      { key: 'l', status: 'loading', rec: rec(0, null) },
    ],
  );
  const states = backupKeys({ kind: 'backup-keys', keys: ['a', 'b', 'l'] }, s);
  t.deepEqual(
    states.map((e) => [e.key, e.chosen, e.unsettled]),
    [
      ['a', 2, false],
      ['b', 0, true],
      ['l', 0, true],
    ],
  );
});
