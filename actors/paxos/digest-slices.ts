/**
 * The digest scan's hashing off the actor's thread (docs/decisions.md, "One offload pool per
 * worker thread"). Keys are packed, as they are met, into slices: one buffer holding each key's
 * hash input (key, the 33-byte head, data: exactly what `keyDigest` hashes) and the end offset
 * of each. A full slice is hashed in the worker's offload pool (its buffer moved, not copied);
 * the results are folded back in slice order, so the answer is the one the inline path gives.
 *
 * The held records' cut takes each key's fields and a reference to its data array (never
 * changed in place), so it is cheap; packing then copies the bytes, CUT_KEYS_PER_TURN keys per
 * turn (replica-digest.ts). Copying costs far less than SHA-256 (a memcpy against a hash), so
 * the actor thread's share is the copy, the key map and the fold.
 *
 * Bounds: a slice is at most SLICE_BYTES_MAX bytes (or one larger record) and SLICE_KEYS_MAX
 * keys; at most SLICES_IN_FLIGHT_MAX slices are in the pool at once (more wait packed). A slice
 * under OFFLOAD_BYTES_MIN is hashed here: a round trip to the pool costs more than that hash.
 * A pool that refuses (PXS_OFFLOAD_BUSY) gets the slice hashed here too.
 */
import * as path from 'node:path';
import type { Offload } from '../../runtime/actor';
import { assert } from '../../runtime/assert';
import type { KeyRecord } from './core/types';
import hashDigestSlice from './digest-task';
import type { DigestSliceOutput } from './digest-task';

export const SLICE_BYTES_MAX = 1 << 20;
export const SLICE_KEYS_MAX = 8192;
export const SLICES_IN_FLIGHT_MAX = 4;
export const OFFLOAD_BYTES_MIN = 64 * 1024;
export const DIGEST_HEAD_BYTES = 33;

const DIGEST_TASK = Object.freeze({
  filename: path.join(__dirname, 'digest-task.js'),
  name: 'default',
});

export interface SliceLimits {
  readonly sliceBytesMax: number;
  readonly sliceKeysMax: number;
  readonly offloadBytesMin: number;
}

export const SLICE_LIMITS_DEFAULT: SliceLimits = Object.freeze({
  sliceBytesMax: SLICE_BYTES_MAX,
  sliceKeysMax: SLICE_KEYS_MAX,
  offloadBytesMin: OFFLOAD_BYTES_MIN,
});

/** What a key's digest covers besides the key (a KeyRecord has them all). */
export type DigestFields = Pick<
  KeyRecord,
  'chosen' | 'chosenOrigin' | 'chosenSeq' | 'version' | 'data'
>;

/** The hash input of a key's digest, written at `offset` (key first); returns its key bytes. */
export function writeDigestInput(
  target: Buffer,
  offset: number,
  key: string,
  rec: DigestFields,
): number {
  const keyBytes = target.write(key, offset, 'utf8');
  let at = offset + keyBytes;
  at = target.writeDoubleBE(rec.chosen, at);
  at = target.writeDoubleBE(rec.chosenOrigin, at);
  at = target.writeDoubleBE(rec.chosenSeq, at);
  at = target.writeDoubleBE(rec.version, at);
  at = target.writeUInt8(rec.data === null ? 0 : 1, at);
  if (rec.data !== null)
    at += Buffer.from(rec.data.buffer, rec.data.byteOffset, rec.data.byteLength).copy(target, at);
  assert(
    at === offset + keyBytes + DIGEST_HEAD_BYTES + (rec.data?.byteLength ?? 0),
    () => `digest input of ${key}: ${at - offset} bytes`,
  );
  return keyBytes;
}

interface Slice<T> {
  /** `bytes` is a view of all of it: the ArrayBuffer is what moves to the pool's thread. */
  readonly buffer: ArrayBuffer;
  readonly bytes: Buffer;
  readonly ends: number[];
  readonly keyBytes: number[];
  readonly metas: T[];
  used: number;
  digests: Promise<DigestSliceOutput> | undefined;
}

/** Packs keys into slices, hashes them (in the pool when worth it) and hands back results in order. */
export class DigestSlicer<T> {
  private current: Slice<T> | undefined = undefined;
  /** Packed slices in order; the first SLICES_IN_FLIGHT_MAX may be hashing. */
  private readonly queue: Slice<T>[] = [];
  slicesOffloaded = 0;
  /** Slices sealed so far: the caller yields its thread after each (at most ~1 MiB copied). */
  slicesSealed = 0;

