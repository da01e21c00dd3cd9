/**
 * The main test (STYLE.md §5): seeded schedules with message drop, duplication, reordering and
 * delay, partitions, and crash/restart. Safety phase with faults, then a healed liveness phase.
 * Every history must be linearizable, no two replicas may ever report different values chosen
 * at one instance, and every client must finish. PXS_SIM_SEEDS sets the seed count per
 * scenario, PXS_SIM_FIRST_SEED the first seed; a failure prints its seed, and PXS_SIM_SEED=<it>
 * replays exactly that run.
 */
import type { ExecutionContext } from 'ava';
import { checkHistory } from './linearizability';
import { kvModel } from './kv-model';
import { SimCluster } from './paxos-cluster';
import { runKvWorkload } from './kv-workload';
import { checkJournals } from './journal-check';
import type { CrashKind } from '../../runtime/sim/simulation';

/** PXS_SIM_SEED=N replays exactly one seed (the one a failure printed) in every scenario. */
const ONLY_SEED =
  process.env.PXS_SIM_SEED === undefined ? undefined : Number(process.env.PXS_SIM_SEED);
export const SEEDS_PER_SCENARIO =
  ONLY_SEED !== undefined ? 1 : Number(process.env.PXS_SIM_SEEDS ?? 400);
const FIRST = Number(process.env.PXS_SIM_FIRST_SEED ?? 1000);

export interface Scenario {
  /** Replicas in the Set (odd); default 3. */
  readonly replicas?: number;
  readonly wipe: boolean;
  readonly sync: 'always' | 'batch' | 'none';
  readonly salt: number;
  /** What a crash takes (nemesis.ts); default a power loss. */
  readonly crashKind?: CrashKind | 'mixed';
  /** Evict every idle key on every tick (a key cache of one), so keys reload from disk constantly. */
  readonly evict?: boolean;
  /** Ids per incarnation range: small, so ranges run out and are renewed mid-run. */
  readonly idSpan?: number;
  /** The memory engine (VolatileRecordPort): no disk, every restart amnesic. */
  readonly volatile?: boolean;
  /** Memory with persist (KeptRecordPort): evicted keys kept in RAM, the rest from disk. */
  readonly kept?: boolean;
  /** Keep the journal, and check it on every disk at the end of the run (journal-check.ts). */
  readonly journal?: boolean;
  /** log2 of the volatile store's arena slab: small, so it compacts mid-run (record-arena.ts). */
  readonly arenaSlabShift?: number;
  /** Adaptive group commit on the virtual clock (persist-linger.ts): batches wait for more. */
  readonly linger?: boolean;
  /** Gets come in bursts of one key (kv-workload readBurst): reads that share a round. */
  readonly readBursts?: boolean;
  /**
   * Most unsynced writes complete inside the port's write call (sim-disk inlineWriteRate), as
   * bitcask's inline appends do: the shell's write callback runs before its write returns.
   */
  readonly inlineWrites?: boolean;
  /** Replicas message each other with objects, as on one worker thread (SimCluster). */
  readonly objectMessages?: boolean;
}

/** The network faults of every scenario. */
export const SIM_FAULTS = {
  dropRate: 0.05,
  duplicateRate: 0.1,
  delayMinMs: 0.1,
  delayMaxMs: 8,
  lateDeliveryRate: 0.3,
  lateDelayMaxMs: 300,
} as const;

export function runSeed(seed: number, s: Scenario) {
  const cluster = new SimCluster({
    seed,
    sync: s.sync,
    replicas: s.replicas ?? 3,
    // Messages to a crashed replica may reach its next incarnation, late (stale traffic).
    faults: SIM_FAULTS,
    // A crash keeps a random prefix of the writes not yet durable (torn writes: a replica may
    // come back with a promise it never answered, never without one it answered). Reads that
    // overtake writes, as on real engines: a key evicted while its write is still in flight
    // would load an older record (a forgotten promise); the shell must prevent it.
    // Some crashes also damage the durable tail (acknowledged records lost, reported at open).
    diskFaults: {
      tornTail: true,
      readsOvertakeWrites: s.evict === true,
      damagedTailRate: s.sync === 'none' ? 0 : 0.15,
      ...(s.inlineWrites === true ? { inlineWriteRate: 0.8 } : {}),
    },
    ...(s.evict === true ? { cachedKeysMax: 1 } : {}),
    ...(s.idSpan !== undefined ? { idSpan: s.idSpan } : {}),
    ...(s.volatile === true ? { volatile: true } : {}),
    ...(s.kept === true ? { kept: true } : {}),
    ...(s.journal === true ? { journal: true } : {}),
    ...(s.arenaSlabShift !== undefined ? { volatileSlabShift: s.arenaSlabShift } : {}),
    ...(s.linger === true ? { linger: true } : {}),
    ...(s.objectMessages === true ? { objectMessages: true } : {}),
  });
  const keys = ['k1', 'k2', 'k3'];
  const r = runKvWorkload(cluster, {
    keys,
    clients: 5,
    opsPerClient: 15,
    faultPhaseMs: 2000,
    clientTimeoutMs: 3000,
    crashes: true,
    wipeOnRestart: s.wipe,
    partitions: true,
    ...(s.crashKind !== undefined ? { crashKind: s.crashKind } : {}),
    livenessMs: 30_000,
    ...(s.readBursts === true ? { readBurst: 3 } : {}),
  });
  let journalEntries = 0;
  if (s.journal === true) {
    const journal = checkJournals(cluster);
    if (journal.problems.length > 0)
      throw new Error(`journal: ${journal.problems.slice(0, 5).join('; ')}`);
    journalEntries = journal.entries;
  }
  let keptBatches = 0;
  let damagedBatches = 0;
  let inlineWrites = 0;
  for (let replica = 0; replica < cluster.replicas; replica++) {
    inlineWrites += cluster.sim.disk(replica).stats.inlineWrites;
    keptBatches += cluster.sim.disk(replica).stats.keptBatches;
    damagedBatches += cluster.sim.disk(replica).stats.damagedBatches;
  }
  return {
    ...r,
    evicted: cluster.coreCounter('keysEvicted'),
    keptBatches,
    damagedBatches,
    inlineWrites,
    renewed: cluster.coreCounter('idRangesRenewed'),
    evacuations: cluster.arenaEvacuations(),
    arenaLoads: cluster.arenaLoads(),
    lingered: cluster.coreCounter('batchesLingered'),
    joined: cluster.coreCounter('readsJoinedRound'),
    inPlace: cluster.coreCounter('dataWrittenInPlace'),
    deliveredLate: cluster.sim.stats.deliveredLate,
    objects: cluster.sim.stats.objectsDelivered,
    invariantChecks: cluster.invariants.checks,
    journalEntries,
  };
}

