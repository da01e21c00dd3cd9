/**
 * A simulated Set: N replicas × G groups of PaxosGroupActors on a seeded Simulation, with a KV
 * client that records a history for the linearizability checker, and the cross-replica
 * invariants (invariants.ts: agreement among them) checked after every simulated instant.
 */
import { assert } from '../../runtime/assert';
import type { ActorHost } from '../../runtime/actor';
import { ByteWriter } from '../../runtime/byte-codec';
import { Simulation } from '../../runtime/sim/simulation';
import type { CrashKind } from '../../runtime/sim/simulation';
import type { FaultConfig } from '../../runtime/sim/network';
import type { DiskFaults } from '../../runtime/sim/sim-disk';
import type { SyncMode } from '../../engines/engine';
import { allModels } from '../../models/all-models';
import type { StateMachine } from '../../models/state-machine';
import { bigtableDerived } from '../../models/bigtable/bigtable';
import { PaxosGroupActor } from '../../actors/paxos/paxos-actor';
import type { PersistLingerOptions, Schedule } from '../../actors/paxos/persist-linger';
import { actorIdOf, replicaOfActor } from '../../actors/paxos/placement';
import type { CoreLimits } from '../../actors/paxos/core/key-state';
import type {
  ClientRequest,
  ClientResult,
  KeyRecord,
  ReadRequest,
  WriteRequest,
} from '../../actors/paxos/core/types';

export type RequestBody = Omit<WriteRequest, 'token'> | Omit<ReadRequest, 'token'>;
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  readResult,
  writeRequest,
} from '../../actors/paxos/codec';
import { groupOfKey } from '../../actors/store/routing';
import { SectionedRecordPort } from '../../actors/paxos/sectioned-record-port';
import { KeptRecordPort } from '../../actors/paxos/kept-record-port';
import { SECTION_LIMITS } from '../../actors/paxos/record-sections';

/**
 * Every record in sections, whatever its size (unless a run sets `sectionDataBytesMin`), and
 * chains that fold after a few KiB: the simulator's small states reach change entries, folds
 * and crashes between them.
 */
const SIM_SECTIONS = {
  ...SECTION_LIMITS,
  dataBytesMin: 0,
  chainBytesMin: 4096,
  chainEntriesMax: 64,
};
import { SimRecordPort } from './sim-record-port';
import { VolatileRecordPort } from '../../actors/paxos/volatile-record-port';
import type { RecordPort } from '../../actors/paxos/record-port';
import { ClusterInvariants } from './invariants';
import type { JournalLimits } from '../../actors/paxos/journal-limits';
import { groupOfActor } from '../../actors/paxos/placement';

export interface ClusterOptions {
  seed: number;
  replicas?: number;
  groups?: number;
  sync?: SyncMode;
  tickMs?: number;
  faults?: Partial<FaultConfig>;
  diskFaults?: Partial<DiskFaults>;
  limits?: Partial<CoreLimits>;
  /** Keys each group actor keeps in memory; evicted keys load again from the simulated disk. */
  cachedKeysMax?: number;
  /** Ids per incarnation range (small: ranges run out and are renewed during the run). */
  idSpan?: number;
  /**
   * The memory engine: records live only in memory (VolatileRecordPort, evicted keys in its
   * compact form); every restart starts empty and amnesic.
   */
  volatile?: boolean;
  /**
   * Memory with persist (kept-record-port.ts): the durable port in sections, with the keys the
   * cache evicts kept in an arena that a crash loses; keys load from the arena or the disk.
   */
  kept?: boolean;
  /** Keep each group's journal (small bounds, so trimming runs too). */
  journal?: boolean;
  /**
   * Replicas message each other with objects (ActorHost.sendObject), as on one worker thread
   * in the store, with the network's faults on top; each object is checked at every delivery
   * for writes after it was sent (Simulation `objectMessages`).
   */
  objectMessages?: boolean;
  /**
   * Adaptive group commit (persist-linger.ts) on the simulator's clock, lingering after any
   * batch (the store lingers only after batches of 4 records, which 3 keys never make).
   */
  linger?: boolean;
  /**
   * log2 of the volatile store's arena slab (record-arena.ts). Small slabs fill, fall below
   * half live and are evacuated (compacted) many times in a short run.
   */
  volatileSlabShift?: number;
  /** The replicated state machine (default allModels): e.g. models with small thresholds. */
  model?: StateMachine;
  /**
   * Records in sections from this many bytes of data (default 0: all). Above a sealed record's
   * own size, states cross the threshold both ways: a load reads chain entries only after a
   * base that big, and a base that shrinks under it over a chain must end that chain.
   */
  sectionDataBytesMin?: number;
}

/** The simulator's journal bounds: small enough that entries are trimmed during a run. */
export const SIM_JOURNAL_LIMITS: JournalLimits = {
  retainEntriesMax: 48,
  retainBytesMax: 1 << 20,
  retainAckedEntries: 8,
  subscribersMax: 4,
};

