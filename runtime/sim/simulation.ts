/**
 * The deterministic simulator: real actors on one thread, a virtual clock, a faulty network
 * between nodes and one simulated disk per node, all driven synchronously from one seed.
 *
 * Determinism rules, which every change here must keep:
 * - No Math.random, Date, timers or Promises. Every random choice comes from a Prng forked from
 *   the seed, and every action happens inside `runUntil`/`runFor` (or directly in harness code).
 * - Events run in (virtual time, scheduling order). Time is kept in integer microseconds so that
 *   no floating-point drift can change an order; `now()` reports milliseconds.
 * - Every delay is at least 1 us, so an "instant" (all events at one time) always ends.
 *
 * An instant: every event scheduled at time t runs in order (deliveries call `receive`, node
 * ticks call `tick`, disk completions and harness callbacks run); then every actor that received,
 * ticked, was created, or whose node's disk completed during the instant is `flush`ed once, in
 * the order it was first touched. That matches the worker runtime's "drain a batch, then flush".
 *
 * Ticks: each node ticks every tickMs with a random phase per node (drawn once, kept across
 * crashes), so replicas do not all time out in the same instant; within a node, actors tick in
 * the order they were added.
 *
 * Traffic classes:
 * - Between actors on different nodes: the network model applies (drop, duplicate, random delay
 *   which reorders, partitions checked at send and again at delivery).
 * - Between actors on the same node: FIFO per pair, 1-10 us, never dropped.
 * - Client traffic (CLIENT_ADDRESS): the client lives "inside" a node like an embedding host
 *   process, so faults never drop it; it is only delayed slightly (10-100 us, FIFO per pair).
 *   It is lost only with the node: a request to an actor whose node is down or crashes before
 *   delivery, or a reply from an actor whose node crashes before delivery, is dropped. That is
 *   exactly the "outcome unknown" case the linearizability checker handles.
 *
 * Crash drops the node's actor objects without calling `close` (a process kill), makes every
 * message in flight to or from them undeliverable (checked lazily at delivery by node epoch),
 * and crashes the node's SimDisk (non-durable writes lost, pending callbacks never fire).
 */
import { CLIENT_ADDRESS } from '../actor';
import type { Actor, ActorFactory, ActorHost, ActorId } from '../actor';
import { assert, unreachable } from '../assert';
import { EventQueue } from './event-queue';
import { NO_FAULTS, NetworkModel, simConfigError } from './network';
import type { FaultConfig, NodeId } from './network';
import { Prng } from './prng';
import { SimDisk } from './sim-disk';
import type { DiskFaults } from './sim-disk';
import { Trace, hashBytes, hashText } from './trace';
import { fingerprintOf } from './fingerprint';

/** What a crash takes: the whole machine ('power') or only the process ('process', kill -9). */
export type CrashKind = 'power' | 'process';

export interface SimulationOptions {
  seed: number;
  /** Virtual milliseconds between two `tick()` calls on each actor. */
  tickMs: number;
  /** Which node hosts an actor. Must be stable for the life of the simulation. */
  nodeOf: (actorId: ActorId) => NodeId;
  faults?: Partial<FaultConfig>;
  diskFaults?: Partial<DiskFaults>;
  /** Keep the last N trace entries as text (the rolling hash is always kept). Default 0. */
  traceEntriesMax?: number;
  /** Livelock guard: an assertion fails if one instant runs more events. Default 1e6. */
  eventsPerInstantMax?: number;
  /** Deliver cross-node messages sent before their sender crashed (they were on the wire). */
  wireSurvivesCrash?: boolean;
  /**
   * Hosts offer `sendObject` to every actor (replicas placed on one worker thread, as the store
   * places them), with the network's faults on top: delays, drops, duplicates (the same object
   * twice), partitions, late delivery. Each object is fingerprinted when sent and checked at
   * every delivery: one written after it was sent fails the run.
   */
  objectMessages?: boolean;
}