/** Runs the scenario's seeds; fails the test at the first bad seed, naming it. */
export function runScenario(t: ExecutionContext, s: Scenario): void {
  let ops = 0;
  let unknown = 0;
  let evicted = 0;
  let keptBatches = 0;
  let damagedBatches = 0;
  let deliveredLate = 0;
  let invariantChecks = 0;
  let renewed = 0;
  let journalEntries = 0;
  let evacuations = 0;
  let arenaLoads = 0;
  let lingered = 0;
  let joined = 0;
  let inlineWrites = 0;
  let inPlace = 0;
  let objects = 0;
  for (let i = 0; i < SEEDS_PER_SCENARIO; i++) {
    const seed = ONLY_SEED ?? FIRST + i * 7919 + s.salt;
    let r;
    try {
      r = runSeed(seed, s);
    } catch (err) {
      t.fail(`seed ${seed}: ${(err as Error).stack}`);
      return;
    }
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
    evicted += r.evicted;
    keptBatches += r.keptBatches;
    damagedBatches += r.damagedBatches;
    deliveredLate += r.deliveredLate;
    invariantChecks += r.invariantChecks;
    renewed += r.renewed;
    journalEntries += r.journalEntries;
    evacuations += r.evacuations;
    arenaLoads += r.arenaLoads;
    lingered += r.lingered;
    joined += r.joined;
    inlineWrites += r.inlineWrites;
    inPlace += r.inPlace;
    objects += r.objects;
  }
  t.log(
    `${s.replicas ?? 3} replicas, ${SEEDS_PER_SCENARIO} seeds, ${ops} completed ops, ${unknown} unknown outcomes, ` +
      `${keptBatches} torn-tail batches kept and ${damagedBatches} durable batches lost to damaged tails at crashes, ` +
      `${deliveredLate} messages delivered to a later incarnation, ${invariantChecks} invariant checks, ` +
      `${joined} reads joined a round in its turn (live actors)` +
      `${s.journal === true ? `, ${journalEntries} journal entries checked` : ''}` +
      `${s.evict === true ? `, ${evicted} keys evicted` : ''}` +
      `${s.linger === true ? `, ${lingered} batches lingered (live actors)` : ''}` +
      `${s.inlineWrites === true ? `, ${inlineWrites} writes finished inside the port's call` : ''}` +
      `, ${inPlace} states written in place` +
      `${s.objectMessages === true ? `, ${objects} message objects delivered` : ''}` +
      `${s.arenaSlabShift !== undefined ? `, ${evacuations} arena slabs evacuated` : ''}${s.idSpan !== undefined ? `, ${renewed} id ranges renewed (live actors)` : ''}`,
  );
  if (s.objectMessages === true)
    t.true(objects > SEEDS_PER_SCENARIO * 100, `replicas sent objects (${objects})`);
  else t.is(objects, 0, 'replicas sent bytes');
  if (s.idSpan !== undefined)
    t.true(renewed > 0, `id ranges ran out and were renewed (${renewed})`);
  if (s.inlineWrites === true)
    t.true(inlineWrites > SEEDS_PER_SCENARIO, `writes finished inline (${inlineWrites})`);
  // Without eviction, keys stay cached and same-length puts write into their state.
  if (s.evict !== true)
    t.true(inPlace > SEEDS_PER_SCENARIO, `states written in place (${inPlace})`);
  t.true(
    invariantChecks > SEEDS_PER_SCENARIO * 100,
    `invariants were checked after every step (${invariantChecks})`,
  );
  if (s.evict === true)
    t.true(evicted > SEEDS_PER_SCENARIO, `keys were evicted and reloaded (${evicted})`);
  if (s.linger === true)
    t.true(lingered > SEEDS_PER_SCENARIO, `batches waited for more records (${lingered})`);
  if (s.arenaSlabShift !== undefined)
    t.true(evacuations > SEEDS_PER_SCENARIO, `arena slabs were compacted mid-run (${evacuations})`);
  if (s.kept === true)
    t.true(arenaLoads > SEEDS_PER_SCENARIO, `evicted keys loaded from RAM (${arenaLoads})`);
  if (s.readBursts === true)
    t.true(joined > SEEDS_PER_SCENARIO, `reads joined a round in its turn (${joined})`);
  t.true(ops > SEEDS_PER_SCENARIO * 10, `most operations complete (${ops})`);
}
