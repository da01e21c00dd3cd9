/**
 * The actors of one worker thread: creation, delivery, ticks, failures and shutdown.
 *
 * Each actor runs one method at a time on this thread. Messages from the rings and from the
 * local queue are delivered by the mailbox pump; every actor that received something in a
 * turn gets `flush()` once, after the drain, so it can aggregate its output. An actor that
 * throws is logged with its id and stopped (and counted), never silently skipped: its state
 * may be half-updated, so continuing to feed it would be worse than a crash.
 */
import { LinkFaults } from './link-faults';
import { isRemoteActor } from './remote-route';
import type { RemoteRoute } from './remote-route';
import type { LinkFaultsConfig } from './link-faults';
import { getHeapStatistics } from 'node:v8';
import { gcStats, observeGc } from './gc-stats';
import { assert } from './assert';
import { CLIENT_ADDRESS } from './actor';
import type { Actor, ActorFactory, ActorHost, ActorId, InspectResult } from './actor';
import { systemClock } from './clock';
import { LocalQueue } from './local-queue';
import { ReusedList } from './reused-list';
import type { LocalPayload } from './local-queue';
import { OffloadPool } from './offload-pool';
import type { OffloadPoolOptions } from './offload-pool';
import { MAILBOX_DEFAULTS, ThreadMailbox, WORKER_PASS_BYTES } from './thread-mailbox';
import type { MailboxHooks } from './thread-mailbox';
import { isActorId, threadOfAddress, workerOfActor } from './topology';
import type { Topology } from './topology';
import { threadCounters } from './thread-counters';
import type { WorkerStats } from './worker-stats';
import type { StartFailure } from './worker-protocol';
import { threadCpuTimes } from './thread-cpu';
import { ownViews } from './own-views';
import type { ThreadQuiet } from './quiesce';

/** Local messages delivered per turn, so rings get their share of each turn. */
const LOCAL_DELIVERIES_MAX = 4096;
/**
 * Rounds of local deliveries after a turn's drain (afterDrain): a write takes three (accepts,
 * accepted replies, chosen notices), a read two (query, reply).
 */
const LOCAL_ROUNDS_MAX = 4;
/** How long `startActors` waits for the close() of a stopped predecessor with the same id. */
const PREDECESSOR_CLOSE_WAIT_MS = 5000;

export interface WorkerRuntimeOptions {
  readonly topology: Topology;
  readonly worker: number;
  readonly factory: ActorFactory<unknown>;
  readonly actorConfig: unknown;
  readonly tickMs: number;
  /** A respawned worker: its inbound rings may start inside a fragmented message. */
  readonly respawned?: boolean;
  /** Called after an actor failed and was stopped (the supervisor on the client decides). */
  readonly onActorFailed?: (id: ActorId, reason: string) => void;
  /** Cut links between nodes: messages on them are dropped at send and at delivery. */
  readonly linkFaults?: LinkFaultsConfig;
  /** A cluster node: messages to actors of other nodes go to the client thread (the gateway). */
  readonly remote?: RemoteRoute;
  /** Bounds of this worker's shared offload pool (`ActorHost.offload`). */
  readonly offload?: OffloadPoolOptions;
  /** The mailbox's bytes per pass (MailboxOptions.passBytes); defaultPassBytes if absent. */
  readonly passBytes?: number;
}

/**
 * Turns in passes for an embedded store's workers; one pass on a cluster node's, where each
 * pass's flush becomes wire frames and socket writes on the gateway: there passes measured 3 %
 * fewer `batch` writes at 2–3 us more CPU each (docs/decisions.md "A worker's turn in passes").
 */
export function defaultPassBytes(options: Pick<WorkerRuntimeOptions, 'remote'>): number {
  return options.remote === undefined ? WORKER_PASS_BYTES : 0;
}

/** One incarnation of an actor. A restart makes a new slot, so the old one's host stays dead. */
interface Slot {
  readonly id: ActorId;
  actor: Actor;
  /** False once stopped: its host drops further sends (a crashed process sends nothing). */
  live: boolean;
  receivedThisTurn: boolean;
}

