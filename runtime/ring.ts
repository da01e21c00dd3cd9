/**
 * A single-producer/single-consumer ring of length-prefixed byte records in a SharedArrayBuffer.
 *
 * Layout (all offsets in bytes):
 *
 *   0   tail        u32, written only by the producer (Atomics.store publishes records)
 *   64  head        u32, written only by the consumer (Atomics.store frees space)
 *   128 spaceWanted i32, set by a producer that could not write, cleared by the consumer
 *   192 data        capacityBytes, a power of two
 *
 * Each index sits on its own 64-byte cache line so the producer and the consumer do not
 * invalidate each other's line on every write (false sharing).
 *
 * `head` and `tail` are free-running u32 byte counters; the position in the data area is
 * `counter & (capacity - 1)`. Because the capacity is a power of two that divides 2^32, the
 * counters may wrap past 2^32 and `(tail - head) >>> 0` is still the number of used bytes.
 *
 * A record is a u32 length followed by the payload, padded to a multiple of 4 so every length
 * word is aligned and never straddles the end of the data area. The payload itself MAY wrap
 * around the end (no skip marker): this wastes no space and guarantees that any record whose
 * framed size fits the free space can be written. The consumer hands a wrapped record to its
 * handler through a private scratch copy; an unwrapped record is handed over as a view into
 * the shared memory, with no copy.
 *
 * Publication: the producer writes the bytes with plain stores, then `Atomics.store(tail)`.
 * The consumer does `Atomics.load(tail)` before reading any byte; sequentially consistent
 * atomics order the plain stores before the load, so the consumer never sees a torn record.
 * The same holds in the other direction for `head`, which guards reuse of the space.
 *
 * The producer may stage records (write them beyond the published tail) and publish many at
 * once: `Outbox` uses this to batch without an extra copy.
 */
import { assert } from './assert';

const TAIL_INDEX = 0; // Int32 index of the tail word (byte 0).
const HEAD_INDEX = 16; // Int32 index of the head word (byte 64).
const SPACE_WANTED_INDEX = 32; // Int32 index of the spaceWanted word (byte 128).
const HEADER_BYTES = 192;
const LENGTH_BYTES = 4;
/** Smallest data area: room for a few small records, keeps the arithmetic simple. */
const CAPACITY_BYTES_MIN = 64;
/** Largest data area: used-byte counts must stay below 2^31 for signed comparisons. */
const CAPACITY_BYTES_MAX = 1 << 30;
/** Bytes of the two header words of a framed record (see tryStageFramed). */
const FRAME_WORDS_BYTES = 8;

function align4(n: number): number {
  return (n + 3) & ~3;
}

function nextPowerOfTwo(n: number): number {
  let p = CAPACITY_BYTES_MIN;
  while (p < n) p *= 2;
  return p;
}

/** Receives a framed record: its two header words and a view of its payload. */
export type FramedHandler = (word0: number, word1: number, payload: Uint8Array) => void;

// Framed records store their header words with Int32Array, i.e. in platform byte order; the
// wire format is little-endian, as every platform Node supports in practice.
assert(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, 'big-endian platforms unsupported');

export class SpscRing {
  /**
   * Allocates the shared memory of a ring. The data area is `capacityBytes` rounded up to a
   * power of two (at least 64), so `capacityBytes` of the constructed ring may be larger.
   */
  static allocate(capacityBytes: number): SharedArrayBuffer {
    const valid = Number.isInteger(capacityBytes) && capacityBytes >= 1;
    if (!valid || capacityBytes > CAPACITY_BYTES_MAX) {
      throw new RangeError(`ring capacityBytes must be an integer in [1, 2^30]: ${capacityBytes}`);
    }
    return new SharedArrayBuffer(HEADER_BYTES + nextPowerOfTwo(capacityBytes));
  }

