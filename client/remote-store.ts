/**
 * The cluster client: `PaxosStore.connect({ nodes, secret })`. The same typed handles as the
 * embedded store (kv, queue, set, table, doc, account) with the same errors and guarantees;
 * only the backend differs: requests go over TCP to a node of the key's Set (its home replica
 * first), failing over as request-router.ts explains. `store.node('n2')` sends every request
 * through n2, which forwards what belongs to another Set.
 *
 * connect() dials the given nodes in order until one accepts the secret, asks it for the route
 * table, and then keeps one authenticated connection to every node of the table. A wrong secret
 * rejects UNAUTHENTICATED; no node reachable rejects UNAVAILABLE.
 */
import { assert } from '../runtime/assert';
import type { InspectFrame } from './inspect-protocol';
import { ErrorCodes, PaxosStoreError, describe, invalid } from '../actors/store/errors';
import { KvNamespace, validateNamespace } from '../actors/store/kv';
import { Queue } from '../actors/store/queue';
import { StoreSet } from '../actors/store/set';
import { Table } from '../actors/store/table';
import { Doc } from '../actors/store/doc';
import { Account } from '../actors/store/account';
import type { AccountBoundsOptions } from '../actors/store/account';
import { Bigtable } from '../actors/store/bigtable';
import type { BigtableBackend, BigtableOptions } from '../actors/store/bigtable';
import type { RequestBackend } from '../actors/store/model-client';
import { parseAddress } from '../cluster/cluster-config';
import { RouteTable } from '../cluster/route-table';
import { isNetError } from '../net/errors';
import { controlCalls } from './control-call';
import { InspectClient } from './inspect-client';
import { verifyContextOf } from './set-context';
import type { SetAccess } from './set-context';
import { backupCluster } from './cluster-backup';
import type { ClusterBackupSource } from './cluster-backup';
import { resumeCluster } from './cluster-resume';
import type { ResumeBackupOptions } from '../actors/store/backup-follow-resume';
import type { BackupFollow } from '../actors/store/backup-follow';
import type { ClusterBackupReport } from './cluster-backup';
import type { BackupOptions } from '../actors/store/backup';
import { verifyReplicas } from '../actors/store/verify';
import type { VerifyOptions, VerifyReport } from '../actors/store/verify';
import { NetNodeLink } from './link-adapter';
import {
  Subscription,
  resolveSubscribeOptions,
  subscriberName,
} from '../actors/store/subscription';
import type { JournalSource, SubscribeOptions } from '../actors/store/subscription';
import type { JournalRange } from '../actors/paxos/journal-page';
import { nodeJournalSource, remoteJournalSource, replicasOfEverySet } from './remote-journal';
import { RequestRouter } from './request-router';
import type { RouterStats } from './request-router';

export interface ConnectOptions {
  /** Seed nodes, `host:port`; the rest of the cluster is learnt from them. */
  readonly nodes: readonly string[];
  /** The cluster secret (the cluster file's `secret`). */
  readonly secret: string;
  /** Per-request deadline, as the embedded store's `timeoutMs` (default 2000). */
  readonly timeoutMs?: number;
  /** Largest value a handle accepts (default 1 MiB, as the embedded store). */
  readonly valueBytesMax?: number;
  /** How long connect() waits for the seeds and the other nodes (default 5000 ms). */
  readonly connectTimeoutMs?: number;
}

const TIMEOUT_MS_DEFAULT = 2_000;
const VALUE_BYTES_MAX_DEFAULT = 1024 * 1024;
const CONNECT_TIMEOUT_MS_DEFAULT = 5_000;
const KNOWN = new Set(['nodes', 'secret', 'timeoutMs', 'valueBytesMax', 'connectTimeoutMs']);

interface Resolved {
  seeds: { host: string; port: number }[];
  secret: string;
  timeoutMs: number;
  valueBytesMax: number;
  connectTimeoutMs: number;
}

