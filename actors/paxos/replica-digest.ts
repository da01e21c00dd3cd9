/**
 * Replica alignment (DESIGN.md §6 "Integrity"): one replica's digest of the chosen state of
 * its keys, in hash buckets, so replicas can be compared without shipping their data.
 *
 * A key's digest covers its last chosen instance, the id (origin, seq) of the value chosen
 * there, its version and its data bytes. The id counts because replicas that agree on the bytes
 * but not on who originated the last chosen value disagree on who may skip Prepare next
 * (DESIGN.md §4 pre-authorization): after `acceptDataLoss` that is divergence too. A bucket's
 * digest is the sum (mod 2^64) of its keys' digests: independent of the order keys are met
 * in, so the engine's records and the core's in-memory keys can be folded in one pass. The
 * caller compares buckets across replicas and asks again, listing keys, only for buckets that
 * differ.
 *
 * What a replica reports for a key: the core's record when the key is settled in memory (it
 * is newer than disk: chosen-only changes are not written, docs/decisions.md 3), else the
 * record on disk. A key that is loading counts from disk; a key that is recovering (amnesia,
 * a corrupted record) is "unsettled": it is counted, not digested, since the replica does not
 * know its state yet (a damaged record under it is still reported as corrupted).
 *
 * A request may also name keys whose whole chosen state (data and recent window included) the
 * answer should carry: verify's repair reads diverged keys' states this way before it installs
 * one of them (docs/decisions.md 17).
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Offload } from '../../runtime/actor';
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import { isEngineError } from '../../engines/errors';
import { openRecord } from '../../engines/record-codec';
import type { KeyStatus } from './core/key-state';
import type { AppliedEntry, KeyRecord } from './core/types';
import { decodeRecord } from './codec';
import { DigestSlicer, SLICES_IN_FLIGHT_MAX } from './digest-slices';
import type { DigestFields, SliceLimits } from './digest-slices';

/** Held keys packed per turn when hashing is offloaded; the actor's other work runs between. */
const CUT_KEYS_PER_TURN = 4096;
/**
 * Stored records folded per turn of the actor's thread. An engine's scan may hand its records
 * in microtasks only (the memory engine's arena does: it has no I/O to wait for), and a
 * `for await` over it would then hold the thread for the whole group: at 3 M keys that was
 * ~125 K records per group replica, seconds of decoding and packing during which every Paxos
 * round of the worker's groups timed out (100 ms) and retried, and the foreground writes
 * timed out behind it (docs/decisions.md "The digest scan yields"). 1024 records are a few ms.
 */
export const STORED_KEYS_PER_TURN = 1024;

export const DIGEST_BUCKETS_MAX = 4096;
/** Keys listed per answer, and corrupted keys named per answer. */
export const DIGEST_LIST_KEYS_MAX = 100_000;
const CORRUPTED_NAMED_MAX = 1000;
/**
 * Keys whose whole chosen state one request may ask for: an answer holds up to this many data
 * states (each at most a model's size limit), and each request costs one scan of the group.
 */
export const DIGEST_STATES_MAX = 64;
/** Digests are sums mod 2^64. */
export const MASK_64 = (1n << 64n) - 1n;

export interface DigestRequest {
  readonly kind: 'digest';
  /** Hash buckets per group (1..DIGEST_BUCKETS_MAX). */
  readonly buckets: number;
  /** Buckets whose keys should be listed with their digests. */
  readonly list: readonly number[];
  readonly listKeysMax: number;
  /** Keys whose whole chosen state the answer should carry (at most DIGEST_STATES_MAX). */
  readonly states?: readonly string[];
}

/** One key's whole chosen state on one replica, as of the answer's cut. */
export interface ChosenState {
  readonly key: string;
  readonly chosen: number;
  readonly chosenOrigin: number;
  readonly chosenSeq: number;
  readonly version: number;
  readonly data: Uint8Array | null;
  readonly recent: AppliedEntry[];
  /** The key's digest (16 hex digits), as listed. */
  readonly digest: string;
}

