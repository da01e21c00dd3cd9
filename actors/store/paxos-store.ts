/**
 * PaxosStore: an embedded Set of replicas on worker threads (issue #2's public API).
 *
 *   const store = await PaxosStore.open({ replicas: 3, engine: 'memory' });
 *   const kv = store.kv('users');
 *   await kv.put('alice', 'hello');
 *   await store.replica(1).kv('users').get('alice');
 *
 * Each replica has `groups` PaxosGroupActors; actors are pinned to worker threads and talk
 * through SharedArrayBuffer mailboxes. Faults between replicas (partition/heal) and replica
 * crash/restart are in-process controls for tests and demos.
 */
import { LinkFaults, newLinkFaults } from '../../runtime/link-faults';
import type { LinkFaultsConfig } from '../../runtime/link-faults';
import { realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { mkdirDurable } from '../../engines/durable-dir';
import { isEngineError } from '../../engines/errors';
import { acquireLock, releaseLock } from '../../engines/bitcask/lock-file';
import type { DirectoryLock } from '../../engines/bitcask/lock-file';
import { ActorSystem } from '../../runtime/actor-system';
import type { ClientStats, RemoteHandler, SupervisionEvent } from '../../runtime/actor-system';
import type { InspectResult } from '../../runtime/actor';
import { assert } from '../../runtime/assert';
import { RemoteStore } from '../../client/remote-store';
import type { ConnectOptions } from '../../client/remote-store';
import type { ClientResult } from '../paxos/core/types';
import {
  actorIdOf,
  groupOfActor,
  placementLayout,
  replicaOfActor,
  workerPlacement,
} from '../paxos/placement';
import { ActorFault } from '../node/actor-entry';
import type { GroupActorConfig } from '../node/actor-entry';
import { checkDataDir, STORE_LOCK_FILE } from '../node/data-dir';
import { storeKeptJournal } from '../node/journal-gap-file';
import { resolveJournal } from './journal-options';
import {
  checkUnsyncedMarker,
  removeUnsyncedMarker,
  writeUnsyncedMarker,
} from '../node/unsynced-marker';
import { ErrorCodes, PaxosStoreError, checked, describe, invalid } from './errors';
import { KvNamespace, validateNamespace } from './kv';
import { Queue } from './queue';
import { StoreSet } from './set';
import { Table } from './table';
import { Doc } from './doc';
import { Account } from './account';
import { Bigtable } from './bigtable';
import type { BigtableBackend, BigtableOptions } from './bigtable';
import type { AccountBoundsOptions } from './account';
import type { RequestBackend } from './model-client';
import { engineLabel, resolveOptions, usesDataDir } from './options';
import type { PaxosStoreOptions, ResolvedOptions } from './options';
import { RequestPipeline, resultAsIs } from './request-pipeline';
import type { Completion, RequestBody, ScanBody } from './request-pipeline';
import { groupOfKey, homeReplicaOf, routeOfParts } from './routing';
import type { KeyRoute } from './routing';
import { inspectTimeoutOf, verifyReplicas } from './verify';
import { runBackup } from './backup';
import { resumeBackup } from './backup-follow-resume';
import type { ResumeBackupOptions } from './backup-follow-resume';
import type { BackupOptions, BackupReport } from './backup';
import type { BackupFollow } from './backup-follow';
import { restoreBackup } from './restore';
import type { RestoreOptions, RestoreReport, RestoreTarget } from './restore';
import { restoreCluster } from '../../client/cluster-restore';
import { isClusterBackup } from '../../client/cluster-backup';
import type { ClusterRestoreOptions, ClusterRestoreReport } from '../../client/cluster-restore';
import type { VerifyContext, VerifyOptions, VerifyReport } from './verify';
import { BackgroundRepair } from './background-repair';
import { Subscription, resolveSubscribeOptions, subscriberName } from './subscription';
import type { JournalSource, SubscribeOptions } from './subscription';
import type { JournalAnswer, JournalRange } from '../paxos/journal-page';
import type { RepairStats } from './background-repair';
import { trafficOf } from './traffic-stats';
import type { TrafficStats } from './traffic-stats';

export interface StoreStats {
  readonly workers: unknown[];
  /**
   * The embedding (client) thread's mailbox: `messagesOut` are request payloads to the
   * workers, `messagesIn` result payloads, `wakes` its doorbell wake-ups.
   */
  readonly client: ClientStats;
  readonly inFlight: number;
  readonly replicasUp: boolean[];
  /**
   * Per replica, the Paxos counters summed over its groups (null while it is down): `keys`
   * held in memory, `keysEvicted`, `corruptedRecords`, `records` and `batches` written,
   * `writesUnknownOutcome`, and so on. Names may grow; treat missing ones as 0.
   */
  readonly replicas: (Record<string, number> | null)[];
  /** What the supervisor did: restarts, and the groups and workers that are down. */
  readonly supervision: SupervisionReport;
  /** The background repair scan: totals since open and the last round (README "Background repair"). */
  readonly repair: RepairStats;
  /** Messages and records since open, for "messages per write" (issue 10; traffic-stats.ts). */
  readonly traffic: TrafficStats;
}

/** A replica's group actor as the supervisor sees it (README "Supervision"). */
export interface GroupRef {
  readonly replica: number;
  readonly group: number;
}

export interface SupervisionReport {
  /** Supervised restarts of single group actors (an exception or a storage failure). */
  readonly actorRestarts: number;
  /** Worker threads respawned after they died (each restarts every actor it hosted). */
  readonly workerRestarts: number;
  /** Groups being restarted now (requests to them answer UNAVAILABLE meanwhile). */
  readonly restarting: GroupRef[];
  /** Groups that kept failing: down until their replica is restarted (replica(i).restart()). */
  readonly failed: GroupRef[];
  readonly workers: { worker: number; state: 'up' | 'restarting' | 'failed'; restarts: number }[];
}

/** @internal How a cluster node hosts its replica (PaxosStore.openNode). */
export interface NodeHosting {
  readonly replica: number;
}

/** @internal What a cluster node's network layer gets from its store. */
export interface NodeGateway {
  readonly replica: number;
  /** Messages the node's actors send to actors of other nodes. */
  onRemote(handler: RemoteHandler): void;
  /** A message from another node's actor; false when refused (see ActorSystem.deliverRemote). */
  deliverRemote(from: number, to: number, payload: Uint8Array): boolean;
  /** A client request, proposed by this node's replica. */
  call(body: RequestBody): Promise<ClientResult>;
  /** An engine scan of one of this replica's groups (big tables over the network). */
  scan(body: ScanBody): Promise<ClientResult>;
  /** Cut links (fault injection; partitions between nodes). */
  readonly links: LinkFaults;
  /**
   * One inspect request (digest, backup page, amnesia, stats) to this replica's group actor:
   * verify, backup and repair over the network (server/node-inspect.ts validates it first).
   */
  inspect(group: number, request: unknown): Promise<InspectResult>;
  /** Foreground requests in flight (the node's repair yields to them). */
  inFlight(): number;
}

/** verify() runs at most this many times when groups go down under it. */
const VERIFY_ATTEMPTS_MAX = 3;

export class ReplicaHandle {
  constructor(
    readonly index: number,
    private readonly store: PaxosStore,
  ) {}

  kv(namespace: string): KvNamespace {
    return this.store.namespace(namespace, this.index);
  }

  queue(name: string): Queue {
    return this.store.objectHandle((backend) => new Queue(name, backend, this.index));
  }

  set(name: string): StoreSet {
    return this.store.objectHandle((backend) => new StoreSet(name, backend, this.index));
  }

  table(name: string): Table {
    return this.store.objectHandle((backend) => new Table(name, backend, this.index));
  }

  doc(name: string): Doc {
    return this.store.objectHandle((backend) => new Doc(name, backend, this.index));
  }

  account(name: string, bounds?: AccountBoundsOptions): Account {
    return this.store.objectHandle((backend) => new Account(name, backend, this.index, bounds));
  }

  /** A big table whose requests this replica proposes and serves (scans list from a majority). */
  bigtable(name: string, options?: BigtableOptions): Bigtable {
    return this.store.bigtableHandle(name, options, this.index);
  }

  get up(): boolean {
    return this.store.isUp(this.index);
  }

  /** Stops this replica's actors at once, as a process crash would (memory engine: state lost). */
  crash(): Promise<void> {
    return this.store.crashReplica(this.index);
  }

  /** Starts the replica again; a replica that lost its state recovers keys from its peers. */
  restart(): Promise<void> {
    return this.store.restartReplica(this.index);
  }
}

export class PaxosStore {
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly up: boolean[];
  /** Partitions between replicas, applied by the runtime's transport (runtime/link-faults.ts). */
  private readonly links: LinkFaults;
  private readonly incarnations: Int32Array;
  private readonly faults: Int32Array;
  private readonly backend: RequestBackend;
  /** Per replica, the crash/restart in progress: a later call runs after it, in call order. */
  private readonly replicaOps: Promise<void>[];
  private readonly repair: BackgroundRepair;
  /** The route of the request being submitted (submitChecked; reused, no object per request). */
  private readonly route: KeyRoute = { group: 0, home: 0 };

  private constructor(
    readonly options: ResolvedOptions,
    private readonly system: ActorSystem,
    private readonly pipeline: RequestPipeline,
    config: GroupActorConfig,
    private readonly lock: DirectoryLock | undefined,
    linkFaults: LinkFaultsConfig,
    private readonly hosting: NodeHosting | undefined,
  ) {
    // A cluster node hosts one replica: the others are not up here (they are other processes).
    this.up = new Array<boolean>(options.replicas).fill(hosting === undefined);
    if (hosting !== undefined) this.up[hosting.replica] = true;
    this.links = new LinkFaults(linkFaults);
    this.incarnations = new Int32Array(config.incarnations);
    this.faults = new Int32Array(config.faults);
    this.replicaOps = new Array<Promise<void>>(options.replicas).fill(Promise.resolve());
    system.onSupervision((event) => this.onSupervision(event));
    this.backend = {
      valueBytesMax: options.valueBytesMax,
      call: (replica, body, transientResult) => this.call(replica, body, transientResult),
      callFor: (replica, body, completion, shownKey) =>
        this.callFor(replica, body, completion, shownKey),
    };
    // A cluster node sees only its own replica: the node process runs the repair scan itself,
    // with its peers' digests over the network (server/node-repair.ts), so the store runs none.
    const repair = hosting === undefined ? options.repair : { ...options.repair, enabled: false };
    this.repair = new BackgroundRepair(repair, {
      context: () => this.repairContext(),
      inFlight: () => this.pipeline.inFlight,
    });
    this.repair.start();
  }

  static async open(options?: PaxosStoreOptions): Promise<PaxosStore> {
    const o = resolveOptions(options);
    // Taken before anything in the dir changes, and held until close: a second open of a dir an
    // open store holds (in this process or another) rejects LOCKED and changes nothing.
    const lock = usesDataDir(o) ? await lockStoreDir(o.dir) : undefined;
    try {
      return await PaxosStore.openLocked(o, lock, undefined);
    } catch (error) {
      if (lock !== undefined) await releaseLock(lock);
      throw error;
    }
  }

  /**
   * A client of a cluster of node processes (client/remote-store.ts): the same handles, over
   * TCP. Rejects UNAUTHENTICATED on a wrong secret, UNAVAILABLE when no seed node answers.
   */
  static connect(options: ConnectOptions): Promise<RemoteStore> {
    return RemoteStore.connect(options);
  }

  /**
   * @internal A cluster node (cluster/): this process hosts one replica of the Set; messages
   * for the other replicas' actors leave through `gateway()`. The node's dir is always used,
   * whatever the engine: it holds at least the incarnation counts, which must outlive the
   * process even on the memory engine (ids are unique per incarnation, decision 15).
   */
  static async openNode(options: PaxosStoreOptions, hosting: NodeHosting): Promise<PaxosStore> {
    const o = resolveOptions(options);
    if (o.dir === undefined) throw invalid('a cluster node needs a dir');
    if (
      !Number.isInteger(hosting.replica) ||
      hosting.replica < 0 ||
      hosting.replica >= o.replicas
    ) {
      throw invalid(
        `replica must be an integer in 0..${o.replicas - 1}, got ${describe(hosting.replica)}`,
      );
    }
    const lock = await lockStoreDir(o.dir);
    try {
      return await PaxosStore.openLocked(o, lock, hosting);
    } catch (error) {
      await releaseLock(lock);
      throw error;
    }
  }

  private static async openLocked(
    o: ResolvedOptions,
    lock: DirectoryLock | undefined,
    hosting: NodeHosting | undefined,
  ): Promise<PaxosStore> {
    // Before any actor opens a database: a dir written with another placement would lose data.
    // A cluster node always names its groups (cluster/serve-options.ts groupsFor): its peers
    // must agree, so it never adopts a dir's.
    if (hosting !== undefined && o.dir !== undefined && !usesDataDir(o)) {
      await checkDataDir(o.dir, { replicas: o.replicas, groups: o.groups, engine: engineLabel(o) });
    }
    if (usesDataDir(o)) {
      const dir = o.dir;
      const placement = { replicas: o.replicas, groups: o.groups, engine: engineLabel(o) };
      const adoptGroups = o.groupsUnset && hosting === undefined;
      const inEffect = await checkDataDir(dir, placement, adoptGroups);
      assert(adoptGroups || inEffect.groups === o.groups, 'a named groups is never replaced');
      o = { ...o, groups: inEffect.groups };
      await checkUnsyncedMarker(dir, o.acceptDataLoss);
      if (o.sync === 'none') await writeUnsyncedMarker(dir);
      // A dir that kept a journal keeps it unless the caller says `journal: false`.
      const keep = o.journalUnset && o.journal === undefined;
      if (keep && (await storeKeptJournal(dir, o.replicas)))
        o = { ...o, journal: resolveJournal(true) };
    }
    const config: GroupActorConfig = {
      replicas: o.replicas,
      groups: o.groups,
      engine: o.engine,
      dir: o.dir,
      persist: o.persist,
      sync: o.sync,
      tickMs: o.tickMs,
      timeoutMs: o.timeoutMs,
      lingerMs: o.groupCommitLingerMs,
      cachedKeysMax: o.cachedKeysMax,
      incarnations: new SharedArrayBuffer(4 * o.replicas),
      faults: new SharedArrayBuffer(4 * o.replicas * o.groups),
      durableIncarnations: hosting !== undefined,
      journal: o.journal,
    };
    // One node per replica: its groups are the actor ids replica × groups + g (actorIdOf).
    const linkFaults = newLinkFaults(o.replicas, o.groups);
    const system = await ActorSystem.start({
      workers: o.workers,
      actorModule: path.join(__dirname, '..', 'node', 'actor-entry.js'),
      actorConfig: config,
      actors: hosting === undefined ? allActors(o) : replicaActors(o, hosting.replica),
      placement: actorPlacement(o),
      tickMs: o.tickMs,
      linkFaults,
      ...(o.workerHeapMb === undefined ? {} : { workerHeapMb: o.workerHeapMb }),
      ...(o.workerYoungMb === undefined ? {} : { workerYoungMb: o.workerYoungMb }),
      ...(hosting === undefined
        ? {}
        : { remote: { actorsPerNode: o.groups, nodes: o.replicas, localNode: hosting.replica } }),
    });
    const pipeline = new RequestPipeline(
      system,
      { replicas: o.replicas, groups: o.groups },
      o.timeoutMs,
    );
    return new PaxosStore(o, system, pipeline, config, lock, linkFaults, hosting);
  }

  /** A key-value namespace; requests go to each key's home replica (or the next one up). */
  kv(namespace: string): KvNamespace {
    return this.namespace(namespace, undefined);
  }

  /** A FIFO queue under one name (objects share one name space; see README). */
  queue(name: string): Queue {
    this.checkOpen();
    return new Queue(name, this.backend, undefined);
  }

  /** A set of members under one name. */
  set(name: string): StoreSet {
    this.checkOpen();
    return new StoreSet(name, this.backend, undefined);
  }

  /** A small 2-D table (rows × columns) under one name. */
  table(name: string): Table {
    this.checkOpen();
    return new Table(name, this.backend, undefined);
  }

  /** A JSON document under one name, updated atomically by lists of ops. */
  doc(name: string): Doc {
    this.checkOpen();
    return new Doc(name, this.backend, undefined);
  }

  /** A balance or quota counter with two-phase operations and a journal (integer amounts). */
  account(name: string, bounds?: AccountBoundsOptions): Account {
    this.checkOpen();
    return new Account(name, this.backend, undefined, bounds);
  }

  /** A big table (engine 'lsm'): rows by primary key, range scans, secondary indexes. */
  bigtable(name: string, options?: BigtableOptions): Bigtable {
    return this.bigtableHandle(name, options, undefined);
  }

  replica(index: number): ReplicaHandle {
    this.checkOpen();
    if (
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= this.options.replicas
    ) {
      throw invalid(
        `replica must be an integer in 0..${this.options.replicas - 1}, got ${describe(index)}`,
      );
    }
    return new ReplicaHandle(index, this);
  }

  /** Drops all messages between replicas in different groups, e.g. [[0], [1, 2]]. */
  partition(groups: number[][]): void {
    this.checkOpen();
    const n = this.options.replicas;
    const side = checked('partition', () => {
      const out = new Array<number>(n).fill(-1);
      if (!Array.isArray(groups))
        throw invalid(`partition takes an array of replica groups, got ${describe(groups)}`);
      const count = groups.length;
      if (count > n) throw invalid(`partition takes at most ${n} groups, got ${count}`);
      for (let i = 0; i < count; i++) {
        const g: unknown = groups[i];
        if (!Array.isArray(g))
          throw invalid(`each partition group must be an array, got ${describe(g)}`);
        const size = g.length;
        if (size > n) throw invalid(`a partition group has at most ${n} replicas, got ${size}`);
        for (let j = 0; j < size; j++) {
          const r: unknown = g[j];
          if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= n || out[r] !== -1) {
            throw invalid(`bad or repeated replica ${describe(r)}`);
          }
          out[r] = i;
        }
      }
      return out;
    });
    // The validated copy, as sides of replica indexes (the caller's arrays are not read again).
    const sides: number[][] = [];
    side.forEach((at, r) => {
      if (at >= 0) (sides[at] ??= []).push(r);
    });
    this.links.partition(sides.filter((s) => s !== undefined));
  }

  heal(): void {
    this.checkOpen();
    this.links.heal();
  }

  async stats(): Promise<StoreStats> {
    this.checkOpen();
    return this.mapErrors(async () => {
      const up = [...this.up];
      const replicas = await Promise.all(
        up.map((isUp, r) => (isUp ? this.replicaCounters(r) : Promise.resolve(null))),
      );
      const workers = await this.system.stats();
      const supervision = this.supervisionReport();
      const client = this.system.clientStats();
      return {
        workers,
        client,
        inFlight: this.pipeline.inFlight,
        replicasUp: up,
        replicas,
        supervision,
        repair: this.repair.stats(),
        traffic: trafficOf(replicas, workers, client),
      };
    });
  }

  private supervisionReport(): SupervisionReport {
    const s = this.system.supervisionStats();
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const ref = (id: number): GroupRef => ({
      replica: replicaOfActor(id, placement),
      group: groupOfActor(id, placement),
    });
    return {
      actorRestarts: s.actorRestarts,
      workerRestarts: s.workerRestarts,
      restarting: s.restartingActors.map(ref),
      failed: s.failedActors.map(ref),
      workers: s.workers,
    };
  }

  private async replicaCounters(replica: number): Promise<Record<string, number> | null> {
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const sums: Record<string, number> = {};
    let answered = 0;
    for (let g = 0; g < this.options.groups; g++) {
      const answer = await this.system.inspect(actorIdOf(replica, g, placement), { kind: 'stats' });
      // A group that is down (restarting, failed, its replica crashed meanwhile) has no
      // counters to give; the others still count.
      if (!answer.ok) continue;
      answered++;
      for (const [name, n] of Object.entries(answer.value as Record<string, number>))
        sums[name] = (sums[name] ?? 0) + n;
    }
    return answered === 0 ? null : sums;
  }

  /**
   * Replica alignment: compares digests of every replica's chosen state, bucket by bucket,
   * and lists the keys where replicas differ (diverged, behind, corrupted). Read-only; see
   * README "Verifying replicas".
   */
  async verify(options?: VerifyOptions): Promise<VerifyReport> {
    this.checkOpen();
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const call = (replica: number, body: RequestBody): Promise<ClientResult> =>
      this.call(replica, body);
    const upNow = (): boolean[] => this.verifiableReplicas();
    return this.mapErrors(async () => {
      // A group that goes down during the run makes its digest request fail: run again with
      // it reported down (bounded: each retry needs another change of the up set).
      for (let attempt = 0; ; attempt++) {
        const up = upNow();
        try {
          const report = await verifyReplicas(
            { system: this.system, placement, up, call },
            options,
          );
          const { restarting, failed } = this.supervisionReport();
          return { ...report, groupsDown: [...restarting, ...failed] };
        } catch (error) {
          const changed = upNow().some((isUp, r) => isUp !== up[r]);
          if (this.closed || !changed || attempt >= VERIFY_ATTEMPTS_MAX - 1) throw error;
        }
      }
    });
  }

  /**
   * A full backup into a new directory beside live traffic (README "Backups"): every write
   * acknowledged before the call is in it. Stores with a data dir on an ordered engine (lsm,
   * bitcask, memory + persist); others reject UNSUPPORTED_ENGINE.
   */
  async backup(options: BackupOptions): Promise<BackupReport> {
    this.checkOpen();
    const o = this.options;
    if (!usesDataDir(o) || o.engine === 'bitcask2' || this.hosting !== undefined) {
      throw new PaxosStoreError(
        ErrorCodes.UNSUPPORTED_ENGINE,
        `backup needs an embedded store with a dir on lsm, bitcask or memory + persist (this one: ${engineLabel(o)}${o.dir === undefined ? ', no dir' : ''})`,
      );
    }
    const placement = { replicas: o.replicas, groups: o.groups };
    const up = (): boolean[] =>
      this.up.map(
        (isUp, r) =>
          isUp && this.groupsOf(r).every((id) => this.system.actorState(id) === 'running'),
      );
    const call = (replica: number, body: RequestBody): Promise<ClientResult> =>
      this.call(replica, body);
    const layout = { replicas: o.replicas, groups: o.groups, engine: engineLabel(o) };
    // A following backup reads replica 0's journals (docs/decisions.md "Backups: follow").
    const journal = o.journal === undefined ? {} : { journal: this.journalSource(0) };
    return this.mapErrors(() =>
      runBackup({ system: this.system, placement, layout, up, call, ...journal }, options),
    );
  }

  /**
   * Goes on with the follow of a backup in `options.to` without a new full copy (README
   * "Backups"): after its process was killed, the store closed under it, or it was paused with
   * `follow.stop({ keepCursor: true })`. SUBSCRIPTION_EXPIRED when the journal no longer holds
   * what it missed; CORRUPTED when the backup does not match what it records.
   */
  async resumeBackup(options: ResumeBackupOptions): Promise<BackupFollow> {
    this.checkOpen();
    const journal = this.options.journal === undefined ? undefined : this.journalSource(0);
    return this.mapErrors(() => resumeBackup(journal, options));
  }

  /**
   * Builds a new data directory from a backup (README "Backups"); open it afterwards with the
   * backup's engine. A damaged or incomplete backup rejects CORRUPTED naming the file.
   */
  static async restore(options: RestoreOptions): Promise<RestoreReport> {
    const from: unknown = (options as Partial<RestoreOptions> | null)?.from;
    if (typeof from === 'string' && (await isClusterBackup(from)))
      throw invalid(
        `${from} is a cluster backup: restore it with PaxosStore.restoreCluster({ from, config, to }) (one data dir per node)`,
      );
    return restoreBackup(options, (o) => PaxosStore.openForRestore(o));
  }

  /**
   * Builds the data directories of a new cluster from a cluster backup (`connect(...).backup`):
   * one directory per node, `<to>/<node>`, Set by Set (README "Backups", client/cluster-restore.ts).
   */
  static restoreCluster(options: ClusterRestoreOptions): Promise<ClusterRestoreReport> {
    return restoreCluster(options, (o) => PaxosStore.openForRestore(o));
  }

  private static async openForRestore(o: PaxosStoreOptions): Promise<RestoreTarget> {
    const store = await PaxosStore.open(o);
    return {
      call: (body) => store.call(undefined, body),
      verify: (v) => store.verify(v),
      close: () => store.close(),
    };
  }

  /**
   * Replicas up for verification: a replica with a group that is restarting or failed is not,
   * its digest would be incomplete. `supervision` says which groups.
   */
  private verifiableReplicas(): boolean[] {
    return this.up.map(
      (isUp, r) => isUp && this.groupsOf(r).every((id) => this.system.actorState(id) === 'running'),
    );
  }

  /** The background repair's view of the store, taken now (undefined once closing). */
  private repairContext(): VerifyContext | undefined {
    if (this.closed) return undefined;
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const call = (replica: number, body: RequestBody): Promise<ClientResult> =>
      this.call(replica, body);
    return { system: this.system, placement, up: this.verifiableReplicas(), call };
  }

  /**
   * The runtime's codes never reach a caller: after close() (racing it included) a call
   * rejects CLOSED, and a worker that died under it means UNAVAILABLE.
   */
  private async mapErrors<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (this.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && code.startsWith('PXS_')) {
        throw new PaxosStoreError(
          ErrorCodes.UNAVAILABLE,
          error instanceof Error ? error.message : String(error),
        );
      }
      throw error;
    }
  }

  private groupsOf(replica: number): number[] {
    return replicaActors(this.options, replica);
  }

  private onSupervision(event: SupervisionEvent): void {
    if (event.kind === 'up') return;
    // 'down': a failure stopped these actors; 'failed': they stay down. Either way nothing
    // they held will be answered: settle it now rather than at the backstop deadline.
    this.pipeline.failActors(new Set(event.actors), `group actor down (${event.reason})`);
  }

  /**
   * A named subscription to the journal of every applied change (README "Journal
   * subscription"; needs the `journal` option). Iterate it; `ack(entry)` records progress
   * durably; subscribing again under the same name resumes after the last acknowledged entry
   * of each group.
   */
  subscribe(name: string, options?: SubscribeOptions): Subscription {
    this.checkOpen();
    this.checkJournal();
    const resolved = resolveSubscribeOptions(options, this.options.replicas);
    return new Subscription(subscriberName(name), resolved, this.journalSource(resolved.replica));
  }

  /**
   * Removes a subscriber's cursors from every group of the serving replica, so retention no
   * longer keeps entries for it. Idempotent.
   */
  async unsubscribe(name: string, options?: { replica?: number }): Promise<void> {
    this.checkOpen();
    this.checkJournal();
    const checkedName = subscriberName(name);
    const { replica } = resolveSubscribeOptions(options, this.options.replicas);
    const source = this.journalSource(replica);
    for (let g = 0; g < this.options.groups; g++) {
      const answer = await source.ask(g, { kind: 'journal-remove', name: checkedName });
      if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    }
  }

  /** The journal's range in one group of a replica (a backup pages and seeks through it). */
  async journalRange(group: number, replica = 0): Promise<JournalRange> {
    this.checkOpen();
    this.checkJournal();
    if (!Number.isInteger(group) || group < 0 || group >= this.options.groups)
      throw invalid(`group must be an integer in 0..${this.options.groups - 1}`);
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.options.replicas)
      throw invalid(`replica must be an integer in 0..${this.options.replicas - 1}`);
    const answer = await this.journalSource(replica).ask(group, { kind: 'journal-info' });
    if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    return answer as JournalRange;
  }

  /**
   * The first retained seq of a group's journal whose entry was applied at or after `time` (ms
   * since the epoch); the head + 1 when none. Times never decrease within a group, so a backup
   * restoring to a point in time reads up to the seq before it.
   */
  async journalSeek(group: number, time: number, replica = 0): Promise<number> {
    this.checkOpen();
    this.checkJournal();
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.options.replicas)
      throw invalid(`replica must be an integer in 0..${this.options.replicas - 1}`);
    if (!Number.isInteger(group) || group < 0 || group >= this.options.groups)
      throw invalid(`group must be an integer in 0..${this.options.groups - 1}`);
    if (typeof time !== 'number' || !Number.isFinite(time)) throw invalid('time must be a number');
    const answer = await this.journalSource(replica).ask(group, { kind: 'journal-seek', time });
    if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    assert('seq' in answer && !('entries' in answer), 'a seek answers a seq');
    return answer.seq;
  }

  private checkJournal(): void {
    if (this.options.journal === undefined)
      throw new PaxosStoreError(
        ErrorCodes.INVALID_ARGUMENT,
        'this store keeps no journal: open it with the journal option',
      );
  }

  /** The journals of one replica's groups, asked through the actors' control plane. */
  private journalSource(replica: number): JournalSource {
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const store = this;
    return {
      groups: this.options.groups,
      get closed(): boolean {
        return store.closed;
      },
      ask: (group, request) =>
        this.mapErrors(async () => {
          this.checkOpen();
          assert(Number.isInteger(group) && group >= 0 && group < placement.groups, 'group');
          const answer = await this.system.inspect(actorIdOf(replica, group, placement), request);
          if (!answer.ok)
            throw new PaxosStoreError(
              ErrorCodes.UNAVAILABLE,
              `replica ${replica} group ${group}: ${answer.message}`,
            );
          return answer.value as JournalAnswer;
        }),
    };
  }

  /** @internal Test-only fault injection (supervision tests): see ActorFault. */
  injectFault(replica: number, group: number, fault: keyof typeof ActorFault): void {
    this.checkOpen();
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.options.replicas)
      throw invalid('bad replica');
    if (!Number.isInteger(group) || group < 0 || group >= this.options.groups)
      throw invalid('bad group');
    Atomics.store(this.faults, replica * this.options.groups + group, ActorFault[fault]);
  }

  /** @internal The worker thread that hosts a replica's group (tests). */
  workerOfGroup(replica: number, group: number): number {
    return this.system.workerOf(actorIdOf(replica, group, this.options));
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      // The repair's round stops at its next step; its requests in flight fail with the
      // pipeline and the actor system (waiting for it first could wait on a long digest scan).
      const repairStopped = this.repair.stop();
      this.pipeline.close();
      await this.system.close();
      await repairStopped;
      // Every actor has closed its engine: a 'none' run's writes are on disk now.
      try {
        if (usesDataDir(this.options) && this.options.sync === 'none')
          await removeUnsyncedMarker(this.options.dir);
      } finally {
        if (this.lock !== undefined) await releaseLock(this.lock);
      }
    })();
    return this.closing;
  }

  /** @internal */
  namespace(name: string, replica: number | undefined): KvNamespace {
    this.checkOpen();
    return new KvNamespace(validateNamespace(name), this.backend, replica);
  }

  /** @internal */
  objectHandle<T>(make: (backend: RequestBackend) => T): T {
    this.checkOpen();
    return make(this.backend);
  }

  /** @internal */
  bigtableHandle(
    name: string,
    options: BigtableOptions | undefined,
    replica: number | undefined,
  ): Bigtable {
    this.checkOpen();
    const backend: BigtableBackend = {
      ...this.backend,
      engine: this.options.engine,
      replicas: this.options.replicas,
      groups: this.options.groups,
      // Which replicas are up, closed or not (a scan of a closed store then fails CLOSED at its
      // first page). A replica with a group restarting or failed cannot list that group: scans
      // and lookups use the others (a majority must still be left).
      isUp: (r) =>
        this.up[r] === true &&
        this.groupsOf(r).every((id) => this.system.actorState(id) === 'running'),
      scan: (r, body) => this.scanGroup(r, body),
    };
    return new Bigtable(name, backend, replica, options);
  }

  /** An engine scan of one group of one replica (big tables, embedded or through a node). */
  private scanGroup(replica: number, body: ScanBody): Promise<ClientResult> {
    this.checkOpen();
    if (!Number.isInteger(body.group) || body.group < 0 || body.group >= this.options.groups) {
      throw new PaxosStoreError(
        ErrorCodes.INVALID_ARGUMENT,
        `no group ${body.group} (a replica has ${this.options.groups})`,
      );
    }
    if (!this.serves(replica, body.group)) {
      throw new PaxosStoreError(
        ErrorCodes.UNAVAILABLE,
        `replica ${replica} is down for group ${body.group}`,
      );
    }
    return this.pipeline.submit(replica, body);
  }

  /** @internal A cluster node's link to the network (undefined for an embedded store). */
  gateway(): NodeGateway {
    this.checkOpen();
    const system = this.system;
    const hosting = this.hosting;
    assert(hosting !== undefined, 'gateway() of an embedded store');
    return {
      replica: hosting.replica,
      onRemote: (handler) => system.onRemote(handler),
      deliverRemote: (from, to, payload) => !this.closed && system.deliverRemote(from, to, payload),
      call: (body) => this.call(hosting.replica, body),
      scan: (body) => this.scanGroup(hosting.replica, body),
      links: this.links,
      inspect: (group, request) => {
        assert(Number.isInteger(group) && group >= 0 && group < this.options.groups, 'group');
        const id = actorIdOf(hosting.replica, group, this.options);
        return system.inspect(id, request, inspectTimeoutOf(request));
      },
      inFlight: () => this.pipeline.inFlight,
    };
  }

  /** @internal */
  isUp(replica: number): boolean {
    // A closed store has no replica up (its actors are stopped).
    return !this.closed && this.up[replica] === true;
  }

  /** @internal */
  crashReplica(replica: number): Promise<void> {
    return this.serialized(replica, async () => {
      if (!this.up[replica]) return;
      this.up[replica] = false;
      this.pipeline.failReplica(replica, `replica ${replica} crashed`);
      await this.system.stopActors(replicaActors(this.options, replica));
    });
  }

  /** @internal A restart also brings back groups the supervisor marked failed. */
  restartReplica(replica: number): Promise<void> {
    return this.serialized(replica, async () => {
      const ids = replicaActors(this.options, replica);
      const down = ids.filter((id) => this.system.actorState(id) !== 'running');
      if (this.up[replica] && down.length === 0) return;
      // Groups still running (an up replica with a failed group) keep running.
      if (this.up[replica]) await this.system.stopActors(down);
      Atomics.add(this.incarnations, replica, 1);
      await this.system.startActors(this.up[replica] ? down : ids);
      this.up[replica] = true;
    });
  }

  /**
   * Crash and restart of one replica run one at a time, in call order: a second restart()
   * waits for the first (and finds the replica up), and a crash() called right after a
   * restart() that was not awaited stops the replica once it is up, instead of being lost.
   */
  private serialized(replica: number, run: () => Promise<void>): Promise<void> {
    // A rejection, never a synchronous throw: callers await these.
    if (this.closed)
      return Promise.reject(new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed'));
    const previous = this.replicaOps[replica] ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        this.checkOpen();
        return this.mapErrors(run);
      });
    this.replicaOps[replica] = next;
    return next;
  }

  private checkOpen(): void {
    if (this.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
  }

  /**
   * Not `async`: the pipeline's promise is returned as it is (an async function returning a
   * promise costs one more promise and three microtask hops per request, issue 10); a refusal
   * before the send is still a rejection, never a throw.
   */
  private call(
    replica: number | undefined,
    body: RequestBody,
    transientResult = false,
  ): Promise<ClientResult> {
    return this.callFor(replica, body, resultAsIs(transientResult), body.key);
  }

  /**
   * A request answered by `completion` (request-pipeline.ts Completion): the public handles'
   * path, one promise per call. A refusal before the send (CLOSED, UNAVAILABLE) rejects with
   * what the completion makes of it.
   */
  private callFor<T>(
    replica: number | undefined,
    body: RequestBody,
    completion: Completion<T>,
    shownKey: string,
  ): Promise<T> {
    try {
      return this.submitChecked(replica, body, completion, shownKey);
    } catch (error) {
      return Promise.reject(completion.refused(error, shownKey) as Error);
    }
  }

  private submitChecked<T>(
    replica: number | undefined,
    body: RequestBody,
    completion: Completion<T>,
    shownKey: string,
  ): Promise<T> {
    this.checkOpen();
    const { keyPrefix, keyName } = body;
    const { groups, replicas } = this.options;
    const route = this.route;
    if (keyPrefix !== undefined && keyName !== undefined)
      routeOfParts(keyPrefix, keyName, groups, replicas, route);
    else {
      route.group = groupOfKey(body.key, groups);
      route.home = replica === undefined ? homeReplicaOf(body.key, replicas) : -1;
    }
    const group = route.group;
    // A picked replica serves already: it is not checked twice (issue 10).
    const target = replica ?? this.pickReplica(route.home, group);
    // No replica picked (target < 0 comes from pickReplica only): route.home is the key's home.
    if (target < 0) throw this.notServing(route.home, group);
    if (replica !== undefined && !this.serves(target, group)) throw this.notServing(target, group);
    return this.pipeline.submitFor(target, body, group, completion, shownKey);
  }

  private notServing(replica: number, group: number): PaxosStoreError {
    const state = this.up[replica]
      ? this.system.actorState(actorIdOf(replica, group, this.options))
      : 'down';
    return new PaxosStoreError(
      ErrorCodes.UNAVAILABLE,
      `replica ${replica} is ${state === 'running' ? 'down' : state} for this key`,
    );
  }

  /** The replica is up and its actor for the group is running (not restarting or failed). */
  private serves(replica: number, group: number): boolean {
    return (
      this.up[replica] === true &&
      this.system.actorState(actorIdOf(replica, group, this.options)) === 'running'
    );
  }

  /** The key's home replica if it serves the key's group, else the next that does; -1: none. */
  private pickReplica(home: number, group: number): number {
    const n = this.options.replicas;
    for (let i = 0; i < n; i++) if (this.serves((home + i) % n, group)) return (home + i) % n;
    return -1;
  }
}

