/**
 * A cluster node: one process hosting one replica of one Set (README "Running a cluster").
 *
 *   - its replica's group actors run on worker threads as in the embedded store
 *     (PaxosStore.openNode); their messages for the other replicas leave through the
 *     gateway, batched per peer (peer-traffic.ts), over one outbound link per peer node;
 *   - it listens on its address for peers (their Paxos messages) and clients (requests and
 *     control), every connection authenticated by net/'s handshake before anything is read;
 *   - a request for a key of another Set is forwarded through its own router to that Set.
 */
import * as net from 'node:net';
import { PaxosStore } from '../actors/store/paxos-store';
import type { NodeGateway } from '../actors/store/paxos-store';
import type { PaxosStoreOptions } from '../actors/store/options';
import { findNode } from '../cluster/cluster-config';
import type { ClusterConfig, NodePlace } from '../cluster/cluster-config';
import { RouteTable } from '../cluster/route-table';
import { listen } from '../net/server';
import type { NetServer } from '../net/server';
import type { FramedConnection } from '../net/connection';
import { ReconnectingLink } from '../net/reconnecting-link';
import type { PeerIdentity } from '../net/handshake';
import { NetError } from '../net/errors';
import type { NetLog } from '../net/errors';
import { FrameType } from '../client/wire-protocol';
import type { ControlRequest } from '../client/wire-protocol';
import { RequestRouter } from '../client/request-router';
import { NetNodeLink } from '../client/link-adapter';
import { ClientSession } from './client-session';
import { PeerTraffic } from './peer-traffic';
import { nodeStatus } from './node-status';
import { ControlError, applyControlFaults } from './node-faults';
import { ChaosLink, checkChaos } from './link-chaos';
import type { ChaosStats } from './link-chaos';
import { InspectClient } from '../client/inspect-client';
import type { SetAccess } from '../client/set-context';
import { engineLabel } from '../actors/store/options';
import { serveInspect } from './node-inspect';
import { NodeRepair } from './node-repair';

export interface ClusterNodeOptions {
  readonly config: ClusterConfig;
  readonly node: string;
  /** Store options of this node's replica (replicas and groups come from the config). */
  readonly store: Omit<PaxosStoreOptions, 'replicas' | 'groups'> & { dir: string };
  readonly groups: number;
  /**
   * Connections with nothing received for this long are closed (a dead or paused peer);
   * default the store's timeoutMs, so a dead peer is noticed within one request deadline.
   */
  readonly deadAfterMs?: number;
  readonly log: NetLog;
}

export interface ClusterNodeStats {
  peerConnectionsRefused: number;
  badFramesClosed: number;
  clientsOpen: number;
}

