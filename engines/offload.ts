/**
 * The offload port engines run their background CPU and I/O work through (bitcask merges,
 * memory-log compaction). Declared here so engines import nothing of the runtime: the worker
 * runtime's shared pool (`runtime/offload-pool.ts`, `ActorHost.offload`) fits it as it is, and
 * a test may pass any object with this shape. An engine given none makes a private one-thread
 * piscina pool when it first needs one (standalone use, the conformance suite).
 */

/** A compiled module by absolute path and the export to call (default `default`). */
export interface EngineOffloadTask {
  readonly filename: string;
  readonly name?: string;
}

export interface EngineOffload {
  /**
   * Runs `task` on `input` in another thread; input and result are structured-clonable data.
   * Aborting `signal` rejects the task. Rejections with a `code` are the pool's operating
   * errors (closed, busy, cancelled).
   */
  run(
    task: EngineOffloadTask,
    input: unknown,
    options?: { readonly signal?: AbortSignal; readonly transferList?: ArrayBuffer[] },
  ): Promise<unknown>;
}