export interface SimStats {
  sent: number;
  delivered: number;
  duplicated: number;
  droppedFault: number;
  droppedPartition: number;
  droppedCrash: number;
  droppedUnknownDestination: number;
  droppedStaleSender: number;
  /** Cross-node messages delivered to a later incarnation of their destination. */
  deliveredLate: number;
  /** Message objects delivered (ActorHost.sendObject), duplicates included. */
  objectsDelivered: number;
  clientSent: number;
  clientReceived: number;
  ticks: number;
  events: number;
}

export interface ScheduledHandle {
  cancel(): void;
}

type SimEvent =
  | {
      kind: 'deliver';
      from: ActorId;
      to: ActorId;
      payload: Uint8Array;
      /** A message object (ActorHost.sendObject) instead of `payload`, with its fingerprint. */
      object: SentObject | null;
      fromEpoch: number;
      toEpoch: number;
      crossNode: boolean;
      /** Times this message was kept on the wire for a later incarnation of its destination. */
      late: number;
    }
  | { kind: 'client'; from: ActorId; payload: Uint8Array; fromEpoch: number }
  | { kind: 'tick'; node: NodeId }
  | { kind: 'call'; fn: () => void; node: NodeId | undefined; cancelled: boolean };

interface SentObject {
  readonly message: object;
  readonly fingerprint: string;
}

const NO_BYTES = new Uint8Array(0);

interface SimNode {
  readonly id: NodeId;
  up: boolean;
  /** Bumped by every crash: messages carry the epochs they were sent in. */
  epoch: number;
  readonly actorIds: ActorId[];
  disk: SimDisk | undefined;
}

interface Registration {
  readonly id: ActorId;
  readonly node: NodeId;
  readonly create: (host: ActorHost) => Actor;
  instance: Actor | undefined;
  /** Bumped on every crash and creation so a dead instance's host can no longer send. */
  incarnation: number;
}

const INTRA_NODE_DELAY_US: readonly [number, number] = [1, 10];
/** A message is kept on the wire for a later incarnation at most this many times. */
const LATE_DELIVERY_ATTEMPTS_MAX = 4;
const CLIENT_DELAY_US: readonly [number, number] = [10, 100];
const NO_EPOCH = -1;

function toUs(ms: number): number {
  assert(Number.isFinite(ms) && ms >= 0, `duration must be a finite non-negative ms value: ${ms}`);
  return Math.round(ms * 1000);
}

