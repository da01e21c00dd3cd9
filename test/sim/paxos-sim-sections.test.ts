/**
 * Records in sections under the simulator's faults (actors/paxos/record-sections.ts): table
 * writes persist change entries between folds, and replicas crash and restart with torn tails
 * (any prefix of their unsynced batches kept) between change appends and folds. Every history
 * must stay linearizable against the table's sequential spec, versions unique, and every client
 * must finish after healing; the run must really have written change entries and folds.
 *
 * PXS_SIM_SEEDS sets the seed count (default 40); PXS_SIM_SEED=<seed> replays one run.
 */
import test from 'ava';
import { checkHistory } from './linearizability';
import { SimCluster } from './paxos-cluster';
import {
  accountDriver,
  checkVersions,
  queueDriver,
  runModelWorkload,
  setDriver,
  tableDriver,
} from './model-workload';
import type { ModelDriver } from './model-workload';
import { MODEL_MACHINES } from '../../models/all-models';
import { ModelTag } from '../../models/model-tags';
import { createModelRegistry } from '../../models/registry';
import { createQueueStateMachine, QUEUE_LIMITS } from '../../models/queue/queue';
import { createSetStateMachine, SET_LIMITS } from '../../models/set/set';
import { ACCOUNT_LIMITS, createAccountStateMachine } from '../../models/account/account';
import { SIM_FAULTS } from './sim-runner';

const ONLY_SEED =
  process.env.PXS_SIM_SEED === undefined ? undefined : Number(process.env.PXS_SIM_SEED);
const SEEDS = ONLY_SEED !== undefined ? 1 : Number(process.env.PXS_SIM_SEEDS ?? 40);

test('tables on sectioned records: crashes between change appends and folds stay linearizable', (t) => {
  let changes = 0;
  let bases = 0;
  let completed = 0;
  for (let i = 0; i < SEEDS; i++) {
    const seed = ONLY_SEED ?? 5000 + i * 104729;
    const where = `seed ${seed} (PXS_SIM_SEED=${seed} replays it)`;
    // Half the seeds section only records of 128 bytes of data and more: small tables load
    // without reading chains, and tables cross the threshold both ways under crashes.
    const cluster = new SimCluster({
      seed,
      sync: 'always',
      faults: SIM_FAULTS,
      sectionDataBytesMin: i % 2 === 0 ? 0 : 128,
    });
    const r = runModelWorkload(cluster, tableDriver, {
      keys: ['table1'],
      clients: 4,
      opsPerClient: 25,
      faultPhaseMs: 2500,
      clientTimeoutMs: 3000,
      crashes: true,
      wipeOnRestart: false,
      partitions: true,
      livenessMs: 30_000,
    });
    if (!r.finishedInTime) return t.fail(`${where}: clients did not finish after healing`);
    const check = checkHistory(r.history, tableDriver.model);
    if (check.ok !== true) return t.fail(`${where}: ${JSON.stringify(check)}`);
    const versions = checkVersions(r);
    if (versions !== undefined) return t.fail(`${where}: ${versions}`);
    changes += cluster.coreCounter('sectionChanges');
    bases += cluster.coreCounter('sectionBases');
    completed += r.completed;
  }
  t.log(
    `${SEEDS} seeds: ${completed} ops, ${changes} change entries, ${bases} bases (live actors)`,
  );
  t.true(changes > SEEDS, `change entries were written (${changes})`);
  t.true(bases > 0, `folds and bases were written (${bases})`);
});

/**
 * Every model as served, except queues and sets in their log layouts from 16 bytes on (and a
 * set folding past 32 bytes of changes), and accounts in append buffers from 16 bytes on: the
 * simulator's small objects push, pop, add and remove by appending in place, fold (an
 * account's change run merges past 32 entries, its window of a few entries far behind),
 * and persist as change entries between crashes.
 */
const SMALL_THRESHOLDS = createModelRegistry(
  MODEL_MACHINES.map(([tag, machine]) => {
    if (tag === ModelTag.queue)
      return [tag, createQueueStateMachine({ ...QUEUE_LIMITS, appendBytesMin: 16 })] as const;
    if (tag === ModelTag.set)
      return [
        tag,
        createSetStateMachine({ ...SET_LIMITS, appendBytesMin: 16, changeBytesMin: 32 }),
      ] as const;
    if (tag === ModelTag.account)
      return [tag, createAccountStateMachine({ ...ACCOUNT_LIMITS, appendBytesMin: 16 })] as const;
    return [tag, machine] as const;
  }),
);

function appendedModelUnderFaults(driver: ModelDriver<unknown, unknown>, seedBase: number) {
  let changes = 0;
  let completed = 0;
  for (let i = 0; i < SEEDS; i++) {
    const seed = ONLY_SEED ?? seedBase + i * 104729;
    const where = `seed ${seed} (PXS_SIM_SEED=${seed} replays it)`;
    const cluster = new SimCluster({
      seed,
      sync: 'always',
      faults: SIM_FAULTS,
      model: SMALL_THRESHOLDS,
    });
    const r = runModelWorkload(cluster, driver, {
      keys: ['object1', 'object2'],
      clients: 4,
      opsPerClient: 25,
      faultPhaseMs: 2500,
      clientTimeoutMs: 3000,
      crashes: true,
      wipeOnRestart: false,
      partitions: true,
      livenessMs: 30_000,
    });
    if (!r.finishedInTime) return `${where}: clients did not finish after healing`;
    const check = checkHistory(r.history, driver.model);
    if (check.ok !== true) return `${where}: ${JSON.stringify(check)}`;
    const versions = checkVersions(r);
    if (versions !== undefined) return `${where}: ${versions}`;
    changes += cluster.coreCounter('sectionChanges');
    completed += r.completed;
  }
  return { changes, completed };
}

for (const [driver, seedBase] of [
  [queueDriver, 7000],
  [setDriver, 9000],
  [accountDriver, 11000],
] as const) {
  test(`${driver.name}s in their log layout on sectioned records: crashes stay linearizable`, (t) => {
    const out = appendedModelUnderFaults(driver as ModelDriver<unknown, unknown>, seedBase);
    if (typeof out === 'string') return t.fail(out);
    t.log(`${SEEDS} seeds: ${out.completed} ops, ${out.changes} change entries`);
    // A change entry is written only for a state that extends the last one persisted: the
    // model's append path ran.
    t.true(out.changes > SEEDS, `change entries were written (${out.changes})`);
  });
}
