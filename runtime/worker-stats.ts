/** What `ActorSystem.stats()` reports for each worker (plain data: it crosses a MessagePort). */
import type { GcStats } from './gc-stats';
import type { OffloadStats } from './offload-pool';
import type { MailboxStats } from './thread-mailbox';

export interface WorkerStats extends MailboxStats {
  worker: number;
  /** Live actors on this worker. */
  actors: number;
  /** Messages to stopped, failed or unknown actors, and sends by stopped actors. */
  dropped: number;
  /** Messages dropped because a partition cut their link (link-faults.ts). */
  droppedByLinkFault: number;
  /** Actors stopped because one of their methods threw. */
  actorFailures: number;
  /** Tick rounds run (each calls tick() on every actor). */
  ticks: number;
  /** Messages between actors of this worker (local queue, not rings). */
  localMessages: number;
  /** Of `localMessages`, message objects (ActorHost.sendObject): nothing encoded or decoded. */
  localObjects: number;
  localQueueHighWater: number;
  /** The worker's shared offload pool (absent for a worker that is down). */
  offload?: OffloadStats;
  /**
   * V8 heap of the worker thread (its own isolate): bytes in objects (live or not yet
   * collected), bytes committed for the heap, and the limit it may grow to.
   */
  heapUsedBytes?: number;
  heapCommittedBytes?: number;
  heapLimitBytes?: number;
  /** CPU time of the worker thread since it started (thread-cpu.ts; absent off Linux). */
  cpuMicros?: number;
  /** Time the worker thread was runnable but waited for a CPU (thread-cpu.ts; absent off Linux). */
  cpuWaitMicros?: number;
  /** The worker thread's collector pauses (gc-stats.ts). */
  gc?: GcStats;
  /** Per-thread counters of the modules loaded on it, by module (thread-counters.ts). */
  moduleCounters?: Record<string, Record<string, number>>;
  /** Set by ActorSystem.stats(): the supervisor's view of the worker thread. */
  state?: 'up' | 'restarting' | 'failed';
}
