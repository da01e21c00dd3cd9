/**
 * The deterministic simulation for the queue, set, table, document, account and big-table row
 * models, under
 * the same faults as KV (paxos-sim*.test.ts): message drop, duplication, reordering and delay,
 * partitions, and crash/restart. Seeds rotate over the three KV scenarios (durable disks, amnesic restarts,
 * sync 'none'). Every history must be linearizable against the model's sequential spec, write
 * versions must be unique per change and follow real time, no two replicas may ever report
 * different values chosen at one instance, and every client must finish after healing.
 *
 * PXS_SIM_SEEDS sets the seed count per model (default 100), PXS_SIM_FIRST_SEED the first
 * seed; a failure prints its seed, and PXS_SIM_SEED=<it> replays exactly that run.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { checkHistory } from './linearizability';
import { SimCluster } from './paxos-cluster';
import {
  MODEL_DRIVERS,
  accountDriver,
  checkVersions,
  docDriver,
  queueDriver,
  runModelWorkload,
  setDriver,
  tableDriver,
} from './model-workload';
import type { ModelDriver, ModelWorkloadResult } from './model-workload';
import { SIM_FAULTS } from './sim-runner';
import type { Scenario } from './sim-runner';
import { bigtableDriver } from './models/bigtable-model';

const ONLY_SEED =
  process.env.PXS_SIM_SEED === undefined ? undefined : Number(process.env.PXS_SIM_SEED);
const SEEDS = ONLY_SEED !== undefined ? 1 : Number(process.env.PXS_SIM_SEEDS ?? 100);
const FIRST = Number(process.env.PXS_SIM_FIRST_SEED ?? 1000);

const SCENARIOS: readonly Scenario[] = [
  { wipe: false, sync: 'always', salt: 0 },
  { wipe: true, sync: 'always', salt: 1 },
  { wipe: false, sync: 'none', salt: 2 },
];

/** The scenario of a seed: a pure function of it, so PXS_SIM_SEED replays the same run. */
function scenarioOf(seed: number): Scenario {
  return SCENARIOS[Math.abs(seed) % SCENARIOS.length] as Scenario;
}

function runSeed<I, O>(driver: ModelDriver<I, O>, seed: number): ModelWorkloadResult<I, O> {
  const s = scenarioOf(seed);
  const cluster = new SimCluster({
    seed,
    sync: s.sync,
    faults: SIM_FAULTS,
  });
  const keys =
    driver.keys !== undefined ? [...driver.keys] : [`${driver.name}1`, `${driver.name}2`];
  const r = runModelWorkload(cluster, driver, {
    keys,
    clients: 5,
    opsPerClient: 15,
    faultPhaseMs: 2000,
    clientTimeoutMs: 3000,
    crashes: true,
    wipeOnRestart: s.wipe,
    partitions: true,
    livenessMs: 30_000,
  });
  return r;
}

function runModel<I, O>(t: ExecutionContext, driver: ModelDriver<I, O>, salt: number): void {
  let ops = 0;
  let unknown = 0;
  let failed = 0;
  for (let i = 0; i < SEEDS; i++) {
    const seed = ONLY_SEED ?? FIRST + i * 7919 + salt;
    const where = `${driver.name} seed ${seed} (PXS_SIM_SEED=${seed} replays it)`;
    let r: ModelWorkloadResult<I, O>;
    try {
      r = runSeed(driver, seed);
    } catch (err) {
      t.fail(`${where}: ${(err as Error).stack}`);
      return;
    }
    if (!r.finishedInTime) {
      t.fail(`${where}: clients did not finish in the liveness phase`);
      return;
    }
    const check = checkHistory(r.history, driver.model);
    if (check.ok !== true) {
      t.fail(`${where}: ${JSON.stringify(check)}`);
      return;
    }
    const versions = checkVersions(r);
    if (versions !== undefined) {
      t.fail(`${where}: ${versions}`);
      return;
    }
    ops += r.completed;
    unknown += r.unknown;
    failed += r.failed;
  }
  t.log(`${SEEDS} seeds, ${ops} completed ops, ${unknown} unknown outcomes, ${failed} failed`);
  t.true(ops > SEEDS * 10, `most operations complete (${ops})`);
}

test("one seed: a healthy cluster serves every model's workload linearizably", (t) => {
  for (const driver of [...Object.values(MODEL_DRIVERS), bigtableDriver] as ModelDriver<
    unknown,
    unknown
  >[]) {
    const cluster = new SimCluster({ seed: 1 });
    const r = runModelWorkload(cluster, driver, {
      keys: driver.keys !== undefined ? [...driver.keys] : ['x', 'y'],
      clients: 4,
      opsPerClient: 20,
      faultPhaseMs: 500,
      clientTimeoutMs: 3000,
      crashes: false,
      wipeOnRestart: false,
      partitions: false,
      livenessMs: 10_000,
    });
    t.true(r.finishedInTime, driver.name);
    t.is(r.unknown, 0, driver.name);
    t.is(r.failed, 0, driver.name);
    t.is(r.completed, 80, driver.name);
    t.deepEqual(checkHistory(r.history, driver.model), { ok: true }, driver.name);
    t.is(checkVersions(r), undefined, driver.name);
  }
});

test('simulation under faults, queue: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, queueDriver, 11);
});

test('simulation under faults, set: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, setDriver, 12);
});

test('simulation under faults, table: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, tableDriver, 13);
});

test('simulation under faults, doc: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, docDriver, 14);
});

test('simulation under faults, account: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, accountDriver, 15);
});

test('simulation under faults, bigtable rows: linearizable, versions, agreement, liveness', (t) => {
  runModel(t, bigtableDriver, 16);
});
