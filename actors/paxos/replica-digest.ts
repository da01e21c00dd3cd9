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
import type { Offload } from '../../runtime/actor';
import { assert } from '../../runtime/assert';
import { isEngineError } from '../../engines/errors';
import { openRecord } from '../../engines/record-codec';
import type { KeyStatus } from './core/key-state';
import type { AppliedEntry, KeyRecord } from './core/types';
import { decodeRecord } from './codec';
import { CUT_KEYS_PER_TURN, DigestFold, bucketOfBytes } from './digest-fold';
import type { CapturedKey } from './digest-fold';
import type { DigestFields, SliceLimits } from './digest-slices';
import type { StoredDigestCursor } from './record-port';
import { ScanPacer } from './scan-pacing';

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
  /**
   * Only the listed buckets' keys (and the states') are digested: the other buckets' sums stay
   * zero and `keys` counts only those digested. Round 2 of a comparison needs nothing else, and
   * skips every other key before decoding or hashing it.
   */
  readonly listOnly?: boolean;
  /** The scan paces itself to a share of the actor's thread (scan-pacing.ts): background repair. */
  readonly paced?: boolean;
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
        r.states.every((k) => typeof k === 'string'))) &&
    (r.listOnly === undefined || typeof r.listOnly === 'boolean') &&
    (r.paced === undefined || typeof r.paced === 'boolean')
  );
}

/** Bucket of a key: CRC-32 of its UTF-8 bytes (not the routing hash, which fixes key mod groups). */
export function bucketOf(key: string, buckets: number): number {
  assert(Number.isInteger(buckets) && buckets >= 1, () => `buckets ${buckets}`);
  return bucketOfBytes(Buffer.from(key, 'utf8'), buckets);
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

/** Stored records: an engine's sealed entries, or a cursor reading them in place (memory). */
export type StoredSource = AsyncIterable<[string, Uint8Array]> | StoredDigestCursor;

function isCursor(stored: StoredSource): stored is StoredDigestCursor {
  return !(Symbol.asyncIterator in stored);
}

/**
 * One replica group's digest answer. `held` is read once, synchronously, before the first
 * await, so the in-memory side is one consistent cut; a cursor over the stored records is taken
 * by the caller in the same turn; an engine's async scan follows. With `options.offload` the
 * hashing of an engine's records runs there in slices (digest-slices.ts); a cursor's records
 * are hashed inline (cheaper than packing them). The answer is the same either way.
 */
export async function digestReplica(
  request: DigestRequest,
  held: Iterable<HeldRecord>,
  stored: StoredSource | undefined,
  options: DigestOptions = {},
): Promise<DigestAnswer> {
  assert(isDigestRequest(request), 'bad digest request');
  const offload = stored !== undefined && isCursor(stored) ? undefined : options.offload;
  const fold = new DigestFold(request, { offload, limits: options.limits });
  const pacer = new ScanPacer(request.paced === true);
  const seen = new Map<string, KeyStatus>();
  // Offloaded, the cut takes references and the packing runs in slices over several turns.
  const captured: CapturedKey[] = [];
  for (const h of held) {
    if (h.status === 'loading') continue; // its disk record is what it will load
    seen.set(h.key, h.status);
    if (h.status === 'recovering') fold.unsettled += 1;
    else if (fold.listOnly && !fold.wants(h.key, bucketOf(h.key, request.buckets))) continue;
    else {
      const c = fold.capture(h.key, h.rec);
      if (c !== undefined) captured.push(c);
    }
  }
  await foldCaptured(fold, captured, pacer);
  if (stored !== undefined) {
    if (isCursor(stored)) await foldCursor(fold, seen, stored, pacer);
    else await foldAllStored(fold, seen, stored, pacer);
  }
  await fold.finish();
  return fold.answer();
}

/**
 * Folds the cut's keys, at most CUT_KEYS_PER_TURN keys or one sealed slice (~1 MiB copied) per
 * turn of the actor's thread.
 */
async function foldCaptured(
  fold: DigestFold,
  captured: readonly CapturedKey[],
  pacer: ScanPacer,
): Promise<void> {
  let sealed = fold.slicesSealed;
  for (let i = 0, keys = 0; i < captured.length; i++, keys++) {
    const c = captured[i];
    assert(c !== undefined, 'captured key');
    fold.addCaptured(c);
    if (!pacer.due(keys + 1, CUT_KEYS_PER_TURN) && fold.slicesSealed === sealed) continue;
    sealed = fold.slicesSealed;
    keys = -1;
    await fold.settle();
    await pacer.pause();
  }
}

/** The memory engine's records, read in place from the cursor taken at the cut. */
async function foldCursor(
  fold: DigestFold,
  seen: Map<string, KeyStatus>,
  cursor: StoredDigestCursor,
  pacer: ScanPacer,
): Promise<void> {
  const utf8 = new TextDecoder();
  let sinceTurn = 0;
  // Each step consumes one record of a snapshot: bounded by its size.
  while (cursor.next()) {
    const key = utf8.decode(cursor.bytes.subarray(cursor.keyFrom, cursor.keyTo));
    // A held key counts as the cut saw it (a memory record is never damaged: nothing to report).
    if (!seen.has(key)) fold.addStoredEntry(key, cursor);
    sinceTurn += 1;
    if (!pacer.due(sinceTurn, STORED_KEYS_PER_TURN)) continue;
    sinceTurn = 0;
    await pacer.pause(); // messages, ticks and requests run in between
  }
}

async function foldAllStored(
  fold: DigestFold,
  seen: Map<string, KeyStatus>,
  stored: AsyncIterable<[string, Uint8Array]>,
  pacer: ScanPacer,
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
      if (!pacer.due(sinceTurn, STORED_KEYS_PER_TURN)) continue;
      sinceTurn = 0;
      await pacer.pause(); // a macrotask: messages, ticks and requests run in between
    }
  } catch (error) {
    if (!isEngineError(error, 'CORRUPTED')) throw error;
    fold.complete = false;
    fold.scanError = `CORRUPTED: ${(error as Error).message}`;
  }
}

function foldStored(fold: DigestFold, key: string, bytes: Uint8Array, digest: boolean): void {
  // Round 2 skips an unlisted key before opening its record (round 1 reported the damage).
  if (fold.listOnly && !fold.wants(key, bucketOf(key, fold.buckets))) return;
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
