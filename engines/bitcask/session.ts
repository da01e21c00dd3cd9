/**
 * Everything that exists only while a BitcaskEngine is open: the directory lock, the key
 * directory, the open data files, the writer, the sequence and file id counters, and the
 * chain of merges. A new session per open means nothing from a closed one can leak into the
 * next (an iteration started before close holds the old session and fails NOT_OPEN).
 */
import { assert } from '../../runtime/assert';
import { engineError, type EngineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { DataFile } from './data-file';
import { FILE_ID_MAX } from './format';
import type { KeyDir } from './keydir';
import { acquireLock, type DirectoryLock, releaseLock } from './lock-file';
import { type MergeHost, type MergeResult, runMerge } from './merge';
import type { MergeTask, MergeTaskResult } from './merge-task';
import { recover, type RecoveryStats } from './recovery';
import { Writer, type WriterHost } from './writer';

export type TaskRunner = (task: MergeTask, signal: AbortSignal) => Promise<MergeTaskResult>;

export class Session implements WriterHost {
  readonly writer: Writer;
  private seq: number;
  private fileId: number;
  /** Merges run one after another; this is the latest. */
  private merges: Promise<unknown> = Promise.resolve();
  private readonly aborter = new AbortController();
  /** Files a merge replaced; an abandoned iteration may still pin one, so close closes them. */
  private readonly retired = new Set<DataFile>();
  /** Set when a merge failed after its commit point: only a reopen (which redoes it) helps. */
  private broken: EngineError | undefined = undefined;

  private constructor(
    readonly fs: FileSystem,
    readonly dir: string,
    readonly fileBytesMax: number,
    private readonly lock: DirectoryLock,
    readonly keydir: KeyDir,
    readonly files: Map<number, DataFile>,
    readonly recovery: RecoveryStats,
    counters: { nextSeq: number; nextFileId: number; active: DataFile },
  ) {
    this.seq = counters.nextSeq;
    this.fileId = counters.nextFileId;
    this.writer = new Writer(this, counters.active);
  }

  /** Locks `dir`, recovers it, and picks (or creates) the active file. */
  static async open(fs: FileSystem, dir: string, fileBytesMax: number): Promise<Session> {
    const lock = await acquireLock(dir, { fs });
    try {
      const recovered = await recover(fs, dir);
      const { files, newestWriteId } = recovered;
      let nextFileId = recovered.nextFileId;
      let active = newestWriteId === undefined ? undefined : files.get(newestWriteId);
      if (active === undefined || active.size >= fileBytesMax) {
        const header = { id: nextFileId++, kind: 'write' as const, seqFloor: recovered.nextSeq };
        active = await DataFile.create(fs, dir, header);
        files.set(active.id, active);
      }
      const counters = { nextSeq: recovered.nextSeq, nextFileId, active };
      const { keydir, stats } = recovered;
      return new Session(fs, dir, fileBytesMax, lock, keydir, files, stats, counters);
    } catch (err) {
      await releaseLock(lock);
      throw err;
    }
  }

  allocateFileId(): number {
    if (!(this.fileId <= FILE_ID_MAX))
      assert(false, `bitcask: file ids exhausted at ${this.fileId}`);
    return this.fileId++;
  }

  nextSeq(): number {
    return this.seq;
  }

  /** The seq of a new batch. */
  takeSeq(): number {
    if (!Number.isSafeInteger(this.seq + 1)) assert(false, `bitcask: seq ${this.seq} overflows`);
    return this.seq++;
  }

  /** Rejects once a merge has left the directory needing a reopen. */
  checkWritable(): void {
    if (this.broken !== undefined) throw this.broken;
  }

  /** Queues a merge after any running one; `runTask` runs the worker part in the pool. */
  merge(runTask: TaskRunner): Promise<MergeResult> {
    const host = this.mergeHost(runTask);
    const result = this.merges
      .catch(() => undefined)
      .then(() => {
        this.checkWritable();
        if (this.aborter.signal.aborted) {
          throw engineError('NOT_OPEN', 'bitcask closed before the merge ran');
        }
        return runMerge(host);
      });
    this.merges = result;
    return result;
  }

  /** Stops merges (a running worker is aborted), waits for writes, closes every file. */
  async close(): Promise<void> {
    this.aborter.abort();
    await this.merges.catch(() => undefined);
    await this.writer.idle();
    try {
      await this.writer.close();
    } finally {
      const files = [...this.files.values(), ...this.retired];
      await Promise.all(files.map((file) => file.close()));
      await releaseLock(this.lock);
    }
  }

  /** Bytes of every data file, and of the records live keys point at. */
  sizes(): { dataBytes: number; liveBytes: number } {
    let dataBytes = 0;
    for (const file of this.files.values()) dataBytes += file.size;
    return { dataBytes, liveBytes: this.keydir.liveBytes };
  }

  private mergeHost(runTask: TaskRunner): MergeHost {
    return {
      fs: this.fs,
      dir: this.dir,
      fileBytesMax: this.fileBytesMax,
      keydir: this.keydir,
      files: this.files,
      activeFileId: () => this.writer.activeFile.id,
      rotate: () => this.writer.rotate(),
      allocateFileId: () => this.allocateFileId(),
      nextSeq: () => this.nextSeq(),
      runTask: (task) => runTask(task, this.aborter.signal),
      retire: (file) => {
        this.retired.add(file);
        file.retire();
      },
      markBroken: (err) => {
        const message = 'bitcask: a merge failed after its commit point; reopen';
        this.broken ??= engineError('IO_ERROR', message, err);
      },
    };
  }
}
