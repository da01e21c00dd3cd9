/**
 * The write buffer: the key directory updates since the index was last flushed, in RAM and
 * bounded (`bufferKeysMax`). It is what the shared bitcask writer updates once a group is on
 * disk. A deleted key is kept as a tombstone (`null`) until the flush, because the index on
 * disk may still hold an older location for it.
 */
import { assert } from '../../runtime/assert';
import type { Location } from '../bitcask/keydir';
import type { KeyDirUpdates } from '../bitcask/writer';
import { bucketOf, keyHash } from './bucket-hash';

/** A location, or null: deleted since the flush (hides whatever the index holds). */
export type BufferedLocation = Location | null;

/** A tombstone record: envelope (9), kind (1), seq (8), key length (2), then the key. */
const TOMBSTONE_FIXED_BYTES = 20;

export class WriteBuffer implements KeyDirUpdates {
  private readonly entries = new Map<string, BufferedLocation>();
  /**
   * Bytes this buffer made dead: records it replaced (a key written again before the flush)
   * and its tombstones, which a merge drops. What it replaces in the index is counted by the
   * flush. Feeds the automatic merge policy.
   */
  deadBytes = 0;

  get size(): number {
    return this.entries.size;
  }

  /** undefined: not in the buffer (ask the index); null: deleted. */
  get(key: string): BufferedLocation | undefined {
    return this.entries.get(key);
  }

  set(key: string, location: Location): void {
    assert(location.size > 0 && location.offset > 0, () => `write buffer: bad location for ${key}`);
    this.deadBytes += this.entries.get(key)?.size ?? 0;
    this.entries.set(key, location);
  }

  /** The writer's form of `set` (`KeyDirUpdates`). */
  put(key: string, fileId: number, offset: number, size: number, seq: number): void {
    this.set(key, { fileId, offset, size, seq });
  }

  delete(key: string): void {
    this.deadBytes += (this.entries.get(key)?.size ?? 0) + TOMBSTONE_FIXED_BYTES;
    this.deadBytes += Buffer.byteLength(key, 'utf8');
    this.entries.set(key, null);
  }

  [Symbol.iterator](): IterableIterator<[string, BufferedLocation]> {
    return this.entries.entries();
  }
}

/** A buffered update, hashed and placed in a table of 2^bits buckets. */
export interface BufferItem {
  readonly key: string;
  readonly keyBytes: Uint8Array;
  readonly hash: number;
  readonly bucket: number;
  readonly location: BufferedLocation;
}

/**
 * The updates of `buffers` (later ones win) sorted by bucket, for a flush or an iteration.
 * O(n log n) in the buffered keys, which are bounded.
 */
export function bucketItems(buffers: readonly WriteBuffer[], bits: number): BufferItem[] {
  const merged = new Map<string, BufferedLocation>();
  for (const buffer of buffers) for (const [key, location] of buffer) merged.set(key, location);
  const items: BufferItem[] = [];
  for (const [key, location] of merged) {
    const keyBytes = Buffer.from(key, 'utf8');
    const hash = keyHash(keyBytes);
    items.push({ key, keyBytes, hash, bucket: bucketOf(hash, bits), location });
  }
  items.sort((a, b) => a.bucket - b.bucket);
  assert(items.length === merged.size, 'bucketItems: lost an item');
  return items;
}

/** The end of the run of items (from `start`) whose bucket is below `bucketEnd`. */
export function itemsBefore(
  items: readonly BufferItem[],
  start: number,
  bucketEnd: number,
): number {
  let end = start;
  while (end < items.length && items[end].bucket < bucketEnd) end++;
  assert(end >= start && end <= items.length, () => `itemsBefore: ${end}`);
  return end;
}
