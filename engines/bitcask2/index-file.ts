/**
 * The on-disk level 2 of the key directory: one immutable index file per generation,
 * `NNNNNN.index`, holding one page per non-empty bucket (`index-page.ts`), a directory of
 * page lengths, and a footer with the checkpoint. A flush writes the next generation under a
 * temporary name, fsyncs it, renames it into place and fsyncs the directory, so an index file
 * under its final name is always complete.
 *
 *   offset 0   header (24 bytes): magic 'PX2I' u32, version u8, 3 reserved, generation u32,
 *              bucket bits u8, 7 reserved, CRC-32 of bytes [0, 20) u32
 *   offset 24  pages, in bucket order (empty buckets have none)
 *   then       directory: a sealed record of 2^bits page lengths (u32 each)
 *   then       footer: a sealed record of FOOTER_PAYLOAD_BYTES (see `encodeFooter`)
 *
 * In RAM (level 1) an open index keeps two typed arrays: page offsets (f64) and lengths (u32),
 * 12 bytes per bucket, so with ~64 keys per bucket well under one byte per key.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { crc32 } from '../crc32';
import { isEngineError, engineError } from '../errors';
import { openRecord, sealRecord } from '../record-codec';
import { ioStep, readFully, readPoint, syncDirectory, writeFully } from '../bitcask/data-file';
import type { FileSystem, FsFile } from '../fs/file-system';
import { readU64, TEMP_SUFFIX, viewOf, writeU64 } from '../bitcask/format';
import { BUCKET_BITS_MAX } from './bucket-hash';
import { decodePage, type PageEntry } from './index-page';

const INDEX_MAGIC = 0x5058_3249;
const FOOTER_MAGIC = 0x5058_3246;
const INDEX_VERSION = 1;
export const INDEX_HEADER_BYTES = 24;
const FOOTER_PAYLOAD_BYTES = 45;
const FOOTER_RECORD_BYTES = 9 + FOOTER_PAYLOAD_BYTES;
const GENERATION_MAX = 0xffff_ffff;

/** Everything before this position in the data files is in the index; replay starts here. */
export interface Checkpoint {
  readonly fileId: number;
  readonly offset: number;
  /** The next batch seq when the index was frozen (a floor for seqs after reopen). */
  readonly nextSeq: number;
}

export interface IndexFooter extends Checkpoint {
  readonly bucketBits: number;
  readonly directoryOffset: number;
  readonly directoryBytes: number;
  readonly keys: number;
}

export function indexFileName(generation: number): string {
  assert(
    Number.isInteger(generation) && generation >= 1 && generation <= GENERATION_MAX,
    () => `gen ${generation}`,
  );
  return `${String(generation).padStart(6, '0')}.index`;
}

/** The generation of a final index file name; undefined for every other name. */
export function parseIndexName(name: string): number | undefined {
  const match = /^(\d{6,10})\.index$/.exec(name);
  if (match === null) return undefined;
  const generation = Number(match[1]);
  return generation >= 1 && generation <= GENERATION_MAX ? generation : undefined;
}

export function encodeIndexHeader(generation: number, bucketBits: number): Uint8Array {
  assert(bucketBits >= 0 && bucketBits <= BUCKET_BITS_MAX, () => `index header bits ${bucketBits}`);
  const bytes = new Uint8Array(INDEX_HEADER_BYTES);
  const view = viewOf(bytes);
  view.setUint32(0, INDEX_MAGIC, false);
  view.setUint8(4, INDEX_VERSION);
  view.setUint32(8, generation, false);
  view.setUint8(12, bucketBits);
  view.setUint32(20, crc32(bytes.subarray(0, 20)), false);
  return bytes;
}

export function decodeIndexHeader(bytes: Uint8Array): { generation: number; bucketBits: number } {
  assert(bytes.length === INDEX_HEADER_BYTES, () => `index header of ${bytes.length} bytes`);
  const view = viewOf(bytes);
  if (view.getUint32(20, false) !== crc32(bytes.subarray(0, 20))) {
    throw engineError('CORRUPTED', 'index header checksum mismatch');
  }
  if (view.getUint32(0, false) !== INDEX_MAGIC || view.getUint8(4) !== INDEX_VERSION) {
    throw engineError('CORRUPTED', 'index header: unknown magic or version');
  }
  return { generation: view.getUint32(8, false), bucketBits: view.getUint8(12) };
}

export function encodeFooter(footer: IndexFooter): Uint8Array {
  const payload = new Uint8Array(FOOTER_PAYLOAD_BYTES);
  const view = viewOf(payload);
  view.setUint32(0, FOOTER_MAGIC, false);
  view.setUint8(4, footer.bucketBits);
  writeU64(view, 5, footer.directoryOffset);
  view.setUint32(13, footer.directoryBytes, false);
  view.setUint32(17, footer.fileId, false);
  writeU64(view, 21, footer.offset);
  writeU64(view, 29, footer.nextSeq);
  writeU64(view, 37, footer.keys);
  const record = sealRecord(payload);
  assert(record.length === FOOTER_RECORD_BYTES, () => `footer of ${record.length} bytes`);
  return record;
}

