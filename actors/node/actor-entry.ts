/**
 * The module the worker runtime loads to build the store's actors (`createActor`): one
 * PaxosGroupActor per (replica, group), each with its own engine instance.
 */
import * as path from 'node:path';
import {
  clearGroupAmnesia,
  markGroupAmnesic,
  renewGroupIncarnation,
  startGroup,
} from './incarnation-file';
import { clearJournalGap, journalGapAtStart } from './journal-gap-file';
import type { ActorFactory } from '../../runtime/actor';
import type { Engine, SyncMode } from '../../engines/engine';
import type { EngineName } from '../store/options';
import { createEngine } from '../../engines/create-engine';
import { inlineWrites } from '../../engines/fs/inline-writes';
import { inlineReads } from '../../engines/inline-reads';
import { registerThreadCounters } from '../../runtime/thread-counters';
import type { EngineOffload } from '../../engines/offload';
import { allModels } from '../../models/all-models';
import { bigtableDerived } from '../../models/bigtable/bigtable';
import { PaxosGroupActor } from '../paxos/paxos-actor';
import { groupOfActor, replicaOfActor } from '../paxos/placement';
import { EngineRecordPort } from '../paxos/record-port';
import { VolatileRecordPort } from '../paxos/volatile-record-port';
import type { RecordPort } from '../paxos/record-port';
import type { JournalLimits } from '../paxos/journal-limits';
import { SectionedRecordPort } from '../paxos/sectioned-record-port';
import { KeptRecordPort } from '../paxos/kept-record-port';
import type { PersistLingerOptions } from '../paxos/persist-linger';

/** What every Paxos group actor of a node is built with (the worker runtime clones it). */
export interface GroupActorConfig {
  readonly replicas: number;
  readonly groups: number;
  readonly engine: EngineName;
  readonly dir: string | undefined;
  /** memory engine: keep an append log in `dir` (MemoryLogEngine) instead of nothing. */
  readonly persist: boolean;
  readonly sync: SyncMode;
  readonly tickMs: number;
  readonly timeoutMs: number;
  /** Group commit's linger (store option groupCommitLingerMs); 0 or absent: none. */
  readonly lingerMs?: number;
  /** Keys each replica keeps as full Paxos state, over all its groups (every engine). */
  readonly cachedKeysMax: number;
  /** Int32Array(N): restarts of each replica since open (supervised restarts included). */
  readonly incarnations: SharedArrayBuffer;
  /** Int32Array(N*groups): test-only fault injection per actor (ActorFault), 0 = none. */
  readonly faults: SharedArrayBuffer;
  /**
   * A cluster node: incarnation counts live in `dir` whatever the engine, since the process
   * itself restarts (the memory engine then starts amnesic at every start after the first).
   */
  readonly durableIncarnations?: boolean;
  /** Keep each group's journal (docs/decisions.md "Journal subscription"); undefined: none. */
  readonly journal?: JournalLimits;
}

/** @deprecated The old name of GroupActorConfig ("store" meant too many things); kept for merges. */
export type StoreActorConfig = GroupActorConfig;

/**
 * Test-only faults, set through the store's internal `injectFault` (the supervision tests):
 * `throwOnTick` makes the actor's next tick throw (once), `exitWorker` ends its worker thread
 * on its next tick (once), `failStart` makes every creation of the actor throw while set (and
 * a running one throw on its next tick): an actor that fails on every start.
 */
export const ActorFault = { none: 0, throwOnTick: 1, exitWorker: 2, failStart: 3 } as const;
export type ActorFault = (typeof ActorFault)[keyof typeof ActorFault];

// The disk engines' inline appends are per thread (engines/fs/inline-writes.ts): reported once
// per worker in its stats, `moduleCounters.inlineAppends`.
registerThreadCounters('inlineAppends', () => ({ ...inlineWrites.stats() }));
// lsm's point reads on the calling thread (engines/inline-reads.ts): `moduleCounters.inlineReads`.
registerThreadCounters('inlineReads', () => ({ ...inlineReads.stats() }));

/** The newest record port per directory: a crash skips close(), so the next incarnation closes it. */
const openRecordPorts = new Map<string, EngineRecordPort>();