function resolve(o: ConnectOptions | undefined): Resolved {
  if (typeof o !== 'object' || o === null)
    throw invalid(`connect options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw invalid(`unknown connect option ${k}`);
  if (!Array.isArray(o.nodes) || o.nodes.length === 0 || o.nodes.length > 1024)
    throw invalid('nodes must be a non-empty array of "host:port"');
  const seeds = o.nodes.map((n, i) => {
    try {
      return parseAddress(n, `nodes[${i}]`);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : String(error));
    }
  });
  if (typeof o.secret !== 'string' || o.secret.length < 16)
    throw invalid('secret must be a string of at least 16 characters');
  const num = (v: unknown, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw invalid(`${name} must be a positive integer, got ${describe(v)}`);
    return v;
  };
  return {
    seeds,
    secret: o.secret,
    timeoutMs: num(o.timeoutMs, 'timeoutMs', TIMEOUT_MS_DEFAULT),
    valueBytesMax: num(o.valueBytesMax, 'valueBytesMax', VALUE_BYTES_MAX_DEFAULT),
    connectTimeoutMs: num(o.connectTimeoutMs, 'connectTimeoutMs', CONNECT_TIMEOUT_MS_DEFAULT),
  };
}

/** What a client needs to know of the nodes beyond the routes (big tables, backups). */
interface NodeInfo {
  readonly engine: string;
  /** The engine as a data dir's paxosstore.json records it (a backup's layout). */
  readonly layoutEngine: string;
  readonly groups: number;
}

/** A cluster's verify(): each Set's report, and the whole at a glance. */
export interface ClusterVerifyReport {
  /** No divergence and no corruption in any Set. */
  readonly ok: boolean;
  /** Every replica of every Set up, complete, and identical to its Set's others. */
  readonly aligned: boolean;
  readonly truncated: boolean;
  readonly repaired: number;
  readonly repairFailed: number;
  readonly installed: number;
  /** Per Set, in route-table order: its id, its nodes (replica r is nodes[r]) and its report. */
  readonly sets: {
    readonly set: string;
    readonly nodes: string[];
    readonly report: VerifyReport;
  }[];
}

/** How long a subscription over connect waits for a serving node that is down (ms). */
export const SUBSCRIBE_UNAVAILABLE_MS_DEFAULT = 60_000;

const ORDERED_ENGINES = new Set(['lsm', 'bitcask', 'memory-persist']);

function checkInfo(value: unknown): NodeInfo {
  const v = value as { engine?: unknown; layoutEngine?: unknown; groups?: unknown } | null;
  if (
    typeof v?.engine !== 'string' ||
    typeof v.layoutEngine !== 'string' ||
    typeof v.groups !== 'number' ||
    !Number.isInteger(v.groups) ||
    v.groups < 1 ||
    v.groups > 4096
  ) {
    throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, 'a node answered a malformed info');
  }
  return { engine: v.engine, layoutEngine: v.layoutEngine, groups: v.groups };
}

/** Asks the seeds in order for the route table (and info, on the same connection). */
async function learnRoutes(o: Resolved): Promise<{ routes: RouteTable; info: NodeInfo }> {
  const failures: string[] = [];
  for (const seed of o.seeds) {
    try {
      const target = { ...seed, secret: o.secret, timeoutMs: o.connectTimeoutMs };
      const [data, info] = await controlCalls(target, [{ op: 'routes' }, { op: 'info' }]);
      return { routes: RouteTable.decode(JSON.stringify(data)), info: checkInfo(info) };
    } catch (error) {
      if (isNetError(error) && error.code === 'UNAUTHENTICATED') {
        throw new PaxosStoreError(
          ErrorCodes.UNAUTHENTICATED,
          `${seed.host}:${seed.port} refused the cluster secret`,
        );
      }
      failures.push(
        `${seed.host}:${seed.port}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  throw new PaxosStoreError(
    ErrorCodes.UNAVAILABLE,
    `no seed node answered (${failures.join('; ')})`,
  );
}

export class RemoteStore {
  private closed = false;

  private constructor(
    readonly routes: RouteTable,
    private readonly info: NodeInfo,
    private readonly links: Map<string, NetNodeLink>,
    private readonly router: RequestRouter,
    private readonly inspects: InspectClient,
    private readonly valueBytesMax: number,
    /** Every request enters the cluster through this node (store.node(name)). */
    private readonly via: string | undefined,
    private readonly root: RemoteStore | undefined,
  ) {}

  static async connect(options: ConnectOptions): Promise<RemoteStore> {
    const o = resolve(options);
    const { routes, info } = await learnRoutes(o);
    const links = new Map<string, NetNodeLink>();
    for (const set of routes.sets) {
      for (const r of set.replicas) {
        const { host, port } = parseAddress(r.address, r.node);
        links.set(
          r.node,
          new NetNodeLink(
            r.node,
            {
              host,
              port,
              secret: o.secret,
              role: 'client',
              name: 'client',
              connectTimeoutMs: o.connectTimeoutMs,
              connection: { deadAfterMs: o.timeoutMs },
            },
            () => undefined,
          ),
        );
      }
    }
    // Serve as soon as the nodes that answer are connected; the others join when they come up.
    await Promise.all([...links.values()].map((l) => l.whenUp(o.connectTimeoutMs)));
    const router = new RequestRouter(
      links,
      (key) => routes.nodesForKey(key).map((r) => r.node),
      o.timeoutMs,
    );
    // Digests and backup pages take longer than a request: four request deadlines each.
    const inspects = new InspectClient(links, o.timeoutMs * 4);
    return new RemoteStore(
      routes,
      info,
      links,
      router,
      inspects,
      o.valueBytesMax,
      undefined,
      undefined,
    );
  }

  /** The same handles, with every request entering the cluster through node `name`. */
  node(name: string): RemoteStore {
    this.checkOpen();
    if (!this.links.has(name))
      throw invalid(`unknown node ${describe(name)} (known: ${[...this.links.keys()].join(', ')})`);
    return new RemoteStore(
      this.routes,
      this.info,
      this.links,
      this.router,
      this.inspects,
      this.valueBytesMax,
      name,
      this.root ?? this,
    );
  }

  kv(namespace: string): KvNamespace {
    return new KvNamespace(validateNamespace(namespace), this.backend(), undefined);
  }

  queue(name: string): Queue {
    return new Queue(name, this.backend(), undefined);
  }

  set(name: string): StoreSet {
    return new StoreSet(name, this.backend(), undefined);
  }

  table(name: string): Table {
    return new Table(name, this.backend(), undefined);
  }

  doc(name: string): Doc {
    return new Doc(name, this.backend(), undefined);
  }

  account(name: string, bounds?: AccountBoundsOptions): Account {
    return new Account(name, this.backend(), undefined, bounds);
  }

  /**
   * A big table (nodes on engine 'lsm'). Its rows spread over every Set; a scan lists every
   * group of every Set from a majority of each Set's replicas: the scan sees group
   * `set × groups + g` as one more group (mergeQuorum counts replicas per group), and replica
   * r of it is replica r of that Set. A replica index counts as up when its node is connected
   * in every Set.
   */
  bigtable(name: string, options?: BigtableOptions): Bigtable {
    const base = this.backend();
    const sets = this.routes.sets;
    const replicas = sets[0]?.replicas.length ?? 0;
    if (sets.some((s) => s.replicas.length !== replicas)) {
      throw new PaxosStoreError(
        ErrorCodes.UNSUPPORTED_ENGINE,
        'big tables over a cluster need the same number of replicas in every Set',
      );
    }
    const g = this.info.groups;
    const nodeOf = (replica: number, group: number): string => {
      const set = sets[Math.floor(group / g)];
      const node = set?.replicas[replica]?.node;
      if (node === undefined)
        throw new PaxosStoreError(
          ErrorCodes.INVALID_ARGUMENT,
          `no replica ${replica} for scan group ${group}`,
        );
      return node;
    };
    const backend: BigtableBackend = {
      ...base,
      engine: this.info.engine,
      replicas,
      groups: sets.length * g,
      isUp: (r) =>
        !this.isClosed() &&
        sets.every((s) => this.links.get(s.replicas[r]?.node ?? '')?.isUp() === true),
      scan: (r, body) =>
        this.router.scan(nodeOf(r, body.group), { ...body, group: body.group % g }),
    };
    return new Bigtable(name, backend, undefined, options);
  }

  /**
   * Replica alignment across the nodes of every Set (README "Cluster"): the embedded verify,
   * run per Set over the network. With `repair`, lagging replicas are caught up by reads through
   * them; a diverged key is not installed from a client (nodes refuse install ops from clients):
   * it counts in `repairFailed`, and the nodes' background repair installs it.
   */
  async verify(options?: VerifyOptions): Promise<ClusterVerifyReport> {
    this.checkOpen();
    const sets: ClusterVerifyReport['sets'] = [];
    for (const set of this.routes.sets) {
      const access = this.setAccess(set.id);
      sets.push({
        set: set.id,
        nodes: [...access.nodes],
        report: await verifyReplicas(verifyContextOf(access), options),
      });
    }
    const sum = (f: (r: VerifyReport) => number): number =>
      sets.reduce((n, s) => n + f(s.report), 0);
    return {
      ok: sets.every((s) => s.report.ok),
      aligned: sets.every((s) => s.report.aligned),
      truncated: sets.some((s) => s.report.truncated),
      repaired: sum((r) => r.repaired),
      repairFailed: sum((r) => r.repairFailed),
      installed: sum((r) => r.installed),
      sets,
    };
  }

  /**
   * A full backup of the cluster into a new directory (README "Backups"; client/
   * cluster-backup.ts): every write acknowledged before the call is in it. Nodes on lsm,
   * bitcask or memory with persist; others reject UNSUPPORTED_ENGINE.
   */
  async backup(options: BackupOptions): Promise<ClusterBackupReport> {
    this.checkOpen();
    if (!ORDERED_ENGINES.has(this.info.layoutEngine)) {
      throw new PaxosStoreError(
        ErrorCodes.UNSUPPORTED_ENGINE,
        `backup needs nodes on lsm, bitcask or memory --persist (this cluster: ${this.info.layoutEngine})`,
      );
    }
    // A following backup reads each Set's replica-0 node (docs/decisions.md "Cluster follow").
    return backupCluster(
      { vnodes: this.routes.vnodes, engine: this.info.layoutEngine, sets: this.backupSets() },
      options,
    );
  }

  /**
   * Goes on with the follow of a cluster backup in `options.to` without a new full copy
   * (client/cluster-resume.ts; README "Backups"): after its process was killed or it was paused
   * with `follow.stop({ keepCursor: true })`. Every Set's follow resumes; SUBSCRIPTION_EXPIRED
   * when a Set's journal no longer holds what it missed.
   */
  async resumeBackup(options: ResumeBackupOptions): Promise<BackupFollow> {
    this.checkOpen();
    return resumeCluster(
      { vnodes: this.routes.vnodes, engine: this.info.layoutEngine, sets: this.backupSets() },
      options,
    );
  }

  /** Each Set as a backup reaches it: a following one reads its replica-0 node's journals. */
  private backupSets(): ClusterBackupSource['sets'] {
    const store = this;
    const host = {
      groups: this.info.groups,
      inspect: (node: string, group: number, request: InspectFrame['request']) =>
        this.inspects.inspect(node, group, request),
      get closed(): boolean {
        return store.isClosed();
      },
    };
    return this.routes.sets.map((s) => {
      const access = this.setAccess(s.id);
      const node = access.nodes[0];
      assert(node !== undefined, () => `Set ${s.id} has a node`);
      return { id: s.id, access, journal: nodeJournalSource(host, node) };
    });
  }

  /** One Set as verify and backup reach it: replica r is its r-th node. */
  private setAccess(id: string): SetAccess {
    const set = this.routes.sets.find((s) => s.id === id);
    if (set === undefined) throw invalid(`no Set ${describe(id)}`);
    return {
      nodes: set.replicas.map((r) => r.node),
      groups: this.info.groups,
      isUp: (node) => !this.isClosed() && this.links.get(node)?.isUp() === true,
      inspect: (node, group, request) => this.inspects.inspect(node, group, request),
      // Verify and backups send reads and writes only (a scan goes through router.scan).
      call: (node, body) =>
        body.kind === 'scan'
          ? Promise.reject(invalid('a scan is not a request through a replica'))
          : this.router.call(body, node),
    };
  }

  /**
   * A named subscription to the journals of every group of every Set (README "Journal
   * subscription"; nodes run `serve --journal`). The embedded store's iterator and entries;
   * `group` is `setIndex × groups + g` in route-table order, and replica r of each Set (its
   * r-th node) serves it. While a serving node is down, next() waits up to `unavailableMsMax`
   * (default 60 s) and then rejects UNAVAILABLE; subscribing again resumes after the last ack.
   */
  subscribe(name: string, options?: SubscribeOptions): Subscription {
    this.checkOpen();
    const resolved = resolveSubscribeOptions(
      // An idle poll is one INSPECT per group of every Set: less often than in-process.
      { unavailableMsMax: SUBSCRIBE_UNAVAILABLE_MS_DEFAULT, pollMs: 100, ...options },
      replicasOfEverySet(this.routes),
    );
    return new Subscription(subscriberName(name), resolved, this.journalSource(resolved.replica));
  }

  /** Removes a subscriber's cursors from every group of the serving replicas. Idempotent. */
  async unsubscribe(name: string, options?: { replica?: number }): Promise<void> {
    this.checkOpen();
    const checkedName = subscriberName(name);
    const { replica } = resolveSubscribeOptions(options, replicasOfEverySet(this.routes));
    const source = this.journalSource(replica);
    for (let g = 0; g < source.groups; g++) {
      const answer = await source.ask(g, { kind: 'journal-remove', name: checkedName });
      if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    }
  }

  /** The journal's range in one cluster group (`setIndex × groups + g`) of replica `replica`. */
  async journalRange(group: number, replica = 0): Promise<JournalRange> {
    const source = this.journalAt(group, replica);
    const answer = await source.ask(group, { kind: 'journal-info' });
    if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    return answer as JournalRange;
  }

  /** The first retained seq of a cluster group's journal applied at or after `time` (ms). */
  async journalSeek(group: number, time: number, replica = 0): Promise<number> {
    const source = this.journalAt(group, replica);
    if (typeof time !== 'number' || !Number.isFinite(time)) throw invalid('time must be a number');
    const answer = await source.ask(group, { kind: 'journal-seek', time });
    if (!answer.ok) throw new PaxosStoreError(ErrorCodes.UNAVAILABLE, answer.message);
    if (!('seq' in answer) || 'entries' in answer)
      throw new PaxosStoreError(ErrorCodes.CORRUPTED, 'a seek answered no seq');
    return answer.seq;
  }

  private journalAt(group: number, replica: number): JournalSource {
    this.checkOpen();
    const replicas = replicasOfEverySet(this.routes);
    if (!Number.isInteger(replica) || replica < 0 || replica >= replicas)
      throw invalid(`replica must be an integer in 0..${replicas - 1}`);
    const source = this.journalSource(replica);
    if (!Number.isInteger(group) || group < 0 || group >= source.groups)
      throw invalid(`group must be an integer in 0..${source.groups - 1}`);
    return source;
  }

  private journalSource(replica: number): JournalSource {
    const store = this;
    return remoteJournalSource(
      {
        routes: this.routes,
        groups: this.info.groups,
        inspect: (node, group, request) => this.inspects.inspect(node, group, request),
        get closed(): boolean {
          return store.isClosed();
        },
      },
      replica,
    );
  }

  /** Nodes connected now, and the router's counters. */
  stats(): { nodesUp: string[]; inFlight: number; router: RouterStats } {
    const nodesUp = [...this.links].filter(([, l]) => l.isUp()).map(([n]) => n);
    return { nodesUp, inFlight: this.router.inFlight, router: { ...this.router.stats } };
  }

  /** Closes every connection; requests in flight settle (writes UNKNOWN_OUTCOME). */
  async close(): Promise<void> {
    if (this.root !== undefined) return this.root.close();
    if (this.closed) return;
    this.closed = true;
    this.router.close();
    this.inspects.close();
    for (const link of this.links.values()) link.close();
    await Promise.resolve();
  }

  private isClosed(): boolean {
    return this.closed || this.root?.closed === true;
  }

  private checkOpen(): void {
    if (this.isClosed()) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the client is closed');
  }

  private backend(): RequestBackend {
    this.checkOpen();
    return {
      valueBytesMax: this.valueBytesMax,
      call: (_replica, body) => {
        if (this.isClosed())
          return Promise.reject(new PaxosStoreError(ErrorCodes.CLOSED, 'the client is closed'));
        return this.router.call(body, this.via);
      },
    };
  }
}
