/**
 * The actor system as seen from the client thread (the thread that starts it).
 *
 * `start` allocates the ring matrix and the doorbells, spawns the workers and waits until each
 * has created its initial actors. The client thread then runs the same mailbox pump as the
 * workers: it drains the rings that workers write to CLIENT_ADDRESS, and its own sends are
 * batched and flushed in a microtask, i.e. once the current macrotask's synchronous code is
 * done, so a loop of `send` calls becomes one publication per ring.
 *
 * Nothing the client thread holds is ref'd once `close()` is done: the pump parks with
 * Atomics.waitAsync (which never keeps the loop alive), control-plane deadlines are unref'd,
 * and the workers are terminated, so the process can exit.
 */
import path from 'node:path';
import { assert } from './assert';
import { MESSAGE_BYTES_MAX } from './fragments';
import { CLIENT_ADDRESS } from './actor';
import type { ActorId, InspectResult } from './actor';
import { RuntimeError } from './errors';
import { ThreadMailbox } from './thread-mailbox';
import type { MailboxHooks, MailboxStats } from './thread-mailbox';
import { allocateTopology, checkPlacement, isActorId, workerOfActor } from './topology';
import type { Topology } from './topology';
import type { LinkFaultsConfig } from './link-faults';
import { checkRemoteRoute, isRemoteActor, nodeOfActor } from './remote-route';
import type { RemoteRoute } from './remote-route';
import { RestartBudget, SUPERVISION_DEFAULTS } from './restart-budget';
import type { SupervisionOptions } from './restart-budget';
import { codeOf, describe, emptyWorkerStats } from './supervision';
import type { ActorState, SupervisionEvent, SupervisionStats, WorkerState } from './supervision';
import { WorkerHandle } from './worker-handle';
import type { WorkerListener } from './worker-handle';
import type { StartFailure, WorkerInit } from './worker-protocol';
import type { WorkerStats } from './worker-stats';
import { WORKER_HEAP_MB_MAX, WORKER_HEAP_MB_MIN, defaultWorkerHeapMb } from './worker-heap';
import { threadCpuTimes } from './thread-cpu';
import { quietSignature } from './quiesce';
import type { ThreadQuiet } from './quiesce';
import {
  WORKER_YOUNG_MB_DEFAULT,
  WORKER_YOUNG_MB_MAX,
  WORKER_YOUNG_MB_MIN,
  isWorkerYoungMb,
} from './worker-young-gen';

export type { WorkerStats } from './worker-stats';
export type { SupervisionOptions } from './restart-budget';
export type { ActorState, SupervisionEvent, SupervisionStats, WorkerState } from './supervision';

export interface ActorSystemOptions {
  /** Worker threads, >= 1 (the caller picks the default, e.g. the number of cores). */
  workers: number;
  /** Absolute path of a compiled JS module exporting `createActor: ActorFactory<unknown>`. */
  actorModule: string;
  /** Structured-clonable (may hold SharedArrayBuffers); passed to every createActor call. */
  actorConfig: unknown;
  /** Actors created at start; each is pinned to a worker by `placement`, else a hash of its id. */
  actors: number[];
  /**
   * The worker of each actor id below its length (topology.ts); ids past the end, and every
   * id when absent, are placed by a hash of the id.
   */
  placement?: readonly number[];
  /** Bytes per ring (rounded up to a power of two); default 4 MiB. */
  ringBytes?: number;
  /** Period of every actor's tick(), default 10 ms. */
  tickMs?: number;
  /** Restart bounds and backoff of failed actors and dead workers (SUPERVISION_DEFAULTS). */
  supervision?: Partial<SupervisionOptions>;
  /** Fault injection between nodes (link-faults.ts): partitions without the actors knowing. */
  linkFaults?: LinkFaultsConfig;
  /**
   * A cluster node (remote-route.ts): only `localNode`'s actors live here; messages to the
   * others reach `onRemote`, and `deliverRemote` brings theirs in. Every actor in `actors`
   * must be local.
   */
  remote?: RemoteRoute;
  /**
   * Old-generation heap limit of each worker thread, in MiB (worker-heap.ts). Default: half
   * of the machine's memory shared among the workers, at least V8's default.
   */
  workerHeapMb?: number;
  /**
   * Young generation of each worker thread, in MiB (V8's `maxYoungGenerationSizeMb`, three
   * semi-spaces; worker-young-gen.ts). Default WORKER_YOUNG_MB_DEFAULT (48: a 16 MiB semi-space).
   */
  workerYoungMb?: number;
}