/**
 * While a group's batches show concurrency, a batch waits `lingerMs` (default 1) for more
 * records unless 64 are staged (actors/paxos/persist-linger.ts; bench/README.md "Issue 10, the
 * disk engines' write path"). The actor ignores it for volatile state, which writes nothing.
 */
function persistLinger(lingerMs: number | undefined): PersistLingerOptions | undefined {
  if (lingerMs === undefined || lingerMs === 0) return undefined;
  return { ms: lingerMs, recordsMin: 64 };
}

/**
 * How a group starts (decision 15): its incarnation, never used before, and whether it must be
 * amnesic. On disk (durable engines, memory with persist) the incarnation comes from the
 * durable counts of incarnation-file.ts, which also tell a lost replica directory. Without a
 * directory (the memory engine) nothing outlives the process, so the process's own count of
 * the replica's starts is enough: it is bumped by every restart and every id renewal.
 */
function groupStart(
  root: string | undefined,
  replica: number,
  group: number,
  counts: Int32Array,
): { incarnation: number; lost: boolean } {
  if (root === undefined) return { incarnation: Atomics.load(counts, replica), lost: false };
  const start = startGroup(root, replica, group);
  return { incarnation: start.incarnation, lost: start.amnesic };
}

function renewal(
  root: string | undefined,
  replica: number,
  group: number,
  counts: Int32Array,
): () => number {
  if (root === undefined) return () => Atomics.add(counts, replica, 1) + 1;
  return () => renewGroupIncarnation(root, replica, group);
}

export const createActor: ActorFactory<GroupActorConfig> = (id, host, config) => {
  const placement = { replicas: config.replicas, groups: config.groups };
  const replica = replicaOfActor(id, placement);
  const group = groupOfActor(id, placement);
  const counts = new Int32Array(config.incarnations);
  // A supervised restart (the actor failed, or its worker died) lost the predecessor's memory
  // just as replica(i).restart() does: it counts as a restart of its replica, so it is amnesic
  // where a replica restart would be (volatile state, sync 'none') and, without a directory,
  // takes an incarnation number apart from every earlier one.
  const restarts =
    host.restarted === true ? Atomics.add(counts, replica, 1) + 1 : Atomics.load(counts, replica);
  const faults = new Int32Array(config.faults);
  const faultIndex = replica * config.groups + group;
  if (Atomics.load(faults, faultIndex) === ActorFault.failStart)
    throw new Error(`actor ${id}: injected start failure`);
  const dir =
    config.dir === undefined
      ? undefined
      : path.join(config.dir, `replica-${replica}`, `group-${group}`);
  // Memory without persist keeps records in the core's key map and, for keys the cache evicted,
  // in the port's compact form (decisions 6, 27); memory with persist goes through its engine
  // like a disk engine, since its log outlives the actor.
  const volatile = config.engine === 'memory' && !config.persist;
  const { store, engine } = openRecordStore(config, dir, host.offload, volatile);
  // The core's deadline falls two ticks short of timeoutMs so its own answer (UNAVAILABLE or
  // UNKNOWN_OUTCOME) arrives before the caller's documented timeout.
  const ticks = Math.max(2, Math.floor(config.timeoutMs / config.tickMs) - 2);
  const durableCounts = config.durableIncarnations === true && config.dir !== undefined;
  const root = volatile && !durableCounts ? undefined : config.dir;
  const start = groupStart(root, replica, group, counts);
  // A node process on the memory engine that started before has lost everything it knew.
  const restartedProcess = volatile && durableCounts && start.incarnation > 1;
  // A memory engine without persist restarts empty, and 'none' may have lost acknowledged
  // promises: either way the restarted replica must obey the amnesia rule. With 'always' or
  // 'batch' a persist log (like a disk engine) holds every acknowledged promise and accept —
  // unless the replica's directory was lost, or an earlier start found it damaged.
  const amnesic =
    start.lost || restartedProcess || (restarts > 0 && (volatile || config.sync === 'none'));
  const actor = new PaxosGroupActor(id, host, store, {
    ...placement,
    sync: config.sync,
    model: allModels,
    // Ballots and ids are unique per incarnation (decision 15): no clock, no floor.
    incarnation: start.incarnation,
    renewIncarnation: renewal(root, replica, group, counts),
    markAmnesic: root === undefined ? undefined : () => markGroupAmnesic(root, replica, group),
    // A node's memory engine forgets everything at every start: its marker means nothing then.
    clearAmnesic:
      root === undefined || volatile
        ? undefined
        : () => clearAmnesiaAndDamage(root, replica, group, engine),
    amnesic,
    cachedKeysMax: Math.max(1, Math.ceil(config.cachedKeysMax / config.groups)),
    tickMs: config.tickMs,
    // Adaptive group commit for the engines that write (docs/decisions.md "Adaptive group
    // commit"): fewer, bigger engine writes under load, none delayed after a quiet spell.
    persistLinger: persistLinger(config.lingerMs),
    // Big-table rows keep their index entries locally, in the record's batch (decision 13).
    derived: bigtableDerived,
    journal: volatile ? undefined : config.journal,
    ...journalGapOf(volatile ? undefined : config.dir, replica, group, config.journal),
    limits: {
      requestTimeoutTicks: ticks,
      roundTimeoutTicks: Math.max(2, Math.min(10, Math.floor(ticks / 4))),
    },
  });
  const tick = actor.tick.bind(actor);
  actor.tick = () => {
    const fault = Atomics.load(faults, faultIndex);
    if (fault === ActorFault.failStart) throw new Error(`actor ${id}: injected failure in tick()`);
    if (fault === ActorFault.throwOnTick || fault === ActorFault.exitWorker) {
      // Once: only the incarnation that clears the cell takes the fault.
      if (Atomics.compareExchange(faults, faultIndex, fault, ActorFault.none) === fault) {
        if (fault === ActorFault.exitWorker) process.exit(70);
        throw new Error(`actor ${id}: injected failure in tick()`);
      }
    }
    tick();
  };
  return actor;
};

