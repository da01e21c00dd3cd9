/**
 * BitcaskEngine: the disk bitcask of DESIGN.md §5. Append-only data files of CRC-sealed
 * records, framed per batch; an in-memory key directory; hint files written by merges;
 * merges of immutable files in a piscina pool; torn-tail truncation on open. The file format,
 * recovery and merge are described in README.md in this directory.
 *
 * Durability (engines/README.md): `sync: true` resolves after fdatasync of the active file;
 * `sync: false` resolves once the batch is written to the OS (one write(2) per group of
 * batches), which survives kill -9 but not power loss.
 */
import * as path from 'node:path';
import { OwnOffload } from '../own-offload';
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
import { mkdirDurable } from '../durable-dir';
import { isEngineError, engineError } from '../errors';
import { nodeFileSystem } from '../fs/node-fs';
import { type EncodedBatch, encodeBatchFrame } from './batch-frame';
import { writeDamageRecord } from './damage-record';
import type { MergeResult } from './merge';
import { mergeFiles } from './merge-worker';
import type { MergeTask, MergeTaskResult } from './merge-task';
import { type BitcaskOptions, checkOptions, type CheckedOptions } from './options';
import { iterateSnapshot, notOpen, readValue, readWindowed } from './reads';
import type { RecoveryStats } from './recovery';
import { Session } from './session';

export type { BitcaskOptions } from './options';
export type { MergeResult } from './merge';
export type { RecoveryStats } from './recovery';

/** Compiled next to this file; tasks name it, so a shared pool can run them. */
const MERGE_WORKER_FILE = path.join(__dirname, 'merge-worker.js');
const MERGE_TASK = Object.freeze({ filename: MERGE_WORKER_FILE, name: 'default' });
/** An idle write's frame up to this size is built in the engine's scratch buffer. */
const FRAME_SCRATCH_BYTES = 64 * 1024;
/** What `write` returns for a batch it finished before returning (one shared promise). */
const RESOLVED: Promise<void> = Promise.resolve();

/** What came back from another thread is checked before the engine relies on its shape. */
function checkMergeResult(raw: unknown): MergeTaskResult {
  const result = raw as Partial<MergeTaskResult> | null;
  assert(
    typeof result === 'object' && result !== null && typeof result.ok === 'boolean',
    'merge task returned no result',
  );
  return result as MergeTaskResult;
}

export interface BitcaskStats extends EngineStats {
  readonly keys: number;
  readonly files: number;
  readonly activeFileId: number;
  /** Bytes of all data files, and of the records that live keys point at. */
  readonly dataBytes: number;
  readonly liveBytes: number;
  readonly merges: number;
  /** Automatic merges that failed (logged; retried on a later write). */
  readonly autoMergeFailures: number;
  readonly mergeBytesReclaimed: number;
  /** What the latest open found and repaired; undefined before the first open. */
  readonly recovery: RecoveryStats | undefined;
}

export class BitcaskEngine implements Engine {
  readonly name: string = 'bitcask';
  readonly capabilities: EngineCapabilities = Object.freeze({ persistent: true, ordered: true });
  private readonly options: CheckedOptions;
  private session: Session | undefined = undefined;
  /** Merges run here when the engine was given no offload (standalone use). */
  private readonly ownOffload = new OwnOffload();
  protected readonly counter = new StatsCounter();
  private transition: Promise<void> = Promise.resolve();
  private recovery: RecoveryStats | undefined = undefined;
  private merges = 0;
  private autoMerging = false;
  private autoMergeFailures = 0;
  /**
   * Where an idle write builds its frame (`write`): the frame is on disk and read by the hooks
   * before `write` returns, so the next write may build over it. Frames above its size get a
   * buffer of their own.
   */
  private readonly frameScratch = new Uint8Array(FRAME_SCRATCH_BYTES);
  /** Batches handed to the writer's queue whose `batchWritten` has not run yet. */
  private writesQueued = 0;
  private mergeBytesReclaimed = 0;

  constructor(dir: string, options?: BitcaskOptions) {
    this.options = checkOptions(dir, options);
  }

  /** Absolute path of the data directory. */
  get dir(): string {
    return this.options.dir;
  }

  open(): Promise<void> {
    return this.serialize(() => this.openNow());
  }

