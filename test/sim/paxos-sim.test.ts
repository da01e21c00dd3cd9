import test from 'ava';
import { checkHistory } from './linearizability';
import { kvModel } from './kv-model';
import { SimCluster } from './paxos-cluster';
import { runKvWorkload } from './kv-workload';

test('one seed: a healthy cluster serves a KV workload linearizably', (t) => {
  const cluster = new SimCluster({ seed: 1 });
  const r = runKvWorkload(cluster, {
    keys: ['a', 'b'], clients: 4, opsPerClient: 20, faultPhaseMs: 500, clientTimeoutMs: 3000,
    crashes: false, wipeOnRestart: false, partitions: false, livenessMs: 10_000,
  });
  t.true(r.finishedInTime);
  t.is(r.unknown, 0);
  t.is(r.failed, 0);
  t.is(r.completed, 80);
  const check = checkHistory(r.history, kvModel);
  t.deepEqual(check, { ok: true });
});

/**
 * The main test (STYLE.md §5): seeded schedules with message drop, duplication, reordering and
 * delay, partitions, and crash/restart. Safety phase with faults, then a healed liveness phase.
 * Every history must be linearizable, no two replicas may ever report different values chosen
 * at one instance, and all replicas must converge. PXS_SIM_SEEDS sets the seed count.
 */
const SEEDS = Number(process.env.PXS_SIM_SEEDS ?? 200);
const FIRST = Number(process.env.PXS_SIM_FIRST_SEED ?? 1000);

function runSeed(seed: number, wipe: boolean, sync: 'always' | 'none') {
  const cluster = new SimCluster({
    seed,
    sync,
    faults: { dropRate: 0.05, duplicateRate: 0.03, delayMinMs: 0.1, delayMaxMs: 8 },
  });
  const keys = ['k1', 'k2', 'k3'];
  let sampled = 0;
  const sample = (): void => {
    cluster.sampleChosen(keys);
    sampled += 1;
    if (sampled < 400) cluster.sim.schedule(25, sample);
  };
  cluster.sim.schedule(25, sample);
  const r = runKvWorkload(cluster, {
    keys, clients: 5, opsPerClient: 15, faultPhaseMs: 2000, clientTimeoutMs: 3000,
    crashes: true, wipeOnRestart: wipe, partitions: true, livenessMs: 30_000,
  });
  cluster.sampleChosen(keys);
  return { cluster, r };
}

for (const [name, wipe, sync] of [
  ['durable disks (sync always)', false, 'always'],
  ['amnesic restarts (wiped disks)', true, 'always'],
  ['sync none (restart is amnesic)', false, 'none'],
] as const) {
  test(`simulation under faults, ${name}: linearizable, agreement, liveness`, (t) => {
    const seeds = Math.max(1, Math.floor(SEEDS / 3));
    let ops = 0;
    let unknown = 0;
    for (let i = 0; i < seeds; i++) {
      const seed = FIRST + i * 7919 + (wipe ? 1 : 0) + (sync === 'none' ? 2 : 0);
      let out;
      try {
        out = runSeed(seed, wipe, sync);
      } catch (err) {
        t.fail(`seed ${seed}: ${(err as Error).stack}`);
        return;
      }
      const { r } = out;
      if (!r.finishedInTime) {
        t.fail(`seed ${seed}: clients did not finish in the liveness phase`);
        return;
      }
      const check = checkHistory(r.history, kvModel);
      if (check.ok !== true) {
        t.fail(`seed ${seed}: ${JSON.stringify(check)}`);
        return;
      }
      ops += r.completed;
      unknown += r.unknown;
    }
    t.log(`${seeds} seeds, ${ops} completed ops, ${unknown} unknown outcomes`);
    t.true(ops > seeds * 10, `most operations complete (${ops})`);
  });
}
