/**
 * A flush: merges the frozen write buffer into the index, writing the next generation in one
 * sequential pass over the old pages (`index-file.ts`). Old bucket i becomes the new buckets
 * [i << shift, (i + 1) << shift) when the table grows (`bucket-hash.ts`), so old pages are
 * read and new pages written in order, in bounded chunks.
 *
 * Only the new pages touched by buffered keys are decoded and re-encoded; a page no buffered
 * key falls in, in a table that did not grow, is copied byte for byte (with its checksum, so
 * damage stays detectable rather than being sealed under a fresh CRC).
 *
 * The old index and the frozen buffer are immutable while this runs; writes go into a new
 * buffer, and reads look at both buffers before the old index, so nothing is ever missing.
 */
import type { FileSystem } from '../fs/file-system';
import { assert } from '../../runtime/assert';
import { openRecord } from '../record-codec';
import { bucketBitsFor, bucketOf } from './bucket-hash';
import { type Checkpoint, IndexBuilder, IndexFile } from './index-file';
import { decodePage, encodePage, type PageEntry, rewriteSealedPage, sameBytes } from './index-page';
import { type BufferItem, bucketItems, itemsBefore, type WriteBuffer } from './write-buffer';

const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Above this many buffered items per old bucket, look them up by hash instead of scanning. */
const LINEAR_ITEMS_MAX = 8;

export interface FlushRequest {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly generation: number;
  readonly old: IndexFile | undefined;
  readonly buffer: WriteBuffer;
  readonly keysPerBucket: number;
  readonly checkpoint: Checkpoint;
  /** Runs after the new index is durable and before it is renamed into place. */
  readonly beforeInstall: () => Promise<void>;
  /** Told the size of every index entry a buffered update replaces (dead bytes). */
  readonly onReplaced?: (size: number) => void;
}

/** Writes, installs and opens the next index generation. The caller retires the old one. */
export async function flushIndex(request: FlushRequest): Promise<IndexFile> {
  const { old, buffer } = request;
  const oldBits = old?.bucketBits ?? 0;
  const estimate = (old?.keys ?? 0) + buffer.size;
  const bits = bucketBitsFor(estimate, request.keysPerBucket, oldBits);
  const items = bucketItems([buffer], bits);
  const builder = await IndexBuilder.create(request.fs, request.dir, request.generation, bits);
  try {
    await writePages(builder, old, items, bits, request.onReplaced ?? (() => undefined));
    await builder.finish(request.checkpoint);
    await request.beforeInstall();
    await builder.install();
  } catch (err) {
    await builder.abandon();
    throw err;
  }
  const next = await IndexFile.open(request.fs, request.dir, request.generation);
  assert(next.bucketBits === bits, () => `flush: wrote ${bits} bits, read ${next.bucketBits}`);
  assert(next.keys <= estimate, () => `flush: ${next.keys} keys from at most ${estimate}`);
  assert(next.footer.offset === request.checkpoint.offset, 'flush: checkpoint did not round-trip');
  return next;
}

async function writePages(
  builder: IndexBuilder,
  old: IndexFile | undefined,
  items: readonly BufferItem[],
  bits: number,
  onReplaced: (size: number) => void,
): Promise<void> {
  const oldBits = old?.bucketBits ?? 0;
  const shift = bits - oldBits;
  assert(shift >= 0, () => `flush: table shrinks from ${oldBits} to ${bits} bits`);
  const reader = old === undefined ? undefined : new PageReader(old);
  let itemAt = 0;
  for (let oldBucket = 0; oldBucket < 2 ** oldBits; oldBucket++) {
    const first = oldBucket * 2 ** shift;
    const itemEnd = itemsBefore(items, itemAt, first + 2 ** shift);
    const raw = reader === undefined ? undefined : await reader.page(oldBucket);
    const slice = items.slice(itemAt, itemEnd);
    itemAt = itemEnd;
    if (raw !== undefined && shift === 0) {
      // The table did not grow: copy the page, or rewrite it without decoding its entries.
      if (slice.length === 0) {
        await builder.addPage(oldBucket, raw, pageCount(raw));
      } else {
        const overridden = overrideCheck(slice);
        const drop = (hash: number, key: Uint8Array, size: number): boolean => {
          const replaced = overridden(hash, key);
          if (replaced) onReplaced(size);
          return replaced;
        };
        const rewritten = rewriteSealedPage(raw, oldBucket, drop, putsOf(slice));
        if (rewritten !== undefined) {
          await builder.addPage(oldBucket, rewritten.page, rewritten.count);
        }
      }
      continue;
    }
    const oldEntries = raw === undefined ? [] : decodePage(raw, oldBucket);
    for (const [bucket, entries] of mergeBucket(oldEntries, slice, bits, onReplaced)) {
      await builder.addPage(bucket, encodePage(bucket, entries), entries.length);
    }
  }
  assert(itemAt === items.length, () => `flush: ${items.length - itemAt} buffered keys left over`);
}

