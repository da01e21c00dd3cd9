/**
 * The single writer: appends batch frames to the active data file, one at a time, in the
 * order `write` was called (which is seq order), and updates the key directory once they are
 * written. Rotates to a new file at the size limit.
 *
 * Group commit: batches that queue up while a write is under way go out together in the next
 * single write(2), followed by a single fdatasync if any of them asked for `sync`. Each batch
 * keeps its own frame, so each stays atomic on its own.
 *
 * After a failed write the file's tail is unknown, so the writer refuses every later write
 * (IO_ERROR); reopening the engine truncates the tail and recovers.
 *
 * Sync marks (`batch-frame.ts`): once an fdatasync has returned, the next group's write(2)
 * starts with a mark naming the offset that is now durable, and a clean close ends the file
 * with one. Recovery needs them to tell a tear (bytes after the last durable point, cut) from
 * damage (bytes before it, which may have held acknowledged records).
 */
import { assert } from '../../runtime/assert';
import { isEngineError, engineError, type EngineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { encodeSyncMark, type FramedEntry } from './batch-frame';
import { DataFile, ioStep, syncDirectory } from './data-file';
import { DATA_HEADER_BYTES } from './format';
import type { Location } from './keydir';

/** Bounds on one group commit, so one write(2) stays a reasonable size. */
const GROUP_BATCHES_MAX = 256;
const GROUP_BYTES_MAX = 4 * 1024 * 1024;
/** Groups per drain before yielding to the event loop (a new drain picks up the rest). */
const DRAIN_GROUPS_MAX = 64;
/** Drains to wait for at close: far more than a queue bounded by its callers can need. */
const IDLE_ROUNDS_MAX = 1_000_000;

/**
 * What the writer updates once a group is on disk. `KeyDir` is one; the two-level bitcask
 * (`../bitcask2/`) passes its write buffer instead. `put` takes a location's fields, so a
 * directory that stores them packed allocates nothing per record.
 */
export interface KeyDirUpdates {
  put(key: string, fileId: number, offset: number, size: number, seq: number): void;
  delete(key: string): void;
}

export interface WriterHost {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly keydir: KeyDirUpdates;
  readonly files: Map<number, DataFile>;
  allocateFileId(): number;
  /** The seq the next batch will get: the floor for a new file's header. */
  nextSeq(): number;
  /**
   * Optional: called at the end of each applied group with the position up to which every
   * record is now in the key directory (bitcask2 checkpoints its on-disk index there).
   */
  groupApplied?(fileId: number, end: number): void;
}

interface Pending {
  /** Empty for an empty batch, which only orders (and, with sync, flushes) earlier ones. */
  readonly bytes: Uint8Array;
  readonly entries: readonly FramedEntry[];
  readonly seq: number;
  readonly sync: boolean;
  /** A rotation request from a merge rather than a batch. */
  readonly rotate: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

export class Writer {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | undefined = undefined;
  private failure: EngineError | undefined = undefined;
  /** Offset of the active file up to which every byte is known to be on disk. */
  private syncedEnd: number;
  /** The highest durable end a mark in the active file names (written by this writer). */
  private markedEnd = 0;

  /** `active` must be durable up to its current size (recovery fdatasynced it, or it is new). */
  constructor(
    private readonly host: WriterHost,
    private active: DataFile,
  ) {
    assert(active.kind === 'write', `writer: active file ${active.id} is ${active.kind}`);
    this.syncedEnd = active.size;
  }

  get activeFile(): DataFile {
    return this.active;
  }

  /** Resolves once the frame is written (and fdatasynced, with `sync`) and applied. */
  append(
    bytes: Uint8Array,
    entries: readonly FramedEntry[],
    seq: number,
    sync: boolean,
  ): Promise<void> {
    return this.enqueue({ bytes, entries, seq, sync, rotate: false });
  }

  /**
   * `append` for an idle writer, on the calling thread, when it can finish here: nothing queued
   * or being written, no sync asked (an fdatasync goes to the pool), no rotation due, and the
   * file takes the bytes inline (`DataFile.appendNow`). Then the frame is written and applied
   * to the key directory before this returns true, with no promise and no microtask (a batch
   * under sync 'batch' is one write(2); the promise hops cost about as much as the frame's
   * checksum). False: nothing was done, and the caller goes through `append`. A failed write
   * fails the writer as `append`'s does, and throws.
   */
  appendNow(bytes: Uint8Array, entries: readonly FramedEntry[], seq: number): boolean {
    if (!(bytes.length > 0 && seq >= 0)) assert(false, `appendNow: ${bytes.length} B, seq ${seq}`);
    if (this.draining !== undefined || this.queue.length > 0 || this.failure !== undefined)
      return false;
    const active = this.active;
    const hasData = active.size > DATA_HEADER_BYTES;
    if (hasData && active.size + bytes.length > this.host.fileBytesMax) return false;
    // A mark is due only after an fdatasync (none under sync 'batch' but at a rotation):
    // that rare write takes `append`, so the mark is never taken here and then not written.
    if (this.syncedEnd > this.markedEnd && this.syncedEnd > DATA_HEADER_BYTES) return false;
    const base = active.size;
    let done: boolean;
    try {
      done = active.appendNow(bytes);
    } catch (err) {
      this.fail(err, []);
      throw this.failure ?? err;
    }
    if (!done) return false;
    this.applyFrame(entries, seq, base, bytes.length);
    this.host.groupApplied?.(active.id, active.size);
    return true;
  }

  /** Makes the active file immutable (if it holds any batch) by starting a new one. */
  rotate(): Promise<void> {
    const nothing = new Uint8Array(0);
    return this.enqueue({ bytes: nothing, entries: [], seq: -1, sync: false, rotate: true });
  }

  /**
   * Waits until every queued write has finished (for close, which lets no new write in, so
   * each round only shrinks the queue). Never rejects.
   */
  async idle(): Promise<void> {
    for (let round = 0; round < IDLE_ROUNDS_MAX && this.draining !== undefined; round++) {
      await this.draining;
    }
    assert(this.draining === undefined, 'writer.idle: still draining');
  }

  /** Close: make the active file durable, or remove it when no batch ever reached it. */
  async close(): Promise<void> {
    assert(this.draining === undefined && this.queue.length === 0, 'writer.close: still busy');
    const active = this.active;
    if (this.failure === undefined && active.size === DATA_HEADER_BYTES) {
      this.host.files.delete(active.id);
      await active.close();
      await ioStep(`remove empty ${active.path}`, () => this.host.fs.unlink(active.path));
      await syncDirectory(this.host.fs, this.host.dir);
      return;
    }
    if (this.failure !== undefined) return;
    await active.datasync();
    this.syncedEnd = active.size;
    // The mark goes after the sync it reports (one sync covering both could land the mark
    // without the data), then is synced itself so the next open finds the file wholly durable.
    const mark = this.takeMark();
    if (mark.length > 0) {
      await active.append(mark);
      await active.datasync();
    }
  }

  /** A mark for the next write when a sync has returned since the last mark; else nothing. */
  private takeMark(): Uint8Array {
    if (this.syncedEnd <= this.markedEnd || this.syncedEnd <= DATA_HEADER_BYTES)
      return new Uint8Array(0);
    this.markedEnd = this.syncedEnd;
    return encodeSyncMark(this.syncedEnd);
  }

  private enqueue(fields: Omit<Pending, 'resolve' | 'reject'>): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...fields, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    for (let group = 0; group < DRAIN_GROUPS_MAX && this.queue.length > 0; group++) {
      const batches = this.takeGroup();
      try {
        await this.writeGroup(batches);
      } catch (err) {
        this.fail(err, batches);
      }
    }
    this.draining = undefined;
    if (this.queue.length > 0) this.draining = this.drain();
  }

  /** The next group: one rotation alone, or batches that fit one write and one file. */
  private takeGroup(): Pending[] {
    const first = this.queue.shift();
    assert(first !== undefined, 'writer: empty queue');
    const group = [first];
    if (first.rotate) return group;
    let bytes = first.bytes.length;
    for (let next = this.queue[0]; next !== undefined && !next.rotate; next = this.queue[0]) {
      const total = bytes + next.bytes.length;
      if (group.length >= GROUP_BATCHES_MAX || total > GROUP_BYTES_MAX) break;
      if (this.active.size + total > this.host.fileBytesMax) break;
      group.push(next);
      this.queue.shift();
      bytes = total;
    }
    return group;
  }

  private async writeGroup(group: readonly Pending[]): Promise<void> {
    const bytes = group.reduce((sum, pending) => sum + pending.bytes.length, 0);
    const hasData = this.active.size > DATA_HEADER_BYTES;
    if (group[0].rotate) {
      if (hasData) await this.startNewFile();
    } else {
      // A batch never spans two files; one larger than the limit gets a file of its own.
      if (hasData && this.active.size + bytes > this.host.fileBytesMax) await this.startNewFile();
      const mark = bytes > 0 ? this.takeMark() : new Uint8Array(0);
      const base = this.active.size + mark.length;
      if (bytes > 0) await this.active.append(concat(group, bytes, mark));
      if (group.some((pending) => pending.sync)) {
        await this.active.datasync();
        this.syncedEnd = this.active.size;
      }
      this.apply(group, base);
    }
    for (const pending of group) pending.resolve();
  }

  /** The group is on disk from `base` on: point the key directory at its records. */
  private apply(group: readonly Pending[], base: number): void {
    let frameStart = base;
    for (const { entries, seq, bytes } of group) {
      this.applyFrame(entries, seq, frameStart, bytes.length);
      frameStart += bytes.length;
    }
    assert(frameStart === this.active.size, () => `writer: applied up to ${frameStart} only`);
    this.host.groupApplied?.(this.active.id, frameStart);
  }

  /** One frame of the active file, at `frameStart`, into the key directory. */
  private applyFrame(
    entries: readonly FramedEntry[],
    seq: number,
    frameStart: number,
    frameBytes: number,
  ): void {
    if (!(frameStart + frameBytes <= this.active.size)) assert(false, 'writer: frame past the end');
    const fileId = this.active.id;
    for (const { key, kind, offset, size } of entries) {
      if (kind === 'tombstone') this.host.keydir.delete(key);
      else this.host.keydir.put(key, fileId, frameStart + offset, size, seq);
    }
  }

  /** Rotation: the old file is fsynced first, so that only the active file can ever be torn. */
  private async startNewFile(): Promise<void> {
    await this.active.datasync();
    const id = this.host.allocateFileId();
    const header = { id, kind: 'write' as const, seqFloor: this.host.nextSeq() };
    const next = await DataFile.create(this.host.fs, this.host.dir, header);
    this.host.files.set(next.id, next);
    this.active = next;
    // DataFile.create made the header durable; marks count from the new file's start.
    this.syncedEnd = next.size;
    this.markedEnd = 0;
  }

  private fail(err: unknown, group: readonly Pending[]): void {
    const failure = isEngineError(err) ? err : engineError('IO_ERROR', 'bitcask write failed', err);
    this.failure ??= failure;
    for (const pending of group) pending.reject(failure);
    const waiting = this.queue.splice(0, this.queue.length);
    for (const pending of waiting) pending.reject(failure);
  }
}

/** The group's frames in one buffer, after `prefix` (a sync mark, or nothing). */
function concat(group: readonly Pending[], bytes: number, prefix: Uint8Array): Uint8Array {
  if (group.length === 1 && prefix.length === 0) return group[0].bytes;
  const out = new Uint8Array(prefix.length + bytes);
  out.set(prefix, 0);
  let offset = prefix.length;
  for (const pending of group) {
    out.set(pending.bytes, offset);
    offset += pending.bytes.length;
  }
  assert(offset === prefix.length + bytes, `writer concat: ${offset} of ${prefix.length + bytes}`);
  return out;
}
