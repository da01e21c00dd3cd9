/**
 * Issue 10 "no timeouts as the key count grows", with background repair on: a round must not
 * degenerate under writes (finer buckets, round 2 listing only what differs, paced scans), and
 * must still find and repair damage while other keys are written without pause.
 *
 * One key diverges (replica 1 chose another value at the same instance, the state an
 * `acceptDataLoss` reopen can leave: built as in verify-diverged.test.ts), then the store runs
 * its background repair every 50 ms while writers keep writing other keys, old and new. The
 * diverged key must converge on every replica, by the background repair alone (nobody reads or
 * writes it), while the writes go on. With the repair disabled the key stays diverged: the
 * test fails (checked by hand).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions } from '../../index';
import { createEngine } from '../../engines/create-engine';
import { allModels } from '../../models/all-models';
import { encodeKvOp } from '../../models/kv/kv';
import { ModelTag } from '../../models/model-tags';
import { tagged } from '../../models/registry';
import { applyChosen, emptyRecord } from '../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../actors/paxos/core/types';
import { encodeSealedRecord } from '../../actors/paxos/codec';
import { NAMESPACE_SEPARATOR } from '../../actors/store/kv';
import { UNSYNCED_MARKER_FILE } from '../../actors/node/unsynced-marker';
import { FAST, eventually, tempDir } from './helpers';

const NS = 'users';
const VICTIM = 'alpha';
const WRITERS = 6;
const OPTIONS: PaxosStoreOptions = { ...FAST, engine: 'lsm', sync: 'none' };

/** The settled record of a key after one put chosen at instance 1 (seqs below every base). */
function chosenPut(origin: number, seq: number, value: string): KeyRecord {
  const rec = emptyRecord();
  const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) }));
  applyChosen(rec, { origin, seq, op }, allModels);
  return rec;
}

/** Replica r's record of `key` becomes records[r], in whichever group dir holds the key. */
async function setRecords(dir: string, key: string, records: readonly KeyRecord[]): Promise<void> {
  for (let r = 0; r < records.length; r++) {
    const root = path.join(dir, `replica-${r}`);
    for (const g of fs.readdirSync(root).filter((n) => /^group-\d+$/.test(n))) {
      const engine = createEngine('lsm', { dir: path.join(root, g) });
      await engine.open();
      try {
        if ((await engine.get(key)) === undefined) continue;
        const value = encodeSealedRecord(records[r] ?? emptyRecord());
        await engine.write([{ type: 'put', key, value }], { sync: true });
      } finally {
        await engine.close();
      }
    }
  }
}

async function divergedDir(t: ExecutionContext): Promise<string> {
  const dir = tempDir(t);
  const seed = await PaxosStore.open({ ...OPTIONS, dir });
  try {
    await seed.kv(NS).put(VICTIM, 'seed');
    for (let i = 0; i < 200; i++) await seed.kv(NS).put(`other-${i}`, 'seed');
  } finally {
    await seed.close();
  }
  const a = chosenPut(0, 11, 'A');
  await setRecords(dir, `${NS}${NAMESPACE_SEPARATOR}${VICTIM}`, [a, chosenPut(1, 12, 'B'), a]);
  fs.writeFileSync(path.join(dir, UNSYNCED_MARKER_FILE), 'crashed\n');
  return dir;
}

async function localValues(store: PaxosStore): Promise<string[]> {
  const out: string[] = [];
  for (let r = 0; r < 3; r++) {
    const got = await store.replica(r).kv(NS).get(VICTIM, { consistency: 'local' });
    out.push(got === undefined ? '-' : got.value.toString());
  }
  return out;
}

test.serial(
  'a diverged key is repaired by background rounds while other keys are written',
  async (t) => {
    const dir = await divergedDir(t);
    const store = await PaxosStore.open({
      ...OPTIONS,
      dir,
      acceptDataLoss: true,
      // Six writers are above busyInFlight: the round runs as it does under a real load.
      repair: { intervalMs: 50, keysPerSecond: 2000, busyInFlight: 2 },
    });
    t.teardown(() => store.close());
    t.deepEqual(await localValues(store), ['A', 'B', 'A'], 'diverged before any round');
    let stop = false;
    let written = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let n = 0; !stop && n < 1_000_000; n++) {
        // Half rewrite the seeded keys, half write new ones: every bucket keeps changing.
        const key = n % 2 === 0 ? `other-${(w * 37 + n) % 200}` : `new-${w}-${n}`;
        await store.kv(NS).put(key, `v-${n}`);
        written += 1;
      }
    });
    let writtenAtRepair = -1;
    const repaired = await eventually(
      async () => {
        const values = await localValues(store);
        const same = values.every((v) => v === values[0]) && values[0] !== '-';
        if (same) writtenAtRepair = written;
        return same;
      },
      300,
      50,
    );
    // The writes go on after the repair too: the rounds never stopped them.
    const moreWrites = await eventually(async () => written > writtenAtRepair + 50, 200, 10);
    stop = true;
    await Promise.all(writers);
    // Totals count a round once it ends (the repair happened inside the one still running).
    await eventually(async () => (await store.stats()).repair.installed >= 1, 200, 50);
    const { repair } = await store.stats();
    t.true(
      repaired,
      `still diverged: ${JSON.stringify(await localValues(store))} ${JSON.stringify(repair)}`,
    );
    t.true(writtenAtRepair > 0, 'writes ran before and during the repair');
    t.true(moreWrites, 'writes went on after it');
    t.true(repair.installed >= 1 && repair.busyPauses > 0, JSON.stringify(repair));
    t.deepEqual(await localValues(store), ['A', 'A', 'A'], 'the state two replicas held wins');
  },
);