/** A durable group's journal markers (journal-gap-file.ts): whether a new epoch is due. */
function journalGapOf(
  root: string | undefined,
  replica: number,
  group: number,
  journal: GroupActorConfig['journal'],
): { journalGap?: boolean; clearJournalGap?: () => void } {
  if (root === undefined) return {};
  const gap = journalGapAtStart(root, replica, group, journal !== undefined);
  return gap
    ? { journalGap: true, clearJournalGap: () => clearJournalGap(root, replica, group) }
    : {};
}

/** The group's record port: volatile, or its engine (in sections) over `dir`. */
function openRecordStore(
  config: GroupActorConfig,
  dir: string | undefined,
  offload: EngineOffload | undefined,
  volatile: boolean,
): { store: RecordPort; engine: Engine | undefined } {
  if (volatile) return { store: new VolatileRecordPort(), engine: undefined };
  // Merges and compactions run in the worker's shared pool (docs/decisions.md), not one per engine.
  // Memory with persist: the log holds no second copy of the records; the key cache and the
  // port's arena hold them in RAM (kept-record-port.ts).
  const holdRecords = config.persist ? false : undefined;
  const engine = createEngine(config.engine, {
    dir,
    persist: config.persist,
    offload,
    holdRecords,
  });
  const previous = dir === undefined ? undefined : openRecordPorts.get(dir);
  const durable = new EngineRecordPort(engine, config.sync, previous?.close());
  if (dir !== undefined) openRecordPorts.set(dir, durable);
  // Records in sections: a write into a big table persists only its change (issue 10).
  const sectioned = new SectionedRecordPort(durable);
  return { store: config.persist ? new KeptRecordPort(sectioned) : sectioned, engine };
}

/**
 * A rebuilt group's marker goes, and its engine is told the damage its open found is handled
 * (bitcask: the DAMAGE file), so the next open does not make the group amnesic again for the
 * same bytes. The acknowledgement follows the marker and nothing waits for it: if it fails or
 * a crash comes first, the next open reports the damage again and the group is rebuilt again
 * (the behaviour without it), never served from incomplete data.
 */
function clearAmnesiaAndDamage(
  root: string,
  replica: number,
  group: number,
  engine: Engine | undefined,
): void {
  clearGroupAmnesia(root, replica, group);
  const reported = engine?.openReport?.()?.mayHaveDroppedAcknowledged === true;
  if (reported) void engine?.acknowledgeDamage?.().catch(() => undefined);
}
