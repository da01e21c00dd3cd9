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
import { allocateTopology, isActorId, workerOfActor } from './topology';
import type { Topology } from './topology';
import { WorkerHandle } from './worker-handle';
import type { WorkerStats } from './worker-stats';

export type { WorkerStats } from './worker-stats';

export interface ActorSystemOptions {
  /** Worker threads, >= 1 (the caller picks the default, e.g. the number of cores). */
  workers: number;
  /** Absolute path of a compiled JS module exporting `createActor: ActorFactory<unknown>`. */
  actorModule: string;
  /** Structured-clonable (may hold SharedArrayBuffers); passed to every createActor call. */
  actorConfig: unknown;
  /** Actors created at start; each is pinned to a worker by a hash of its id. */
  actors: number[];
  /** Bytes per ring (rounded up to a power of two); default 4 MiB. */
  ringBytes?: number;
  /** Period of every actor's tick(), default 10 ms. */
  tickMs?: number;
}

export interface ClientStats extends MailboxStats {
  /** onReceive handler calls that threw (logged, then delivery went on). */
  handlerFailures: number;
  /** Records that arrived while no onReceive handler was set. */
  unhandled: number;
}

const RING_BYTES_DEFAULT = 4 * 1024 * 1024;
const TICK_MS_DEFAULT = 10;
const WORKERS_MAX = 256;
/** Deadline of a control-plane call (start, stop, stats). */
const CONTROL_TIMEOUT_MS = 30_000;
/** Deadline of each actor's close() during close(), and of close() as a whole. */
const ACTOR_CLOSE_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 10_000;

type Handler = (from: number, payload: Uint8Array) => void;

interface Resolved {
  workers: number;
  actorModule: string;
  actorConfig: unknown;
  actors: number[];
  ringBytes: number;
  tickMs: number;
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
  return { workers, actorModule, actorConfig, actors: [...actors], ringBytes, tickMs };
}

export class ActorSystem {
  static async start(o: ActorSystemOptions): Promise<ActorSystem> {
    const options = resolveOptions(o);
    const topology = allocateTopology(options.workers, options.ringBytes);
    const handles: WorkerHandle[] = [];
    for (let worker = 0; worker < options.workers; worker++) {
      const actors = options.actors.filter((id) => workerOfActor(id, options.workers) === worker);
      const init = { ...options, topology, worker, actors };
      handles.push(new WorkerHandle(worker, init));
    }
    const system = new ActorSystem(topology, handles);
    try {
      const errors = await system.eachWorker('ready', (h) => h.remote.ready());
      const failed = errors.flat();
      if (failed.length > 0) throw new RuntimeError('PXS_START_FAILED', failed.join('; '));
    } catch (error) {
      await system.close();
      throw error;
    }
    system.mailbox.start();
    return system;
  }

  private readonly mailbox: ThreadMailbox;
  private handler: Handler | undefined;
  private flushQueued = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = { handlerFailures: 0, unhandled: 0 };
  private readonly flushBound = (): void => this.flushSends();

  private constructor(
    private readonly topology: Topology,
    private readonly handles: WorkerHandle[],
  ) {
    assert(handles.length === topology.workers, `${handles.length} worker handles`);
    this.mailbox = new ThreadMailbox(topology, topology.clientThread, this.clientHooks());
  }

  /** Queues `payload` for actor `to`; it leaves when the current macrotask's code is done. */
  send(to: number, payload: Uint8Array): void {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'send after close()');
    if (!isActorId(to)) throw new RuntimeError('PXS_INVALID_ADDRESS', `bad actor id ${to}`);
    if (payload.byteLength > MESSAGE_BYTES_MAX) {
      throw new RuntimeError('PXS_PAYLOAD_TOO_LARGE', `${payload.byteLength} bytes > ${MESSAGE_BYTES_MAX}`);
    }
    this.mailbox.send(this.workerOf(to), CLIENT_ADDRESS, to, payload);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushBound);
    }
  }

  /** Sets the handler of records actors send to CLIENT_ADDRESS (view valid during the call). */
  onReceive(handler: Handler): void {
    assert(typeof handler === 'function', 'onReceive needs a function');
    this.handler = handler;
  }

  workerOf(actorId: number): number {
    if (!isActorId(actorId)) throw new RuntimeError('PXS_INVALID_ADDRESS', `bad id ${actorId}`);
    return workerOfActor(actorId, this.topology.workers);
  }

  /** Discards actors at once, like a crash (their close() is not awaited); messages to them
   *  are dropped and counted by their worker until they are started again. */
  async stopActors(ids: number[]): Promise<void> {
    const groups = this.groupByWorker(ids);
    await this.eachWorker('stopActors', (h) => h.remote.stopActors(groups[h.index] ?? []));
  }

  /** Creates the actors anew with createActor (a restart). Rejects with PXS_START_FAILED if
   *  any could not be created (already running, or createActor threw). */
  async startActors(ids: number[]): Promise<void> {
    const groups = this.groupByWorker(ids);
    const errors = await this.eachWorker('startActors', (h) => {
      const group = groups[h.index] ?? [];
      return group.length === 0 ? Promise.resolve([]) : h.remote.startActors(group);
    });
    const failed = errors.flat();
    if (failed.length > 0) throw new RuntimeError('PXS_START_FAILED', failed.join('; '));
  }

  /** Per-worker counters, fetched over the control plane. */
  async stats(): Promise<WorkerStats[]> {
    return this.eachWorker('stats', (h) => h.remote.stats());
  }

  /** A control-plane query to one actor (`Actor.inspect`), on the worker it is pinned to. */
  async inspect(actorId: number, request: unknown): Promise<InspectResult> {
    if (this.closed) throw new RuntimeError('PXS_CLOSED', 'system is closed');
    const handle = this.handles[this.workerOf(actorId)];
    assert(handle !== undefined, () => `no worker for actor ${actorId}`);
    return handle.call<InspectResult>('inspect', () => handle.remote.inspect(actorId, request) as Promise<InspectResult>, CONTROL_TIMEOUT_MS);
  }

  /** Counters of the client thread's own mailbox (synchronous: no worker involved). */
  clientStats(): ClientStats {
    return { ...this.mailbox.stats(), ...this.counters };
  }

  /** Closes every actor (awaiting close(), bounded), then terminates the workers. */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.flushSends();
    this.closed = true;
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
    assert(to === CLIENT_ADDRESS, `client thread got a record for ${to}`);
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
}
