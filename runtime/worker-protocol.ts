/**
 * The control plane between the client thread and a worker: what the worker gets at start
 * (`workerData`) and what it exposes over comlink on its parentPort. Never the data path:
 * messages between actors go through the rings.
 */
import type { InspectResult } from './actor';
import type { Topology } from './topology';
import type { LinkFaultsConfig } from './link-faults';
import type { RemoteRoute } from './remote-route';
import type { WorkerStats } from './worker-stats';
import type { ThreadQuiet } from './quiesce';

export interface WorkerInit {
  readonly topology: Topology;
  readonly worker: number;
  readonly actorModule: string;
  readonly actorConfig: unknown;
  /** Actors this worker creates before it starts draining its rings. */
  readonly actors: readonly number[];
  readonly tickMs: number;
  /** The initial actors are supervised restarts (ActorHost.restarted). */
  readonly restarted: boolean;
  /** This thread replaces a worker that died: its inbound rings may start mid-message. */
  readonly respawned: boolean;
  /** Cut links between nodes (partitions), applied to every send and delivery. */
  readonly linkFaults?: LinkFaultsConfig;
  /** A cluster node's layout: which actors are remote (remote-route.ts). */
  readonly remote?: RemoteRoute;
}

/** An actor that could not be created, with the reason (its code first). */
export interface StartFailure {
  readonly id: number;
  readonly message: string;
}

/**
 * Posted by a worker on its parentPort beside comlink's traffic (comlink ignores messages
 * without an id): an actor failed and was stopped. The client thread's supervisor decides.
 */
export interface WorkerEvent {
  readonly pxsEvent: { readonly kind: 'actorFailed'; readonly id: number; readonly reason: string };
}

export interface WorkerApi {
  /** Resolves once the initial actors exist; returns one message per actor that failed. */
  ready(): Promise<StartFailure[]>;
  /** `restarted`: supervised restarts (ActorHost.restarted), not a start the embedder asked for. */
  startActors(ids: number[], restarted: boolean): Promise<StartFailure[]>;
  /** Another worker died and is being respawned: drop its unread records (resetInbound). */
  peerRestarted(thread: number): number;
  stopActors(ids: number[]): void;
  stats(): WorkerStats;
  /** Asks one live actor of this worker a control-plane question (`Actor.inspect`). */
  inspect(id: number, request: unknown): Promise<InspectResult>;
  /**
   * close() is coming: stops the ticks, asks each actor to start what it owes (Actor.quiesce)
   * and reports whether this thread is quiet (quiesce.ts). Called once per round.
   */
  quiesce(): ThreadQuiet;
  /** Closes every actor (each close() bounded by `actorCloseTimeoutMs`) and stops the pump. */
  close(actorCloseTimeoutMs: number): Promise<void>;
}