export class WorkerRuntime implements MailboxHooks {
  readonly mailbox: ThreadMailbox;
  private readonly slots = new Map<ActorId, Slot>();
  private readonly received = new ReusedList<Slot>();
  private readonly local = new LocalQueue();
  /** close() promises of stopped actors, awaited before an actor with the same id restarts. */
  private readonly closing = new Map<ActorId, Promise<void>>();
  /** Same-worker deliveries: the local queue's copy is the receiver's (owned); objects as is. */
  private readonly deliverLocal = (from: number, to: number, p: LocalPayload): void => {
    if (p instanceof Uint8Array) this.deliver(from, to, p, true);
    else this.deliverObject(from, to, p);
  };
  private tickTimer: NodeJS.Timeout | undefined;
  private tickDue = false;
  private counters = {
    dropped: 0,
    droppedByLinkFault: 0,
    actorFailures: 0,
    ticks: 0,
    localMessages: 0,
    /** Of `localMessages`, those sent as objects (ActorHost.sendObject). */
    localObjects: 0,
  };
  private readonly linkFaults: LinkFaults | undefined;
  /** One per worker, shared by all its actors and their engines (docs/decisions.md). */
  readonly offload: OffloadPool;

  constructor(private readonly options: WorkerRuntimeOptions) {
    assert(options.tickMs > 0, `bad tickMs ${options.tickMs}`);
    assert(options.worker >= 0 && options.worker < options.topology.workers, 'bad worker index');
    this.mailbox = new ThreadMailbox(
      options.topology,
      options.worker,
      this,
      { ...MAILBOX_DEFAULTS, passBytes: options.passBytes ?? defaultPassBytes(options) },
      options.respawned === true,
    );
    this.linkFaults =
      options.linkFaults === undefined ? undefined : new LinkFaults(options.linkFaults);
    this.offload = new OffloadPool(options.offload);
    observeGc();
  }

  /** Starts the pump and the tick timer. The timer is ref'd: it also keeps the worker alive
   *  while the pump is parked, which Atomics.waitAsync alone does not do. */
  start(): void {
    assert(this.tickTimer === undefined, 'worker runtime started twice');
    this.tickTimer = setInterval(() => {
      this.tickDue = true;
      this.mailbox.requestTurn();
    }, this.options.tickMs);
    this.mailbox.start();
  }

  /** Creates actors. Returns one failure per actor that could not be created. `restarted`:
   *  supervised restarts after a failure (ActorHost.restarted). */
  async startActors(ids: readonly ActorId[], restarted = false): Promise<StartFailure[]> {
    const errors: StartFailure[] = [];
    for (const id of ids) {
      const problem = this.checkStartable(id);
      if (problem !== undefined) {
        errors.push({ id, message: problem });
        continue;
      }
      await this.awaitPredecessor(id);
      // Checked again: a start of the same id may have run while we waited.
      const again = this.checkStartable(id);
      const error = again ?? this.createActor(id, restarted);
      if (error !== undefined) errors.push({ id, message: error });
    }
    return errors;
  }

  /** See ThreadMailbox.resetInbound: the producer thread died and is being respawned. */
  peerRestarted(thread: number): number {
    return this.mailbox.resetInbound(thread);
  }

  /** Discards actors at once, like a crash: no more deliveries, their sends are dropped.
   *  Their close() runs in the background only so files and locks get released. */
  stopActors(ids: readonly ActorId[]): void {
    for (const id of ids) this.discard(id, 'stopped');
  }

