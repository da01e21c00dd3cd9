/**
 * `acceptDataLoss: true` after a whole-store crash of a `sync: 'none'` run (issue 7 item 7):
 * every replica forgot its unwritten records at once, so replicas can come back holding
 * different states at the same chosen instance, and Paxos, which only moves forward, never
 * reconciles them by itself. `store.verify()` must report such keys as `diverged`, and
 * `verify({ repair: true })` must converge every replica on one state, chosen by the rule in
 * docs/decisions.md 17, through a Paxos write.
 *
 * A real power loss gives no control over which prefix each replica keeps, so the tests build
 * the diverged state deterministically: a clean `sync: 'none'` run writes the keys, then the
 * records of chosen states are written straight into each replica's engine (the state a crash
 * could leave), the UNSYNCED-RUN marker is put back as a crash leaves it, and the store is
 * reopened with `acceptDataLoss: true`.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions, VerifyReport } from '../../index';
import { createEngine } from '../../engines/create-engine';
import { allModels } from '../../models/all-models';
import { encodeKvOp } from '../../models/kv/kv';
import { encodeQueueOp } from '../../models/queue/queue';
import { ModelTag } from '../../models/model-tags';
import { tagged } from '../../models/registry';
import { applyChosen, emptyRecord } from '../../actors/paxos/core/key-record';
import type { KeyRecord, Proposal } from '../../actors/paxos/core/types';
import { encodeSealedRecord } from '../../actors/paxos/codec';
import { NAMESPACE_SEPARATOR } from '../../actors/store/kv';
import { OBJECT_PREFIX } from '../../actors/store/model-client';
import { UNSYNCED_MARKER_FILE } from '../../actors/node/unsynced-marker';
import { FAST, codeOf, tempDir } from './helpers';

const NS = 'users';
const KEYS = ['alpha', 'beta', 'gamma', 'delta'];
type DiskEngine = 'lsm' | 'bitcask';
const optionsOf = (engine: DiskEngine): PaxosStoreOptions => ({ ...FAST, engine, sync: 'none' });

const internal = (key: string): string => `${NS}${NAMESPACE_SEPARATOR}${key}`;

/**
 * A value as a replica could have chosen it. Seqs below 2^32 are below every incarnation's
 * seq base (docs/decisions.md 14), so they never collide with ids the store hands out.
 */
function put(origin: number, seq: number, value: string): Proposal {
  return {
    origin,
    seq,
    op: tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) })),
  };
}

function noop(origin: number, seq: number): Proposal {
  return { origin, seq, op: new Uint8Array(0) };
}

/** The settled record of a key after the given values were chosen at instances 1, 2, ... */
function chosenRecord(values: readonly Proposal[]): KeyRecord {
  const rec = emptyRecord();
  for (const v of values) applyChosen(rec, v, allModels);
  return rec;
}

/** A clean sync 'none' run that writes every key once and closes: the directory's layout. */
async function seedDir(t: ExecutionContext, engine: DiskEngine): Promise<string> {
  const dir = tempDir(t);
  const store = await PaxosStore.open({ ...optionsOf(engine), dir });
  try {
    for (const k of KEYS) await store.kv(NS).put(k, 'seed');
    await store.queue('jobs').push('seed');
  } finally {
    await store.close();
  }
  return dir;
}

function groupDirs(dir: string, replica: number): string[] {
  const root = path.join(dir, `replica-${replica}`);
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^group-\d+$/.test(e.name))
    .map((e) => path.join(root, e.name));
}

/** The group directory name holding a key (the same group on every replica). */
async function groupOf(kind: DiskEngine, dir: string, key: string): Promise<string> {
  for (let r = 0; r < 3; r++) {
    for (const g of groupDirs(dir, r)) {
      const engine = createEngine(kind, { dir: g });
      await engine.open();
      try {
        if ((await engine.get(key)) !== undefined) return path.basename(g);
      } finally {
        await engine.close();
      }
    }
  }
  throw new Error(`no replica holds ${key}`);
}

/** Writes each replica's record of a key as a crash could have left it (null: no record). */
async function setRecords(
  kind: DiskEngine,
  dir: string,
  key: string,
  records: readonly (KeyRecord | null)[],
): Promise<void> {
  const group = await groupOf(kind, dir, key);
  for (let r = 0; r < records.length; r++) {
    const engine = createEngine(kind, { dir: path.join(dir, `replica-${r}`, group) });
    await engine.open();
    try {
      const rec = records[r];
      await engine.write(
        [
          rec === null || rec === undefined
            ? { type: 'del', key }
            : { type: 'put', key, value: encodeSealedRecord(rec) },
        ],
        { sync: true },
      );
    } finally {
      await engine.close();
    }
  }
}