export class Simulation {
  readonly seed: number;
  readonly trace: Trace;
  readonly stats: SimStats = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    droppedFault: 0,
    droppedPartition: 0,
    droppedCrash: 0,
    droppedUnknownDestination: 0,
    droppedStaleSender: 0,
    deliveredLate: 0,
    objectsDelivered: 0,
    clientSent: 0,
    clientReceived: 0,
    ticks: 0,
    events: 0,
  };
  private nowUs = 0;
  private readonly tickUs: number;
  private readonly nodeOf: (actorId: ActorId) => NodeId;
  private readonly eventsPerInstantMax: number;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network: NetworkModel;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly regs = new Map<ActorId, Registration>();
  private readonly fifoLastUs = new Map<string, number>();
  private readonly dirty = new Set<ActorId>();
  private diskFaults: Partial<DiskFaults>;
  private clientHandler: ((from: ActorId, payload: Uint8Array) => void) | undefined;
  private readonly instantHooks: Array<(touched: readonly ActorId[]) => void> = [];
  // Separate streams so that, e.g., adding a disk read does not reshuffle network faults.
  private readonly netPrng: Prng;
  private readonly tickPrng: Prng;
  private readonly diskPrng: Prng;
  private readonly harnessPrng: Prng;

  private readonly wireSurvivesCrash: boolean;
  private readonly objectMessages: boolean;

  constructor(options: SimulationOptions) {
    this.wireSurvivesCrash = options.wireSurvivesCrash ?? false;
    this.objectMessages = options.objectMessages ?? false;
    if (!Number.isInteger(options.seed))
      throw simConfigError(`seed must be an integer: ${options.seed}`);
    if (!(options.tickMs > 0)) throw simConfigError(`tickMs must be positive: ${options.tickMs}`);
    if (typeof options.nodeOf !== 'function') throw simConfigError('nodeOf must be a function');
    this.seed = options.seed;
    this.tickUs = Math.max(1, toUs(options.tickMs));
    this.nodeOf = options.nodeOf;
    this.eventsPerInstantMax = options.eventsPerInstantMax ?? 1_000_000;
    this.trace = new Trace(options.traceEntriesMax ?? 0);
    this.network = new NetworkModel({ ...NO_FAULTS, ...(options.faults ?? {}) });
    this.diskFaults = { ...(options.diskFaults ?? {}) };
    const root = new Prng(options.seed);
    this.netPrng = root.fork();
    this.tickPrng = root.fork();
    this.diskPrng = root.fork();
    this.harnessPrng = root.fork();
    assert(this.tickUs >= 1, `tick period ${this.tickUs} us`);
  }

  /** Virtual time in milliseconds. */
  now(): number {
    return this.nowUs / 1000;
  }

  /** An independent PRNG stream for harness code (workload, fault schedule). */
  forkPrng(): Prng {
    return this.harnessPrng.fork();
  }

  get faults(): Readonly<FaultConfig> {
    return this.network.config;
  }

  /** Replace some fault settings; the rest keep their current values. */
  setFaults(faults: Partial<FaultConfig>): void {
    this.network.setFaults({ ...this.network.config, ...faults });
    this.trace.record(`${this.nowUs} F ${JSON.stringify(this.network.config)}`);
  }

  /** Change disk faults on every node's disk, present and future. */
  setDiskFaults(faults: Partial<DiskFaults>): void {
    this.diskFaults = { ...this.diskFaults, ...faults };
    for (const node of this.nodes.values()) node.disk?.setFaults(this.diskFaults);
  }

  addActor<Config>(id: ActorId, factory: ActorFactory<Config>, config: Config): void {
    assert(Number.isInteger(id) && id >= 0 && id !== CLIENT_ADDRESS, `invalid actor id ${id}`);
    assert(!this.regs.has(id), `actor ${id} already added`);
    const nodeId = this.nodeOf(id);
    assert(Number.isInteger(nodeId) && nodeId >= 0, `nodeOf(${id}) returned ${nodeId}`);
    const node = this.ensureNode(nodeId);
    const reg: Registration = {
      id,
      node: nodeId,
      create: (host) => factory(id, host, config),
      instance: undefined,
      incarnation: 0,
    };
    this.regs.set(id, reg);
    node.actorIds.push(id);
    if (node.up) this.instantiate(reg);
  }

  /** The live actor object (for checkers that inspect state), or undefined if its node is down. */
  actor(id: ActorId): Actor | undefined {
    return this.regs.get(id)?.instance;
  }

  nodeIds(): NodeId[] {
    return [...this.nodes.keys()];
  }

  isUp(node: NodeId): boolean {
    return this.nodes.get(node)?.up === true;
  }

  /** The node's disk; it outlives crashes and restarts (created on first use). */
  disk(node: NodeId): SimDisk {
    const n = this.ensureNode(node);
    if (n.disk === undefined) {
      n.disk = new SimDisk(
        {
          nowUs: () => this.nowUs,
          at: (timeUs, fn) => this.push(timeUs, { kind: 'call', fn, node, cancelled: false }),
        },
        this.diskPrng.fork(),
        this.diskFaults,
      );
    }
    return n.disk;
  }

  /**
   * Kill the node: actors vanish without close, in-flight traffic to/from them is lost. A
   * 'power' loss (the default) takes the OS with it: the disk keeps only durable writes. A
   * 'process' crash (kill -9) leaves the OS: the disk keeps what the process had handed to it.
   */
  crash(node: NodeId, kind: CrashKind = 'power'): void {
    const n = this.nodes.get(node);
    assert(n !== undefined, `crash of unknown node ${node}`);
    assert(n.up, `crash of node ${node} which is already down`);
    n.up = false;
    n.epoch++;
    for (const id of n.actorIds) {
      const reg = this.registration(id);
      reg.instance = undefined;
      reg.incarnation++;
      this.dirty.delete(id);
    }
    if (kind === 'power') n.disk?.crash();
    else n.disk?.kill();
    this.trace.record(`${this.nowUs} ${kind === 'power' ? 'C' : 'K'} ${node}`);
  }

  /** Bring a crashed node back: its actors are re-created from the same factories and configs. */
  restart(node: NodeId, options: { wipeDisk?: boolean } = {}): void {
    const n = this.nodes.get(node);
    assert(n !== undefined, `restart of unknown node ${node}`);
    assert(!n.up, `restart of node ${node} which is up`);
    if (options.wipeDisk === true) n.disk?.wipe();
    n.up = true;
    this.trace.record(`${this.nowUs} R ${node}${options.wipeDisk === true ? ' wiped' : ''}`);
    for (const id of n.actorIds) this.instantiate(this.registration(id));
  }

  /** Nodes in different groups cannot talk; a node in no group is cut off from all. */
  partition(groups: number[][]): void {
    this.network.partition(groups);
    this.trace.record(`${this.nowUs} P ${JSON.stringify(groups)}`);
  }

  /** Remove partitions and partitioned links (drop/duplicate rates are kept: see setFaults). */
  heal(): void {
    this.network.heal();
    this.trace.record(`${this.nowUs} H`);
  }

  /** Send from the client endpoint to an actor. */
  clientSend(to: ActorId, payload: Uint8Array): void {
    const reg = this.regs.get(to);
    assert(reg !== undefined, `clientSend to unknown actor ${to}`);
    assert(payload instanceof Uint8Array, 'clientSend payload must be a Uint8Array');
    this.stats.clientSent++;
    const node = this.node(reg.node);
    if (!node.up) return this.drop(CLIENT_ADDRESS, to, 'down');
    const at = this.fifoTime(CLIENT_ADDRESS, to, CLIENT_DELAY_US);
    this.push(at, {
      kind: 'deliver',
      from: CLIENT_ADDRESS,
      to,
      payload: payload.slice(),
      object: null,
      fromEpoch: NO_EPOCH,
      toEpoch: node.epoch,
      crossNode: false,
      late: 0,
    });
  }

  /** Replies to CLIENT_ADDRESS go to this handler (one handler; a new call replaces it). */
  onClientReceive(handler: (from: ActorId, payload: Uint8Array) => void): void {
    this.clientHandler = handler;
  }

  /**
   * Runs `hook` at the end of every instant, after the flushes, with the actors touched in it
   * (the only ones whose state can have changed): where a harness checks cross-node
   * invariants after every simulated step (TigerBeetle style).
   */
  onInstantEnd(hook: (touched: readonly ActorId[]) => void): void {
    this.instantHooks.push(hook);
  }

  /** Run `fn` after `delayMs` of virtual time (at least 1 us later). */
  schedule(delayMs: number, fn: () => void): ScheduledHandle {
    const event: SimEvent = { kind: 'call', fn, node: undefined, cancelled: false };
    this.push(this.nowUs + Math.max(1, toUs(delayMs)), event);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  /**
   * Run events until `predicate` holds (checked before starting and after every instant) or
   * `maxTimeMs` of virtual time passes. Returns whether the predicate held.
   */
  runUntil(predicate: () => boolean, maxTimeMs: number): boolean {
    const deadlineUs = this.nowUs + toUs(maxTimeMs);
    if (predicate()) return true;
    // Each instant is strictly later than the previous one, which bounds the iterations.
    const instantsMax = deadlineUs - this.nowUs + 1;
    for (let i = 0; i < instantsMax; i++) {
      const t = this.queue.peekTime();
      if (t === undefined || t > deadlineUs) break;
      this.runInstant(t);
      if (predicate()) return true;
    }
    this.nowUs = Math.max(this.nowUs, deadlineUs);
    return predicate();
  }

  /** Run every event in the next `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(() => false, ms);
  }

  private runInstant(t: number): void {
    assert(t >= this.nowUs, `event at ${t} us is before now ${this.nowUs} us`);
    this.nowUs = t;
    let count = 0;
    // Events created during the instant are at least 1 us later, so this loop drains only
    // what is already queued for t; the explicit bound catches a bug that breaks that.
    while (this.queue.peekTime() === t) {
      count++;
      assert(
        count <= this.eventsPerInstantMax,
        `more than ${this.eventsPerInstantMax} events at ${t} us`,
      );
      this.stats.events++;
      this.dispatch(this.queue.pop().event);
    }
    const touched = this.flushDirty();
    for (const hook of this.instantHooks) hook(touched);
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver':
        return this.onDeliver(event);
      case 'client':
        return this.onClientReply(event);
      case 'tick':
        return this.onTick(event.node);
      case 'call':
        if (event.cancelled) return;
        event.fn();
        if (event.node !== undefined) this.touchNode(event.node);
        return;
      default:
        return unreachable(event, 'unknown simulator event');
    }
  }

  private onDeliver(event: Extract<SimEvent, { kind: 'deliver' }>): void {
    const reg = this.registration(event.to);
    const node = this.node(reg.node);
    if (!node.up || node.epoch !== event.toEpoch || reg.instance === undefined) {
      return this.maybeDeliverLate(event, node);
    }
    if (event.from !== CLIENT_ADDRESS) {
      const sender = this.node(this.registration(event.from).node);
      // Messages already on the wire when their sender crashed still arrive when
      // `wireSurvivesCrash` is set: a restarted replica must cope with its past self's traffic.
      if (sender.epoch !== event.fromEpoch && !(this.wireSurvivesCrash && event.crossNode)) {
        return this.drop(event.from, event.to, 'crash');
      }
      if (event.crossNode && this.network.isCut(sender.id, node.id)) {
        return this.drop(event.from, event.to, 'partition');
      }
    }
    this.stats.delivered++;
    if (event.late > 0) this.stats.deliveredLate++;
    this.dirty.add(event.to);
    if (event.object !== null) return this.deliverObject(event, reg.instance, event.object);
    this.trace.record(
      `${this.nowUs} d ${event.from}>${event.to} ${event.payload.length}:${hashBytes(event.payload)}`,
    );
    // Owned like the runtime's same-worker deliveries (each delivery is a copy of its own here);
    // a cross-node one arrives as a borrowed view, like a ring record.
    reg.instance.receive(event.from, event.payload, !event.crossNode);
  }

  private deliverObject(
    event: Extract<SimEvent, { kind: 'deliver' }>,
    actor: Actor,
    sent: SentObject,
  ): void {
    const now = fingerprintOf(sent.message);
    assert(
      now === sent.fingerprint,
      () => `a message object ${event.from}>${event.to} was written after it was sent`,
    );
    this.stats.objectsDelivered++;
    this.trace.record(`${this.nowUs} o ${event.from}>${event.to} ${hashText(now)}`);
    if (actor.receiveObject === undefined) assert(false, `actor ${event.to} takes no objects`);
    actor.receiveObject(event.from, sent.message);
  }

  /**
   * The destination crashed since the message was sent (or was down): a real network may still
   * deliver it to the node's next incarnation (frames buffered by a peer, a slow link). With
   * the fault's probability the message stays on the wire and is offered again later, to
   * whatever incarnation is up then; otherwise it is lost.
   */
  private maybeDeliverLate(event: Extract<SimEvent, { kind: 'deliver' }>, node: SimNode): void {
    const delayUs =
      event.crossNode && event.late < LATE_DELIVERY_ATTEMPTS_MAX
        ? this.network.lateFate(this.netPrng)
        : undefined;
    if (delayUs === undefined) return this.drop(event.from, event.to, 'crash');
    // Offered to the incarnation that is up now or, if the node is down, to the one its restart
    // brings (a crash bumps the epoch, a restart keeps it).
    this.push(this.nowUs + delayUs, { ...event, toEpoch: node.epoch, late: event.late + 1 });
  }

  private onClientReply(event: Extract<SimEvent, { kind: 'client' }>): void {
    const sender = this.node(this.registration(event.from).node);
    if (sender.epoch !== event.fromEpoch) return this.drop(event.from, CLIENT_ADDRESS, 'crash');
    this.stats.clientReceived++;
    this.trace.record(
      `${this.nowUs} c ${event.from} ${event.payload.length}:${hashBytes(event.payload)}`,
    );
    assert(
      this.clientHandler !== undefined,
      `reply from actor ${event.from} but no onClientReceive handler`,
    );
    this.clientHandler(event.from, event.payload);
  }

  private onTick(nodeId: NodeId): void {
    const node = this.node(nodeId);
    // A crashed node keeps its tick cadence so the phase is unchanged after restart.
    this.push(this.nowUs + this.tickUs, { kind: 'tick', node: nodeId });
    if (!node.up) return;
    this.stats.ticks++;
    this.trace.record(`${this.nowUs} k ${nodeId}`);
    for (const id of node.actorIds) {
      const reg = this.registration(id);
      // A tick handler may crash its own node (harness code cannot, but be safe): re-check.
      if (reg.instance === undefined) continue;
      this.dirty.add(id);
      reg.instance.tick();
    }
  }

  /** Flush every actor touched this instant, once, in first-touched order; returns them. */
  private flushDirty(): ActorId[] {
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) this.registration(id).instance?.flush();
    // Flush may only send, and sends land at least 1 us later: nothing new is dirty now.
    assert(
      this.dirty.size === 0,
      `flush at ${this.nowUs} us dirtied actors ${[...this.dirty].join(',')}`,
    );
    return ids;
  }

  private touchNode(nodeId: NodeId): void {
    const node = this.node(nodeId);
    if (!node.up) return;
    for (const id of node.actorIds) this.dirty.add(id);
  }

  private instantiate(reg: Registration): void {
    assert(reg.instance === undefined, `actor ${reg.id} already running`);
    reg.incarnation++;
    const incarnation = reg.incarnation;
    const host: ActorHost = {
      actorId: reg.id,
      send: (to, payload) => {
        if (reg.incarnation !== incarnation) {
          this.stats.droppedStaleSender++;
          return;
        }
        this.send(reg, to, payload, null);
      },
      now: () => this.nowUs / 1000,
    };
    if (this.objectMessages) {
      host.sendObject = (to, message) => {
        if (to === CLIENT_ADDRESS || !this.regs.has(to)) return false;
        // A dead instance's object is dropped, not refused: it must not fall back to bytes.
        if (reg.incarnation !== incarnation) {
          this.stats.droppedStaleSender++;
          return true;
        }
        this.send(reg, to, NO_BYTES, { message, fingerprint: fingerprintOf(message) });
        return true;
      };
    }
    reg.instance = reg.create(host);
    this.dirty.add(reg.id);
  }

  private send(
    from: Registration,
    to: ActorId,
    payload: Uint8Array,
    object: SentObject | null,
  ): void {
    assert(payload instanceof Uint8Array, `actor ${from.id} sent a non-Uint8Array payload`);
    this.stats.sent++;
    const copy = payload.slice();
    const fromNode = this.node(from.node);
    if (to === CLIENT_ADDRESS) {
      if (object !== null) assert(false, `actor ${from.id} sent an object to the client`);
      const at = this.fifoTime(from.id, to, CLIENT_DELAY_US);
      this.push(at, { kind: 'client', from: from.id, payload: copy, fromEpoch: fromNode.epoch });
      return;
    }
    const target = this.regs.get(to);
    if (target === undefined) return this.drop(from.id, to, 'unknown');
    const toNode = this.node(target.node);
    const base = {
      kind: 'deliver' as const,
      from: from.id,
      to,
      fromEpoch: fromNode.epoch,
      toEpoch: toNode.epoch,
      late: 0,
      object,
    };
    if (!toNode.up) {
      if (target.node === from.node) return this.drop(from.id, to, 'crash');
      return this.maybeDeliverLate({ ...base, payload: copy, crossNode: true }, toNode);
    }
    if (target.node === from.node) {
      const at = this.fifoTime(from.id, to, INTRA_NODE_DELAY_US);
      this.push(at, { ...base, payload: copy, crossNode: false });
      return;
    }
    if (this.network.isCut(from.node, target.node)) return this.drop(from.id, to, 'partition');
    const fate = this.network.fate(this.netPrng);
    if (fate.delaysUs.length === 0) return this.drop(from.id, to, 'fault');
    if (fate.delaysUs.length > 1) this.stats.duplicated++;
    // Each copy gets its own buffer so a receiver that mutates one cannot affect the other.
    fate.delaysUs.forEach((delayUs, i) => {
      this.push(this.nowUs + delayUs, {
        ...base,
        payload: i === 0 ? copy : copy.slice(),
        crossNode: true,
      });
    });
  }

  private drop(
    from: ActorId,
    to: ActorId,
    reason: 'fault' | 'partition' | 'crash' | 'unknown' | 'down',
  ): void {
    if (reason === 'fault') this.stats.droppedFault++;
    else if (reason === 'partition') this.stats.droppedPartition++;
    else if (reason === 'unknown') this.stats.droppedUnknownDestination++;
    else this.stats.droppedCrash++;
    this.trace.record(`${this.nowUs} x ${from}>${to} ${reason}`);
  }

  /** Delivery time for an ordered channel: random small delay, never before the previous one. */
  private fifoTime(from: ActorId, to: ActorId, delayUs: readonly [number, number]): number {
    const key = `${from}>${to}`;
    const at = Math.max(
      this.nowUs + this.netPrng.range(delayUs[0], delayUs[1]),
      this.fifoLastUs.get(key) ?? 0,
    );
    this.fifoLastUs.set(key, at);
    assert(at > this.nowUs, `fifo delivery at ${at} not after now ${this.nowUs}`);
    return at;
  }

  private push(timeUs: number, event: SimEvent): void {
    assert(
      timeUs >= this.nowUs + 1,
      `event scheduled at ${timeUs} us, not after now ${this.nowUs} us`,
    );
    this.queue.push(timeUs, event);
  }

  private ensureNode(nodeId: NodeId): SimNode {
    assert(Number.isInteger(nodeId) && nodeId >= 0, `invalid node id ${nodeId}`);
    const existing = this.nodes.get(nodeId);
    if (existing !== undefined) return existing;
    const node: SimNode = { id: nodeId, up: true, epoch: 0, actorIds: [], disk: undefined };
    this.nodes.set(nodeId, node);
    // A random phase per node, so replicas do not all time out in the same instant.
    const phaseUs = this.tickPrng.int(this.tickUs);
    this.push(this.nowUs + 1 + phaseUs, { kind: 'tick', node: nodeId });
    return node;
  }

  private node(nodeId: NodeId): SimNode {
    const node = this.nodes.get(nodeId);
    assert(node !== undefined, `unknown node ${nodeId}`);
    return node;
  }

  private registration(id: ActorId): Registration {
    const reg = this.regs.get(id);
    assert(reg !== undefined, `unknown actor ${id}`);
    return reg;
  }
}