  /**
   * close() is coming (quiesce.ts): the ticks stop for good (no timeout, retry or eviction
   * starts new work), each actor starts what it owes now (Actor.quiesce), what they sent is
   * published, and the report says whether this thread is quiet. Called once per round.
   */
  quiesce(): ThreadQuiet {
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.tickDue = false;
    let actorsQuiet = true;
    // A copy: an actor that throws in quiesce() is removed from the map during the loop.
    for (const slot of [...this.slots.values()]) {
      this.guard(slot, 'quiesce', () => {
        if (slot.actor.quiesce?.() === false) actorsQuiet = false;
      });
    }
    // What the actors sent just now is published before the rings are looked at.
    this.mailbox.flushOutboxes();
    const stats = this.mailbox.stats();
    const idle = actorsQuiet && this.local.length === 0 && this.mailbox.overflowPending() === 0;
    assert(!this.tickDue, 'a tick due while quiescing');
    return {
      thread: this.options.worker,
      idle,
      ringOccupancyBytes: stats.ringOccupancyBytes,
      messagesIn: stats.messagesIn,
      messagesOut: stats.messagesOut,
      localMessages: this.counters.localMessages,
    };
  }

  /** Closes every actor (bounded wait each), stops ticks and the pump. */
  async close(actorCloseTimeoutMs: number): Promise<void> {
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(
      slots.map((slot) => boundedClose(slot.id, () => slot.actor.close(), actorCloseTimeoutMs)),
    );
    for (const slot of slots) slot.live = false;
    // After the actors: their close() may still wait for a task (a merge it aborts).
    await this.offload.close();
    // Messages the actors sent while closing still leave; nothing runs after this.
    this.mailbox.stop();
  }

  stats(): WorkerStats {
    const heap = getHeapStatistics();
    return {
      heapUsedBytes: heap.used_heap_size,
      heapCommittedBytes: heap.total_heap_size,
      heapLimitBytes: heap.heap_size_limit,
      ...threadCpuTimes(),
      gc: gcStats(),
      moduleCounters: threadCounters(),
      worker: this.options.worker,
      actors: this.slots.size,
      ...this.mailbox.stats(),
      ...this.counters,
      localQueueHighWater: this.local.lengthHighWater,
      offload: this.offload.stats(),
    };
  }

