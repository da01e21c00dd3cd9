/**
 * The supervisor's vocabulary (actor and worker states, events, counters) and the small
 * helpers ActorSystem uses with it. Plain data only: events and stats cross no thread, but
 * embedders keep them.
 */
import type { StartFailure } from './worker-protocol';
import type { WorkerStats } from './worker-stats';

/**
 * What the supervisor holds for an actor: `running`; `stopped` by the embedder (stopActors);
 * `restarting` after a failure (or while its worker is respawned); `failed` once its restart
 * bound is spent (it stays down until the embedder starts it again).
 */
export type ActorState = 'running' | 'stopped' | 'restarting' | 'failed';
export type WorkerState = 'up' | 'restarting' | 'failed';

/** `down`: actors stopped by a failure (requests in flight on them will not be answered). */
export interface SupervisionEvent {
  readonly kind: 'down' | 'up' | 'failed';
  readonly actors: readonly number[];
  readonly reason: string;
}

export interface SupervisionStats {
  /** Supervised restarts of single actors on live workers. */
  readonly actorRestarts: number;
  /** Worker threads respawned after they died (each restarts all its actors). */
  readonly workerRestarts: number;
  readonly restartingActors: number[];
  readonly failedActors: number[];
  readonly workers: { worker: number; state: WorkerState; restarts: number }[];
}

export function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

export function describe(failures: readonly (StartFailure | string)[]): string {
  return failures.map((f) => (typeof f === 'string' ? f : f.message)).join('; ');
}

/** The stats of a worker that is down: it has no live actors and moves no messages. */
export function emptyWorkerStats(worker: number): WorkerStats {
  return {
    worker,
    actors: 0,
    dropped: 0,
    droppedByLinkFault: 0,
    actorFailures: 0,
    ticks: 0,
    localMessages: 0,
    localObjects: 0,
    localQueueHighWater: 0,
    messagesIn: 0,
    messagesOut: 0,
    ringOccupancyBytes: [],
    overflowRecords: 0,
    overflowBytes: 0,
    overflowBytesHighWater: 0,
    parks: 0,
    wakes: 0,
    parkedMicros: 0,
    turns: 0,
    spinOffs: 0,
    spinOn: false,
  };
}