export interface KeyDigest {
  readonly key: string;
  readonly chosen: number;
  readonly version: number;
  /** 16 hex digits. */
  readonly digest: string;
}

export interface DigestAnswer {
  /** Keys digested. */
  readonly keys: number;
  /** Keys held but not yet known (recovering): not digested. */
  readonly unsettled: number;
  /** Records on disk that failed their checksum and are not repaired in memory. */
  readonly corrupted: number;
  readonly corruptedKeys: string[];
  /** One 16-hex-digit digest per bucket. */
  readonly buckets: string[];
  readonly listed: KeyDigest[];
  /** The listing stopped at listKeysMax. */
  readonly listTruncated: boolean;
  /**
   * False when the engine's scan stopped early: an engine that checks checksums itself
   * (bitcask) refuses a corrupted record inside `iterate` without naming its key, so the rest
   * of that replica group's records are not digested.
   */
  readonly complete: boolean;
  readonly scanError: string | undefined;
  /** The requested keys' chosen states; a key with nothing chosen, or recovering, is left out. */
  readonly states: ChosenState[];
}

export interface HeldRecord {
  readonly key: string;
  readonly status: KeyStatus;
  readonly rec: KeyRecord;
}

export function isDigestRequest(request: unknown): request is DigestRequest {
  const r = request as Partial<DigestRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === 'digest' &&
    Number.isInteger(r.buckets) &&
    (r.buckets ?? 0) >= 1 &&
    (r.buckets ?? 0) <= DIGEST_BUCKETS_MAX &&
    Array.isArray(r.list) &&
    r.list.every((b) => Number.isInteger(b) && b >= 0 && b < (r.buckets ?? 0)) &&
    Number.isInteger(r.listKeysMax) &&
    (r.listKeysMax ?? -1) >= 0 &&
    (r.listKeysMax ?? 0) <= DIGEST_LIST_KEYS_MAX &&
    (r.states === undefined ||
      (Array.isArray(r.states) &&
        r.states.length <= DIGEST_STATES_MAX &&
        r.states.every((k) => typeof k === 'string')))
  );
}

/** Bucket of a key: CRC-32 of its UTF-8 bytes (not the routing hash, which fixes key mod groups). */
export function bucketOf(key: string, buckets: number): number {
  assert(Number.isInteger(buckets) && buckets >= 1, () => `buckets ${buckets}`);
  return crc32(Buffer.from(key, 'utf8')) % buckets;
}

/**
 * A key's digest: the first 8 bytes of SHA-256 over key, chosen instance, the chosen value's
 * id (origin, seq), version and data.
 */
export function keyDigest(key: string, rec: DigestFields): bigint {
  assert(
    rec.chosen >= 0 && rec.version >= 0,
    () => `record of ${key}: chosen ${rec.chosen}, version ${rec.version}`,
  );
  const head = Buffer.alloc(33);
  head.writeDoubleBE(rec.chosen, 0);
  head.writeDoubleBE(rec.chosenOrigin, 8);
  head.writeDoubleBE(rec.chosenSeq, 16);
  head.writeDoubleBE(rec.version, 24);
  head.writeUInt8(rec.data === null ? 0 : 1, 32);
  const hash = createHash('sha256').update(key, 'utf8').update(head);
  if (rec.data !== null) hash.update(rec.data);
  return hash.digest().readBigUInt64BE(0);
}

export function hex64(n: bigint): string {
  assert(n >= 0n && n <= MASK_64, 'hex64 out of range');
  return n.toString(16).padStart(16, '0');
}

/** Where a digest scan hashes: inline without `offload` (the simulator), else in slices there. */
export interface DigestOptions {
  readonly offload?: Offload;
  /** Tests only: smaller slices than the defaults of digest-slices.ts. */
  readonly limits?: SliceLimits;
}

