/**
 * Everything that exists only while a Bitcask2Engine is open: the lock, the data files, the
 * shared bitcask writer, the two levels of the key directory (the index file with its bucket
 * summary, and the write buffers), and the flush that moves the buffer into the index.
 *
 * Flush protocol. When the active buffer reaches `bufferKeysMax` (checked each time the
 * writer has applied a group), it is frozen together with the position the writer has
 * applied up to: every record before that position is in the index or the frozen buffer, and
 * every later one goes to the new active buffer. The flush writes the next index generation
 * with that position as its checkpoint, fsyncs the data file up to it, renames the index into
 * place, and then (one synchronous step) swaps it in and drops the frozen buffer. Reads look
 * in the active buffer, then the frozen one, then the index, so no key is ever missing.
 *
 * Bounds: one flush at a time. If the active buffer fills while a flush runs, new writes wait
 * (in call order) until it is done (`flushWaits`), so at most two full buffers exist.
 *
 * Merges (`merge.ts`) run one at a time, queued like bitcask's. A merge's install takes the
 * flush slot (`withFlushSlot`), so it never races a flush over the next index generation, and
 * pins the generation its worker reads, so a flush that replaces it leaves its file in place.
 */
import { assert } from '../../runtime/assert';
import { isEngineError, engineError, type EngineError } from '../errors';
import { DataFile } from '../bitcask/data-file';
import { FILE_ID_MAX } from '../bitcask/format';
import { acquireLock, type DirectoryLock, releaseLock } from '../bitcask/lock-file';
import { Writer, type KeyDirUpdates, type WriterHost } from '../bitcask/writer';
import type { FileSystem } from '../fs/file-system';
import { flushIndex } from './flush';
import type { IndexFile } from './index-file';
import { type IndexedMergeHost, type IndexedMergeResult, runIndexedMerge } from './merge';
import type { IndexedMergeTask, IndexedMergeTaskResult } from './merge-task';
import type { CheckedBitcask2Options } from './options';
import { recoverIndexed, type IndexedRecoveryStats } from './recovery';
import { WriteBuffer } from './write-buffer';

/** Flushes to wait for before a write gets room: far more than one flush can need. */
const ROOM_ROUNDS_MAX = 1_000;
const CLOSE_ROUNDS_MAX = 1_000;

export type IndexedTaskRunner = (
  task: IndexedMergeTask,
  signal: AbortSignal,
) => Promise<IndexedMergeTaskResult>;

interface Counters {
  nextSeq: number;
  nextFileId: number;
  nextGeneration: number;
}

export class IndexedSession implements WriterHost {
  readonly fs: FileSystem;
  readonly writer: Writer;
  readonly fileBytesMax: number;
  index: IndexFile | undefined;
  active: WriteBuffer;
  frozen: WriteBuffer | undefined = undefined;
  flushes = 0;
  flushWaits = 0;
  private seq: number;
  private fileId: number;
  private generation: number;
  private appliedFileId: number;
  private appliedEnd: number;
  private flushing: Promise<void> | undefined = undefined;
  private roomChain: Promise<void> | undefined = undefined;
  private broken: EngineError | undefined = undefined;
  private closing = false;
  /** Merges run one after another; this is the latest. */
  private merges: Promise<unknown> = Promise.resolve();
  private readonly aborter = new AbortController();
  /** Files a merge replaced; an abandoned iteration may still pin one, so close closes them. */
  private readonly retired = new Set<DataFile>();
  /** The index generation a merge's worker is reading (its file is kept until unpinned). */
  private pinned: IndexFile | undefined = undefined;
  /** Merges installed since open: a read that raced one looks its key up again. */
  mergesInstalled = 0;
  /**
   * Callers waiting for the flush slot (a merge). While any wait, no new flush starts on its
   * own, so a merge is not starved by back-to-back flushes under a steady stream of writes.
   */
  private slotWaiters = 0;
  /** Dead bytes counted by flushes since open or the last merge (see `deadBytes()`). */
  private flushedDeadBytes = 0;

  private constructor(
    readonly dir: string,
    private readonly options: CheckedBitcask2Options,
    private readonly lock: DirectoryLock,
    readonly files: Map<number, DataFile>,
    readonly recovery: IndexedRecoveryStats,
    start: { index: IndexFile | undefined; buffer: WriteBuffer; active: DataFile },
    counters: Counters,
  ) {
    this.fileBytesMax = options.fileBytesMax;
    this.fs = options.fs;
    this.index = start.index;
    this.active = start.buffer;
    this.seq = counters.nextSeq;
    this.fileId = counters.nextFileId;
    this.generation = counters.nextGeneration;
    // Everything before the end of the active file is in the index or the buffer.
    this.appliedFileId = start.active.id;
    this.appliedEnd = start.active.size;
    this.writer = new Writer(this, start.active);
  }

