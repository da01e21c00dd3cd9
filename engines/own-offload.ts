/**
 * An engine's own offload when it was given none (standalone use, the conformance suite): one
 * piscina thread, made on the first task, destroyed when the engine closes. One thread is
 * enough: an engine's merges run one at a time.
 */
import { Piscina } from 'piscina';
import type { EngineOffload, EngineOffloadTask } from './offload';

export class OwnOffload implements EngineOffload {
  private pool: Piscina | undefined = undefined;

  run(
    task: EngineOffloadTask,
    input: unknown,
    options?: { readonly signal?: AbortSignal; readonly transferList?: ArrayBuffer[] },
  ): Promise<unknown> {
    this.pool ??= new Piscina({
      filename: task.filename,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 5_000,
    });
    return this.pool.run(input, {
      filename: task.filename,
      name: task.name,
      signal: options?.signal,
      transferList: options?.transferList,
    });
  }

  /** Ends the thread (a later task makes a new one). */
  async destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}
