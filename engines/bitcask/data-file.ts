/**
 * An open data file: positional reads and appends, and a reference count so that a file a
 * merge has replaced stays open until the last read or iteration that uses it is done (an
 * unlinked file stays readable through an open descriptor on POSIX).
 *
 * Files are created under a temporary name, made durable, and renamed into place followed by
 * a directory fsync, so a data file under its final name always has a complete header.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { isEngineError, engineError } from '../errors';
import type { FileSystem, FsFile } from '../fs/file-system';
import { hasWriteNow, inlineWrites } from '../fs/inline-writes';
import { INLINE_READ_BYTES_MAX, hasReadNow, inlineReads } from '../inline-reads';
import {
  type DataHeader,
  DATA_HEADER_BYTES,
  dataFileName,
  decodeDataHeader,
  encodeDataHeader,
  type FileKind,
  TEMP_SUFFIX,
} from './format';

/** Partial writes to regular files are rare; a few retries cover them, more means trouble. */
const WRITE_ATTEMPTS_MAX = 16;

export class DataFile {
  /** Bytes of valid content: appends go here, reads must stay below it. */
  private sizeBytes: number;
  private refs = 0;
  private retired = false;
  private closed: Promise<void> | undefined = undefined;

  private constructor(
    readonly dir: string,
    readonly header: DataHeader,
    private readonly handle: FsFile,
    size: number,
  ) {
    assert(size >= DATA_HEADER_BYTES, `data file ${header.id}: size ${size} < header`);
    this.sizeBytes = size;
  }

  get id(): number {
    return this.header.id;
  }

  get kind(): FileKind {
    return this.header.kind;
  }

  get size(): number {
    return this.sizeBytes;
  }

  get path(): string {
    return path.join(this.dir, dataFileName(this.id));
  }