interface ReplicaSlot {
  incarnation: number;
  amnesic: boolean;
  /** A crash damaged its log tail: every later start is amnesic too (see restart()). */
  damaged: boolean;
  /** Restarts so far (a volatile store's loads never answer into a later start). */
  starts: number;
}

export class SimCluster {
  readonly sim: Simulation;
  readonly replicas: number;
  readonly groups: number;
  private readonly slots: ReplicaSlot[] = [];
  /** Every volatile store created (one per actor start: bounded by the run's restarts). */
  private readonly volatilePorts: VolatileRecordPort[] = [];
  /** Every kept-record store created (memory with persist; one per actor start). */
  private readonly keptPorts: KeptRecordPort[] = [];
  private readonly pending = new Map<
    number,
    { body: RequestBody; done: (r: ClientResult) => void }
  >();
  /** Cross-replica invariants, checked at the end of every simulated instant. */
  readonly invariants = new ClusterInvariants();
  private nextToken = 1;

  constructor(readonly options: ClusterOptions) {
    this.replicas = options.replicas ?? 3;
    this.groups = options.groups ?? 2;
    const placement = { replicas: this.replicas, groups: this.groups };
    this.sim = new Simulation({
      seed: options.seed,
      tickMs: options.tickMs ?? 10,
      nodeOf: (id) => replicaOfActor(id, placement),
      faults: options.faults,
      diskFaults: options.diskFaults,
      wireSurvivesCrash: true,
      objectMessages: options.objectMessages,
    });
    for (let r = 0; r < this.replicas; r++) {
      this.slots.push({ incarnation: 0, amnesic: false, damaged: false, starts: 0 });
      for (let g = 0; g < this.groups; g++) {
        this.sim.addActor(
          actorIdOf(r, g, placement),
          (id, host) => this.createActor(id, host, r),
          null,
        );
      }
    }
    this.sim.onClientReceive((_from, payload) => {
      readBatch(payload, PayloadKind.results, readResult, (res) => {
        const pending = this.pending.get(res.token);
        if (pending === undefined) return;
        this.pending.delete(res.token);
        if (res.ok && pending.body.kind === 'write')
          this.invariants.onAcknowledgedWrite(pending.body.key, pending.body.op);
        pending.done(res);
      });
    });
    this.sim.onInstantEnd((touched) => this.checkInvariants(touched));
  }

  /** Only actors touched in the instant can have changed: they are the ones checked. */
  private checkInvariants(touched: readonly number[]): void {
    const placement = { replicas: this.replicas, groups: this.groups };
    for (const id of touched) {
      const actor = this.sim.actor(id);
      if (actor instanceof PaxosGroupActor)
        this.invariants.checkCore(replicaOfActor(id, placement), actor.debugCore());
    }
  }

  private createActor(id: number, host: ActorHost, replica: number): PaxosGroupActor {
    const slot = this.slots[replica];
    assert(slot !== undefined);
    const sync = this.options.sync ?? 'always';
    const observed: ActorHost = {
      actorId: host.actorId,
      now: () => host.now(),
      send: (to, payload) => {
        this.invariants.observeSent(replica, payload);
        host.send(to, payload);
      },
    };
    const sendObject = host.sendObject;
    if (sendObject !== undefined) {
      observed.sendObject = (to, message) => {
        const sent = sendObject(to, message);
        if (sent) this.invariants.observeSentObject(replica, message);
        return sent;
      };
    }
    const group = groupOfActor(id, { replicas: this.replicas, groups: this.groups });
    return new PaxosGroupActor(id, observed, this.recordPort(replica, slot, sync, group), {
      replicas: this.replicas,
      groups: this.groups,
      sync,
      model: this.options.model ?? allModels,
      // One count per replica for all its groups, never repeated (like the store's durable
      // counts, it survives wiped disks): unique ballots and ids per incarnation (decision 15).
      incarnation: slot.incarnation,
      renewIncarnation: () => {
        slot.incarnation += 1;
        return slot.incarnation;
      },
      idSpan: this.options.idSpan,
      log: () => undefined,
      amnesic: slot.amnesic,
      limits: this.options.limits,
      cachedKeysMax: this.options.cachedKeysMax,
      // Big-table rows persist their chosen state (decision 13); the simulated disk keeps
      // records only, so their derived index entries are not simulated.
      derived: bigtableDerived,
      ...(this.options.journal === true
        ? { journal: SIM_JOURNAL_LIMITS, wallClock: () => host.now() }
        : {}),
      ...(this.options.linger === true ? this.linger(replica, slot) : {}),
    });
  }

  /** The linger's options and its timer, which never fires into a later incarnation. */
  private linger(
    replica: number,
    slot: ReplicaSlot,
  ): { persistLinger: PersistLingerOptions; lingerSchedule: Schedule } {
    const start = slot.starts;
    return {
      persistLinger: { ms: 1, recordsMin: 64, busyRecordsMin: 1 },
      lingerSchedule: (wake, ms) => {
        this.sim.schedule(ms, () => {
          if (slot.starts === start && this.sim.isUp(replica)) wake();
        });
      },
    };
  }