export class ClusterNode {
  readonly stats: ClusterNodeStats = {
    peerConnectionsRefused: 0,
    badFramesClosed: 0,
    clientsOpen: 0,
  };
  private server: NetServer | undefined;
  private readonly peerLinks: (ReconnectingLink | undefined)[];
  private readonly forwardLinks = new Map<string, NetNodeLink>();
  private readonly traffic: PeerTraffic;
  /** Per replica of the Set, the fault wrapper around the outbound link (none for this node). */
  private readonly chaos: (ChaosLink | undefined)[];
  private readonly forwarder: RequestRouter;
  private readonly gateway: NodeGateway;
  /** Inspects of the other replicas of this Set (the repair scan). */
  private readonly inspects: InspectClient;
  readonly repair: NodeRepair;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: ClusterNodeOptions,
    readonly place: NodePlace,
    readonly routes: RouteTable,
    readonly store: PaxosStore,
  ) {
    this.gateway = store.gateway();
    const connection = { deadAfterMs: options.deadAfterMs ?? store.options.timeoutMs };
    const dialAs = (host: string, port: number, role: 'peer' | 'client'): ReconnectingLink =>
      new ReconnectingLink({
        dial: {
          host,
          port,
          secret: options.config.secret,
          role,
          name: options.node,
          connection,
          log: options.log,
        },
        log: options.log,
        backoffMsMax: 1_000,
      });
    this.peerLinks = place.set.replicas.map((r, i) =>
      i === place.replicaIndex ? undefined : dialAs(r.host, r.port, 'peer'),
    );
    this.chaos = this.peerLinks.map((l) =>
      l === undefined
        ? undefined
        : new ChaosLink({
            isUp: () => l.isUp,
            send: (type, payload) => l.send(type, payload) === 'OK',
          }),
    );
    this.traffic = new PeerTraffic(this.gateway, this.chaos, options.groups);
    // Client links to every other node: the other Sets' for forwarding, this Set's peers for the
    // repair scan's inspects and reads (a peer link carries Paxos messages only).
    for (const set of options.config.sets) {
      for (const r of set.replicas) {
        if (r.node === options.node) continue;
        const dial = {
          host: r.host,
          port: r.port,
          secret: options.config.secret,
          role: 'client' as const,
          name: options.node,
          connection,
          log: options.log,
        };
        this.forwardLinks.set(r.node, new NetNodeLink(r.node, dial, options.log));
      }
    }
    this.forwarder = new RequestRouter(
      this.forwardLinks,
      (key) => routes.nodesForKey(key).map((r) => r.node),
      store.options.timeoutMs,
    );
    this.inspects = new InspectClient(this.forwardLinks, store.options.timeoutMs * 4);
    this.repair = new NodeRepair({
      settings: store.options.repair,
      access: this.setAccess(),
      replica: place.replicaIndex,
      inFlight: () => this.gateway.inFlight(),
      log: options.log,
    });
  }

  /** This node's Set as the repair scan sees it: its own replica here, the peers over the network. */
  private setAccess(): SetAccess {
    const self = this.options.node;
    return {
      nodes: this.place.set.replicas.map((r) => r.node),
      groups: this.options.groups,
      isUp: (node) => node === self || this.forwardLinks.get(node)?.isUp() === true,
      inspect: (node, group, request) =>
        node === self
          ? this.gateway.inspect(group, request).catch((error: Error) => ({
              ok: false as const,
              code: 'UNAVAILABLE',
              message: error.message,
            }))
          : this.inspects.inspect(node, group, request),
      call: (node, body) =>
        node === self || body.kind !== 'read'
          ? this.gateway.call(body)
          : this.forwarder.call(body, node),
    };
  }

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const place = findNode(options.config, options.node);
    const routes = RouteTable.fromConfig(options.config);
    // Before the store touches --dir: a node whose port is taken must leave nothing behind.
    await probeAddress(place.node.host, place.node.port);
    const store = await PaxosStore.openNode(
      { ...options.store, replicas: place.set.replicas.length, groups: options.groups },
      { replica: place.replicaIndex },
    );
    let node: ClusterNode | undefined;
    try {
      node = new ClusterNode(options, place, routes, store);
      await node.listen();
      return node;
    } catch (error) {
      await (node === undefined ? store.close() : node.close());
      throw error;
    }
  }

  /** The port it listens on (useful with port 0 in tests). */
  get port(): number {
    return this.server?.port ?? this.place.node.port;
  }

  private async listen(): Promise<void> {
    const { host, port } = this.place.node;
    this.server = await listen({
      host,
      port,
      secret: this.options.config.secret,
      name: this.options.node,
      connection: {
        deadAfterMs: this.options.deadAfterMs ?? this.store.options.timeoutMs,
        log: this.options.log,
      },
      log: this.options.log,
      onConnection: (conn, peer) => this.accept(conn, peer),
    });
  }

  private accept(conn: FramedConnection, peer: PeerIdentity): void {
    if (peer.role === 'peer') this.acceptPeer(conn, peer.name);
    else this.acceptClient(conn, peer.name);
  }

  /** A peer of this Set: its Paxos messages, nothing else. */
  private acceptPeer(conn: FramedConnection, name: string): void {
    const replica = this.place.set.replicas.findIndex((r) => r.node === name);
    if (replica < 0 || replica === this.place.replicaIndex) {
      this.stats.peerConnectionsRefused++;
      this.options.log('warn', 'peer connection refused: not a node of this Set', {
        peer: name,
        set: this.place.set.id,
      });
      conn.close();
      return;
    }
    conn.onFrame((type, payload) => {
      if (type !== FrameType.peerMessages)
        return this.dropBad(conn, name, `frame type ${type} from a peer`);
      try {
        this.traffic.inbound(replica, payload);
      } catch (error) {
        this.dropBad(conn, name, error instanceof Error ? error.message : String(error));
      }
    });
  }

  private acceptClient(conn: FramedConnection, name: string): void {
    this.stats.clientsOpen++;
    const session = new ClientSession(
      {
        send: (type, payload) => conn.send(type, payload) === 'OK',
        close: (reason) => this.drop(conn, name, reason),
      },
      {
        ownsKey: (key) => this.routes.setOfKey(key).id === this.place.set.id,
        local: (body) => this.gateway.call(body),
        forward: (body) => this.forwarder.call(body),
        scan: (body) => this.gateway.scan(body),
        control: (req) => this.control(req),
        inspect: (frame) =>
          serveInspect(
            {
              groups: this.options.groups,
              engine: engineLabel(this.store.options),
              journal: this.store.options.journal !== undefined,
              inspect: (group, request) => this.gateway.inspect(group, request),
            },
            frame,
          ),
      },
    );
    conn.onFrame((type, payload) => {
      try {
        session.onFrame(type, payload);
      } catch (error) {
        this.dropBad(conn, name, error instanceof Error ? error.message : String(error));
      }
    });
    conn.onClose(() => {
      this.stats.clientsOpen--;
      session.onClose();
    });
  }

  private dropBad(conn: FramedConnection, who: string, why: string): void {
    this.stats.badFramesClosed++;
    this.drop(conn, who, why);
  }

  /** Closes a connection the node gives up on, saying why (a client that does not read). */
  private drop(conn: FramedConnection, who: string, why: string): void {
    this.options.log('warn', 'connection closed', {
      peer: who,
      remote: conn.remoteAddress,
      reason: why,
    });
    conn.close();
  }

  private async control(req: ControlRequest): Promise<unknown> {
    if (req.op === 'routes') return this.routes.toData();
    // What a client needs beyond the routes (big tables: the engine and groups per replica).
    if (req.op === 'info')
      return {
        engine: this.store.options.engine,
        // The engine as paxosstore.json records it (a backup's layout).
        layoutEngine: engineLabel(this.store.options),
        groups: this.options.groups,
        replicas: this.place.set.replicas.length,
      };
    if (req.op === 'status') return nodeStatus(this);
    if (req.op === 'chaos') return this.setChaos(req.args);
    return applyControlFaults(this.place, this.gateway.links, req);
  }

  /** `chaos` args: `{ to?: [node names of this Set], drop..., seed }` (link-chaos.ts); no `to`: every peer. */
  private setChaos(args: unknown): { to: string[] } {
    const { to, ...rest } = (typeof args === 'object' && args !== null ? args : {}) as {
      to?: unknown;
    };
    let settings;
    try {
      settings = checkChaos(rest);
    } catch (error) {
      throw new ControlError(
        'INVALID_ARGUMENT',
        error instanceof Error ? error.message : String(error),
      );
    }
    const names = this.place.set.replicas.map((r) => r.node);
    const targets = to === undefined ? names.filter((_, i) => i !== this.place.replicaIndex) : to;
    if (
      !Array.isArray(targets) ||
      targets.some(
        (n) =>
          typeof n !== 'string' ||
          names.indexOf(n) < 0 ||
          names.indexOf(n) === this.place.replicaIndex,
      )
    ) {
      throw new ControlError(
        'INVALID_ARGUMENT',
        `chaos targets must be other nodes of Set ${this.place.set.id}`,
      );
    }
    for (const name of targets as string[]) this.chaos[names.indexOf(name)]?.set(settings);
    return { to: targets as string[] };
  }

  /** @internal Counters for status and tests. */
  peerStats(): {
    traffic: PeerTraffic['stats'];
    peersUp: string[];
    forwarder: RequestRouter['stats'];
    chaos: ChaosStats;
  } {
    const peersUp = this.place.set.replicas
      .filter((_, i) => this.peerLinks[i]?.isUp === true)
      .map((r) => r.node);
    const chaos: ChaosStats = { dropped: 0, duplicated: 0, delayed: 0 };
    for (const c of this.chaos) {
      chaos.dropped += c?.stats.dropped ?? 0;
      chaos.duplicated += c?.stats.duplicated ?? 0;
      chaos.delayed += c?.stats.delayed ?? 0;
    }
    return { traffic: this.traffic.stats, peersUp, forwarder: this.forwarder.stats, chaos };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const repairStopped = this.repair.close();
      this.inspects.close();
      for (const c of this.chaos) c?.close();
      for (const link of this.peerLinks) link?.close();
      for (const link of this.forwardLinks.values()) link.close();
      this.forwarder.close();
      await this.server?.close();
      await this.store.close();
      await repairStopped;
    })();
    return this.closing;
  }
}

/**
 * Binds host:port and lets it go at once: fails (as net/'s listen() does, UNAVAILABLE with the
 * OS errno as the cause) when another process holds the address. The real listen() after the
 * store is open still reports the rare case of a process taking the port in between.
 */
function probeAddress(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new NetError('UNAVAILABLE', `listen on ${host}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      ),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