  /** Size of the data area in bytes (a power of two). */
  readonly capacityBytes: number;
  /** Largest payload `tryWrite` accepts: half the capacity, so it always fits an empty ring. */
  readonly recordBytesMax: number;
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly mask: number;
  // Producer-private state. `tailStaged` runs ahead of the published tail while staging;
  // `headSeen` caches the consumer's head so most writes need no atomic load.
  private tailStaged: number;
  private headSeen: number;
  // Consumer-private scratch for records that wrap around the end of the data area.
  private scratch: Uint8Array | undefined;

  constructor(sab: SharedArrayBuffer) {
    const capacityBytes = sab.byteLength - HEADER_BYTES;
    assert(capacityBytes >= CAPACITY_BYTES_MIN, `ring buffer too small: ${sab.byteLength} bytes`);
    assert((capacityBytes & (capacityBytes - 1)) === 0, `ring capacity ${capacityBytes} not 2^k`);
    this.capacityBytes = capacityBytes;
    this.recordBytesMax = capacityBytes / 2;
    this.mask = capacityBytes - 1;
    this.control = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(sab, HEADER_BYTES, capacityBytes);
    this.words = new Int32Array(sab, HEADER_BYTES, capacityBytes / 4);
    this.tailStaged = Atomics.load(this.control, TAIL_INDEX) >>> 0;
    this.headSeen = Atomics.load(this.control, HEAD_INDEX) >>> 0;
  }

  /** Bytes published and not yet consumed (record headers and padding included). */
  get usedBytes(): number {
    const tail = Atomics.load(this.control, TAIL_INDEX);
    const head = Atomics.load(this.control, HEAD_INDEX);
    const used = (tail - head) >>> 0;
    assert(used <= this.capacityBytes, `ring used ${used} > capacity ${this.capacityBytes}`);
    return used;
  }

  /** Writes and publishes one record. False when there is no room; never writes partially. */
  tryWrite(record: Uint8Array): boolean {
    if (!this.tryStage1(record)) return false;
    this.publish();
    return true;
  }

  /** Writes and publishes one record made of several parts, without concatenating them. */
  tryWriteParts(parts: readonly Uint8Array[]): boolean {
    if (!this.tryStageParts(parts)) return false;
    this.publish();
    return true;
  }

  /** Producer: writes one record beyond the published tail; invisible until `publish()`. */
  tryStage1(record: Uint8Array): boolean {
    const length = record.byteLength;
    if (!this.reserve(length)) return false;
    const start = this.writeLength(length);
    this.copyIn(record, start);
    this.tailStaged = (this.tailStaged + LENGTH_BYTES + align4(length)) >>> 0;
    return true;
  }

  /** Producer: stages one record made of `parts`; invisible until `publish()`. */
  tryStageParts(parts: readonly Uint8Array[]): boolean {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    if (!this.reserve(length)) return false;
    let at = this.writeLength(length);
    for (const part of parts) {
      this.copyIn(part, at);
      at = (at + part.byteLength) >>> 0;
    }
    this.tailStaged = (this.tailStaged + LENGTH_BYTES + align4(length)) >>> 0;
    return true;
  }

  /**
   * Producer: stages a framed record, two u32 header words then `payload` (the runtime's
   * `[from][to][payload]`). Same bytes as staging the parts, but the header goes in as two
   * aligned word stores instead of a copy: this is the hot path of every message.
   */
  tryStageFramed(word0: number, word1: number, payload: Uint8Array): boolean {
    const length = FRAME_WORDS_BYTES + payload.byteLength;
    if (!this.reserve(length)) return false;
    const at = this.writeLength(length);
    // `at` is 4-aligned and the capacity a multiple of 4, so neither word straddles the end.
    this.words[(at & this.mask) >>> 2] = word0;
    this.words[((at + 4) & this.mask) >>> 2] = word1;
    this.copyIn(payload, (at + FRAME_WORDS_BYTES) >>> 0);
    this.tailStaged = (this.tailStaged + LENGTH_BYTES + align4(length)) >>> 0;
    return true;
  }