export interface ClientStats extends MailboxStats {
  /** onReceive handler calls that threw (logged, then delivery went on). */
  handlerFailures: number;
  /** Records that arrived while no onReceive handler was set. */
  unhandled: number;
  /** Messages actors sent to remote actors, handed to onRemote (a cluster node). */
  remoteOut: number;
  /** Messages from remote actors delivered into the rings (deliverRemote). */
  remoteIn: number;
  /** deliverRemote calls refused: not from a remote actor to a local one. */
  remoteRefused: number;
  /** CPU time of the client (embedding) thread since it started (thread-cpu.ts; absent off Linux). */
  cpuMicros?: number;
  /** Time the client thread was runnable but waited for a CPU (thread-cpu.ts; absent off Linux). */
  cpuWaitMicros?: number;
}

const RING_BYTES_DEFAULT = 4 * 1024 * 1024;
const TICK_MS_DEFAULT = 10;
const WORKERS_MAX = 256;
/** Deadline of a control-plane call (start, stop, stats). */
const CONTROL_TIMEOUT_MS = 30_000;
/** The longest an inspect may be given (a paced digest scan of a big replica: verify.ts). */
const INSPECT_TIMEOUT_MS_MAX = 60 * 60_000;
/** Deadline of each actor's close() during close(), and of close() as a whole. */
const ACTOR_CLOSE_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 10_000;
/**
 * How long close() lets the actors quiesce before it closes them (quiesce.ts): long enough for
 * a notice to cross and a learner's write (an fsync) on a loaded machine, short enough that a
 * close never waits long for a system that does not go quiet. Then close goes on regardless.
 */
const QUIESCE_TIMEOUT_MS = 2_000;
/** The pause between two rounds that were not quiet: the workers get the cores meanwhile. */
const QUIESCE_PAUSE_MS = 1;

type Handler = (from: number, payload: Uint8Array) => void;
/** A message for an actor of another node, sent by a local actor (view valid during the call). */
export type RemoteHandler = (from: number, to: number, payload: Uint8Array) => void;

interface Resolved {
  workers: number;
  actorModule: string;
  actorConfig: unknown;
  actors: number[];
  ringBytes: number;
  tickMs: number;
  supervision: SupervisionOptions;
  linkFaults: LinkFaultsConfig | undefined;
  remote: RemoteRoute | undefined;
  workerHeapMb: number;
  workerYoungMb: number;
  placement: readonly number[];
}

function invalid(message: string): RuntimeError {
  return new RuntimeError('PXS_INVALID_OPTIONS', message);
}

/** Validates the options once, up front; everything after this asserts instead. */
function resolveOptions(o: ActorSystemOptions): Resolved {
  const { workers, actorModule, actors } = o;
  const ringBytes = o.ringBytes ?? RING_BYTES_DEFAULT;
  const tickMs = o.tickMs ?? TICK_MS_DEFAULT;
  if (!Number.isInteger(workers) || workers < 1 || workers > WORKERS_MAX) {
    throw invalid(`workers must be an integer in [1, ${WORKERS_MAX}]: ${workers}`);
  }
  if (typeof actorModule !== 'string' || !path.isAbsolute(actorModule)) {
    throw invalid(`actorModule must be an absolute path: ${String(actorModule)}`);
  }
  if (!Array.isArray(actors) || !actors.every(isActorId)) {
    throw invalid('actors must be an array of u32 actor ids (not CLIENT_ADDRESS)');
  }
  if (new Set(actors).size !== actors.length) throw invalid('actors contains duplicate ids');
  if (!Number.isInteger(ringBytes) || ringBytes < 256 || ringBytes > 1 << 30) {
    throw invalid(`ringBytes must be an integer in [256, 2^30]: ${ringBytes}`);
  }
  if (!Number.isFinite(tickMs) || tickMs < 1) throw invalid(`tickMs must be >= 1: ${tickMs}`);
  const actorConfig = o.actorConfig;
  const supervision = { ...SUPERVISION_DEFAULTS, ...(o.supervision ?? {}) };
  const { restartsMax, windowMs, backoffMs, backoffMsMax } = supervision;
  if (
    !Number.isInteger(restartsMax) ||
    restartsMax < 0 ||
    !(windowMs > 0) ||
    !(backoffMs >= 0) ||
    !(backoffMsMax >= backoffMs)
  ) {
    throw invalid(`bad supervision options: ${JSON.stringify(supervision)}`);
  }
  const remote = o.remote;
  if (remote !== undefined) {
    checked(() => checkRemoteRoute(remote));
    if (actors.some((id) => isRemoteActor(id, remote) || nodeOfActor(id, remote) === undefined)) {
      throw invalid(`every actor must belong to node ${remote.localNode}`);
    }
  }
  const workerHeapMb = o.workerHeapMb ?? defaultWorkerHeapMb(workers);
  if (
    !Number.isInteger(workerHeapMb) ||
    workerHeapMb < WORKER_HEAP_MB_MIN ||
    workerHeapMb > WORKER_HEAP_MB_MAX
  ) {
    throw invalid(
      `workerHeapMb must be an integer in [${WORKER_HEAP_MB_MIN}, ${WORKER_HEAP_MB_MAX}]: ${workerHeapMb}`,
    );
  }
  const workerYoungMb = o.workerYoungMb ?? WORKER_YOUNG_MB_DEFAULT;
  if (!isWorkerYoungMb(workerYoungMb)) {
    throw invalid(
      `workerYoungMb must be an integer in [${WORKER_YOUNG_MB_MIN}, ${WORKER_YOUNG_MB_MAX}]: ${workerYoungMb}`,
    );
  }
  return {
    workers,
    actorModule,
    actorConfig,
    actors: [...actors],
    ringBytes,
    tickMs,
    supervision,
    linkFaults: o.linkFaults,
    remote,
    workerHeapMb,
    workerYoungMb,
    placement: resolvePlacement(o.placement, workers),
  };
}

