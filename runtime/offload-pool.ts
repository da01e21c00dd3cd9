/**
 * OffloadPool: one piscina pool shared by everything on one thread that has CPU work to move
 * off it (docs/decisions.md, "One offload pool per worker thread"). The worker runtime makes
 * one per worker and hands it to its actors as `ActorHost.offload`; engines get it through
 * their `offload` option. It knows nothing of what it runs: a task names a compiled module and
 * its export (`OffloadTask`), and the module is loaded in the pool's thread on first use.
 *
 * Bounds: `threadsMax` threads (default 1, started with the first task, kept until close), and
 * at most `threadsMax + queueMax` tasks submitted and not finished; one more is refused with
 * PXS_OFFLOAD_BUSY rather than queued without end. `close()` cancels every task (queued ones
 * are dropped, running ones end with their thread) and destroys the pool; `run` afterwards
 * rejects with PXS_OFFLOAD_CLOSED.
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Offload, OffloadRunOptions, OffloadTask } from './actor';
import { assert } from './assert';
import { RuntimeError } from './errors';

export const OFFLOAD_THREADS_DEFAULT = 1;
export const OFFLOAD_QUEUE_MAX_DEFAULT = 64;
/** Threads above minThreads end after this idle (none while minThreads = threadsMax). */
const IDLE_TIMEOUT_MS_DEFAULT = 5_000;
/** Distinct task modules one pool will load: a handful in practice (merge, digest). */
export const OFFLOAD_TASK_MODULES_MAX = 32;

export interface OffloadPoolOptions {
  readonly threadsMax?: number;
  readonly queueMax?: number;
  readonly idleTimeoutMs?: number;
}

/** Plain data: reported per worker in `WorkerStats.offload`. */
export interface OffloadStats {
  /** Piscina pools this instance has created: 0 until the first task, then 1. */
  readonly pools: number;
  /** Threads alive now, and the bound. */
  readonly threads: number;
  readonly threadsMax: number;
  /** Tasks submitted and not finished now (waiting or running). */
  readonly queued: number;
  readonly tasksRun: number;
  readonly tasksFailed: number;
  readonly tasksCancelled: number;
  /** Refused because `threadsMax + queueMax` tasks were already submitted (PXS_OFFLOAD_BUSY). */
  readonly tasksRefused: number;
  /** Distinct task modules run so far (the registry's size). */
  readonly taskModules: number;
  readonly closed: boolean;
}

export class OffloadPool implements Offload {
  private readonly threadsMax: number;
  private readonly queueMax: number;
  private readonly idleTimeoutMs: number;
  private pool: Piscina | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  /** One controller per task submitted and not finished; close aborts them all. */
  private readonly inFlight = new Set<AbortController>();
  /** The task modules seen, by `filename#name`. */
  private readonly registry = new Map<string, OffloadTask>();
  private counters = { pools: 0, tasksRun: 0, tasksFailed: 0, tasksCancelled: 0, tasksRefused: 0 };

  constructor(options: OffloadPoolOptions = {}) {
    const { threadsMax = OFFLOAD_THREADS_DEFAULT, queueMax = OFFLOAD_QUEUE_MAX_DEFAULT } = options;
    const { idleTimeoutMs = IDLE_TIMEOUT_MS_DEFAULT } = options;
    if (!Number.isInteger(threadsMax) || threadsMax < 1 || threadsMax > 64) {
      throw new RuntimeError('PXS_INVALID_OPTIONS', `offload threadsMax ${threadsMax}: want 1..64`);
    }
    if (!Number.isInteger(queueMax) || queueMax < 0 || queueMax > 65_536) {
      throw new RuntimeError('PXS_INVALID_OPTIONS', `offload queueMax ${queueMax}: want 0..65536`);
    }
    if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 0) {
      throw new RuntimeError('PXS_INVALID_OPTIONS', `offload idleTimeoutMs ${idleTimeoutMs}`);
    }
    this.threadsMax = threadsMax;
    this.queueMax = queueMax;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /**
   * Runs `task` on `input` in the pool. Rejects with PXS_OFFLOAD_CLOSED after close, with
   * PXS_OFFLOAD_BUSY when the bound is reached, with PXS_OFFLOAD_CANCELLED when `signal` or
   * close aborts it; a task that throws rejects with its error (counted as failed).
   */
  async run(task: OffloadTask, input: unknown, options: OffloadRunOptions = {}): Promise<unknown> {
    if (this.closing !== undefined)
      throw new RuntimeError('PXS_OFFLOAD_CLOSED', 'the offload pool is closed');
    const key = this.register(task);
    if (this.inFlight.size >= this.threadsMax + this.queueMax) {
      this.counters.tasksRefused++;
      throw new RuntimeError('PXS_OFFLOAD_BUSY', `${this.inFlight.size} offload tasks in flight`);
    }
    const { signal } = options;
    if (signal?.aborted === true) return this.cancelled(key);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.add(controller);
    try {
      const result: unknown = await this.piscina().run(input, {
        filename: task.filename,
        name: task.name ?? 'default',
        signal: controller.signal,
        transferList: options.transferList,
      });
      this.counters.tasksRun++;
      return result;
    } catch (error) {
      if (controller.signal.aborted) return this.cancelled(key);
      this.counters.tasksFailed++;
      throw error;
    } finally {
      this.inFlight.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  stats(): OffloadStats {
    return {
      ...this.counters,
      threads: this.pool?.threads.length ?? 0,
      threadsMax: this.threadsMax,
      queued: this.inFlight.size,
      taskModules: this.registry.size,
      closed: this.closing !== undefined,
    };
  }

  /** Idempotent: cancels every task submitted and not finished, then destroys the pool. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    for (const controller of this.inFlight) controller.abort();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
    assert(this.pool === undefined, 'offload pool recreated while closing');
  }

  private cancelled(key: string): never {
    this.counters.tasksCancelled++;
    throw new RuntimeError('PXS_OFFLOAD_CANCELLED', `offload task ${key} cancelled`);
  }

  /** The registry: each task module is checked once; a bounded number of them. */
  private register(task: OffloadTask): string {
    const key = `${task.filename}#${task.name ?? 'default'}`;
    if (this.registry.has(key)) return key;
    assert(
      typeof task.filename === 'string' && path.isAbsolute(task.filename),
      () => `offload task ${key}: filename must be an absolute path`,
    );
    assert(
      this.registry.size < OFFLOAD_TASK_MODULES_MAX,
      () => `more than ${OFFLOAD_TASK_MODULES_MAX} offload task modules`,
    );
    this.registry.set(key, Object.freeze({ ...task }));
    return key;
  }

  /** Created on the first task, so a worker that never offloads never starts a thread. */
  private piscina(): Piscina {
    if (this.pool === undefined) {
      this.pool = new Piscina({
        // Not 0: piscina 5 with minThreads 0 leaves a queued task waiting for good when the only
        // thread is ended by an abort (a merge cancelled by its engine's close), since nothing
        // starts a new one (test/unit/runtime/offload-pool.test.ts). The pool itself is lazy.
        minThreads: this.threadsMax,
        maxThreads: this.threadsMax,
        idleTimeout: this.idleTimeoutMs,
        // Our own bound (inFlight) is the real one; piscina's queue only has to hold it.
        maxQueue: this.queueMax + this.threadsMax,
      });
      this.counters.pools++;
    }
    return this.pool;
  }
}
