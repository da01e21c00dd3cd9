/**
 * The fold of one replica group's digest answer (replica-digest.ts): keys in, bucket sums,
 * listings and states out. Keys are hashed inline (SHA-256 on this thread, digest-words.ts) or
 * packed into slices hashed in the worker's offload pool (digest-slices.ts); the answer is the
 * same either way.
 *
 * Stored records that a cursor reads in place (`addStoredEntry`, the memory engine) are hashed
 * from the record's own bytes: the key's UTF-8 bytes, the 33-byte head and the data are
 * written into one scratch buffer and hashed there, with no record, string or BigInt built for
 * a key that is neither listed nor asked for. A request with `listOnly` skips every key of a
 * bucket it does not list before any of that (round 2 of a comparison needs only the listings).
 */
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import type { KeyRecord } from './core/types';
import { DIGEST_HEAD_BYTES, DigestSlicer, SLICES_IN_FLIGHT_MAX } from './digest-slices';
import type { DigestFields, SliceLimits } from './digest-slices';
import { BucketSums, hexWords, sha256Words } from './digest-words';
import type { Offload } from '../../runtime/actor';
import type { DigestFieldsOut, StoredDigestCursor } from './record-port';
import type { ChosenState, DigestAnswer, DigestRequest, KeyDigest } from './replica-digest';
import { windowEntries } from './core/recent-window';

/** Held keys packed per turn when hashing is offloaded; the actor's other work runs between. */
export const CUT_KEYS_PER_TURN = 4096;
const CORRUPTED_NAMED_MAX = 1000;

/** What the fold keeps of a key until its digest is known (a copy: the record may change). */
interface PendingKey {
  readonly key: string;
  readonly chosen: number;
  readonly version: number;
  readonly state: Omit<ChosenState, 'digest'> | undefined;
}

/** A held key as the cut saw it (DigestFold.capture). */
export interface CapturedKey {
  readonly key: string;
  readonly fields: DigestFields;
  readonly state: Omit<ChosenState, 'digest'> | undefined;
}

/** Where a digest scan hashes: inline without `offload` (the simulator), else in slices there. */
export interface FoldOptions {
  readonly offload?: Offload;
  /** Tests only: smaller slices than the defaults of digest-slices.ts. */
  readonly limits?: SliceLimits;
}

/** Bucket of a key's UTF-8 bytes: their CRC-32 mod `buckets` (replica-digest.ts bucketOf). */
export function bucketOfBytes(bytes: Uint8Array, buckets: number): number {
  return crc32(bytes) % buckets;
}

/** The inline hash input (key, head, data), reused for every key (one thread, no re-entrance). */
let scratch = Buffer.allocUnsafeSlow(4096);
const words = new Uint32Array(2);