/** What the fold keeps of a key until its digest is known (a copy: the record may change). */
interface PendingKey {
  readonly key: string;
  readonly chosen: number;
  readonly version: number;
  readonly state: Omit<ChosenState, 'digest'> | undefined;
}

/** A held key as the cut saw it (DigestFold.capture). */
interface CapturedKey {
  readonly key: string;
  readonly fields: DigestFields;
  readonly state: Omit<ChosenState, 'digest'> | undefined;
}

/** Folds keys into bucket digests (and listings); one instance per answer. */
class DigestFold {
  private readonly slicer: DigestSlicer<PendingKey> | undefined;
  private readonly sums: bigint[];
  private readonly listSet: Set<number>;
  private readonly stateKeys: Set<string>;
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
    options: DigestOptions,
  ) {
    this.sums = new Array<bigint>(request.buckets).fill(0n);
    this.listSet = new Set(request.list);
    this.stateKeys = new Set(request.states ?? []);
    const fold = (pending: PendingKey, digest: bigint, bucket: number): void =>
      this.foldDigest(pending, digest, bucket);
    const { offload, limits } = options;
    this.slicer =
      offload === undefined ? undefined : new DigestSlicer(offload, request.buckets, fold, limits);
  }

  add(key: string, rec: KeyRecord): void {
    // A key with nothing chosen has no state to compare (a promise alone is not data).
    if (rec.chosen === 0) return;
    this.addFields(key, rec, this.stateKeys.has(key) ? snapshot(key, rec) : undefined);
  }

  /**
   * A held key's digest fields, taken at the cut: the core's record object moves on after the
   * first await, but the data array it points at now is never changed in place (the core and
   * the models replace `rec.data`, they do not write into it), so a reference is a copy.
   */
  capture(key: string, rec: KeyRecord): CapturedKey | undefined {
    if (rec.chosen === 0) return undefined;
    const { chosen, chosenOrigin, chosenSeq, version, data } = rec;
    const state = this.stateKeys.has(key) ? snapshot(key, rec) : undefined;
    return { key, fields: { chosen, chosenOrigin, chosenSeq, version, data }, state };
  }

  /**
   * Folds captured keys, at most CUT_KEYS_PER_TURN keys or one sealed slice (~1 MiB copied) per
   * turn of the actor's thread.
   */
  async addCaptured(captured: readonly CapturedKey[]): Promise<void> {
    let sealed = this.slicer?.slicesSealed ?? 0;
    for (let i = 0, keys = 0; i < captured.length; i++, keys++) {
      const c = captured[i];
      assert(c !== undefined, 'captured key');
      this.addFields(c.key, c.fields, c.state);
      const nowSealed = this.slicer?.slicesSealed ?? 0;
      if (keys + 1 < CUT_KEYS_PER_TURN && nowSealed === sealed) continue;
      sealed = nowSealed;
      keys = -1;
      await this.settle();
      await nextTurn();
    }
  }

  private addFields(
    key: string,
    rec: DigestFields,
    state: Omit<ChosenState, 'digest'> | undefined,
  ): void {
    assert(rec.chosen > 0, () => `digest of ${key} with nothing chosen`);
    const pending: PendingKey = { key, chosen: rec.chosen, version: rec.version, state };
    // Sliced, the bucket comes back with the digest (the CRC-32 is computed where the hash is).
    if (this.slicer === undefined)
      this.foldDigest(pending, keyDigest(key, rec), bucketOf(key, this.request.buckets));
    else this.slicer.add(key, rec, pending);
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

  private foldDigest(pending: PendingKey, digest: bigint, bucket: number): void {
    const { key } = pending;
    assert(bucket >= 0 && bucket < this.sums.length, () => `bucket ${bucket} of ${key}`);
    this.keys += 1;
    this.sums[bucket] = ((this.sums[bucket] ?? 0n) + digest) & MASK_64;
    if (pending.state !== undefined) this.states.push({ ...pending.state, digest: hex64(digest) });
    if (!this.listSet.has(bucket)) return;
    if (this.listed.length >= this.request.listKeysMax) {
      this.listTruncated = true;
      return;
    }
    this.listed.push({
      key,
      chosen: pending.chosen,
      version: pending.version,
      digest: hex64(digest),
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
      buckets: this.sums.map(hex64),
      listed: this.listed,
      listTruncated: this.listTruncated,
      complete: this.complete,
      scanError: this.scanError,
      states: this.states,
    };
  }
}

/**
 * A copy of a key's chosen state, taken now: a held record is the core's live object, and the
 * answer is cloned only after the disk scan's awaits, when the key may have moved on.
 */
function snapshot(key: string, rec: KeyRecord): Omit<ChosenState, 'digest'> {
  return {
    key,
    chosen: rec.chosen,
    chosenOrigin: rec.chosenOrigin,
    chosenSeq: rec.chosenSeq,
    version: rec.version,
    data: rec.data === null ? null : rec.data.slice(),
    recent: rec.recent.map((e) => ({
      instance: e.instance,
      origin: e.origin,
      seq: e.seq,
      result: e.result.slice(),
    })),
  };
}

/**
 * One replica group's digest answer. `held` is read once, synchronously, before the first
 * await, so the in-memory side is one consistent cut; disk records of keys not held follow.
 * With `options.offload` the hashing runs there in slices (digest-slices.ts); the answer is
 * the same either way.
 */
export async function digestReplica(
  request: DigestRequest,
  held: Iterable<HeldRecord>,
  stored: AsyncIterable<[string, Uint8Array]> | undefined,
  options: DigestOptions = {},
): Promise<DigestAnswer> {
  assert(isDigestRequest(request), 'bad digest request');
  const fold = new DigestFold(request, options);
  const seen = new Map<string, KeyStatus>();
  // Offloaded, the cut takes references and the packing runs in slices over several turns.
  const captured: CapturedKey[] = [];
  for (const h of held) {
    if (h.status === 'loading') continue; // its disk record is what it will load
    seen.set(h.key, h.status);
    if (h.status === 'recovering') fold.unsettled += 1;
    else if (options.offload === undefined) fold.add(h.key, h.rec);
    else {
      const c = fold.capture(h.key, h.rec);
      if (c !== undefined) captured.push(c);
    }
  }
  await fold.addCaptured(captured);
  if (stored !== undefined) await foldAllStored(fold, seen, stored);
  await fold.finish();
  return fold.answer();
}

async function foldAllStored(
  fold: DigestFold,
  seen: Map<string, KeyStatus>,
  stored: AsyncIterable<[string, Uint8Array]>,
): Promise<void> {
  let sinceTurn = 0;
  try {
    for await (const [key, bytes] of stored) {
      const status = seen.get(key);
      // A recovering key is not digested, but a damaged record under it is still reported.
      if (status === undefined) foldStored(fold, key, bytes, true);
      else if (status === 'recovering') foldStored(fold, key, bytes, false);
      await fold.settle();
      sinceTurn += 1;
      if (sinceTurn < STORED_KEYS_PER_TURN) continue;
      sinceTurn = 0;
      await nextTurn(); // a macrotask: messages, ticks and requests run in between
    }
  } catch (error) {
    if (!isEngineError(error, 'CORRUPTED')) throw error;
    fold.complete = false;
    fold.scanError = `CORRUPTED: ${(error as Error).message}`;
  }
}

function foldStored(fold: DigestFold, key: string, bytes: Uint8Array, digest: boolean): void {
  let rec: KeyRecord;
  try {
    rec = decodeRecord(openRecord(bytes));
  } catch (error) {
    if (!isEngineError(error, 'CORRUPTED')) throw error;
    fold.addCorrupted(key);
    return;
  }
  if (digest) fold.add(key, rec);
}
