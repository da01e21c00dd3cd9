/**
 * Bitcask2Engine: the two-level bitcask of DESIGN.md §5, for key counts beyond what RAM holds.
 * Values go into bitcask's data files through bitcask's writer (same record and frame format,
 * group commit, rotation, torn-tail recovery, lock). The key directory is split in two:
 *
 *   level 1 (RAM)   a table of 2^bits buckets (hash of the key), per bucket the offset and
 *                   length of its index page: 12 bytes per bucket, ~0.2 bytes per key;
 *   level 2 (disk)  an immutable index file of CRC-sealed pages, key → file, offset, size,
 *                   rewritten in one sequential pass by each flush of the bounded write buffer.
 *
 * A get costs at most one page read and one record read. Merges (`merge.ts`) stream the index
 * in the offload pool at a bounded rate and install a rewritten index generation; automatic
 * merges start on counted dead bytes. See README.md in this directory.
 *
 * Durability is bitcask's: `sync: true` resolves after fdatasync (one per group of batches);
 * `sync: false` once the batch is written to the OS (survives kill -9, not power loss).
 */
import * as path from 'node:path';
import { OwnOffload } from '../own-offload';
import { mkdirDurable } from '../durable-dir';
import { assert } from '../../runtime/assert';
import type {
  BatchOp,
  Engine,
  EngineCapabilities,
  EngineStats,
  OpenReport,
  IterateRange,
  WriteOptions,
} from '../engine';
import { StatsCounter } from '../engine-stats';
import { engineError, isEngineError } from '../errors';
import { nodeFileSystem } from '../fs/node-fs';
import { encodeBatchFrame } from '../bitcask/batch-frame';
import { type Bitcask2Options, checkBitcask2Options, type CheckedBitcask2Options } from './options';
import { readWindowed } from '../bitcask/reads';
import { iterateSnapshot, notOpen, readValue } from './reads';
import type { IndexedRecoveryStats } from './recovery';
import type { IndexedMergeResult } from './merge';
import type { IndexedMergeTask, IndexedMergeTaskResult } from './merge-task';
import { mergeIndexed } from './merge-worker';
import { IndexedSession } from './session';

export type { Bitcask2Options } from './options';
export type { IndexedRecoveryStats } from './recovery';
export type { IndexedMergeResult } from './merge';

/** Compiled next to this file; tasks name it, so a shared pool can run them. */
const MERGE_WORKER_FILE = path.join(__dirname, 'merge-worker.js');
const MERGE_TASK = Object.freeze({ filename: MERGE_WORKER_FILE, name: 'default' });

/** What came back from another thread is checked before the engine relies on its shape. */
function checkMergeResult(raw: unknown): IndexedMergeTaskResult {
  const result = raw as Partial<IndexedMergeTaskResult> | null;
  assert(
    typeof result === 'object' && result !== null && typeof result.ok === 'boolean',
    'bitcask2 merge task returned no result',
  );
  return result as IndexedMergeTaskResult;
}

export interface Bitcask2Stats extends EngineStats {
  /** Keys in the index on disk (exact as of the last flush). */
  readonly indexKeys: number;
  /** Buffered key directory updates not yet flushed (active + frozen buffer). */
  readonly bufferedKeys: number;
  readonly buckets: number;
  /** RAM of the level 1 summary (bucket offsets and lengths). */
  readonly summaryBytes: number;
  readonly indexBytes: number;
  readonly indexGeneration: number;
  readonly files: number;
  readonly dataBytes: number;
  /** Flushes since open, and writes that waited for one (the buffer bound was hit). */
  readonly flushes: number;
  readonly flushWaits: number;
  /** Dead bytes counted since open or the last merge (a lower bound; see session.ts). */
  readonly deadBytes: number;
  readonly merges: number;
  readonly autoMergeFailures: number;
  readonly mergeBytesReclaimed: number;
  readonly recovery: IndexedRecoveryStats | undefined;
}