  /** Creates `NNNNNN.data` with its header, durably (temp name, fsync, rename, dir fsync). */
  static async create(fs: FileSystem, dir: string, header: DataHeader): Promise<DataFile> {
    const final = path.join(dir, dataFileName(header.id));
    const temp = final + TEMP_SUFFIX;
    const handle = await ioStep(`create ${temp}`, () => fs.open(temp, 'w+'));
    try {
      await writeFully(handle, encodeDataHeader(header), 0);
      await ioStep(`sync ${temp}`, () => handle.datasync());
      await ioStep(`rename ${temp}`, () => fs.rename(temp, final));
      await syncDirectory(fs, dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return new DataFile(dir, header, handle, DATA_HEADER_BYTES);
  }

  /** Opens an existing data file and checks its header; `writable` for truncate and append. */
  static async open(fs: FileSystem, dir: string, id: number, writable: boolean): Promise<DataFile> {
    const file = path.join(dir, dataFileName(id));
    const handle = await ioStep(`open ${file}`, () => fs.open(file, writable ? 'r+' : 'r'));
    try {
      const { size } = await ioStep(`stat ${file}`, () => handle.stat());
      const bytes = new Uint8Array(Math.min(size, DATA_HEADER_BYTES));
      await readFully(handle, bytes, 0);
      const header = decodeDataHeader(bytes);
      if (header.id !== id) throw engineError('CORRUPTED', `${file} carries id ${header.id}`);
      return new DataFile(dir, header, handle, size);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw isEngineError(err) ? err : engineError('IO_ERROR', `open ${file}`, err);
    }
  }

  /** Reads `size` bytes at `offset` into a fresh buffer; past the end of the file: CORRUPTED. */
  async read(offset: number, size: number): Promise<Uint8Array> {
    assert(this.closed === undefined, () => `read of closed data file ${this.id}`);
    assert(offset >= DATA_HEADER_BYTES && size >= 0, () => `read ${size} at ${offset}`);
    if (offset + size > this.sizeBytes) {
      throw engineError('CORRUPTED', `file ${this.id}: ${size} bytes at ${offset} past the end`);
    }
    const bytes = new Uint8Array(size);
    await readPoint(this.handle, bytes, offset);
    return bytes;
  }

  /** Appends at the current end; only the engine's writer calls this, one call at a time. */
  async append(bytes: Uint8Array): Promise<void> {
    assert(this.closed === undefined && !this.retired, () => `append to data file ${this.id}`);
    const position = this.sizeBytes;
    // One write(2) nearly always takes it all: try it without writeFully's loop and step
    // closure (this runs once per group commit), and let writeFully finish a partial write.
    // On the calling thread while the page cache takes appends at once (inline-writes.ts).
    const handle = this.handle;
    let written: number;
    try {
      written =
        hasWriteNow(handle) && inlineWrites.allows(bytes.length)
          ? inlineWrites.write(handle, bytes, position)
          : (await handle.write(bytes, 0, bytes.length, position)).bytesWritten;
    } catch (err) {
      throw engineError('IO_ERROR', `bitcask: append to data file ${this.id} failed`, err);
    }
    assert(written >= 0 && written <= bytes.length, () => `append wrote ${written} bytes`);
    if (written < bytes.length) {
      await writeFully(this.handle, bytes.subarray(written), position + written);
    }
    assert(this.sizeBytes === position, () => `data file ${this.id}: concurrent append`);
    this.sizeBytes = position + bytes.length;
  }

  /**
   * `append` on the calling thread and nothing else (no pool, no promise): true once every
   * byte is written; false, with nothing written, when the file's port has no inline write or
   * the gate sends this size to the pool now. Only the writer calls this, and only when no
   * other append is under way (asserted by the size check, as in `append`).
   */
  appendNow(bytes: Uint8Array): boolean {
    // Guards, not closures: once per batch written.
    if (!(this.closed === undefined && !this.retired)) assert(false, `append to file ${this.id}`);
    if (!(bytes.length > 0)) assert(false, `appendNow of nothing to data file ${this.id}`);
    const handle = this.handle;
    if (!hasWriteNow(handle) || !inlineWrites.wouldAllow(bytes.length)) return false;
    const position = this.sizeBytes;
    // A regular file takes a whole write(2) nearly always; a short one is retried at once, a
    // bounded number of times, as writeFully does.
    let written = 0;
    for (let tries = 0; tries < WRITE_ATTEMPTS_MAX && written < bytes.length; tries++) {
      const rest = written === 0 ? bytes : bytes.subarray(written);
      let n: number;
      try {
        n = inlineWrites.write(handle, rest, position + written);
      } catch (err) {
        throw engineError('IO_ERROR', `bitcask: append to data file ${this.id} failed`, err);
      }
      if (!(n >= 0 && n <= rest.length))
        assert(false, `appendNow wrote ${n} of ${rest.length} bytes`);
      written += n;
    }
    if (written !== bytes.length) {
      throw engineError('IO_ERROR', `bitcask: wrote ${written} of ${bytes.length} bytes`);
    }
    if (this.sizeBytes !== position) assert(false, `data file ${this.id}: concurrent append`);
    this.sizeBytes = position + bytes.length;
    return true;
  }

  async datasync(): Promise<void> {
    await ioStep(`sync data file ${this.id}`, () => this.handle.datasync());
  }

  /** Cuts the file to `size` bytes (a torn tail) and makes the cut durable. */
  async truncate(size: number): Promise<void> {
    assert(size >= DATA_HEADER_BYTES && size <= this.sizeBytes, `truncate to ${size}`);
    await ioStep(`truncate data file ${this.id}`, () => this.handle.truncate(size));
    await this.datasync();
    this.sizeBytes = size;
  }

  /** Pins the file open for a read; pair every acquire with one release. */
  acquire(): void {
    assert(this.closed === undefined, () => `acquire of closed data file ${this.id}`);
    this.refs++;
  }

  release(): void {
    assert(this.refs > 0, () => `release of data file ${this.id} with no references`);
    this.refs--;
    if (this.retired && this.refs === 0) void this.close();
  }

  /** A merge replaced this file: it closes once the last reader releases it. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) void this.close();
  }

  /** Closes the descriptor (once; later calls share the first). Never rejects. */
  close(): Promise<void> {
    if (this.closed === undefined) this.closed = this.handle.close().catch(() => undefined);
    return this.closed;
  }
}

export async function syncDirectory(fs: FileSystem, dir: string): Promise<void> {
  const handle = await ioStep(`open directory ${dir}`, () => fs.open(dir, 'r'));
  try {
    await ioStep(`sync directory ${dir}`, () => handle.sync());
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Runs one file system step; any failure becomes IO_ERROR naming the step. */
export async function ioStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw engineError('IO_ERROR', `bitcask: ${what} failed`, err);
  }
}

/**
 * Reads all of `bytes` at `position` for a point read (a record, an index page): on the calling
 * thread while the page cache answers at once (inline-reads.ts), else through the pool.
 */
export async function readPoint(
  handle: FsFile,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  if (!hasReadNow(handle) || bytes.length > INLINE_READ_BYTES_MAX || !inlineReads.allows(1)) {
    return readFully(handle, bytes, position);
  }
  let bytesRead: number;
  try {
    bytesRead = inlineReads.read(handle, bytes, position);
  } catch (err) {
    throw engineError('IO_ERROR', 'bitcask: read failed', err);
  }
  checkWholeRead(bytesRead, bytes.length, position);
}

/** Regular files return short reads only at their end: a short read is CORRUPTED. */
function checkWholeRead(bytesRead: number, length: number, position: number): void {
  if (bytesRead !== length) {
    throw engineError('CORRUPTED', `read ${bytesRead} of ${length} bytes at ${position}`);
  }
}

/** Writes all of `bytes` at `position`, retrying a rare partial write a bounded number of times. */
export async function writeFully(
  handle: FsFile,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  for (let attempt = 0; attempt < WRITE_ATTEMPTS_MAX && done < bytes.length; attempt++) {
    const { bytesWritten } = await ioStep('write', () =>
      handle.write(bytes, done, bytes.length - done, position + done),
    );
    done += bytesWritten;
  }
  if (done !== bytes.length) {
    throw engineError('IO_ERROR', `bitcask: wrote ${done} of ${bytes.length} bytes`);
  }
}

/** Fills `bytes` from `position`; a short read means the file ends early: CORRUPTED. */
export async function readFully(
  handle: FsFile,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  if (bytes.length === 0) return;
  const { bytesRead } = await ioStep('read', () => handle.read(bytes, 0, bytes.length, position));
  checkWholeRead(bytesRead, bytes.length, position);
}