/**
 * The store's lock on its data directory (`dir/LOCK`, the engines' lock file format). Unlike
 * the engines' locks it counts a lock of this very process as held: engines open lazily in
 * worker threads, so without it a second store in this process would share every file.
 */
async function lockStoreDir(dir: string): Promise<DirectoryLock> {
  let real: string;
  try {
    await mkdirDurable(dir);
    real = await realpath(dir);
  } catch (error) {
    throw invalid(
      `dir ${dir} cannot be created: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return await acquireLock(real, {
      fileName: STORE_LOCK_FILE,
      ownProcessHolds: true,
      what: 'store directory',
    });
  } catch (error) {
    if (isEngineError(error, 'LOCKED')) {
      throw new PaxosStoreError(
        ErrorCodes.LOCKED,
        `${(error as Error).message}: another open store holds it; close that one first`,
      );
    }
    throw error;
  }
}

function replicaActors(o: ResolvedOptions, replica: number): number[] {
  const ids: number[] = [];
  for (let g = 0; g < o.groups; g++) ids.push(actorIdOf(replica, g, o));
  return ids;
}

/**
 * Each actor's worker: a group's replicas together on one worker, unless their state dies with
 * the worker and spreading them keeps every group's majority (placement.ts, docs/decisions.md
 * "Replicas of a group on one worker"). A cluster node hosts one replica: its groups spread
 * evenly either way.
 */
function actorPlacement(o: ResolvedOptions): number[] {
  // The records a worker's death leaves are on disk (a disk engine, or memory's persist log),
  // and acknowledged ones are written before the answer (sync 'none' answers first).
  const survives = usesDataDir(o) && o.sync !== 'none';
  return workerPlacement(o, o.workers, placementLayout(o.replicas, o.workers, survives));
}

function allActors(o: ResolvedOptions): number[] {
  const ids: number[] = [];
  for (let r = 0; r < o.replicas; r++) ids.push(...replicaActors(o, r));
  return ids;
}
