/**
 * applyChosen of an install op (actors/paxos/core/key-record.ts, docs/decisions.md 17): replicas
 * that hold different states at one chosen instance converge when the same install is chosen
 * at the next instance, and a stale install changes nothing on any of them.
 */
import test from 'ava';
import { applyChosen, emptyRecord } from '../../../../../actors/paxos/core/key-record';
import type { KeyRecord, Proposal } from '../../../../../actors/paxos/core/types';
import { allModels } from '../../../../../models/all-models';
import { InstallStatus, encodeInstallOp } from '../../../../../models/install-op';
import { encodeKvOp } from '../../../../../models/kv/kv';
import { ModelTag } from '../../../../../models/model-tags';
import { tagged } from '../../../../../models/registry';
import { windowEntries } from '../../../../../actors/paxos/core/recent-window';

function put(origin: number, seq: number, value: string): Proposal {
  return {
    origin,
    seq,
    op: tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) })),
  };
}

function chosen(values: Proposal[]): KeyRecord {
  const rec = emptyRecord();
  for (const v of values) applyChosen(rec, v, allModels);
  return rec;
}

/** Replicas 0 and 1 chose different values at instance 2 (after instance 1 agreed). */
function divergedPair(): [KeyRecord, KeyRecord] {
  return [chosen([put(0, 1, 'x'), put(0, 2, 'A')]), chosen([put(0, 1, 'x'), put(1, 3, 'B')])];
}

test('the same install chosen on diverged replicas leaves them identical', (t) => {
  const [zero, one] = divergedPair();
  t.notDeepEqual(zero.data, one.data);
  const install: Proposal = {
    origin: 0,
    seq: 50,
    op: encodeInstallOp({
      expectChosen: 2,
      data: zero.data,
      version: 3,
      recent: windowEntries(zero),
    }),
  };
  const results = [zero, one].map((rec) => applyChosen(rec, install, allModels));
  t.deepEqual(
    results.map((e) => [...e]),
    [[InstallStatus.installed], [InstallStatus.installed]],
  );
  t.deepEqual(one, zero, 'data, version, chosen id and recent window alike');
  t.is(zero.chosen, 3);
  t.is(zero.version, 3);
  t.is(
    Buffer.from(zero.data ?? [])
      .subarray(1)
      .toString(),
    'A',
  );
  t.deepEqual(
    windowEntries(zero).map((e) => e.seq),
    [1, 2, 50],
    "the winner's window, then the install",
  );
  // The next write applies to one state everywhere.
  for (const rec of [zero, one]) applyChosen(rec, put(2, 60, 'C'), allModels);
  t.deepEqual(one, zero);
  t.is(zero.version, 4);
});

test('an install read at another instance is stale on every replica and changes nothing', (t) => {
  const [zero, one] = divergedPair();
  const before = [structuredClone(zero), structuredClone(one)];
  const install: Proposal = {
    origin: 0,
    seq: 51,
    op: encodeInstallOp({ expectChosen: 1, data: null, version: 9, recent: [] }),
  };
  for (const rec of [zero, one])
    t.deepEqual([...applyChosen(rec, install, allModels)], [InstallStatus.stale]);
  // Only the instance advanced (with the install's id), as for any value chosen there.
  t.deepEqual(
    [zero.data, zero.version, one.data, one.version],
    [before[0]?.data, before[0]?.version, before[1]?.data, before[1]?.version],
  );
  t.deepEqual([zero.chosen, one.chosen], [3, 3]);
});

test('a malformed install op changes nothing; an install chosen twice is applied once', (t) => {
  const rec = chosen([put(0, 1, 'x')]);
  const bad: Proposal = { origin: 1, seq: 70, op: Uint8Array.of(0xf0, 1, 2) };
  t.deepEqual([...applyChosen(rec, bad, allModels)], [InstallStatus.malformed]);
  t.is(rec.version, 1);
  const install: Proposal = {
    origin: 1,
    seq: 71,
    op: encodeInstallOp({ expectChosen: 2, data: null, version: 5, recent: [] }),
  };
  applyChosen(rec, install, allModels);
  t.deepEqual([rec.data, rec.version, rec.chosen], [null, 5, 3]);
  // The same value chosen again (a retried request): the recent window answers, nothing applies.
  const again = applyChosen(rec, install, allModels);
  t.deepEqual([...again], [InstallStatus.installed]);
  t.deepEqual([rec.data, rec.version, rec.chosen], [null, 5, 4]);
});