/**
 * The new pages of one old bucket: its entries that no buffered key overrides, plus the
 * buffered puts, grouped by new bucket in increasing order. Tombstones just drop the key.
 */
export function mergeBucket(
  oldEntries: readonly PageEntry[],
  items: readonly BufferItem[],
  bits: number,
  onReplaced: (size: number) => void = () => undefined,
): Array<[number, PageEntry[]]> {
  const overridden = overrideCheck(items);
  const placed: Array<[number, PageEntry]> = [];
  for (const entry of oldEntries) {
    if (!overridden(entry.hash, entry.key)) placed.push([bucketOf(entry.hash, bits), entry]);
    else onReplaced(entry.size);
  }
  const puts = putsOf(items);
  for (const entry of puts) placed.push([bucketOf(entry.hash, bits), entry]);
  placed.sort((a, b) => a[0] - b[0]);
  const pages: Array<[number, PageEntry[]]> = [];
  for (const [bucket, entry] of placed) {
    const last = pages[pages.length - 1];
    if (last !== undefined && last[0] === bucket) last[1].push(entry);
    else pages.push([bucket, [entry]]);
  }
  assert(
    pages.every(([, entries]) => entries.length > 0),
    'mergeBucket: empty page',
  );
  return pages;
}

/** The buffered puts as page entries (tombstones have none: they only drop the key). */
function putsOf(items: readonly BufferItem[]): PageEntry[] {
  const puts: PageEntry[] = [];
  for (const { keyBytes, hash, location } of items) {
    if (location === null) continue;
    const { fileId, offset, size } = location;
    puts.push({ hash, key: keyBytes, fileId, offset, size });
  }
  return puts;
}

/** True for an index entry that a buffered update (put or tombstone) replaces. */
function overrideCheck(items: readonly BufferItem[]): (hash: number, key: Uint8Array) => boolean {
  const matches = (hash: number, key: Uint8Array, item: BufferItem): boolean =>
    item.hash === hash && sameBytes(item.keyBytes, key);
  if (items.length <= LINEAR_ITEMS_MAX) {
    return (hash, key) => items.some((item) => matches(hash, key, item));
  }
  const byHash = new Map<number, BufferItem[]>();
  for (const item of items) {
    const list = byHash.get(item.hash);
    if (list === undefined) byHash.set(item.hash, [item]);
    else list.push(item);
  }
  return (hash, key) => (byHash.get(hash) ?? []).some((item) => matches(hash, key, item));
}

/** The entry count of a sealed page, after checking its CRC (a copied page must be intact). */
export function pageCount(raw: Uint8Array): number {
  const payload = openRecord(raw);
  assert(payload.length >= 8, 'pageCount: short page');
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(4, false);
}

/** Reads the pages of an index in bucket order, many pages per read (flushes and merges). */
export class PageReader {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly index: IndexFile) {}

  /** The raw page of `bucket`, or undefined when it is empty. */
  async page(bucket: number): Promise<Uint8Array | undefined> {
    const length = this.index.lengths[bucket];
    if (length === 0) return undefined;
    const offset = this.index.offsets[bucket];
    if (offset < this.start || offset + length > this.start + this.bytes.length) {
      const pagesEnd = this.index.footer.directoryOffset;
      const chunk = Math.min(Math.max(READ_CHUNK_BYTES, length), pagesEnd - offset);
      this.bytes = await this.index.readRange(offset, chunk);
      this.start = offset;
    }
    return this.bytes.subarray(offset - this.start, offset - this.start + length);
  }
}