  /** Producer: makes every staged record visible. Returns true if anything was published. */
  publish(): boolean {
    const tail = Atomics.load(this.control, TAIL_INDEX) >>> 0;
    if (tail === this.tailStaged) return false;
    assert((this.tailStaged - tail) >>> 0 <= this.capacityBytes, 'staged beyond capacity');
    Atomics.store(this.control, TAIL_INDEX, this.tailStaged | 0);
    return true;
  }

  /** Producer: free bytes as of the last look at the consumer's head (staged bytes count). */
  fits(recordBytes: number): boolean {
    const max = this.recordBytesMax;
    if (recordBytes > max) assert(false, `record ${recordBytes} > max ${max}`);
    const need = LENGTH_BYTES + align4(recordBytes);
    if (this.freeSeen() >= need) return true;
    this.headSeen = Atomics.load(this.control, HEAD_INDEX) >>> 0;
    return this.freeSeen() >= need;
  }

  /**
   * Producer: asks the consumer to report freed space (see `takeSpaceWanted`). The caller must
   * re-check `fits` after this call and before it parks, or a wake-up can be lost.
   */
  markSpaceWanted(): void {
    Atomics.store(this.control, SPACE_WANTED_INDEX, 1);
  }

  /** Consumer: true once after a producer asked for space; call after freeing space. */
  takeSpaceWanted(): boolean {
    if (Atomics.load(this.control, SPACE_WANTED_INDEX) === 0) return false;
    return Atomics.exchange(this.control, SPACE_WANTED_INDEX, 0) === 1;
  }

  /**
   * Consumer side: drops every published record unread (head = tail). Only for a ring whose
   * producer thread died: its records (and any fragmented message it had begun) belong to a
   * crashed incarnation, and its successor starts at the current tail.
   */
  discardAll(): number {
    const tail = Atomics.load(this.control, TAIL_INDEX) >>> 0;
    const head = Atomics.load(this.control, HEAD_INDEX) >>> 0;
    Atomics.store(this.control, HEAD_INDEX, tail | 0);
    return (tail - head) >>> 0;
  }

  /** Consumer: true if at least one published record awaits `drain`. */
  hasRecords(): boolean {
    return Atomics.load(this.control, TAIL_INDEX) !== Atomics.load(this.control, HEAD_INDEX);
  }

  /**
   * Consumer: the position up to which records are published now, for `drainFramed`'s `until`:
   * records published later lie after it.
   */
  publishedTail(): number {
    return Atomics.load(this.control, TAIL_INDEX) >>> 0;
  }

  /** Consumer: true if a record published before `until` (a `publishedTail()`) awaits drain. */
  hasRecordsBefore(until: number): boolean {
    return Atomics.load(this.control, HEAD_INDEX) >>> 0 !== until;
  }

  /**
   * Consumer: hands up to `maxRecords` records to `handler`, in order. The view passed to the
   * handler is valid only during the call. Space is freed once, when the drain ends; if the
   * handler throws, the records handled so far (the throwing one included) count as consumed,
   * so a record that always throws cannot wedge the ring.
   */
  drain(handler: (record: Uint8Array) => void, maxRecords: number): number {
    assert(Number.isInteger(maxRecords) && maxRecords > 0, `bad maxRecords ${maxRecords}`);
    const tail = Atomics.load(this.control, TAIL_INDEX) >>> 0;
    let head = Atomics.load(this.control, HEAD_INDEX) >>> 0;
    assert((tail - head) >>> 0 <= this.capacityBytes, `ring head ${head} tail ${tail} bad`);
    let count = 0;
    try {
      while (head !== tail && count < maxRecords) {
        const length = this.words[(head & this.mask) >>> 2] >>> 0;
        if (length > this.recordBytesMax) assert(false, `ring record length ${length} at ${head}`);
        const next = (head + LENGTH_BYTES + align4(length)) >>> 0;
        assert((tail - next) >>> 0 <= (tail - head) >>> 0, 'ring record overruns tail');
        const view = this.viewOf((head + LENGTH_BYTES) & this.mask, length);
        head = next;
        count++;
        handler(view);
      }
    } finally {
      Atomics.store(this.control, HEAD_INDEX, head | 0);
    }
    return count;
  }