function scratchFor(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/** Writes the 33-byte head and the data after `at`; returns the input's end. */
function writeHeadAndData(target: Buffer, at: number, rec: DigestFields): number {
  let p = target.writeDoubleBE(rec.chosen, at);
  p = target.writeDoubleBE(rec.chosenOrigin, p);
  p = target.writeDoubleBE(rec.chosenSeq, p);
  p = target.writeDoubleBE(rec.version, p);
  p = target.writeUInt8(rec.data === null ? 0 : 1, p);
  if (rec.data !== null) {
    target.set(rec.data, p);
    p += rec.data.byteLength;
  }
  assert(p === at + DIGEST_HEAD_BYTES + (rec.data?.byteLength ?? 0), () => `digest input end ${p}`);
  return p;
}

/** Sets `words` to a key's digest (key given as a string). */
function hashKey(key: string, rec: DigestFields): void {
  const need = key.length * 3 + DIGEST_HEAD_BYTES + (rec.data?.byteLength ?? 0);
  const target = scratchFor(need);
  const keyBytes = target.write(key, 0, 'utf8');
  sha256Words(target.subarray(0, writeHeadAndData(target, keyBytes, rec)), words, 0);
}

/** Sets `words` to a key's digest (key given as UTF-8 bytes `key[from, to)`). */
function hashKeyBytes(key: Uint8Array, from: number, to: number, rec: DigestFields): void {
  const target = scratchFor(to - from + DIGEST_HEAD_BYTES + (rec.data?.byteLength ?? 0));
  target.set(key.subarray(from, to), 0);
  sha256Words(target.subarray(0, writeHeadAndData(target, to - from, rec)), words, 0);
}

/**
 * A copy of a key's chosen state, taken now: a held record is the core's live object, and the
 * answer is cloned only after the disk scan's awaits, when the key may have moved on.
 */
export function snapshot(key: string, rec: KeyRecord): Omit<ChosenState, 'digest'> {
  return {
    key,
    chosen: rec.chosen,
    chosenOrigin: rec.chosenOrigin,
    chosenSeq: rec.chosenSeq,
    version: rec.version,
    data: rec.data === null ? null : rec.data.slice(),
    recent: windowEntries(rec).map((e) => ({ ...e, result: e.result.slice() })),
  };
}

/** Folds keys into bucket digests (and listings); one instance per answer. */
export class DigestFold {
  private readonly slicer: DigestSlicer<PendingKey> | undefined;
  private readonly sums: BucketSums;
  private readonly listSet: Set<number>;
  private readonly stateKeys: Set<string>;
  private readonly fields: DigestFieldsOut = {
    chosen: 0,
    chosenOrigin: 0,
    chosenSeq: 0,
    version: 0,
    data: null,
  };
  readonly states: ChosenState[] = [];
  keys = 0;
  unsettled = 0;
  corrupted = 0;
  readonly corruptedKeys: string[] = [];
  readonly listed: KeyDigest[] = [];
  listTruncated = false;
  complete = true;
  scanError: string | undefined = undefined;

  constructor(
    private readonly request: DigestRequest,
    options: FoldOptions,
  ) {
    this.sums = new BucketSums(request.buckets);
    this.listSet = new Set(request.list);
    this.stateKeys = new Set(request.states ?? []);
    const fold = (pending: PendingKey, hi: number, lo: number, bucket: number): void =>
      this.foldDigest(pending, hi, lo, bucket);
    const { offload, limits } = options;
    this.slicer =
      offload === undefined ? undefined : new DigestSlicer(offload, request.buckets, fold, limits);
  }

  get buckets(): number {
    return this.request.buckets;
  }

  /** The request digests only listed buckets' keys (DigestRequest.listOnly). */
  get listOnly(): boolean {
    return this.request.listOnly === true;
  }

  /** False for a key a `listOnly` request leaves out (its bucket is not listed, no state asked). */
  wants(key: string, bucket: number): boolean {
    return this.request.listOnly !== true || this.listSet.has(bucket) || this.stateKeys.has(key);
  }

  add(key: string, rec: KeyRecord): void {
    // A key with nothing chosen has no state to compare (a promise alone is not data).
    if (rec.chosen === 0) return;
    this.addFields(key, rec, this.stateKeys.has(key) ? snapshot(key, rec) : undefined);
  }

  /**
   * A held key's digest fields, taken at the cut: the core's record object moves on after the
   * first await, but the data array it points at now is never changed in place (the models
   * replace `rec.data`; the one exception, a memory key's state written in place, is never
   * done to an array heldRecords() has lent out), so a reference is a copy.
   */
  capture(key: string, rec: KeyRecord): CapturedKey | undefined {
    if (rec.chosen === 0) return undefined;
    const { chosen, chosenOrigin, chosenSeq, version, data } = rec;
    const state = this.stateKeys.has(key) ? snapshot(key, rec) : undefined;
    return { key, fields: { chosen, chosenOrigin, chosenSeq, version, data }, state };
  }

  /** Folds one captured key (the caller yields between CUT_KEYS_PER_TURN of them). */
  addCaptured(c: CapturedKey): void {
    this.addFields(c.key, c.fields, c.state);
  }

  /** Slices sealed so far (0 inline): the caller yields its thread after each. */
  get slicesSealed(): number {
    return this.slicer?.slicesSealed ?? 0;
  }

  /**
   * The cursor's current record, read in place (its bucket first: a `listOnly` request skips
   * the rest of an unlisted key's work). Inline hashing only.
   */
  addStoredEntry(key: string, cursor: StoredDigestCursor): void {
    assert(this.slicer === undefined, 'a cursor scan hashes inline');
    const { bytes, keyFrom, keyTo } = cursor;
    const bucket = bucketOfBytes(bytes.subarray(keyFrom, keyTo), this.request.buckets);
    if (!this.wants(key, bucket)) return;
    const wantState = this.stateKeys.has(key);
    if (wantState || !cursor.digestFields(this.fields)) {
      this.add(key, cursor.record()); // a record in the sealed form, or a state asked for
      return;
    }
    const f = this.fields;
    if (f.chosen === 0) return;
    assert(f.chosen > 0 && f.version >= 0, () => `stored ${key}: chosen ${f.chosen}`);
    hashKeyBytes(bytes, keyFrom, keyTo, f);
    this.foldDigest(
      { key, chosen: f.chosen, version: f.version, state: undefined },
      words[0] as number,
      words[1] as number,
      bucket,
    );
  }

  private addFields(
    key: string,
    rec: DigestFields,
    state: Omit<ChosenState, 'digest'> | undefined,
  ): void {
    assert(rec.chosen > 0, () => `digest of ${key} with nothing chosen`);
    const pending: PendingKey = { key, chosen: rec.chosen, version: rec.version, state };
    // Sliced, the bucket comes back with the digest (the CRC-32 is computed where the hash is).
    if (this.slicer !== undefined) return this.slicer.add(key, rec, pending);
    hashKey(key, rec);
    const bucket = bucketOfBytes(scratch.subarray(0, Buffer.byteLength(key)), this.request.buckets);
    this.foldDigest(pending, words[0] as number, words[1] as number, bucket);
  }

  /** Keeps the slices waiting for their hashes bounded during the disk scan. */
  async settle(): Promise<void> {
    const slicer = this.slicer;
    if (slicer === undefined) return;
    const backlog = slicer.backlog;
    // Each fold removes one slice, so this runs at most `backlog` times.
    for (let i = 0; slicer.backlog > SLICES_IN_FLIGHT_MAX; i++) {
      assert(i < backlog, () => `digest backlog ${slicer.backlog} does not shrink (${i} folds)`);
      await slicer.foldOldest();
    }
  }

  /** Waits for every slice's hashes; after this the answer is complete. */
  async finish(): Promise<void> {
    await this.slicer?.finish();
  }

  private foldDigest(pending: PendingKey, hi: number, lo: number, bucket: number): void {
    const { key } = pending;
    assert(bucket >= 0 && bucket < this.request.buckets, () => `bucket ${bucket} of ${key}`);
    this.keys += 1;
    this.sums.add(bucket, hi, lo);
    if (pending.state !== undefined)
      this.states.push({ ...pending.state, digest: hexWords(hi, lo) });
    if (!this.listSet.has(bucket)) return;
    if (this.listed.length >= this.request.listKeysMax) {
      this.listTruncated = true;
      return;
    }
    this.listed.push({
      key,
      chosen: pending.chosen,
      version: pending.version,
      digest: hexWords(hi, lo),
    });
  }

  addCorrupted(key: string): void {
    this.corrupted += 1;
    if (this.corruptedKeys.length < CORRUPTED_NAMED_MAX) this.corruptedKeys.push(key);
  }

  answer(): DigestAnswer {
    return {
      keys: this.keys,
      unsettled: this.unsettled,
      corrupted: this.corrupted,
      corruptedKeys: this.corruptedKeys,
      buckets: this.sums.hex(),
      listed: this.listed,
      listTruncated: this.listTruncated,
      complete: this.complete,
      scanError: this.scanError,
      states: this.states,
    };
  }
}