  constructor(
    private readonly offload: Offload,
    private readonly buckets: number,
    private readonly fold: (meta: T, hi: number, lo: number, bucket: number) => void,
    private readonly limits: SliceLimits = SLICE_LIMITS_DEFAULT,
  ) {
    assert(limits.sliceBytesMax >= 1 && limits.sliceKeysMax >= 1, 'digest slice limits');
  }

  /** Packs one key now (a copy of its bytes). */
  add(key: string, rec: DigestFields, meta: T): void {
    const need = Buffer.byteLength(key, 'utf8') + DIGEST_HEAD_BYTES + (rec.data?.byteLength ?? 0);
    let slice = this.current;
    if (
      slice !== undefined &&
      (slice.used + need > slice.bytes.length || slice.ends.length >= this.limits.sliceKeysMax)
    ) {
      this.seal();
      slice = undefined;
    }
    if (slice === undefined) {
      // Its own ArrayBuffer (not Node's shared pool), so it can be moved to the pool's thread.
      const buffer = new ArrayBuffer(Math.max(this.limits.sliceBytesMax, need));
      slice = {
        buffer,
        bytes: Buffer.from(buffer),
        ends: [],
        keyBytes: [],
        metas: [],
        used: 0,
        digests: undefined,
      };
      this.current = slice;
    }
    slice.keyBytes.push(writeDigestInput(slice.bytes, slice.used, key, rec));
    slice.used += need;
    slice.ends.push(slice.used);
    slice.metas.push(meta);
  }

  /** Slices waiting to be folded (the caller awaits `foldOldest` to keep this bounded). */
  get backlog(): number {
    return this.queue.length;
  }

  /** Folds the oldest packed slice (waiting for its hashes). */
  async foldOldest(): Promise<void> {
    const slice = this.queue.shift();
    assert(slice !== undefined, 'foldOldest with nothing queued');
    const { words, buckets } = await (slice.digests ?? this.hash(slice));
    const n = slice.metas.length;
    assert(
      words.length === 2 * n && buckets.length === n,
      () => `${words.length} digest words, ${buckets.length} buckets for ${n} keys`,
    );
    for (let i = 0; i < n; i++)
      this.fold(
        slice.metas[i] as T,
        words[2 * i] as number,
        words[2 * i + 1] as number,
        buckets[i] as number,
      );
    this.startHashing();
  }

  /** Seals the last slice and folds everything, in order. */
  async finish(): Promise<void> {
    this.seal();
    for (let i = 0; this.queue.length > 0; i++) {
      assert(i < 1 << 30, 'digest slices never drain');
      await this.foldOldest();
    }
  }

  private seal(): void {
    const slice = this.current;
    this.current = undefined;
    if (slice === undefined || slice.ends.length === 0) return;
    this.slicesSealed++;
    this.queue.push(slice);
    this.startHashing();
  }

  private startHashing(): void {
    const n = Math.min(this.queue.length, SLICES_IN_FLIGHT_MAX);
    for (let i = 0; i < n; i++) {
      const slice = this.queue[i] as Slice<T>;
      if (slice.digests !== undefined || slice.used < this.limits.offloadBytesMin) continue;
      slice.digests = this.hash(slice);
      // Awaited in order by foldOldest; until then a rejection must not count as unhandled.
      slice.digests.catch(() => undefined);
    }
  }

  private async hash(slice: Slice<T>): Promise<DigestSliceOutput> {
    const bytes = slice.buffer;
    const input = {
      bytes,
      ends: Uint32Array.from(slice.ends),
      keyBytes: Uint32Array.from(slice.keyBytes),
      buckets: this.buckets,
    };
    if (slice.used < this.limits.offloadBytesMin) return hashDigestSlice(input);
    // A copy of exactly the used bytes would cost another memcpy; moving the whole buffer costs nothing.
    try {
      const output = (await this.offload.run(DIGEST_TASK, input, {
        transferList: [bytes],
      })) as Partial<DigestSliceOutput>;
      assert(
        output.words instanceof Uint32Array && output.buckets instanceof Uint16Array,
        'digest task returned no digests',
      );
      this.slicesOffloaded++;
      return output as DigestSliceOutput;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'PXS_OFFLOAD_BUSY') throw error;
      return hashDigestSlice(input);
    }
  }
}