export class Bitcask2Engine implements Engine {
  readonly name = 'bitcask2';
  /** Unordered: ordered iteration would need every key sorted in RAM, the one thing avoided. */
  readonly capabilities: EngineCapabilities = Object.freeze({ persistent: true, ordered: false });
  private readonly options: CheckedBitcask2Options;
  private session: IndexedSession | undefined = undefined;
  private readonly counter = new StatsCounter();
  private transition: Promise<void> = Promise.resolve();
  private recovery: IndexedRecoveryStats | undefined = undefined;
  /** Merges run here when the engine was given no offload (standalone use). */
  private readonly ownOffload = new OwnOffload();
  private autoMerging = false;
  private merges = 0;
  private autoMergeFailures = 0;
  private mergeBytesReclaimed = 0;

  constructor(dir: string, options?: Bitcask2Options) {
    this.options = checkBitcask2Options(dir, options);
  }

  get dir(): string {
    return this.options.dir;
  }

  open(): Promise<void> {
    return this.serialize(() => this.openNow());
  }

  /** Idempotent. Writes under way and a running flush finish first. */
  close(): Promise<void> {
    return this.serialize(() => this.closeNow());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const session = this.requireOpen();
    const value = await readValue(session, key);
    this.counter.countRead();
    return value;
  }

  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    const session = this.requireOpen();
    const values = await readWindowed(
      keys,
      (key) => readValue(session, key),
      () => {
        if (this.session !== session) throw notOpen();
      },
    );
    for (let i = 0; i < keys.length; i++) this.counter.countRead();
    return values;
  }

  /** One frame, one append: atomic. The bytes are copied before this returns its promise. */
  async write(batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
    const session = this.requireOpen();
    assert(typeof options.sync === 'boolean', 'bitcask2.write: options.sync must be a boolean');
    for (const op of batch) {
      assert(typeof op.key === 'string', 'bitcask2.write: key must be a string');
      assert(op.type === 'del' || op.value instanceof Uint8Array, 'bitcask2.write: bad put value');
    }
    session.checkWritable();
    let ops = batch;
    const wait = session.waitForRoom();
    if (wait !== undefined) {
      // The buffer bound was hit: copy the values now (the caller may reuse its buffers once
      // write() returns), then wait for the flush.
      ops = batch.map((op) => (op.type === 'put' ? { ...op, value: op.value.slice() } : op));
      await wait;
      if (this.session !== session) throw notOpen();
      session.checkWritable();
    }
    // takeSeq and append in one synchronous step: the writer's queue stays in seq order.
    if (ops.length === 0) {
      await session.writer.append(new Uint8Array(0), [], -1, options.sync);
    } else {
      const seq = session.takeSeq();
      const { bytes, entries } = encodeBatchFrame(ops, seq);
      await session.writer.append(bytes, entries, seq, options.sync);
    }
    this.counter.countBatch(batch, options.sync);
    this.maybeAutoMerge(session);
  }

  /**
   * Compacts every immutable data file (the active one is rotated first) into new files, in
   * the offload pool at a bounded rate; writes and reads go on meanwhile. Merges queue behind
   * each other. See README.md "Merge".
   */
  async merge(): Promise<IndexedMergeResult> {
    const session = this.requireOpen();
    const runTask = (
      task: IndexedMergeTask,
      signal: AbortSignal,
    ): Promise<IndexedMergeTaskResult> => this.runMergeTask(task, signal);
    const result = await session.merge(runTask, this.options.mergeBytesPerSecondMax);
    this.merges++;
    this.mergeBytesReclaimed += result.bytesReclaimed;
    return result;
  }

  iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    return this.iterateOpen(range);
  }

  /** What the latest open cut off as a torn tail (undefined before the first open). */
  openReport(): OpenReport | undefined {
    const r = this.recovery;
    if (r === undefined) return undefined;
    return {
      bytesDropped: r.bytesTruncated + r.bytesDamaged,
      torn: r.bytesTruncated > 0,
      mayHaveDroppedAcknowledged: r.damaged,
    };
  }

  stats(): EngineStats {
    return this.counter.snapshot();
  }

  bitcask2Stats(): Bitcask2Stats {
    const session = this.session;
    const index = session?.index;
    return {
      ...this.counter.snapshot(),
      indexKeys: index?.keys ?? 0,
      bufferedKeys: (session?.active.size ?? 0) + (session?.frozen?.size ?? 0),
      buckets: index?.lengths.length ?? 0,
      summaryBytes: index?.summaryBytes ?? 0,
      indexBytes: index?.bytes ?? 0,
      indexGeneration: index?.generation ?? 0,
      files: session?.files.size ?? 0,
      dataBytes: session?.dataBytes() ?? 0,
      flushes: session?.flushes ?? 0,
      flushWaits: session?.flushWaits ?? 0,
      deadBytes: session?.deadBytes() ?? 0,
      merges: this.merges,
      autoMergeFailures: this.autoMergeFailures,
      mergeBytesReclaimed: this.mergeBytesReclaimed,
      recovery: this.recovery,
    };
  }

  /**
   * Starts a merge in the background when the counted dead bytes pass the policy's bounds (one
   * at a time). A failure is logged and counted; the next write past the bounds tries again.
   */
  private maybeAutoMerge(session: IndexedSession): void {
    const policy = this.options.autoMerge;
    if (policy === undefined || this.autoMerging || this.session !== session) return;
    const dead = session.deadBytes();
    if (dead < policy.deadBytesMin || dead < policy.deadRatio * session.dataBytes()) return;
    this.autoMerging = true;
    this.merge()
      .catch((err: unknown) => {
        if (isEngineError(err, 'NOT_OPEN')) return; // closed under it
        this.autoMergeFailures++;
        console.error(
          `bitcask2 ${this.options.dir}: automatic merge failed: ${(err as Error).message}`,
        );
      })
      .finally(() => {
        this.autoMerging = false;
      });
  }

  private async runMergeTask(
    task: IndexedMergeTask,
    signal: AbortSignal,
  ): Promise<IndexedMergeTaskResult> {
    // Another file system (the simulated one) lives in this thread only: merge here.
    if (this.options.fs !== nodeFileSystem) {
      const result = await mergeIndexed(this.options.fs, task);
      if (signal.aborted) throw engineError('NOT_OPEN', 'bitcask2 closed during the merge');
      return result;
    }
    const offload = this.options.offload ?? this.ownOffload;
    try {
      return checkMergeResult(await offload.run(MERGE_TASK, task, { signal }));
    } catch (err) {
      // Close aborts a running merge: to the caller that is the engine closing under it.
      if (signal.aborted) throw engineError('NOT_OPEN', 'bitcask2 closed during the merge', err);
      throw err;
    }
  }

  private async *iterateOpen(range: IterateRange): AsyncGenerator<[string, Uint8Array]> {
    const session = this.requireOpen();
    yield* iterateSnapshot(session, range, () => this.session === session);
  }

  private async openNow(): Promise<void> {
    if (this.session !== undefined) return;
    let dir: string;
    try {
      await mkdirDurable(this.options.dir, this.options.fs);
      dir = await this.options.fs.realpath(this.options.dir);
    } catch (err) {
      throw engineError('IO_ERROR', `bitcask2 open: cannot create ${this.options.dir}`, err);
    }
    const session = await IndexedSession.open(dir, this.options);
    this.recovery = session.recovery;
    this.session = session;
  }

  private async closeNow(): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    // Forget the session first, so operations that start from now on fail with NOT_OPEN.
    this.session = undefined;
    try {
      await session.close();
    } finally {
      await this.ownOffload.destroy();
    }
  }

  private requireOpen(): IndexedSession {
    const session = this.session;
    if (session === undefined) throw notOpen();
    return session;
  }

  private serialize(step: () => Promise<void>): Promise<void> {
    const result = this.transition.then(step);
    this.transition = result.catch(() => undefined);
    return result;
  }
}
