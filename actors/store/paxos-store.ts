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
import * as path from 'node:path';
import { ActorSystem } from '../../runtime/actor-system';
import type { ClientResult } from '../paxos/core/types';
import { actorIdOf } from '../paxos/paxos-actor';
import type { StoreActorConfig } from './actor-entry';
import { checkDataDir } from './data-dir';
import { checkUnsyncedMarker, removeUnsyncedMarker, writeUnsyncedMarker } from './unsynced-marker';
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
import type { StoreBackend } from './model-client';
import { engineLabel, resolveOptions, usesDataDir } from './options';
import type { PaxosStoreOptions, ResolvedOptions } from './options';
import { RequestPipeline } from './request-pipeline';
import type { RequestBody } from './request-pipeline';
import { homeReplicaOf } from './routing';
import { verifyReplicas } from './verify';
import type { VerifyOptions, VerifyReport } from './verify';

export interface StoreStats {
  readonly workers: unknown[];
  readonly inFlight: number;
  readonly replicasUp: boolean[];
  /**
   * Per replica, the Paxos counters summed over its groups (null while it is down): `keys`
   * held in memory, `keysEvicted`, `corruptedRecords`, `records` and `batches` written,
   * `writesUnknownOutcome`, and so on. Names may grow; treat missing ones as 0.
   */
  readonly replicas: (Record<string, number> | null)[];
}

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
  private readonly links: Int32Array;
  private readonly incarnations: Int32Array;
  private readonly backend: StoreBackend;

  private constructor(
    readonly options: ResolvedOptions,
    private readonly system: ActorSystem,
    private readonly pipeline: RequestPipeline,
    config: StoreActorConfig,
  ) {
    this.up = new Array<boolean>(options.replicas).fill(true);
    this.links = new Int32Array(config.links);
    this.incarnations = new Int32Array(config.incarnations);
    this.backend = { valueBytesMax: options.valueBytesMax, call: (replica, body) => this.call(replica, body) };
  }

  static async open(options?: PaxosStoreOptions): Promise<PaxosStore> {
    const o = resolveOptions(options);
    // Before any actor opens a database: a dir written with another placement would lose data.
    if (usesDataDir(o)) {
      await checkDataDir(o.dir, { replicas: o.replicas, groups: o.groups, engine: engineLabel(o) });
      await checkUnsyncedMarker(o.dir, o.acceptDataLoss);
      if (o.sync === 'none') await writeUnsyncedMarker(o.dir);
    }
    const config: StoreActorConfig = {
      replicas: o.replicas,
      groups: o.groups,
      engine: o.engine,
      dir: o.dir,
      persist: o.persist,
      sync: o.sync,
      tickMs: o.tickMs,
      timeoutMs: o.timeoutMs,
      cachedKeysMax: o.cachedKeysMax,
      links: new SharedArrayBuffer(4 * o.replicas * o.replicas),
      incarnations: new SharedArrayBuffer(4 * o.replicas),
    };
    const system = await ActorSystem.start({
      workers: o.workers,
      actorModule: path.join(__dirname, 'actor-entry.js'),
      actorConfig: config,
      actors: allActors(o),
      tickMs: o.tickMs,
    });
    const pipeline = new RequestPipeline(system, { replicas: o.replicas, groups: o.groups }, o.timeoutMs);
    return new PaxosStore(o, system, pipeline, config);
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
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= this.options.replicas) {
      throw invalid(`replica must be an integer in 0..${this.options.replicas - 1}, got ${describe(index)}`);
    }
    return new ReplicaHandle(index, this);
  }

  /** Drops all messages between replicas in different groups, e.g. [[0], [1, 2]]. */
  partition(groups: number[][]): void {
    this.checkOpen();
    const n = this.options.replicas;
    const side = checked('partition', () => {
      const out = new Array<number>(n).fill(-1);
      if (!Array.isArray(groups)) throw invalid(`partition takes an array of replica groups, got ${describe(groups)}`);
      const count = groups.length;
      if (count > n) throw invalid(`partition takes at most ${n} groups, got ${count}`);
      for (let i = 0; i < count; i++) {
        const g: unknown = groups[i];
        if (!Array.isArray(g)) throw invalid(`each partition group must be an array, got ${describe(g)}`);
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
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        Atomics.store(this.links, a * n + b, a !== b && side[a] !== side[b] ? 1 : 0);
      }
    }
  }

  heal(): void {
    this.checkOpen();
    for (let i = 0; i < this.links.length; i++) Atomics.store(this.links, i, 0);
  }

  async stats(): Promise<StoreStats> {
    this.checkOpen();
    const up = [...this.up];
    const replicas = await Promise.all(up.map((isUp, r) => (isUp ? this.replicaCounters(r) : Promise.resolve(null))));
    return { workers: await this.system.stats(), inFlight: this.pipeline.inFlight, replicasUp: up, replicas };
  }

  private async replicaCounters(replica: number): Promise<Record<string, number> | null> {
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const sums: Record<string, number> = {};
    for (let g = 0; g < this.options.groups; g++) {
      const answer = await this.system.inspect(actorIdOf(replica, g, placement), { kind: 'stats' });
      // A replica that crashed meanwhile has no counters to give.
      if (!answer.ok) return null;
      for (const [name, n] of Object.entries(answer.value as Record<string, number>)) sums[name] = (sums[name] ?? 0) + n;
    }
    return sums;
  }

  /**
   * Replica alignment: compares digests of every replica's chosen state, bucket by bucket,
   * and lists the keys where replicas differ (diverged, behind, corrupted). Read-only; see
   * README "Verifying replicas".
   */
  async verify(options?: VerifyOptions): Promise<VerifyReport> {
    this.checkOpen();
    const placement = { replicas: this.options.replicas, groups: this.options.groups };
    const call = (replica: number, body: RequestBody): Promise<ClientResult> => this.call(replica, body);
    return verifyReplicas({ system: this.system, placement, up: [...this.up], call }, options);
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      this.pipeline.close();
      await this.system.close();
      // Every actor has closed its engine: a 'none' run's writes are on disk now.
      if (usesDataDir(this.options) && this.options.sync === 'none') await removeUnsyncedMarker(this.options.dir);
    })();
    return this.closing;
  }

  /** @internal */
  namespace(name: string, replica: number | undefined): KvNamespace {
    this.checkOpen();
    return new KvNamespace(validateNamespace(name), this.backend, replica);
  }

  /** @internal */
  objectHandle<T>(make: (backend: StoreBackend) => T): T {
    this.checkOpen();
    return make(this.backend);
  }

  /** @internal */
  bigtableHandle(name: string, options: BigtableOptions | undefined, replica: number | undefined): Bigtable {
    this.checkOpen();
    const backend: BigtableBackend = {
      ...this.backend,
      engine: this.options.engine,
      replicas: this.options.replicas,
      groups: this.options.groups,
      // Which replicas are up, closed or not: a scan of a closed store then fails CLOSED at its first page.
      isUp: (r) => this.up[r] === true,
      scan: (r, body) => {
        this.checkOpen();
        if (!this.up[r]) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, `replica ${r} is down`);
        return this.pipeline.submit(r, body);
      },
    };
    return new Bigtable(name, backend, replica, options);
  }

  /** @internal */
  isUp(replica: number): boolean {
    // A closed store has no replica up (its actors are stopped).
    return !this.closed && this.up[replica] === true;
  }

  /** @internal */
  async crashReplica(replica: number): Promise<void> {
    this.checkOpen();
    if (!this.up[replica]) return;
    this.up[replica] = false;
    this.pipeline.failReplica(replica, `replica ${replica} crashed`);
    await this.system.stopActors(replicaActors(this.options, replica));
  }

  /** @internal */
  async restartReplica(replica: number): Promise<void> {
    this.checkOpen();
    if (this.up[replica]) return;
    Atomics.add(this.incarnations, replica, 1);
    await this.system.startActors(replicaActors(this.options, replica));
    this.up[replica] = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
  }

  private async call(replica: number | undefined, body: RequestBody): Promise<ClientResult> {
    this.checkOpen();
    const target = replica ?? this.pickReplica(body.key);
    if (!this.up[target]) {
      throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, `replica ${target} is down`);
    }
    return this.pipeline.submit(target, body);
  }

  private pickReplica(key: string): number {
    const n = this.options.replicas;
    const home = homeReplicaOf(key, n);
    for (let i = 0; i < n; i++) if (this.up[(home + i) % n]) return (home + i) % n;
    return home;
  }
}

function replicaActors(o: ResolvedOptions, replica: number): number[] {
  const ids: number[] = [];
  for (let g = 0; g < o.groups; g++) ids.push(actorIdOf(replica, g, o));
  return ids;
}

function allActors(o: ResolvedOptions): number[] {
  const ids: number[] = [];
  for (let r = 0; r < o.replicas; r++) ids.push(...replicaActors(o, r));
  return ids;
}