export function decodeFooter(bytes: Uint8Array): IndexFooter {
  const payload = openRecord(bytes);
  if (payload.length !== FOOTER_PAYLOAD_BYTES) throw engineError('CORRUPTED', 'index footer size');
  const view = viewOf(payload);
  if (view.getUint32(0, false) !== FOOTER_MAGIC) {
    throw engineError('CORRUPTED', 'index footer magic');
  }
  const bucketBits = view.getUint8(4);
  if (bucketBits > BUCKET_BITS_MAX) {
    throw engineError('CORRUPTED', `index bucket bits ${bucketBits}`);
  }
  return {
    bucketBits,
    directoryOffset: readU64(view, 5),
    directoryBytes: view.getUint32(13, false),
    fileId: view.getUint32(17, false),
    offset: readU64(view, 21),
    nextSeq: readU64(view, 29),
    keys: readU64(view, 37),
  };
}

/** The directory record: the page length of every bucket, in bucket order. */
export function encodeDirectory(lengths: Uint32Array): Uint8Array {
  const payload = new Uint8Array(4 * lengths.length);
  const view = viewOf(payload);
  for (let i = 0; i < lengths.length; i++) view.setUint32(4 * i, lengths[i], false);
  return sealRecord(payload);
}

export function decodeDirectory(bytes: Uint8Array, bucketBits: number): Uint32Array {
  const payload = openRecord(bytes);
  const buckets = 2 ** bucketBits;
  if (payload.length !== 4 * buckets) throw engineError('CORRUPTED', 'index directory size');
  const view = viewOf(payload);
  const lengths = new Uint32Array(buckets);
  for (let i = 0; i < buckets; i++) lengths[i] = view.getUint32(4 * i, false);
  return lengths;
}

/**
 * An open, immutable index file: the directory in RAM, pages read on demand. Reference
 * counted like a data file, so an index a flush has replaced stays open for the reads and
 * iterations that still use it.
 */
export class IndexFile {
  private refs = 0;
  private retired = false;
  private closed: Promise<void> | undefined = undefined;

  private constructor(
    readonly path: string,
    readonly generation: number,
    readonly footer: IndexFooter,
    private readonly handle: FsFile,
    readonly offsets: Float64Array,
    readonly lengths: Uint32Array,
    readonly bytes: number,
  ) {
    assert(offsets.length === 2 ** footer.bucketBits, 'IndexFile: directory size');
    assert(lengths.length === offsets.length, 'IndexFile: offsets and lengths differ');
  }

  get bucketBits(): number {
    return this.footer.bucketBits;
  }

  get keys(): number {
    return this.footer.keys;
  }

  /** RAM held per bucket by this index (the level 1 summary). */
  get summaryBytes(): number {
    return this.offsets.byteLength + this.lengths.byteLength;
  }

  /** Opens `NNNNNN.index` and checks its header, footer and directory (not the pages). */
  static async open(fs: FileSystem, dir: string, generation: number): Promise<IndexFile> {
    const file = path.join(dir, indexFileName(generation));
    const handle = await ioStep(`open ${file}`, () => fs.open(file, 'r'));
    try {
      const { size } = await ioStep(`stat ${file}`, () => handle.stat());
      if (size < INDEX_HEADER_BYTES + FOOTER_RECORD_BYTES) {
        throw engineError('CORRUPTED', `${file}: ${size} bytes is too short`);
      }
      const header = new Uint8Array(INDEX_HEADER_BYTES);
      await readFully(handle, header, 0);
      const { generation: found, bucketBits } = decodeIndexHeader(header);
      if (found !== generation) {
        throw engineError('CORRUPTED', `${file} carries generation ${found}`);
      }
      const footerBytes = new Uint8Array(FOOTER_RECORD_BYTES);
      await readFully(handle, footerBytes, size - FOOTER_RECORD_BYTES);
      const footer = decodeFooter(footerBytes);
      const { directoryOffset, directoryBytes } = footer;
      const fits = directoryOffset + directoryBytes === size - FOOTER_RECORD_BYTES;
      if (footer.bucketBits !== bucketBits || !fits) {
        throw engineError('CORRUPTED', `${file}: footer does not match the file`);
      }
      const directory = new Uint8Array(directoryBytes);
      await readFully(handle, directory, directoryOffset);
      const lengths = decodeDirectory(directory, bucketBits);
      const offsets = pageOffsets(lengths, directoryOffset, file);
      return new IndexFile(file, generation, footer, handle, offsets, lengths, size);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw isEngineError(err) ? err : engineError('IO_ERROR', `open ${file}`, err);
    }
  }

  /** The verified entries of `bucket`'s page; none for an empty bucket. */
  async readPage(bucket: number): Promise<PageEntry[]> {
    const bytes = await this.readPageBytes(bucket);
    return bytes === undefined ? [] : decodePage(bytes, bucket);
  }