  /**
   * A control-plane query to one actor. Operating errors (no such actor, no inspect method,
   * the actor's own failure) come back as codes; the actor is not stopped for them.
   */
  async inspect(id: ActorId, request: unknown): Promise<InspectResult> {
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.live)
      return { ok: false, code: 'PXS_NO_ACTOR', message: `actor ${id} is not running` };
    const actor = slot.actor;
    if (actor.inspect === undefined)
      return { ok: false, code: 'PXS_NOT_INSPECTABLE', message: `actor ${id} has no inspect` };
    try {
      // The answer crosses to the caller's thread by structured clone: views of shared slabs
      // go as exact copies, not as their whole slabs (own-views.ts).
      return { ok: true, value: ownViews(await actor.inspect(request)) };
    } catch (error) {
      const code =
        typeof (error as { code?: unknown }).code === 'string'
          ? (error as { code: string }).code
          : 'PXS_INSPECT_FAILED';
      return { ok: false, code, message: error instanceof Error ? error.message : String(error) };
    }
  }

  // ---- MailboxHooks ----

  beforeDrain(): boolean {
    let worked = false;
    if (this.tickDue) {
      this.tickDue = false;
      this.counters.ticks++;
      // A copy: an actor that throws in tick() is removed from the map during the loop.
      for (const slot of [...this.slots.values()]) {
        this.guard(slot, 'tick', () => slot.actor.tick());
      }
      worked = true;
    }
    if (this.local.deliver(LOCAL_DELIVERIES_MAX, this.deliverLocal) > 0) worked = true;
    return worked;
  }

  deliver(from: number, to: number, payload: Uint8Array, owned = false): void {
    const slot = this.receiver(from, to);
    if (slot === undefined) return;
    this.guard(slot, 'receive', () => slot.actor.receive(from, payload, owned));
  }

  /** A message object from an actor of this worker: delivered like a payload, never copied. */
  private deliverObject(from: number, to: number, message: object): void {
    const slot = this.receiver(from, to);
    if (slot === undefined) return;
    this.guard(slot, 'receiveObject', () => {
      const actor = slot.actor;
      // Only an actor's own kind sends it objects: one without receiveObject is a wiring bug.
      if (actor.receiveObject === undefined) assert(false, `actor ${to} takes no objects`);
      actor.receiveObject(from, message);
    });
  }

  /** The slot a delivery goes to, marked for this turn's flush; undefined when it is dropped. */
  private receiver(from: number, to: number): Slot | undefined {
    const slot = this.slots.get(to);
    if (slot === undefined) {
      // Stopped, failed or never created: a crashed node loses its inbound messages too.
      this.counters.dropped++;
      return undefined;
    }
    assert(workerOfActor(to, this.options.topology) === this.options.worker, 'misrouted');
    // Queued before a partition cut the link: a real network would not deliver it either.
    if (this.linkFaults?.blocked(from, to) === true) {
      this.counters.droppedByLinkFault++;
      return undefined;
    }
    if (!slot.receivedThisTurn) {
      slot.receivedThisTurn = true;
      this.received.push(slot);
    }
    return slot;
  }

  /**
   * Flushes the actors that received this turn, then delivers what their flushes queued for
   * actors of this worker, and flushes again, for at most LOCAL_ROUNDS_MAX rounds: a write's
   * accepts, their replies and its chosen notices, or a read's query and its reply, pass
   * between a group's replicas in the turn that took the request, not one turn (an event-loop
   * hop) each. Deliveries still run after the sender's flush, never inside its send; what is
   * left after the last round waits for the next turn (beforeDrain), as before.
   */
  afterDrain(): void {
    this.flushReceived();
    for (let round = 0; round < LOCAL_ROUNDS_MAX && this.local.length > 0; round++) {
      this.local.deliver(LOCAL_DELIVERIES_MAX, this.deliverLocal);
      this.flushReceived();
    }
  }

  private flushReceived(): void {
    for (let i = 0; i < this.received.length; i++) {
      const slot = this.received.get(i);
      slot.receivedThisTurn = false;
      if (slot.live) this.guard(slot, 'flush', () => slot.actor.flush());
    }
    this.received.clear();
  }

  hasLocalWork(): boolean {
    return this.tickDue || this.local.length > 0;
  }

  // ---- internals ----

  private checkStartable(id: ActorId): string | undefined {
    if (!isActorId(id)) return `PXS_BAD_ACTOR_ID: ${id}`;
    if (workerOfActor(id, this.options.topology) !== this.options.worker) {
      return `PXS_WRONG_WORKER: actor ${id} is not pinned to worker ${this.options.worker}`;
    }
    if (this.slots.has(id)) return `PXS_ACTOR_RUNNING: actor ${id} is already running`;
    return undefined;
  }

  private async awaitPredecessor(id: ActorId): Promise<void> {
    const previous = this.closing.get(id);
    if (previous === undefined) return;
    await boundedClose(id, () => previous, PREDECESSOR_CLOSE_WAIT_MS);
  }

  private createActor(id: ActorId, restarted: boolean): string | undefined {
    const slot: Slot = { id, actor: PLACEHOLDER, live: true, receivedThisTurn: false };
    try {
      const actor = this.options.factory(
        id,
        this.makeHost(slot, restarted),
        this.options.actorConfig,
      );
      assert(typeof actor?.receive === 'function', `createActor(${id}) returned no actor`);
      slot.actor = actor;
      this.slots.set(id, slot);
      return undefined;
    } catch (error) {
      slot.live = false;
      console.error(`[runtime] createActor(${id}) failed on worker ${this.options.worker}:`, error);
      return `PXS_CREATE_FAILED: actor ${id}: ${String(error)}`;
    }
  }

  private makeHost(slot: Slot, restarted: boolean): ActorHost {
    return {
      actorId: slot.id,
      restarted,
      now: () => systemClock.now(),
      send: (to, payload) => this.sendFrom(slot, to, payload),
      sendObject: (to, message) => this.sendObjectFrom(slot, to, message),
      fail: (reason) => this.failFrom(slot, 'fail', reason),
      offload: this.offload,
    };
  }

  /** An actor reported a failure (host.fail) or threw: stop it and tell the supervisor. */
  private failFrom(slot: Slot, method: string, error: unknown): void {
    // A stale incarnation's late report must not stop its successor.
    if (!slot.live || this.slots.get(slot.id) !== slot) return;
    this.counters.actorFailures++;
    console.error(`[runtime] actor ${slot.id} failed in ${method}(); stopping it:`, error);
    this.discard(slot.id, 'failed');
    const reason = error instanceof Error ? error.message : String(error);
    this.options.onActorFailed?.(slot.id, `${method}: ${reason}`);
  }

  private sendFrom(slot: Slot, to: ActorId, payload: Uint8Array): void {
    // A stopped incarnation's late callbacks (a disk write completing) must not speak for it,
    // nor for a restarted successor with the same id, which has its own slot.
    if (!slot.live) {
      this.counters.dropped++;
      return;
    }
    if (to !== CLIENT_ADDRESS && !isActorId(to)) assert(false, `actor ${slot.id} sent to ${to}`);
    if (this.linkFaults?.blocked(slot.id, to) === true) {
      this.counters.droppedByLinkFault++;
      return;
    }
    const topology = this.options.topology;
    const thread = isRemoteActor(to, this.options.remote)
      ? topology.clientThread
      : threadOfAddress(to, topology);
    if (thread === this.options.worker) {
      this.local.push(slot.id, to, payload);
      this.counters.localMessages++;
    } else {
      this.mailbox.send(thread, slot.id, to, payload);
    }
    // A send from a timer or I/O callback has no turn to flush it: schedule one.
    if (!this.mailbox.turnActive) this.mailbox.requestTurn();
  }

  /** ActorHost.sendObject: false (nothing queued) unless `to` is an actor of this worker. */
  private sendObjectFrom(slot: Slot, to: ActorId, message: object): boolean {
    if (!isActorId(to) || isRemoteActor(to, this.options.remote)) return false;
    if (threadOfAddress(to, this.options.topology) !== this.options.worker) return false;
    // Dropped, as sendFrom drops: the sender must not fall back to bytes for these.
    if (!slot.live) {
      this.counters.dropped++;
      return true;
    }
    if (this.linkFaults?.blocked(slot.id, to) === true) {
      this.counters.droppedByLinkFault++;
      return true;
    }
    this.local.pushObject(slot.id, to, message);
    this.counters.localMessages++;
    this.counters.localObjects++;
    if (!this.mailbox.turnActive) this.mailbox.requestTurn();
    return true;
  }

  private guard(slot: Slot, method: string, call: () => void): void {
    if (!slot.live) return;
    try {
      call();
    } catch (error) {
      this.failFrom(slot, method, error);
    }
  }

  private discard(id: ActorId, why: 'stopped' | 'failed'): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    slot.live = false;
    this.slots.delete(id);
    const closed = boundedClose(id, () => slot.actor.close(), PREDECESSOR_CLOSE_WAIT_MS);
    this.closing.set(id, closed);
    void closed.then(() => {
      if (this.closing.get(id) === closed) this.closing.delete(id);
    });
    assert(!this.slots.has(id), `actor ${id} still present after being ${why}`);
  }
}

const PLACEHOLDER: Actor = {
  receive: () => assert(false, 'placeholder actor received'),
  flush: () => undefined,
  tick: () => undefined,
  close: async () => undefined,
};

/** Runs an actor's close() with a deadline; failures and timeouts are logged, never thrown. */
async function boundedClose(id: ActorId, close: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(close), deadline]);
    if (result === 'timeout') console.error(`[runtime] actor ${id} close() exceeded ${ms} ms`);
  } catch (error) {
    console.error(`[runtime] actor ${id} close() failed:`, error);
  } finally {
    clearTimeout(timer);
  }
}