  /**
   * Consumer: like `drain`, for records staged with `tryStageFramed`: hands over the two header
   * words and a view of the payload (one view per record instead of two).
   */
  drainFramed(
    handler: FramedHandler,
    maxRecords: number,
    until?: number,
    payloadBytesMax = Infinity,
  ): number {
    assert(Number.isInteger(maxRecords) && maxRecords > 0, 'bad maxRecords');
    const published = Atomics.load(this.control, TAIL_INDEX) >>> 0;
    let head = Atomics.load(this.control, HEAD_INDEX) >>> 0;
    const tail = until === undefined ? published : until;
    if ((tail - head) >>> 0 > this.capacityBytes) assert(false, `ring ${head}..${tail} bad`);
    // `until` is a position published earlier: it lies between the head and what is published.
    if (!((tail - head) >>> 0 <= (published - head) >>> 0))
      assert(false, `drain until ${tail} past the published tail ${published}`);
    let count = 0;
    let payloadBytes = 0;
    try {
      while (head !== tail && count < maxRecords && payloadBytes < payloadBytesMax) {
        const at = head & this.mask;
        const length = this.words[at >>> 2] >>> 0;
        const bad = length < FRAME_WORDS_BYTES || length > this.recordBytesMax;
        if (bad) assert(false, `framed record length ${length} at ${head}`);
        const word0 = this.words[((at + 4) & this.mask) >>> 2] >>> 0;
        const word1 = this.words[((at + 8) & this.mask) >>> 2] >>> 0;
        const next = (head + LENGTH_BYTES + align4(length)) >>> 0;
        assert((tail - next) >>> 0 <= (tail - head) >>> 0, 'ring record overruns tail');
        const payload = this.viewOf((at + 12) & this.mask, length - FRAME_WORDS_BYTES);
        head = next;
        count++;
        payloadBytes += payload.byteLength;
        handler(word0, word1, payload);
      }
    } finally {
      Atomics.store(this.control, HEAD_INDEX, head | 0);
    }
    return count;
  }

  private freeSeen(): number {
    return this.capacityBytes - ((this.tailStaged - this.headSeen) >>> 0);
  }

  private reserve(length: number): boolean {
    // Callers split payloads larger than half the ring: a larger record could starve the ring
    // forever behind a smaller one and is a programmer error here, not an operating error.
    const max = this.recordBytesMax;
    if (length > max) assert(false, `ring record ${length} > max ${max}`);
    return this.fits(length);
  }

  /** Writes the length word at the staged tail; returns the data position of the payload. */
  private writeLength(length: number): number {
    const at = this.tailStaged & this.mask;
    if ((at & 3) !== 0) assert(false, `ring tail ${this.tailStaged} misaligned`);
    this.words[at >>> 2] = length;
    return (this.tailStaged + LENGTH_BYTES) >>> 0;
  }

  /** Copies `source` to the data position `counter`, wrapping around the end if needed. */
  private copyIn(source: Uint8Array, counter: number): void {
    const at = counter & this.mask;
    const length = source.byteLength;
    const first = Math.min(length, this.capacityBytes - at);
    if (first === length) {
      this.bytes.set(source, at);
      return;
    }
    this.bytes.set(source.subarray(0, first), at);
    this.bytes.set(source.subarray(first), 0);
  }

  /** A view of `length` bytes at data position `at`; wrapped records go through scratch. */
  private viewOf(at: number, length: number): Uint8Array {
    if (at + length <= this.capacityBytes) return this.bytes.subarray(at, at + length);
    if (this.scratch === undefined) this.scratch = new Uint8Array(this.recordBytesMax);
    const first = this.capacityBytes - at;
    this.scratch.set(this.bytes.subarray(at, this.capacityBytes), 0);
    this.scratch.set(this.bytes.subarray(0, length - first), first);
    return this.scratch.subarray(0, length);
  }
}