  /** The sealed (not yet verified) page of `bucket`; undefined for an empty bucket. */
  async readPageBytes(bucket: number): Promise<Uint8Array | undefined> {
    assert(this.closed === undefined, () => `read of closed index ${this.generation}`);
    assert(bucket >= 0 && bucket < this.lengths.length, () => `readPage: bucket ${bucket}`);
    const length = this.lengths[bucket];
    if (length === 0) return undefined;
    const bytes = new Uint8Array(length);
    // A page per lookup of a key the filter lets through: a point read (inline-reads.ts).
    await readPoint(this.handle, bytes, this.offsets[bucket]);
    return bytes;
  }

  /** Reads `length` bytes at `offset` (a flush reads many pages at once). */
  async readRange(offset: number, length: number): Promise<Uint8Array> {
    assert(this.closed === undefined, () => `read of closed index ${this.generation}`);
    assert(
      offset >= INDEX_HEADER_BYTES && offset + length <= this.bytes,
      () => `readRange ${offset}`,
    );
    const bytes = new Uint8Array(length);
    await readFully(this.handle, bytes, offset);
    return bytes;
  }

  acquire(): void {
    assert(this.closed === undefined, () => `acquire of closed index ${this.generation}`);
    this.refs++;
  }

  release(): void {
    assert(this.refs > 0, () => `release of index ${this.generation} with no references`);
    this.refs--;
    if (this.retired && this.refs === 0) void this.close();
  }

  /** A newer generation replaced this one: it closes once its last reader is done. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) void this.close();
  }

  close(): Promise<void> {
    if (this.closed === undefined) this.closed = this.handle.close().catch(() => undefined);
    return this.closed;
  }
}

/** Pages lie back to back after the header, in bucket order, and end where the directory starts. */
function pageOffsets(lengths: Uint32Array, directoryOffset: number, file: string): Float64Array {
  const offsets = new Float64Array(lengths.length);
  let at = INDEX_HEADER_BYTES;
  for (let i = 0; i < lengths.length; i++) {
    offsets[i] = at;
    at += lengths[i];
  }
  if (at !== directoryOffset) throw engineError('CORRUPTED', `${file}: pages end at ${at}`);
  return offsets;
}

/** Chunk of pages written at once by a flush. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes the next index generation under `NNNNNN.index.tmp`: pages in bucket order, then the
 * directory and footer; `finish` makes it durable, `install` renames it into place.
 */
export class IndexBuilder {
  private readonly lengths: Uint32Array;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private position = INDEX_HEADER_BYTES;
  private nextBucket = 0;
  private keys = 0;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    readonly generation: number,
    readonly bucketBits: number,
    private readonly handle: FsFile,
  ) {
    this.lengths = new Uint32Array(2 ** bucketBits);
  }

  get tempPath(): string {
    return path.join(this.dir, indexFileName(this.generation) + TEMP_SUFFIX);
  }

  static async create(
    fs: FileSystem,
    dir: string,
    generation: number,
    bucketBits: number,
  ): Promise<IndexBuilder> {
    const temp = path.join(dir, indexFileName(generation) + TEMP_SUFFIX);
    const handle = await ioStep(`create ${temp}`, () => fs.open(temp, 'w'));
    try {
      await writeFully(handle, encodeIndexHeader(generation, bucketBits), 0);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return new IndexBuilder(fs, dir, generation, bucketBits, handle);
  }

  /** Adds the sealed page of `bucket`; buckets must come in increasing order. */
  async addPage(bucket: number, page: Uint8Array, entries: number): Promise<void> {
    assert(
      bucket >= this.nextBucket && bucket < this.lengths.length,
      () => `addPage: bucket ${bucket}`,
    );
    assert(entries > 0 && page.length > 0, () => `addPage: empty page for bucket ${bucket}`);
    this.lengths[bucket] = page.length;
    this.nextBucket = bucket + 1;
    this.keys += entries;
    this.pending.push(page);
    this.pendingBytes += page.length;
    if (this.pendingBytes >= WRITE_CHUNK_BYTES) await this.writePending();
  }

  /** Writes directory and footer, fsyncs, closes. The file is complete but not yet in place. */
  async finish(checkpoint: Checkpoint): Promise<void> {
    const directory = encodeDirectory(this.lengths);
    const directoryOffset = this.position + this.pendingBytes;
    const footer = encodeFooter({
      ...checkpoint,
      bucketBits: this.bucketBits,
      directoryOffset,
      directoryBytes: directory.length,
      keys: this.keys,
    });
    this.pending.push(directory, footer);
    this.pendingBytes += directory.length + footer.length;
    await this.writePending();
    await ioStep(`sync ${this.tempPath}`, () => this.handle.datasync());
    await this.handle.close();
  }

  /** The atomic step: rename into place, then fsync the directory. */
  async install(): Promise<void> {
    const final = path.join(this.dir, indexFileName(this.generation));
    await ioStep(`rename ${this.tempPath}`, () => this.fs.rename(this.tempPath, final));
    await syncDirectory(this.fs, this.dir);
  }

  /** After a failure: close and remove the temp file (best effort; open removes leftovers). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await this.fs.unlink(this.tempPath).catch(() => undefined);
  }

  private async writePending(): Promise<void> {
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    await writeFully(this.handle, chunk, this.position);
    this.position += chunk.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