  /** Locks `dir`, recovers it, and picks (or creates) the active file. */
  static async open(dir: string, options: CheckedBitcask2Options): Promise<IndexedSession> {
    const lock = await acquireLock(dir, { fs: options.fs });
    try {
      const recovered = await recoverIndexed(options.fs, dir, options);
      const { files, newestWriteId, index, buffer } = recovered;
      const counters = { ...recovered, nextFileId: recovered.nextFileId };
      let active = newestWriteId === undefined ? undefined : files.get(newestWriteId);
      if (active === undefined || active.size >= options.fileBytesMax) {
        const id = counters.nextFileId++;
        const header = { id, kind: 'write' as const, seqFloor: recovered.nextSeq };
        active = await DataFile.create(options.fs, dir, header);
        files.set(active.id, active);
      }
      const start = { index, buffer, active };
      return new IndexedSession(dir, options, lock, files, recovered.stats, start, counters);
    } catch (err) {
      await releaseLock(lock);
      throw err;
    }
  }

  /** The writer applies each group here: the active buffer. */
  get keydir(): KeyDirUpdates {
    return this.active;
  }

  allocateFileId(): number {
    assert(this.fileId <= FILE_ID_MAX, () => `bitcask2: file ids exhausted at ${this.fileId}`);
    return this.fileId++;
  }

  nextSeq(): number {
    return this.seq;
  }

  takeSeq(): number {
    assert(Number.isSafeInteger(this.seq + 1), () => `bitcask2: seq ${this.seq} overflows`);
    return this.seq++;
  }

  groupApplied(fileId: number, end: number): void {
    assert(
      fileId > this.appliedFileId || end >= this.appliedEnd,
      () => `applied ${fileId}:${end} went back`,
    );
    this.appliedFileId = fileId;
    this.appliedEnd = end;
    this.maybeFlush();
  }

  /** Rejects once a flush has failed: the index on disk is behind, only a reopen helps. */
  checkWritable(): void {
    if (this.broken !== undefined) throw this.broken;
  }

  /**
   * undefined when a write may go ahead now; otherwise a promise (never rejecting) that
   * resolves when it may, in call order behind earlier waiting writes.
   */
  waitForRoom(): Promise<void> | undefined {
    if (this.roomChain === undefined && !this.full()) return undefined;
    const next = (this.roomChain ?? Promise.resolve()).then(() => this.untilRoom());
    this.roomChain = next;
    void next.then(() => {
      if (this.roomChain === next) this.roomChain = undefined;
    });
    return next;
  }

  /** Waits for writes and the running flush, then closes every file and the lock. */
  async close(): Promise<void> {
    this.closing = true;
    this.aborter.abort();
    await this.merges.catch(() => undefined);
    await this.writer.idle();
    for (let round = 0; round < CLOSE_ROUNDS_MAX && this.flushing !== undefined; round++) {
      await this.flushing;
    }
    assert(this.flushing === undefined, 'bitcask2 close: a flush is still running');
    try {
      await this.writer.close();
    } finally {
      await this.index?.close();
      await this.pinned?.close();
      const files = [...this.files.values(), ...this.retired];
      await Promise.all(files.map((file) => file.close()));
      await releaseLock(this.lock);
    }
  }

  /** Queues a merge after any running one; `runTask` runs the worker part in the pool. */
  merge(runTask: IndexedTaskRunner, bytesPerSecondMax: number): Promise<IndexedMergeResult> {
    const host = this.mergeHost(runTask, bytesPerSecondMax);
    const result = this.merges
      .catch(() => undefined)
      .then(() => {
        this.checkWritable();
        if (this.aborter.signal.aborted) {
          throw engineError('NOT_OPEN', 'bitcask2 closed before the merge ran');
        }
        return runIndexedMerge(host);
      });
    this.merges = result;
    return result;
  }

  /**
   * Dead bytes as counted since open: records replaced or deleted (in the buffers, and in the
   * index when a flush overrides them) and tombstones. A lower bound: dead bytes from before
   * the open, and frame overhead, are not counted. A merge resets it.
   */
  deadBytes(): number {
    const buffered = this.active.deadBytes + (this.frozen?.deadBytes ?? 0);
    return this.flushedDeadBytes + buffered;
  }

  dataBytes(): number {
    let bytes = 0;
    for (const file of this.files.values()) bytes += file.size;
    return bytes;
  }

  /** Every record applied so far is in the index once this resolves (rejects if a flush failed). */
  private async flushAll(): Promise<void> {
    await this.untilNoFlush();
    this.checkWritable();
    if (this.active.size === 0 && this.index !== undefined) return;
    const flushing = this.flush().finally(() => {
      this.flushing = undefined;
      this.maybeFlush();
    });
    this.flushing = flushing;
    await flushing;
    this.checkWritable();
  }

