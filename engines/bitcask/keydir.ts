/**
 * The in-memory key directory: for every live key, where its newest record lies. Locations
 * are immutable objects, so a merge can tell (by identity) whether a key still points where
 * it did when the merge took its snapshot.
 */
import { assert } from '../../runtime/assert';

export interface Location {
  readonly fileId: number;
  /** Offset of the sealed entry record in its data file. */
  readonly offset: number;
  /** Bytes of the sealed entry record. */
  readonly size: number;
  /** Sequence number of the batch that wrote it; decides between records at recovery. */
  readonly seq: number;
}

export class KeyDir {
  private readonly entries = new Map<string, Location>();
  private liveBytesTotal = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Sum of the record sizes of every live key: what a full merge would keep. */
  get liveBytes(): number {
    return this.liveBytesTotal;
  }

  get(key: string): Location | undefined {
    return this.entries.get(key);
  }

  set(key: string, location: Location): void {
    assert(location.size > 0 && location.offset > 0, () => `keydir.set ${key}: bad location`);
    const previous = this.entries.get(key);
    if (previous !== undefined) this.liveBytesTotal -= previous.size;
    this.entries.set(key, location);
    this.liveBytesTotal += location.size;
    assert(this.liveBytesTotal >= 0, () => `keydir: live bytes ${this.liveBytesTotal}`);
  }

  delete(key: string): void {
    const previous = this.entries.get(key);
    if (previous === undefined) return;
    this.entries.delete(key);
    this.liveBytesTotal -= previous.size;
    assert(this.liveBytesTotal >= 0, () => `keydir: live bytes ${this.liveBytesTotal}`);
  }

  /** Sets `key` to `next` only if it still points at `expected`; true when it did. */
  replaceIfUnchanged(key: string, expected: Location, next: Location): boolean {
    if (this.entries.get(key) !== expected) return false;
    this.set(key, next);
    return true;
  }

  [Symbol.iterator](): IterableIterator<[string, Location]> {
    return this.entries.entries();
  }
}

/**
 * Builds the key directory at recovery, from records met in any order: per key the record
 * with the highest seq wins, tombstones included (a tombstone must beat an older put that a
 * later file still holds).
 */
export class RecoveringKeyDir {
  private readonly newest = new Map<string, Location | number>();
  private seqMax = -1;

  /** The highest seq of any record seen, or -1. */
  get maxSeq(): number {
    return this.seqMax;
  }

  put(key: string, location: Location): void {
    if (this.isNewer(key, location.seq)) this.newest.set(key, location);
  }

  tombstone(key: string, seq: number): void {
    if (this.isNewer(key, seq)) this.newest.set(key, seq);
  }

  /** The live keys; tombstones are dropped here, having done their work. */
  finish(): KeyDir {
    const keydir = new KeyDir();
    for (const [key, entry] of this.newest) {
      if (typeof entry !== 'number') keydir.set(key, entry);
    }
    assert(keydir.size <= this.newest.size, 'RecoveringKeyDir.finish: more keys than seen');
    return keydir;
  }

  /** Equal seqs (the same record in two files) keep the later one met: either is correct. */
  private isNewer(key: string, seq: number): boolean {
    assert(Number.isSafeInteger(seq) && seq >= 0, () => `recovery: seq ${seq}`);
    if (seq > this.seqMax) this.seqMax = seq;
    const current = this.newest.get(key);
    if (current === undefined) return true;
    return seq >= (typeof current === 'number' ? current : current.seq);
  }
}
