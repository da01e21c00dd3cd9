/**
 * The client thread's handle on one worker thread: spawn, control-plane calls with a deadline,
 * and termination. A call to a worker that died or hangs fails with a coded error instead of
 * waiting forever (comlink alone would never settle it).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { assert } from './assert';
import { RuntimeError } from './errors';
import type { WorkerApi, WorkerEvent, WorkerInit } from './worker-protocol';

/** What the supervisor hears from a worker beside control-plane answers. */
export interface WorkerListener {
  onEvent(event: WorkerEvent['pxsEvent']): void;
  /** The thread ended (crash, process.exit in the worker, or terminate()). */
  onExit(code: number): void;
}

export class WorkerHandle {
  readonly remote: Comlink.Remote<WorkerApi>;
  private readonly thread: Worker;
  private readonly died: Promise<never>;
  private exited = false;

  /**
   * `heapMb`: the thread's old-generation limit (worker-heap.ts); `youngMb`: its young
   * generation (worker-young-gen.ts). V8's defaults when absent.
   */
  constructor(
    readonly index: number,
    init: WorkerInit,
    listener?: WorkerListener,
    heapMb?: number,
    youngMb?: number,
  ) {
    assert(init.worker === index, `worker init for ${init.worker} given to handle ${index}`);
    assert(
      heapMb === undefined || (Number.isInteger(heapMb) && heapMb > 0),
      () => `worker heap of ${heapMb} MiB`,
    );
    assert(
      youngMb === undefined || (Number.isInteger(youngMb) && youngMb > 0),
      () => `worker young generation of ${youngMb} MiB`,
    );
    const resourceLimits = {
      ...(heapMb === undefined ? {} : { maxOldGenerationSizeMb: heapMb }),
      ...(youngMb === undefined ? {} : { maxYoungGenerationSizeMb: youngMb }),
    };
    this.thread = new Worker(path.join(__dirname, 'worker-main.js'), {
      workerData: init,
      resourceLimits,
    });
    this.died = new Promise<never>((_, reject) => {
      this.thread.on('error', (error) => {
        // An uncaught error in a worker is a runtime bug or an assertion: say so loudly.
        console.error(`[runtime] worker ${index} died:`, error);
        reject(new RuntimeError('PXS_WORKER_DIED', `worker ${index}: ${String(error)}`));
      });
      this.thread.on('exit', (code) => {
        this.exited = true;
        // The supervisor first, so a caller that sees the rejection finds the respawn begun.
        listener?.onExit(code);
        reject(new RuntimeError('PXS_WORKER_DIED', `worker ${index} exited with code ${code}`));
      });
    });
    // Callers race against `died`; this keeps an unobserved rejection from being reported.
    this.died.catch(() => undefined);
    this.thread.on('message', (message: unknown) => {
      const event = (message as Partial<WorkerEvent> | null)?.pxsEvent;
      if (event !== undefined) listener?.onEvent(event);
    });
    this.remote = Comlink.wrap<WorkerApi>(nodeEndpoint(this.thread as never));
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Runs one control-plane call; rejects if the worker dies or `timeoutMs` passes first. */
  async call<T>(what: string, request: () => Promise<T>, timeoutMs: number): Promise<T> {
    assert(timeoutMs > 0, `bad timeout ${timeoutMs}`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new RuntimeError('PXS_TIMEOUT', `worker ${this.index} ${what} > ${timeoutMs} ms`));
      }, timeoutMs);
      // A deadline must not be what keeps the process alive.
      timer.unref();
    });
    try {
      return await Promise.race([request(), this.died, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the thread. Safe to call twice and after the worker died. */
  async terminate(): Promise<void> {
    if (this.exited) return;
    this.remote[Comlink.releaseProxy]();
    await this.thread.terminate();
    assert(this.exited || this.thread.threadId === -1, `worker ${this.index} still running`);
  }
}
