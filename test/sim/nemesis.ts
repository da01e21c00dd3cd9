/**
 * The simulator's nemesis, shared by every workload: random partitions and crash/restart
 * cycles during the safety phase, and the heal that starts the liveness phase.
 */
import { assert } from '../../runtime/assert';
import type { Prng } from '../../runtime/sim/prng';
import type { CrashKind } from '../../runtime/sim/simulation';
import type { ClientResult } from '../../actors/paxos/core/types';
import type { RequestBody, SimCluster } from './paxos-cluster';

export interface NemesisOptions {
  /** Length of the safety phase (faults and crashes on), virtual ms. */
  readonly faultPhaseMs: number;
  readonly crashes: boolean;
  /** Crashed replicas come back without their disk (the amnesia rule). */
  readonly wipeOnRestart: boolean;
  readonly partitions: boolean;
  /**
   * What a crash takes (default 'power': the disk keeps only durable writes). 'process' is a
   * kill -9 (the OS keeps what it was handed); 'mixed' picks one of the two at each crash.
   */
  readonly crashKind?: CrashKind | 'mixed';
}

function pickCrashKind(o: NemesisOptions, prng: Prng): CrashKind {
  const kind = o.crashKind ?? 'power';
  if (kind !== 'mixed') return kind;
  return prng.chance(0.5) ? 'power' : 'process';
}

/** Random partitions and crash/restart cycles during the safety phase. */
export function startNemesis(cluster: SimCluster, prng: Prng, o: NemesisOptions): void {
  const sim = cluster.sim;
  const end = sim.now() + o.faultPhaseMs;
  const step = (): void => {
    if (sim.now() >= end) return;
    const r = prng.int(cluster.replicas);
    const roll = prng.int(100);
    if (o.partitions && roll < 30) {
      sim.partition(minorityPartition(cluster.replicas, r, prng));
    } else if (o.partitions && roll < 50) {
      sim.heal();
    } else if (o.crashes && roll < 75 && cluster.isUp(r)) {
      cluster.crash(r, pickCrashKind(o, prng));
      sim.schedule(50 + prng.int(400), () => {
        if (!cluster.isUp(r)) cluster.restart(r, o.wipeOnRestart && prng.chance(0.5));
      });
    }
    sim.schedule(50 + prng.int(250), step);
  };
  sim.schedule(prng.int(100), step);
}

/**
 * Cuts off a minority: `r` and, in Sets of five or more, up to ⌊(N-1)/2⌋ - 1 more replicas, so
 * several replicas can fall behind together (a read or recovery that then counts one of them
 * twice would take two stale replicas for a majority).
 */
export function minorityPartition(replicas: number, r: number, prng: Prng): number[][] {
  const minority = [r];
  const extra = prng.int(Math.max(1, Math.floor((replicas - 1) / 2)));
  for (let i = 0; i < extra; i++) {
    const candidate = prng.int(replicas);
    if (!minority.includes(candidate)) minority.push(candidate);
  }
  const majority = [...Array(replicas).keys()].filter((x) => !minority.includes(x));
  assert(majority.length > minority.length, `partition ${minority} leaves no majority`);
  return [minority, majority];
}

/** Ends every fault and brings every replica back (with its disk). */
export function heal(cluster: SimCluster): void {
  const sim = cluster.sim;
  sim.heal();
  sim.setFaults({ dropRate: 0, duplicateRate: 0 });
  for (let r = 0; r < cluster.replicas; r++) {
    if (!cluster.isUp(r)) cluster.restart(r, false);
  }
  assert(
    [...Array(cluster.replicas).keys()].every((r) => cluster.isUp(r)),
    'all replicas up after heal',
  );
}

/**
 * Sends one tagged request; a client that hears nothing within `timeoutMs` gives up and
 * settles with undefined (outcome unknown for a write, nothing for a read).
 */
export function requestWithTimeout(
  cluster: SimCluster,
  replica: number,
  body: RequestBody,
  timeoutMs: number,
  settle: (res: ClientResult | undefined) => void,
): void {
  const token = cluster.request(replica, body, settle);
  cluster.sim.schedule(timeoutMs, () => {
    cluster.abandon(token);
    settle(undefined);
  });
}

export interface PhaseOptions extends NemesisOptions {
  readonly clients: number;
  /** Liveness phase budget: all clients must finish within it, virtual ms. */
  readonly livenessMs: number;
}

/**
 * Starts each client at a random early moment, runs the safety phase (nemesis on), heals, and
 * runs the liveness phase. Returns whether every client finished within its budget.
 */
export function runPhases(
  cluster: SimCluster,
  prng: Prng,
  o: PhaseOptions,
  startClient: (client: number) => void,
  allDone: () => boolean,
): boolean {
  const sim = cluster.sim;
  for (let c = 0; c < o.clients; c++) sim.schedule(prng.int(10), () => startClient(c));
  if (o.crashes || o.partitions) startNemesis(cluster, prng, o);
  sim.runFor(o.faultPhaseMs);
  heal(cluster);
  return sim.runUntil(allDone, o.livenessMs);
}