  /**
   * The actor's store. A volatile one answers loads through the simulator's event queue, and
   * never into a later incarnation (a crash loses the memory and the loads in flight alike).
   */
  private recordPort(
    replica: number,
    slot: ReplicaSlot,
    sync: SyncMode,
    group: number,
  ): RecordPort {
    // Records in sections, as every durable store keeps them (actor-entry.ts): the crash and
    // torn-tail faults of the simulated disk reach change chains and their folds.
    const start = slot.starts;
    if (this.options.volatile !== true) {
      const durable = new SectionedRecordPort(
        new SimRecordPort(this.sim.disk(replica), sync, group),
        { ...SIM_SECTIONS, dataBytesMin: this.options.sectionDataBytesMin ?? 0 },
      );
      if (this.options.kept !== true) return durable;
      // A load answered from the arena alone goes through the event queue, never into a later
      // start (a crash loses the arena and the loads in flight alike).
      const kept = new KeptRecordPort(
        durable,
        (fn) =>
          this.sim.schedule(0, () => {
            if (slot.starts === start && this.sim.isUp(replica)) fn();
          }),
        this.options.volatileSlabShift,
      );
      this.keptPorts.push(kept);
      return kept;
    }
    const port: VolatileRecordPort = new VolatileRecordPort((fn) => {
      this.sim.schedule(0, () => {
        if (slot.starts !== start || !this.sim.isUp(replica)) return;
        // The arena's index against its slabs, before every load it answers (a few keys: cheap).
        port.checkIntegrity();
        fn();
      });
    }, this.options.volatileSlabShift);
    this.volatilePorts.push(port);
    return port;
  }

  /** Arena evacuations (compactions) of every volatile store this cluster created. */
  arenaEvacuations(): number {
    const kept = this.keptPorts.reduce((n, p) => n + p.arenaStats().evacuations, 0);
    return kept + this.volatilePorts.reduce((n, p) => n + p.arenaStats().evacuations, 0);
  }

  /** Loads that kept-record stores answered from their arenas (memory with persist). */
  arenaLoads(): number {
    return this.keptPorts.reduce((n, p) => n + p.arenaLoads, 0);
  }

  groupOf(key: string): number {
    return groupOfKey(key, this.groups);
  }

  /** Sends one request to a replica; `done` gets the result, or nothing if it is lost. */
  request(replica: number, req: RequestBody, done: (r: ClientResult) => void): number {
    const token = this.nextToken++;
    const full = { ...req, token } as ClientRequest;
    const w = new ByteWriter(128);
    const at = beginBatch(w, PayloadKind.requests);
    writeRequest(w, full);
    this.pending.set(token, { body: req, done });
    const actor = actorIdOf(replica, this.groupOf(req.key), {
      replicas: this.replicas,
      groups: this.groups,
    });
    this.sim.clientSend(actor, endBatch(w, at, 1));
    return token;
  }

  /** Forget a request (the client gave up waiting). */
  abandon(token: number): void {
    this.pending.delete(token);
  }

  /**
   * Crash a replica: a power loss by default, or a process kill (the OS keeps what it was
   * handed). With `wipe` at restart, it comes back without its disk and must obey the amnesia rule.
   */
  crash(replica: number, kind: CrashKind = 'power'): void {
    this.sim.crash(replica, kind);
  }

  restart(replica: number, wipe: boolean): void {
    const slot = this.slots[replica];
    assert(slot !== undefined);
    slot.incarnation += 1;
    slot.starts += 1;
    // A wiped disk stays amnesic on every later restart too: keys it has not recovered yet are
    // missing from it, and nothing (no background rebuild yet) tells them from never-written.
    // A damaged tail is reported by the store at this start (lostAtOpen, becomeAmnesic); later
    // starts must stay amnesic too, since the cut records are still missing.
    slot.amnesic =
      slot.amnesic ||
      wipe ||
      slot.damaged ||
      (this.options.sync ?? 'always') === 'none' ||
      this.options.volatile === true;
    if (wipe) slot.damaged = false;
    else slot.damaged = slot.damaged || this.sim.disk(replica).tailDamagedAtLastCrash;
    this.sim.restart(replica, { wipeDisk: wipe });
  }

  isUp(replica: number): boolean {
    return this.sim.isUp(replica);
  }

  /** A replica's in-memory record of a key (undefined when down or never touched). */
  record(replica: number, key: string): KeyRecord | undefined {
    const id = actorIdOf(replica, this.groupOf(key), {
      replicas: this.replicas,
      groups: this.groups,
    });
    const actor = this.sim.actor(id);
    if (!(actor instanceof PaxosGroupActor)) return undefined;
    return actor.debugRecord(key);
  }

  /** The sum of one core counter over the live actors (counters restart with an actor). */
  coreCounter(name: string): number {
    let sum = 0;
    for (let r = 0; r < this.replicas; r++) {
      for (let g = 0; g < this.groups; g++) {
        const actor = this.sim.actor(
          actorIdOf(r, g, { replicas: this.replicas, groups: this.groups }),
        );
        if (actor instanceof PaxosGroupActor) sum += actor.coreStats()[name] ?? 0;
      }
    }
    return sum;
  }
}
