/**
 * The in-memory key directory of bitcask (and memory-log): for every live key, where its
 * newest record lies; and the directory recovery builds.
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

/**
 * The in-memory key directory: for every live key, where its newest record lies.
 *
 * A key maps to a slot of four columns (file id, offset, size, seq) rather than to a
 * `Location` object: the writer updates a key on every record it writes, and an object per
 * record lived until the key's next write, long enough to be promoted and traced by every
 * major collection (issue 10, sixth session). Freed slots are reused. `get` and iteration
 * hand out fresh `Location` objects; a merge tells whether a key still points where it did
 * at its snapshot by value (`replaceIfUnchanged`): a record's (file id, offset) is unique,
 * since files are append-only and file ids are never reused.
 */
export class KeyDir {
  private readonly slots = new Map<string, number>();
  private fileIds = new Uint32Array(SLOTS_INITIAL);
  private offsets = new Float64Array(SLOTS_INITIAL);
  private sizes = new Uint32Array(SLOTS_INITIAL);
  private seqs = new Float64Array(SLOTS_INITIAL);
  /** Slots freed by deletes, reused first; `used` slots have ever been handed out. */
  private readonly free: number[] = [];
  private used = 0;
  private liveBytesTotal = 0;

  get size(): number {
    return this.slots.size;
  }

  /** Sum of the record sizes of every live key: what a full merge would keep. */
  get liveBytes(): number {
    return this.liveBytesTotal;
  }

  get(key: string): Location | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.locationAt(slot);
  }

  set(key: string, location: Location): void {
    this.put(key, location.fileId, location.offset, location.size, location.seq);
  }

  /** `set` without a `Location` object: the writer's path, once per record written. */
  put(key: string, fileId: number, offset: number, size: number, seq: number): void {
    // Guards, not closures: once per record written.
    if (!(size > 0 && offset > 0)) assert(false, `keydir.set ${key}: bad location`);
    if (!(fileId >>> 0 === fileId && size >>> 0 === size))
      assert(false, `keydir.set ${key}: ${fileId}`);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.takeSlot();
      this.slots.set(key, slot);
    } else {
      this.liveBytesTotal -= this.sizes[slot];
    }
    this.fileIds[slot] = fileId;
    this.offsets[slot] = offset;
    this.sizes[slot] = size;
    this.seqs[slot] = seq;
    this.liveBytesTotal += size;
    if (!(this.liveBytesTotal >= 0)) assert(false, `keydir: live bytes ${this.liveBytesTotal}`);
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    this.slots.delete(key);
    this.liveBytesTotal -= this.sizes[slot];
    this.free.push(slot);
    assert(this.liveBytesTotal >= 0, () => `keydir: live bytes ${this.liveBytesTotal}`);
  }

  /** Sets `key` to `next` only if it still points at `expected`'s record; true when it did. */
  replaceIfUnchanged(key: string, expected: Location, next: Location): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    if (this.fileIds[slot] !== expected.fileId || this.offsets[slot] !== expected.offset) {
      return false;
    }
    assert(this.seqs[slot] === expected.seq, () => `keydir: ${key} changed seq in place`);
    this.set(key, next);
    return true;
  }

  /**
   * The keys whose records lie in `fileIds`, with their locations (a merge's snapshot): the
   * file id is checked in its column first, so only the keys taken cost a `Location`.
   */
  entriesIn(fileIds: ReadonlySet<number>): Array<[string, Location]> {
    const out: Array<[string, Location]> = [];
    for (const [key, slot] of this.slots) {
      if (fileIds.has(this.fileIds[slot])) out.push([key, this.locationAt(slot)]);
    }
    assert(out.length <= this.slots.size, () => `keydir: ${out.length} entries taken`);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<[string, Location]> {
    for (const [key, slot] of this.slots) yield [key, this.locationAt(slot)];
  }

  private locationAt(slot: number): Location {
    assert(slot < this.used, () => `keydir: slot ${slot} of ${this.used}`);
    return {
      fileId: this.fileIds[slot],
      offset: this.offsets[slot],
      size: this.sizes[slot],
      seq: this.seqs[slot],
    };
  }

  private takeSlot(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.sizes.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const n = this.sizes.length * 2;
    assert(n <= SLOTS_MAX, () => `keydir: ${n} slots`);
    this.fileIds = grown(this.fileIds, new Uint32Array(n));
    this.offsets = grown(this.offsets, new Float64Array(n));
    this.sizes = grown(this.sizes, new Uint32Array(n));
    this.seqs = grown(this.seqs, new Float64Array(n));
  }
}

const SLOTS_INITIAL = 1024;
/** Far above any key count one engine holds in RAM (a Map holds at most 2^24 keys anyway). */
const SLOTS_MAX = 2 ** 30;

function grown<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
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
