/**
 * The control plane between the client thread and a worker: what the worker gets at start
 * (`workerData`) and what it exposes over comlink on its parentPort. Never the data path:
 * messages between actors go through the rings.
 */
import type { InspectResult } from './actor';
import type { Topology } from './topology';
import type { WorkerStats } from './worker-stats';

export interface WorkerInit {
  readonly topology: Topology;
  readonly worker: number;
  readonly actorModule: string;
  readonly actorConfig: unknown;
  /** Actors this worker creates before it starts draining its rings. */
  readonly actors: readonly number[];
  readonly tickMs: number;
}

export interface WorkerApi {
  /** Resolves once the initial actors exist; returns one message per actor that failed. */
  ready(): Promise<string[]>;
  startActors(ids: number[]): Promise<string[]>;
  stopActors(ids: number[]): void;
  stats(): WorkerStats;
  /** Asks one live actor of this worker a control-plane question (`Actor.inspect`). */
  inspect(id: number, request: unknown): Promise<InspectResult>;
  /** Closes every actor (each close() bounded by `actorCloseTimeoutMs`) and stops the pump. */
  close(actorCloseTimeoutMs: number): Promise<void>;
}
