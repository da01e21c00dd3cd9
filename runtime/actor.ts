/**
 * The actor contract shared by the worker-thread runtime and the deterministic simulator.
 *
 * The runtime knows nothing about Paxos: an actor is addressed by a non-negative integer id,
 * receives opaque byte payloads one at a time, and is told when a drain batch ends (`flush`)
 * so it can aggregate its outgoing traffic into one record per destination.
 */

/** Address of the client endpoint (the thread that embeds the store, usually the main thread). */
export const CLIENT_ADDRESS = 0xffff_fffe;

export type ActorId = number;

/** What an actor may do to the world. Supplied by the worker runtime or by the simulator. */
export interface ActorHost {
  readonly actorId: ActorId;
  /**
   * Queue a payload for another actor (or CLIENT_ADDRESS). Delivered in order per pair. The
   * payload is read (copied) during the call only: the caller may reuse its buffer after.
   */
  send(to: ActorId, payload: Uint8Array): void;
  /**
   * Queue a message object for another actor of this thread: the receiver's `receiveObject`
   * gets the very object, in order with `send`'s payloads between the same pair, with the same
   * faults (a cut link drops it), and no bytes are encoded or decoded (decision "Same-thread
   * messages as objects"). Returns false, and queues nothing, when `to` is not an actor of
   * this thread (another worker, another node, the client): the caller sends bytes instead.
   * Once sent, the object and everything it references belong to no one: neither side may
   * write into them (the simulator checks this). Optional: a host without it sends bytes.
   */
  sendObject?(to: ActorId, message: object): boolean;
  /** Milliseconds from the injectable clock (virtual in the simulator). */
  now(): number;
  /**
   * True when the runtime's supervisor created this actor again after a failure of its
   * predecessor (an exception, a reported failure, or the death of its worker thread): the
   * predecessor's memory is gone, so an actor that keeps its state only in memory must come
   * back as one that lost it. Absent or false for a start the embedder asked for.
   */
  readonly restarted?: boolean;
  /**
   * Reports a failure the actor cannot recover from itself (e.g. its storage failed): the
   * runtime stops it, as if a method had thrown, and its supervisor restarts it from durable
   * state (bounded, with backoff). Optional: the simulator has its own crash model.
   */
  fail?(reason: unknown): void;
  /**
   * The worker's shared offload pool (runtime/offload-pool.ts) for CPU work that would block
   * this thread: engine merges, digest scans. Absent in the simulator: actors then do the work
   * in their own thread.
   */
  readonly offload?: Offload;
}

/** A task run off the actor's thread: a compiled module by absolute path and its export. */
export interface OffloadTask {
  readonly filename: string;
  /** The module's export to call; default `default`. */
  readonly name?: string;
}

export interface OffloadRunOptions {
  /** Aborting rejects the task (code PXS_OFFLOAD_CANCELLED) and ends it if it is running. */
  readonly signal?: AbortSignal;
  /** Buffers moved to the pool's thread instead of copied; unusable here afterwards. */
  readonly transferList?: ArrayBuffer[];
}

/**
 * A shared pool of threads for offloaded tasks. `input` and the result cross a thread boundary:
 * plain structured-clonable data (STYLE.md §1). Operating errors carry a `code`:
 * PXS_OFFLOAD_CLOSED, PXS_OFFLOAD_BUSY (queue full), PXS_OFFLOAD_CANCELLED.
 */
export interface Offload {
  run(task: OffloadTask, input: unknown, options?: OffloadRunOptions): Promise<unknown>;
}

export interface Actor {
  /**
   * One inbound record. The payload view is only valid during the call: copy what you keep.
   * Unless `owned`: then the payload is a copy made for this delivery alone (a same-worker
   * delivery from the local queue), which nothing else reads or writes, so the actor may keep
   * views of it instead of copying.
   */
  receive(from: ActorId, payload: Uint8Array, owned?: boolean): void;
  /**
   * One message object from an actor of this thread (`ActorHost.sendObject`). Read it, never
   * write into it: a duplicated delivery hands the same object over again. Required of an
   * actor that sends objects (only its own kind receives them).
   */
  receiveObject?(from: ActorId, message: object): void;
  /** End of a drain batch: emit aggregated output now. */
  flush(): void;
  /** One unit of logical time (the runtime calls it every `tickMs`). */
  tick(): void;
  /**
   * Optional: close() is coming (runtime/quiesce.ts). Start now what the actor owes and would
   * otherwise start later (messages held back, a write waiting to batch more), and return true
   * when nothing of its own is in flight (no storage read or write pending, nothing staged).
   * Called repeatedly until every actor and mailbox is quiet or a deadline passes; ticks have
   * stopped by then. An actor without it counts as quiet.
   */
  quiesce?(): boolean;
  /** Stop: release resources. After this no method is called again. */
  close(): Promise<void>;
  /**
   * Optional control-plane query (inspection, verification, admin), never the data path.
   * Request and answer are plain structured-clonable data. Runs on the actor's thread between
   * deliveries, like every other method.
   */
  inspect?(request: unknown): Promise<unknown>;
}

/** The answer of an inspect call as it crosses the control plane (errors keep their code). */
export type InspectResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Builds an actor inside a worker (or the simulator) from plain, structured-clonable config. */
export type ActorFactory<Config> = (id: ActorId, host: ActorHost, config: Config) => Actor;