  /**
   * Idempotent. Writes under way finish; a running merge is aborted (the next open removes
   * what it wrote).
   */
  close(): Promise<void> {
    return this.serialize(() => this.closeNow());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const session = this.requireOpen();
    const value = await readValue(session, key);
    this.counter.countRead();
    return value;
  }

  /** Point reads, READ_WINDOW at a time; results line up with `keys`. */
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
  write(batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
    const done = this.writeNow(batch, options);
    return done === true ? RESOLVED : done;
  }

  /**
   * `write`, finished here when the writer is idle and can append inline (writer.ts
   * `appendNow`; never with `sync`, whose fdatasync goes to the pool): then the frame is on
   * disk, in the key directory and through the hooks when this returns true.
   */
  writeNow(batch: readonly BatchOp[], options: WriteOptions): true | Promise<void> {
    let session: Session;
    let frame: EncodedBatch | undefined = undefined;
    let seq = -1;
    try {
      session = this.requireOpen();
      assert(typeof options.sync === 'boolean', 'bitcask.write: options.sync must be a boolean');
      for (const op of batch) {
        assert(typeof op.key === 'string', 'bitcask.write: key must be a string');
        assert(op.type === 'del' || op.value instanceof Uint8Array, 'bitcask.write: bad put value');
      }
      session.checkWritable();
      if (batch.length > 0) {
        seq = session.takeSeq();
        // Only with no batch between its writer append and its batchWritten: hooks run in seq
        // order. Such a frame is built in the scratch buffer, and copied out if it must queue.
        const idle = !options.sync && this.writesQueued === 0;
        frame = encodeBatchFrame(batch, seq, idle ? this.frameScratch : undefined);
        if (idle && session.writer.appendNow(frame.bytes, frame.entries, seq)) {
          this.written(session, batch, frame, seq, false);
          return true;
        }
        if (frame.bytes.buffer === this.frameScratch.buffer)
          frame = { bytes: frame.bytes.slice(), entries: frame.entries };
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.writeQueued(session, batch, frame, seq, options.sync);
  }

  /** `write` through the writer's queue (a sync, a busy writer, an append for the pool). */
  private async writeQueued(
    session: Session,
    batch: readonly BatchOp[],
    frame: EncodedBatch | undefined,
    seq: number,
    sync: boolean,
  ): Promise<void> {
    if (frame === undefined) {
      // No frame and no seq: it only orders after earlier batches (and flushes them with sync).
      await session.writer.append(new Uint8Array(0), [], -1, sync);
      this.written(session, batch, undefined, seq, sync);
      return;
    }
    this.writesQueued += 1;
    try {
      await session.writer.append(frame.bytes, frame.entries, seq, sync);
    } finally {
      this.writesQueued -= 1;
      assert(this.writesQueued >= 0, () => `bitcask: ${this.writesQueued} writes queued`);
    }
    this.written(session, batch, frame, seq, sync);
  }

  /** A batch is on disk and in the key directory: the hook, the counters, a merge maybe. */
  private written(
    session: Session,
    batch: readonly BatchOp[],
    frame: EncodedBatch | undefined,
    seq: number,
    sync: boolean,
  ): void {
    // A session closed meanwhile is gone: the next open reads the batch back from disk.
    if (frame !== undefined && this.isCurrent(session)) this.batchWritten(session, frame, seq);
    this.counter.countBatch(batch, sync);
    this.maybeAutoMerge(session);
  }

  iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    return this.iterateOpen(range);
  }

  stats(): EngineStats {
    return this.counter.snapshot();
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

  /**
   * The caller has handled the damage the latest open reported (`mayHaveDroppedAcknowledged`;
   * for the Paxos shell: the group's amnesia is cleared). Later opens that find exactly those
   * regions again count them (`recovery.bytesDamagedKnown`) without reporting them; new damage
   * is reported as before. Durable when it resolves. Regions in files a merge has removed since
   * are dropped (a merge copies only live records: the damage is gone with its file).
   */
  async acknowledgeDamage(): Promise<void> {
    const session = this.requireOpen();
    const found = this.recovery?.damageRegions ?? [];
    const regions = found.filter((region) => session.files.has(region.fileId));
    await writeDamageRecord(this.options.fs, session.dir, regions);
  }

  /** The engine stats plus bitcask's own (files, bytes, merges, the latest recovery). */
  bitcaskStats(): BitcaskStats {
    const session = this.session;
    const sizes = session?.sizes() ?? { dataBytes: 0, liveBytes: 0 };
    return {
      ...this.counter.snapshot(),
      keys: session?.keydir.size ?? 0,
      files: session?.files.size ?? 0,
      activeFileId: session?.writer.activeFile.id ?? 0,
      ...sizes,
      merges: this.merges,
      autoMergeFailures: this.autoMergeFailures,
      mergeBytesReclaimed: this.mergeBytesReclaimed,
      recovery: this.recovery,
    };
  }

  /**
   * Compacts every immutable data file (the active one is rotated first) into new files with
   * hint files, in the offload pool; writes and reads go on meanwhile. Merges queue behind
   * each other. Callers decide when: e.g. when `dataBytes` is well above `liveBytes`.
   */
  async merge(): Promise<MergeResult> {
    const session = this.requireOpen();
    const result = await session.merge((task, signal) => this.runMergeTask(task, signal));
    this.merges++;
    this.mergeBytesReclaimed += result.bytesReclaimed;
    return result;
  }

  /**
   * Starts a merge in the background when the dead bytes pass the policy's bounds (one at a
   * time). A failed automatic merge is logged and counted; its inputs are untouched, and the
   * next write past the bounds tries again.
   */
  private maybeAutoMerge(session: Session): void {
    const policy = this.options.autoMerge;
    if (policy === undefined || this.autoMerging || this.session !== session) return;
    const { dataBytes, liveBytes } = session.sizes();
    const dead = dataBytes - liveBytes;
    assert(dead >= 0, () => `bitcask: live bytes ${liveBytes} > data bytes ${dataBytes}`);
    if (dead < policy.deadBytesMin || dead < policy.deadRatio * dataBytes) return;
    this.autoMerging = true;
    this.merge()
      .catch((err: unknown) => {
        if (isEngineError(err, 'NOT_OPEN')) return; // closed under it
        this.autoMergeFailures++;
        console.error(
          `bitcask ${this.options.dir}: automatic merge failed: ${(err as Error).message}`,
        );
      })
      .finally(() => {
        this.autoMerging = false;
      });
  }

  /**
   * Subclass hook (MemoryLogEngine): runs inside `open` on the recovered session, before any
   * operation can use it. A rejection fails the open (the session is closed again).
   */
  protected async sessionOpened(_session: Session): Promise<void> {}

  /**
   * Subclass hook: a non-empty batch is on disk (as durable as its `sync` asked) and in the key
   * directory. Called in seq order, synchronously, before `write` resolves.
   */
  protected batchWritten(_session: Session, _frame: EncodedBatch, _seq: number): void {}

  private async *iterateOpen(range: IterateRange): AsyncGenerator<[string, Uint8Array]> {
    const session = this.requireOpen();
    yield* iterateSnapshot(session, range, () => this.isCurrent(session));
  }

  private async runMergeTask(task: MergeTask, signal: AbortSignal): Promise<MergeTaskResult> {
    // Another file system (the simulated one) lives in this thread only: merge here.
    if (this.options.fs !== nodeFileSystem) {
      const result = await mergeFiles(this.options.fs, task);
      if (signal.aborted) throw engineError('NOT_OPEN', 'bitcask closed during the merge');
      return result;
    }
    const offload = this.options.offload ?? this.ownOffload;
    try {
      return checkMergeResult(await offload.run(MERGE_TASK, task, { signal }));
    } catch (err) {
      // Close aborts a running merge: to the caller that is the engine closing under it.
      if (signal.aborted) throw engineError('NOT_OPEN', 'bitcask closed during the merge', err);
      throw err;
    }
  }

  private async openNow(): Promise<void> {
    if (this.session !== undefined) return;
    let dir: string;
    try {
      await mkdirDurable(this.options.dir, this.options.fs);
      // The lock registry needs one name per directory, whatever symlinks lead to it.
      dir = await this.options.fs.realpath(this.options.dir);
    } catch (err) {
      throw engineError('IO_ERROR', `bitcask open: cannot create ${this.options.dir}`, err);
    }
    const session = await Session.open(this.options.fs, dir, this.options.fileBytesMax);
    try {
      await this.sessionOpened(session);
    } catch (err) {
      await session.close();
      throw err;
    }
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

  /** True while `session` is the open one (an iteration ends when it is not). */
  protected isCurrent(session: Session): boolean {
    return this.session === session;
  }

  protected requireOpen(): Session {
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