/** Puts the marker back as a crash of the 'none' run leaves it, and reopens accepting the loss. */
async function reopenAfterCrash(
  t: ExecutionContext,
  engine: DiskEngine,
  dir: string,
): Promise<PaxosStore> {
  fs.writeFileSync(path.join(dir, UNSYNCED_MARKER_FILE), 'crashed\n');
  t.is(
    codeOf(await PaxosStore.open({ ...optionsOf(engine), dir }).catch((e: unknown) => e)),
    'DATA_LOSS_POSSIBLE',
  );
  const store = await PaxosStore.open({ ...optionsOf(engine), dir, acceptDataLoss: true });
  t.teardown(() => store.close());
  return store;
}

async function localValues(store: PaxosStore, key: string): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let r = 0; r < 3; r++) {
    const got = await store.replica(r).kv(NS).get(key, { consistency: 'local' });
    out.push(got === undefined ? undefined : `${got.value.toString()}@${got.version}`);
  }
  return out;
}

function mismatchOf(
  report: VerifyReport,
  key: string,
): VerifyReport['mismatches'][number] | undefined {
  return report.mismatches.find((m) => m.where.key === key);
}

for (const engine of ['lsm', 'bitcask'] as const) {
  test.serial(
    `${engine}: replicas that chose different values at the same instance are diverged; repair installs the majority state on all`,
    async (t) => {
      const dir = await seedDir(t, engine);
      // Replicas 0 and 2 chose A at instance 1; replica 1 chose B there (a quorum that forgot A
      // chose again). Every other key is left as the clean run wrote it.
      const a = chosenRecord([put(0, 11, 'A')]);
      const b = chosenRecord([put(1, 12, 'B')]);
      await setRecords(engine, dir, internal('alpha'), [a, b, a]);
      const store = await reopenAfterCrash(t, engine, dir);

      const before = await store.verify();
      t.false(before.ok, 'divergence is damage');
      t.false(before.aligned);
      const m = mismatchOf(before, 'alpha');
      t.is(m?.kind, 'diverged', JSON.stringify(before.mismatches));
      t.deepEqual(
        m?.replicas.map((s) => s?.instance),
        [1, 1, 1],
      );
      t.is(m?.replicas[0]?.digest, m?.replicas[2]?.digest);
      t.not(m?.replicas[0]?.digest, m?.replicas[1]?.digest);
      // Every replica answers its own state, linearizable reads included: that is the damage.
      t.deepEqual(await localValues(store, 'alpha'), ['A@1', 'B@1', 'A@1']);
      t.is((await store.replica(1).kv(NS).get('alpha'))?.value.toString(), 'B');

      const repair = await store.verify({ repair: true });
      t.is(
        mismatchOf(repair, 'alpha')?.kind,
        'diverged',
        'the report describes the state before the repair',
      );
      t.is(repair.installed, 1, 'one install write');
      t.is(repair.repairFailed, 0);

      const after = await store.verify();
      t.true(after.ok, JSON.stringify(after.mismatches));
      t.true(after.aligned, JSON.stringify(after.mismatches));
      // The state two replicas held wins; the install counts as one mutation above every version.
      t.deepEqual(await localValues(store, 'alpha'), ['A@2', 'A@2', 'A@2']);
      t.deepEqual(await store.replica(1).kv(NS).put('alpha', 'next'), { version: 3 });
      t.deepEqual(await localValues(store, 'alpha'), ['next@3', 'next@3', 'next@3']);
      t.deepEqual(
        (await store.kv(NS).get('beta'))?.value.toString(),
        'seed',
        'other keys are untouched',
      );
    },
  );

  test.serial(
    `${engine}: the same data and version under a different chosen id is diverged too`,
    async (t) => {
      const dir = await seedDir(t, engine);
      // Replica 1 chose a value from another origin that left the same bytes and version: the
      // replicas disagree on who may skip Prepare for instance 2 (pre-authorization).
      const mine = chosenRecord([put(0, 21, 'same')]);
      const other = chosenRecord([put(2, 22, 'same')]);
      await setRecords(engine, dir, internal('beta'), [mine, other, mine]);
      const store = await reopenAfterCrash(t, engine, dir);

      const before = await store.verify();
      t.is(mismatchOf(before, 'beta')?.kind, 'diverged', JSON.stringify(before.mismatches));
      t.false(before.ok);

      const repair = await store.verify({ repair: true });
      t.is(repair.installed, 1);
      const after = await store.verify();
      t.true(after.aligned, JSON.stringify(after.mismatches));
      t.deepEqual(await localValues(store, 'beta'), ['same@2', 'same@2', 'same@2']);
    },
  );

  test.serial(
    `${engine}: a tie goes to the higher version; a replica at a lower instance is behind, and converges too`,
    async (t) => {
      const dir = await seedDir(t, engine);
      // Instance 2 on replicas 0 and 1: one holds X then a read no-op (version 1), the other X then
      // Y (version 2). Replica 2 kept only instance 1.
      const low = chosenRecord([put(0, 31, 'X'), noop(0, 32)]);
      const high = chosenRecord([put(0, 31, 'X'), put(1, 33, 'Y')]);
      const old = chosenRecord([put(0, 31, 'X')]);
      await setRecords(engine, dir, internal('gamma'), [low, high, old]);
      // Another key where only one replica is at a lower instance: lag, not divergence.
      await setRecords(engine, dir, internal('delta'), [high, high, old]);
      const store = await reopenAfterCrash(t, engine, dir);

      const before = await store.verify();
      t.is(mismatchOf(before, 'gamma')?.kind, 'diverged', JSON.stringify(before.mismatches));
      t.deepEqual(
        mismatchOf(before, 'gamma')?.replicas.map((s) => s?.instance),
        [2, 2, 1],
      );
      t.is(mismatchOf(before, 'delta')?.kind, 'behind', JSON.stringify(before.mismatches));

      const repair = await store.verify({ repair: true });
      t.is(repair.installed, 1, 'only gamma needs an install');
      t.is(repair.repairFailed, 0);
      const after = await store.verify();
      t.true(after.aligned, JSON.stringify(after.mismatches));
      t.deepEqual(
        await localValues(store, 'gamma'),
        ['Y@3', 'Y@3', 'Y@3'],
        'version 2 beats the lower replica id',
      );
      t.deepEqual(await localValues(store, 'delta'), ['Y@2', 'Y@2', 'Y@2']);
    },
  );

  test.serial(
    `${engine}: a value left accepted at the next instance is finished first, then the install converges`,
    async (t) => {
      const dir = await seedDir(t, engine);
      // As test 1, and replica 0 had also accepted a read's no-op for instance 2 (ballot 4: round
      // 1 of replica 0) when the process died. The install's Prepare would find it and choose it.
      const a = chosenRecord([put(0, 51, 'A')]);
      const b = chosenRecord([put(1, 52, 'B')]);
      const open: KeyRecord = {
        ...chosenRecord([put(0, 51, 'A')]),
        promised: 4,
        acceptedBallot: 4,
        accepted: noop(0, 53),
      };
      await setRecords(engine, dir, internal('alpha'), [open, b, a]);
      const store = await reopenAfterCrash(t, engine, dir);

      const repair = await store.verify({ repair: true });
      t.is(mismatchOf(repair, 'alpha')?.kind, 'diverged', JSON.stringify(repair.mismatches));
      t.is(repair.installed, 1, JSON.stringify(repair));
      t.is(repair.repairFailed, 0);
      const after = await store.verify();
      t.true(after.aligned, JSON.stringify(after.mismatches));
      // The no-op took instance 2, the install instance 3.
      t.deepEqual(await localValues(store, 'alpha'), ['A@2', 'A@2', 'A@2']);
    },
  );

  test.serial(
    `${engine}: a diverged queue converges like a kv key (the install is model-blind)`,
    async (t) => {
      const dir = await seedDir(t, engine);
      const push = (origin: number, seq: number, ...values: string[]): Proposal => ({
        origin,
        seq,
        op: tagged(
          ModelTag.queue,
          encodeQueueOp({ type: 'push', values: values.map((v) => Buffer.from(v)) }),
        ),
      });
      const two = chosenRecord([push(0, 61, 'a', 'b')]);
      const one = chosenRecord([push(1, 62, 'a')]);
      await setRecords(engine, dir, `${OBJECT_PREFIX}jobs`, [one, two, two]);
      const store = await reopenAfterCrash(t, engine, dir);
      const lengths = async (): Promise<number[]> =>
        Promise.all(
          [0, 1, 2].map((r) => store.replica(r).queue('jobs').length({ consistency: 'local' })),
        );
      t.deepEqual(await lengths(), [1, 2, 2]);
      const before = await store.verify();
      t.deepEqual(
        before.mismatches.find((m) => m.where.name === 'jobs')?.kind,
        'diverged',
        JSON.stringify(before.mismatches),
      );
      const repair = await store.verify({ repair: true });
      t.is(repair.installed, 1);
      t.true((await store.verify()).aligned);
      t.deepEqual(await lengths(), [2, 2, 2], 'the two replicas that held [a, b] win');
      t.deepEqual(
        await store.replica(0).queue('jobs').push('c'),
        { length: 3, version: 3 },
        'installed version 2, then this push',
      );
    },
  );
}