  /** Runs `step` in the flush slot: no flush starts until it is done. */
  private async withFlushSlot<T>(step: () => Promise<T>): Promise<T> {
    await this.untilNoFlush();
    let release: () => void = () => undefined;
    this.flushing = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      return await step();
    } finally {
      this.flushing = undefined;
      release();
      this.maybeFlush();
    }
  }

  private async untilNoFlush(): Promise<void> {
    this.slotWaiters++;
    try {
      for (let round = 0; round < ROOM_ROUNDS_MAX && this.flushing !== undefined; round++) {
        await this.flushing;
      }
    } finally {
      this.slotWaiters--;
    }
    assert(this.flushing === undefined, 'bitcask2: the flush slot never came free');
  }

  /** The merge's one synchronous switch-over. */
  private swapIn(index: IndexFile, outputs: readonly DataFile[], inputs: readonly number[]): void {
    const old = this.index;
    assert(old !== undefined, 'bitcask2 merge: no index to replace');
    assert(index.generation > old.generation, () => `merge: generation ${index.generation}`);
    this.index = index;
    for (const output of outputs) this.files.set(output.id, output);
    for (const id of inputs) {
      const input = this.files.get(id);
      assert(input !== undefined, () => `bitcask2 merge: input ${id} vanished`);
      this.files.delete(id);
      this.retired.add(input);
      input.retire();
    }
    if (old !== this.pinned) old.retire();
    this.mergesInstalled++;
    // What the merge dropped is gone; what was counted in the files it kept is forgotten.
    this.flushedDeadBytes = 0;
  }

  private async unpinIndex(index: IndexFile): Promise<void> {
    assert(this.pinned === index, 'bitcask2: unpin of an index that is not pinned');
    this.pinned = undefined;
    if (index === this.index) return;
    index.retire();
    // Replaced while pinned: the flush left its file (a merge removes it already; ENOENT then).
    await this.fs.unlink(index.path).catch(() => undefined);
  }

  private mergeHost(runTask: IndexedTaskRunner, bytesPerSecondMax: number): IndexedMergeHost {
    return {
      fs: this.fs,
      dir: this.dir,
      fileBytesMax: this.fileBytesMax,
      bytesPerSecondMax,
      files: this.files,
      activeFileId: () => this.writer.activeFile.id,
      rotate: () => this.writer.rotate(),
      flushAll: () => this.flushAll(),
      currentIndex: () => this.index,
      pinIndex: (index) => {
        assert(this.pinned === undefined, 'bitcask2: an index is pinned already');
        index.acquire();
        this.pinned = index;
      },
      unpinIndex: async (index) => {
        await this.unpinIndex(index);
        index.release();
      },
      allocateFileId: () => this.allocateFileId(),
      allocateGeneration: () => this.generation++,
      nextSeq: () => this.nextSeq(),
      runTask: (task) => runTask(task, this.aborter.signal),
      aborted: () => this.aborter.signal.aborted,
      withFlushSlot: (step) => this.withFlushSlot(step),
      swapIn: (index, outputs, inputs) => this.swapIn(index, outputs, inputs),
      markBroken: (err) => {
        const message = 'bitcask2: a merge failed after its commit point; reopen';
        this.broken ??= engineError('IO_ERROR', message, err);
      },
    };
  }

  private full(): boolean {
    return this.flushing !== undefined && this.active.size >= this.options.bufferKeysMax;
  }

  private async untilRoom(): Promise<void> {
    for (let round = 0; round < ROOM_ROUNDS_MAX && this.full(); round++) {
      if (this.closing || this.broken !== undefined) return;
      this.flushWaits++;
      await this.flushing;
    }
  }

  private maybeFlush(): void {
    if (this.closing || this.broken !== undefined || this.flushing !== undefined) return;
    if (this.slotWaiters > 0) return; // the waiter takes the slot; it calls this when done
    if (this.active.size < this.options.bufferKeysMax) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      this.maybeFlush();
    });
  }

  /** Freezes the active buffer at the applied position, then writes and swaps in the index. */
  private async flush(): Promise<void> {
    assert(this.frozen === undefined, 'bitcask2: a frozen buffer is left from a flush');
    const buffer = this.active;
    this.frozen = buffer;
    this.active = new WriteBuffer();
    const checkpoint = { fileId: this.appliedFileId, offset: this.appliedEnd, nextSeq: this.seq };
    const file = this.files.get(checkpoint.fileId);
    assert(
      file !== undefined,
      () => `bitcask2 flush: checkpoint file ${checkpoint.fileId} is not open`,
    );
    const old = this.index;
    let replaced = 0;
    try {
      const next = await flushIndex({
        fs: this.fs,
        dir: this.dir,
        generation: this.generation++,
        old,
        buffer,
        keysPerBucket: this.options.keysPerBucket,
        checkpoint,
        beforeInstall: () => file.datasync(),
        onReplaced: (size) => {
          replaced += size;
        },
      });
      this.flushedDeadBytes += replaced + buffer.deadBytes;
      // One synchronous step: a read sees either the old index and the frozen buffer, or the
      // new index (which holds the frozen buffer), never a gap.
      this.index = next;
      this.frozen = undefined;
      this.flushes++;
      if (old !== undefined) {
        old.retire();
        // A merge's worker may be reading it: then the merge removes it (open does otherwise).
        if (old !== this.pinned) await this.fs.unlink(old.path).catch(() => undefined);
      }
    } catch (err) {
      // The frozen buffer stays readable; the index on disk is behind, so stop writing.
      const code = isEngineError(err) ? err.code : 'IO_ERROR';
      this.broken = engineError(code, 'bitcask2: an index flush failed; reopen', err);
    }
  }
}