function resolvePlacement(placement: readonly number[] | undefined, workers: number): number[] {
  if (placement === undefined) return [];
  const problem = checkPlacement(placement, workers);
  if (problem !== undefined) throw invalid(problem);
  return [...placement];
}

function checked(run: () => void): void {
  try {
    run();
  } catch (error) {
    throw invalid(`bad remote route: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export class ActorSystem {
  static async start(o: ActorSystemOptions): Promise<ActorSystem> {
    const options = resolveOptions(o);
    const topology = allocateTopology(options.workers, options.ringBytes, options.placement);
    const system = new ActorSystem(topology, options);
    try {
      const errors = await system.eachWorker('ready', (h) => h.remote.ready());
      const failed = errors.flat();
      if (failed.length > 0) throw new RuntimeError('PXS_START_FAILED', describe(failed));
    } catch (error) {
      await system.close();
      throw error;
    }
    system.mailbox.start();
    system.supervising = true;
    return system;
  }

  private readonly mailbox: ThreadMailbox;
  private handler: Handler | undefined;
  private flushQueued = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = {
    handlerFailures: 0,
    unhandled: 0,
    remoteOut: 0,
    remoteIn: 0,
    remoteRefused: 0,
  };
  private remoteHandler: RemoteHandler | undefined;
  private readonly flushBound = (): void => this.flushSends();
  private readonly handles: WorkerHandle[] = [];
  // Supervision (see README "Supervision"): the client thread decides every restart, so one
  // policy covers an actor that throws, one that reports a failure, and a worker that dies.
  private supervising = false;
  private supervisionHandler: ((event: SupervisionEvent) => void) | undefined;
  private readonly states = new Map<ActorId, ActorState>();
  private readonly budgets = new Map<ActorId, RestartBudget>();
  private readonly timers = new Map<ActorId, NodeJS.Timeout>();
  private readonly workerStates: WorkerState[] = [];
  private readonly workerBudgets: RestartBudget[] = [];
  private readonly respawning: (Promise<void> | undefined)[] = [];
  private readonly supervisionCounters = { actorRestarts: 0, workerRestarts: 0 };

  private constructor(
    private readonly topology: Topology,
    private readonly options: Resolved,
  ) {
    this.mailbox = new ThreadMailbox(topology, topology.clientThread, this.clientHooks());
    for (const id of options.actors) this.states.set(id, 'running');
    for (let worker = 0; worker < options.workers; worker++) {
      this.workerStates.push('up');
      this.workerBudgets.push(new RestartBudget(options.supervision));
      this.respawning.push(undefined);
      const actors = options.actors.filter((id) => workerOfActor(id, topology) === worker);
      this.handles.push(this.spawn(worker, actors, false));
    }
    assert(this.handles.length === topology.workers, `${this.handles.length} worker handles`);
  }

  /** Queues `payload` for actor `to`; it leaves when the current macrotask's code is done. */
  send(to: number, payload: Uint8Array): void {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'send after close()');
    if (!isActorId(to)) throw new RuntimeError('PXS_INVALID_ADDRESS', `bad actor id ${to}`);
    if (payload.byteLength > MESSAGE_BYTES_MAX) {
      throw new RuntimeError(
        'PXS_PAYLOAD_TOO_LARGE',
        `${payload.byteLength} bytes > ${MESSAGE_BYTES_MAX}`,
      );
    }
    this.mailbox.send(this.workerOf(to), CLIENT_ADDRESS, to, payload);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushBound);
    }
  }

  /**
   * A cluster node's gateway: the handler of messages actors send to actors of other nodes
   * (view valid during the call). Without one they are counted as unhandled and dropped.
   */
  onRemote(handler: RemoteHandler): void {
    assert(typeof handler === 'function', 'onRemote needs a function');
    assert(this.options.remote !== undefined, 'onRemote without a remote route');
    this.remoteHandler = handler;
  }

  /**
   * A message from a remote actor (the network) to a local one. Refused (false, counted) when
   * `from` is not a remote actor of the layout or `to` is not local: the network never speaks
   * for local actors or the client endpoint. Queued like send(): it leaves with this macrotask.
   */
  deliverRemote(from: number, to: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    const remote = this.options.remote;
    const ok =
      remote !== undefined &&
      isRemoteActor(from, remote) &&
      isActorId(to) &&
      !isRemoteActor(to, remote) &&
      nodeOfActor(to, remote) !== undefined;
    if (!ok || payload.byteLength > MESSAGE_BYTES_MAX) {
      this.counters.remoteRefused++;
      return false;
    }
    this.counters.remoteIn++;
    this.mailbox.send(this.workerOf(to), from, to, payload);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushBound);
    }
    return true;
  }

  /** Sets the handler of records actors send to CLIENT_ADDRESS (view valid during the call). */
  onReceive(handler: Handler): void {
    assert(typeof handler === 'function', 'onReceive needs a function');
    this.handler = handler;
  }

  workerOf(actorId: number): number {
    if (!isActorId(actorId)) throw new RuntimeError('PXS_INVALID_ADDRESS', `bad id ${actorId}`);
    return workerOfActor(actorId, this.topology);
  }

  /** Discards actors at once, like a crash (their close() is not awaited); messages to them
   *  are dropped and counted by their worker until they are started again. */
  async stopActors(ids: number[]): Promise<void> {
    const groups = this.groupByWorker(ids);
    for (const id of ids) {
      this.cancelRestart(id);
      this.states.set(id, 'stopped');
    }
    await Promise.all(
      this.handles.map(async (h) => {
        const group = groups[h.index] ?? [];
        // A worker that is down holds none of its actors: they are stopped already.
        if (group.length === 0 || this.workerStates[h.index] !== 'up') return;
        await h
          .call('stopActors', () => h.remote.stopActors(group), CONTROL_TIMEOUT_MS)
          .catch((error: unknown) => {
            if (codeOf(error) !== 'PXS_WORKER_DIED') throw error;
          });
      }),
    );
  }

  /** Creates the actors anew with createActor (a restart; a failed actor gets a fresh restart
   *  budget). Rejects with PXS_START_FAILED if any could not be created (already running, its
   *  worker failed, or createActor threw). */
  async startActors(ids: number[]): Promise<void> {
    const groups = this.groupByWorker(ids);
    const failures = await Promise.all(
      this.handles.map((h, index) => {
        const group = groups[index] ?? [];
        return group.length === 0 ? Promise.resolve([]) : this.startOnWorker(index, group);
      }),
    );
    const failed = failures.flat();
    if (failed.length > 0) throw new RuntimeError('PXS_START_FAILED', describe(failed));
  }

  /** Per-worker counters, fetched over the control plane (zeros for a worker that is down). */
  async stats(): Promise<WorkerStats[]> {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
    return Promise.all(
      this.handles.map(async (h, worker) => {
        const state = this.workerStates[worker] ?? 'failed';
        if (state !== 'up') return { ...emptyWorkerStats(worker), state };
        try {
          const stats = await h.call('stats', () => h.remote.stats(), CONTROL_TIMEOUT_MS);
          return { ...stats, state };
        } catch (error) {
          if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
          if (codeOf(error) !== 'PXS_WORKER_DIED') throw error;
          return { ...emptyWorkerStats(worker), state: this.workerStates[worker] ?? 'failed' };
        }
      }),
    );
  }

  /** The supervisor's view of one actor. */
  actorState(actorId: number): ActorState {
    return this.states.get(actorId) ?? 'stopped';
  }

  /** Restart counters and the actors and workers that are restarting or failed. */
  supervisionStats(): SupervisionStats {
    const restartingActors: number[] = [];
    const failedActors: number[] = [];
    for (const [id, state] of this.states) {
      if (state === 'restarting') restartingActors.push(id);
      if (state === 'failed') failedActors.push(id);
    }
    const workers = this.workerStates.map((state, worker) => ({
      worker,
      state,
      restarts: this.workerBudgets[worker]?.restarts ?? 0,
    }));
    return { ...this.supervisionCounters, restartingActors, failedActors, workers };
  }

  /** Called with every supervision event (one handler; a later call replaces it). */
  onSupervision(handler: (event: SupervisionEvent) => void): void {
    this.supervisionHandler = handler;
  }

  /** A control-plane query to one actor (`Actor.inspect`), on the worker it is pinned to. An
   *  actor that is not running (or whose worker died meanwhile) answers PXS_NO_ACTOR. A query
   *  unanswered after `timeoutMs` (default 30 s) rejects: a paced scan may ask for longer. */
  async inspect(
    actorId: number,
    request: unknown,
    timeoutMs = CONTROL_TIMEOUT_MS,
  ): Promise<InspectResult> {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
    assert(
      Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= INSPECT_TIMEOUT_MS_MAX,
      () => `inspect timeout ${timeoutMs} ms`,
    );
    const index = this.workerOf(actorId);
    const handle = this.handles[index];
    assert(handle !== undefined, () => `no worker for actor ${actorId}`);
    const notRunning: InspectResult = {
      ok: false,
      code: 'PXS_NO_ACTOR',
      message: `actor ${actorId} is ${this.actorState(actorId)}`,
    };
    if (this.actorState(actorId) !== 'running' || this.workerStates[index] !== 'up')
      return notRunning;
    try {
      return await handle.call<InspectResult>(
        'inspect',
        () => handle.remote.inspect(actorId, request) as Promise<InspectResult>,
        timeoutMs,
      );
    } catch (error) {
      if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
      if (codeOf(error) !== 'PXS_WORKER_DIED') throw error;
      return { ok: false, code: 'PXS_NO_ACTOR', message: `the worker of actor ${actorId} died` };
    }
  }

  /** Counters of the client thread's own mailbox (synchronous: no worker involved). */
  clientStats(): ClientStats {
    return { ...this.mailbox.stats(), ...this.counters, ...threadCpuTimes() };
  }

  /**
   * Lets the actors quiesce (bounded by QUIESCE_TIMEOUT_MS), closes every actor (awaiting
   * close(), bounded), then terminates the workers.
   */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.flushSends();
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.quiesce();
    const live = this.handles.filter((h) => !h.hasExited);
    const results = await Promise.allSettled(
      live.map((h) =>
        h.call('close', () => h.remote.close(ACTOR_CLOSE_TIMEOUT_MS), CLOSE_TIMEOUT_MS),
      ),
    );
    for (const result of results) {
      if (result.status === 'rejected') console.error('[runtime] close:', result.reason);
    }
    this.mailbox.stop();
    await Promise.all(this.handles.map((h) => h.terminate()));
  }

  /**
   * Rounds of quiesce calls until two in a row are quiet with the same counters, or the
   * deadline passes (quiesce.ts). Only after a successful start: a start that failed closes
   * workers that may never answer. A worker that dies or does not answer ends the wait: close
   * goes on, as it would without this step.
   */
  private async quiesce(): Promise<void> {
    if (!this.supervising) return;
    const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
    let previous: string | undefined;
    // Bounded by the deadline: each round waits for the workers' answers (at most `remaining`).
    for (let remaining = QUIESCE_TIMEOUT_MS; remaining > 0; remaining = deadline - Date.now()) {
      const reports = await this.quiesceRound(remaining);
      if (reports === undefined) return;
      const live = new Set(reports.map((r) => r.thread));
      assert(live.size === reports.length, 'two reports from one thread');
      const signature = quietSignature(reports, live);
      if (signature !== undefined && signature === previous) return;
      previous = signature;
      if (signature === undefined)
        await new Promise((resolve) => setTimeout(resolve, QUIESCE_PAUSE_MS));
    }
    console.error(`[runtime] close: not quiet after ${QUIESCE_TIMEOUT_MS} ms; closing anyway`);
  }

  /** One round: every live worker's report, then the client thread's own. */
  private async quiesceRound(timeoutMs: number): Promise<ThreadQuiet[] | undefined> {
    this.flushSends();
    const live = this.handles.filter((h) => this.workerStates[h.index] === 'up' && !h.hasExited);
    let reports: ThreadQuiet[];
    try {
      reports = await Promise.all(
        live.map((h) => h.call('quiesce', () => h.remote.quiesce(), timeoutMs)),
      );
    } catch (error) {
      console.error('[runtime] close: quiesce:', error);
      return undefined;
    }
    // What the workers answered to may have reached this thread's rings meanwhile: the pump
    // reads them on its own turns; the report only says whether anything is left unread.
    this.flushSends();
    const stats = this.mailbox.stats();
    reports.push({
      thread: this.topology.clientThread,
      idle: this.mailbox.overflowPending() === 0,
      ringOccupancyBytes: stats.ringOccupancyBytes,
      messagesIn: stats.messagesIn,
      messagesOut: stats.messagesOut,
      localMessages: 0,
    });
    return reports;
  }

  // ---- supervision ----

  private spawn(worker: number, actors: number[], respawned: boolean): WorkerHandle {
    const init: WorkerInit = {
      topology: this.topology,
      worker,
      actorModule: this.options.actorModule,
      actorConfig: this.options.actorConfig,
      actors,
      tickMs: this.options.tickMs,
      restarted: respawned,
      respawned,
      ...(this.options.linkFaults !== undefined ? { linkFaults: this.options.linkFaults } : {}),
      ...(this.options.remote !== undefined ? { remote: this.options.remote } : {}),
    };
    let handle: WorkerHandle | undefined = undefined;
    const listener: WorkerListener = {
      onEvent: (event) => this.onActorFailed(event.id, event.reason),
      // Only the current thread of a slot counts: a replaced one's exit is old news.
      onExit: (code) => {
        if (handle !== undefined && this.handles[worker] === handle)
          this.onWorkerExit(worker, code);
      },
    };
    const { workerHeapMb, workerYoungMb } = this.options;
    handle = new WorkerHandle(worker, init, listener, workerHeapMb, workerYoungMb);
    return handle;
  }

  /** An embedder's start of actors on one worker; returns the ids it could not start. */
  private async startOnWorker(index: number, ids: number[]): Promise<StartFailure[]> {
    for (const id of ids) {
      this.cancelRestart(id);
      this.budgetOf(id).reset();
    }
    if (this.workerStates[index] === 'failed') {
      return ids.map((id) => ({ id, message: `PXS_WORKER_FAILED: worker ${index} failed` }));
    }
    // 'restarting' until confirmed: a worker that dies meanwhile respawns with these actors.
    const previous = new Map(ids.map((id) => [id, this.actorState(id)]));
    for (const id of ids) this.states.set(id, 'restarting');
    if (this.workerStates[index] === 'up') {
      const h = this.handles[index];
      assert(h !== undefined, `no handle for worker ${index}`);
      try {
        const answers = await h.call(
          'startActors',
          () => h.remote.startActors(ids, false),
          CONTROL_TIMEOUT_MS,
        );
        // An actor the supervisor was restarting may have been created by it meanwhile: it
        // runs, which is what the caller asked for. Starting one that already ran is an error.
        const failures = answers.filter(
          (f) => previous.get(f.id) === 'running' || !f.message.startsWith('PXS_ACTOR_RUNNING'),
        );
        const failed = new Set(failures.map((f) => f.id));
        for (const id of ids) {
          if (this.states.get(id) !== 'restarting') continue;
          this.states.set(
            id,
            failed.has(id) ? (previous.get(id) === 'running' ? 'running' : 'stopped') : 'running',
          );
        }
        return failures;
      } catch (error) {
        if (codeOf(error) !== 'PXS_WORKER_DIED') throw error;
      }
    }
    await this.respawning[index];
    return ids
      .filter((id) => this.states.get(id) !== 'running')
      .map((id) => ({ id, message: `PXS_WORKER_DIED: actor ${id} did not come back` }));
  }

  private onActorFailed(id: number, reason: string): void {
    const state = this.states.get(id);
    if (this.closed || !this.supervising || (state !== 'running' && state !== 'restarting')) return;
    this.emit({ kind: 'down', actors: [id], reason });
    this.scheduleActorRestart(id, reason);
  }

  private scheduleActorRestart(id: number, reason: string): void {
    this.cancelRestart(id);
    const delay = this.budgetOf(id).next(Date.now());
    if (delay === undefined) {
      this.states.set(id, 'failed');
      const { restartsMax, windowMs } = this.options.supervision;
      console.error(
        `[runtime] actor ${id} failed again after ${restartsMax} restarts within ${windowMs} ms; marked failed: ${reason}`,
      );
      this.emit({ kind: 'failed', actors: [id], reason });
      return;
    }
    assert(!this.timers.has(id), () => `actor ${id} has two restart timers`);
    this.states.set(id, 'restarting');
    console.error(`[runtime] restarting actor ${id} in ${delay} ms (${reason})`);
    const timer = setTimeout(() => void this.restartActor(id), delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  private async restartActor(id: number): Promise<void> {
    this.timers.delete(id);
    const index = this.workerOf(id);
    // A worker being respawned brings the actor back itself.
    if (this.closed || this.states.get(id) !== 'restarting' || this.workerStates[index] !== 'up')
      return;
    const h = this.handles[index];
    assert(h !== undefined, `no handle for worker ${index}`);
    this.supervisionCounters.actorRestarts++;
    let failures: StartFailure[];
    try {
      failures = await h.call(
        'startActors',
        () => h.remote.startActors([id], true),
        CONTROL_TIMEOUT_MS,
      );
    } catch (error) {
      if (codeOf(error) === 'PXS_WORKER_DIED') return;
      failures = [{ id, message: String(error) }];
    }
    if (this.closed) return;
    if (this.states.get(id) === 'stopped' && failures.length === 0) {
      // Stopped by the embedder while we were creating it: stop what we created.
      await this.stopOnWorker(index, [id]);
      return;
    }
    if (this.states.get(id) !== 'restarting') return;
    if (failures.length > 0) {
      this.scheduleActorRestart(id, failures.map((f) => f.message).join('; '));
      return;
    }
    this.states.set(id, 'running');
    this.emit({ kind: 'up', actors: [id], reason: 'restarted' });
  }

  private onWorkerExit(index: number, code: number): void {
    if (this.closed || !this.supervising) return;
    const reason = `worker ${index} exited with code ${code}`;
    const ids = this.actorsOfWorker(
      index,
      (state) => state === 'running' || state === 'restarting',
    );
    for (const id of ids) {
      this.cancelRestart(id);
      this.states.set(id, 'restarting');
    }
    if (ids.length > 0) this.emit({ kind: 'down', actors: ids, reason });
    const budget = this.workerBudgets[index];
    assert(budget !== undefined, `no budget for worker ${index}`);
    const delay = budget.next(Date.now());
    if (delay === undefined) {
      this.workerStates[index] = 'failed';
      for (const id of ids) this.states.set(id, 'failed');
      console.error(`[runtime] ${reason}: restart bound spent, worker marked failed`);
      if (ids.length > 0) this.emit({ kind: 'failed', actors: ids, reason });
      return;
    }
    this.workerStates[index] = 'restarting';
    console.error(`[runtime] ${reason}; respawning it in ${delay} ms`);
    this.respawning[index] = new Promise<void>((resolve) => {
      setTimeout(() => void this.respawnWorker(index).finally(resolve), delay).unref();
    });
  }

  /**
   * Replaces a dead worker thread. Every other thread first drops what the dead one published
   * and they have not read (a crashed incarnation's messages, perhaps half a fragmented one);
   * the new thread starts producing at each ring's current tail, drops what its predecessor
   * left unread (a crashed process loses its inbound messages, and a message that crashed the
   * worker must not crash its successor), and drops continuation fragments until a message
   * begins. The requests lost with them were failed by the 'down' event.
   */
  private async respawnWorker(index: number): Promise<void> {
    if (this.closed) return;
    assert(
      this.workerStates[index] === 'restarting',
      () => `respawn of worker ${index} in state ${this.workerStates[index]}`,
    );
    assert(
      this.handles[index]?.hasExited === true,
      () => `respawn of worker ${index} whose thread still runs`,
    );
    this.supervisionCounters.workerRestarts++;
    this.mailbox.resetInbound(index);
    await Promise.allSettled(
      this.handles.map((h, i) =>
        i === index || this.workerStates[i] !== 'up'
          ? undefined
          : h.call('peerRestarted', () => h.remote.peerRestarted(index), CONTROL_TIMEOUT_MS),
      ),
    );
    if (this.closed) return;
    const ids = this.actorsOfWorker(index, (state) => state === 'restarting');
    const handle = this.spawn(index, ids, true);
    this.handles[index] = handle;
    let failures: StartFailure[];
    try {
      failures = await handle.call('ready', () => handle.remote.ready(), CONTROL_TIMEOUT_MS);
    } catch (error) {
      // Died again: its exit handler takes over (bounded by the worker's budget). Hung: end it.
      if (codeOf(error) !== 'PXS_WORKER_DIED') await handle.terminate();
      return;
    }
    if (this.closed || this.handles[index] !== handle) return;
    this.workerStates[index] = 'up';
    const failed = new Set(failures.map((f) => f.id));
    const up = ids.filter((id) => !failed.has(id) && this.states.get(id) === 'restarting');
    for (const id of up) this.states.set(id, 'running');
    if (up.length > 0) this.emit({ kind: 'up', actors: up, reason: `worker ${index} respawned` });
    for (const f of failures)
      if (this.states.get(f.id) === 'restarting') this.scheduleActorRestart(f.id, f.message);
    // Stopped by the embedder during the respawn: stop what the new thread created.
    const stale = ids.filter((id) => !failed.has(id) && this.states.get(id) === 'stopped');
    if (stale.length > 0) await this.stopOnWorker(index, stale);
  }

  private async stopOnWorker(index: number, ids: number[]): Promise<void> {
    const h = this.handles[index];
    if (h === undefined || this.workerStates[index] !== 'up' || this.closed) return;
    await h
      .call('stopActors', () => h.remote.stopActors(ids), CONTROL_TIMEOUT_MS)
      .catch((error: unknown) => {
        console.error(`[runtime] stopping actors ${ids.join()} on worker ${index}:`, error);
      });
  }

  private actorsOfWorker(index: number, which: (state: ActorState) => boolean): number[] {
    const ids: number[] = [];
    for (const [id, state] of this.states) {
      if (which(state) && workerOfActor(id, this.topology) === index) ids.push(id);
    }
    return ids;
  }

  private budgetOf(id: number): RestartBudget {
    let budget = this.budgets.get(id);
    if (budget === undefined) {
      budget = new RestartBudget(this.options.supervision);
      this.budgets.set(id, budget);
    }
    return budget;
  }

  private cancelRestart(id: number): void {
    const timer = this.timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(id);
  }

  private emit(event: SupervisionEvent): void {
    try {
      this.supervisionHandler?.(event);
    } catch (error) {
      console.error('[runtime] supervision handler threw:', error);
    }
  }

  private flushSends(): void {
    this.flushQueued = false;
    this.mailbox.flushOutboxes();
  }

  private groupByWorker(ids: number[]): number[][] {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
    const groups: number[][] = this.handles.map(() => []);
    for (const id of ids) groups[this.workerOf(id)]?.push(id);
    return groups;
  }

  private eachWorker<T>(what: string, request: (h: WorkerHandle) => Promise<T>): Promise<T[]> {
    return Promise.all(this.handles.map((h) => h.call(what, () => request(h), CONTROL_TIMEOUT_MS)));
  }

  private clientHooks(): MailboxHooks {
    return {
      beforeDrain: () => false,
      deliver: (from, to, payload) => this.deliverToClient(from, to, payload),
      afterDrain: () => undefined,
      hasLocalWork: () => false,
    };
  }

  private deliverToClient(from: number, to: number, payload: Uint8Array): void {
    if (to !== CLIENT_ADDRESS) {
      this.deliverToRemote(from, to, payload);
      return;
    }
    const handler = this.handler;
    if (handler === undefined) {
      this.counters.unhandled++;
      return;
    }
    try {
      handler(from, payload);
    } catch (error) {
      // The handler is application code on the client thread: report it and keep delivering,
      // since stopping the pump would strand every later reply.
      this.counters.handlerFailures++;
      console.error(`[runtime] onReceive handler threw on a record from ${from}:`, error);
    }
  }

  private deliverToRemote(from: number, to: number, payload: Uint8Array): void {
    if (!isRemoteActor(to, this.options.remote))
      assert(false, `client thread got a record for ${to}`);
    const handler = this.remoteHandler;
    if (handler === undefined) {
      this.counters.unhandled++;
      return;
    }
    this.counters.remoteOut++;
    try {
      handler(from, to, payload);
    } catch (error) {
      this.counters.handlerFailures++;
      console.error(`[runtime] onRemote handler threw on a record from ${from} to ${to}:`, error);
    }
  }
}
