/**
 * What one replica group tells a backup (actors/store/backup.ts, docs/decisions.md "Backups"):
 * its chosen state of its keys, a page at a time, in key order, and the chosen state of a few
 * named keys after the backup has read them through Paxos.
 *
 * A page lists the group's records on disk from `gte` on (derived big-table entries left out),
 * each with the state this replica knows: the core's record when the key is held and ready in
 * memory (it is newer than disk: chosen-only changes are not written, docs/decisions.md 3),
 * else the record on disk. Besides the chosen state (instance, version, data) an entry says
 * whether the replica holds an accepted, not yet chosen, write at the next instance (`pending`)
 * and whether its state of the key is unknown (`unsettled`: recovering, loading, or a record
 * that fails its checksum). The backup uses both to decide whether the majority's listing is
 * enough for the key or a linearizable read is needed (backup-merge.ts).
 *
 * An amnesic incarnation answers an empty page marked `amnesic`: keys it forgot are missing
 * from its disk, so its listing cannot count toward a majority.
 *
 * Not a Paxos operation and not part of the core: the shell answers it (an inspect request),
 * like the digest of replica-digest.ts. Plain data only (it crosses the worker boundary).
 */
import { assert } from '../../runtime/assert';
import { openRecord } from '../../engines/record-codec';
import { isEngineError } from '../../engines/errors';
import { KEY_BYTES_MAX } from '../../engines/validate';
import { decodeRecord } from './codec';
import type { KeyStatus } from './core/key-state';
import { snapshotRecord } from './core/key-record';
import type { KeyRecord } from './core/types';
import type { RecordPort } from './record-port';

/** Most entries one page lists, and most named keys one state request asks for. */
export const BACKUP_PAGE_KEYS_MAX = 4096;
/** A page stops once its data passes this many bytes (at least one entry is always listed). */
export const BACKUP_PAGE_BYTES_MAX = 16 * 1024 * 1024;
/**
 * The upper bound of a page's engine range: above every key an engine accepts (keys are at most
 * KEY_BYTES_MAX bytes of UTF-8, and this is that many bytes of the highest code point), so the
 * range is open-ended. Only this very string could sort at or after it, and no internal key
 * is made of U+10FFFF alone.
 */
export const KEY_CEILING = '\u{10FFFF}'.repeat(KEY_BYTES_MAX / 4);

export interface BackupPageRequest {
  readonly kind: 'backup-page';
  /** First key of the page (inclusive); '' for the start. */
  readonly gte: string;
  readonly limit: number;
  readonly bytesMax: number;
}

export interface BackupKeysRequest {
  readonly kind: 'backup-keys';
  readonly keys: readonly string[];
}

export interface BackupEntry {
  readonly key: string;
  /** Last chosen instance (0: nothing chosen). */
  readonly chosen: number;
  readonly version: number;
  /** Tagged data (models/model-tags.ts) or null when absent. */
  readonly data: Uint8Array | null;
  /** An accepted write (not a no-op) waits at instance chosen + 1: it may be chosen already. */
  readonly pending: boolean;
  /** The replica does not know this key's state now (recovering, loading, damaged record). */
  readonly unsettled: boolean;
  /**
   * The whole record (null when unsettled): with its accepted value and windows, the backup can
   * apply a value a majority accepted in one ballot (chosen, though no replica wrote it down as
   * chosen: docs/decisions.md 3) exactly as the replicas will.
   */
  readonly record: KeyRecord | null;
}

export interface BackupPage {
  readonly entries: BackupEntry[];
  /** False when the group has no key after `resume`. */
  readonly more: boolean;
  /** The last key examined ('' when none was): the next page starts after it. */
  readonly resume: string;
  readonly amnesic: boolean;
}

/** What the shell lends a backup request: read-only views of its core and record store. */
export interface BackupSource {
  readonly amnesic: boolean;
  /** The core's held keys (live records: read them in this turn only). */
  held(): Iterable<{ readonly key: string; readonly status: KeyStatus; readonly rec: KeyRecord }>;
  /** The record store's ordered scan, bound to it (undefined: the store has none). */
  readonly scan: RecordPort['scan'];
  isDerived(engineKey: string): boolean;
}

export function isBackupPageRequest(request: unknown): request is BackupPageRequest {
  const r = request as Partial<BackupPageRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === 'backup-page' &&
    typeof r.gte === 'string' &&
    Number.isInteger(r.limit) &&
    (r.limit ?? 0) >= 1 &&
    (r.limit ?? 0) <= BACKUP_PAGE_KEYS_MAX &&
    Number.isInteger(r.bytesMax) &&
    (r.bytesMax ?? 0) >= 1 &&
    (r.bytesMax ?? 0) <= BACKUP_PAGE_BYTES_MAX
  );
}

export function isBackupKeysRequest(request: unknown): request is BackupKeysRequest {
  const r = request as Partial<BackupKeysRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === 'backup-keys' &&
    Array.isArray(r.keys) &&
    r.keys.length <= BACKUP_PAGE_KEYS_MAX &&
    r.keys.every((k) => typeof k === 'string')
  );
}

function entryOf(key: string, rec: KeyRecord): BackupEntry {
  const pending = rec.accepted !== null && rec.accepted.op.length > 0;
  // A shallow copy is a copy: the core replaces `data`, `accepted` and `requests`, it never
  // writes into them (replica-digest.ts relies on the same fact); the window is pushed to.
  const record: KeyRecord = snapshotRecord(rec);
  return {
    key,
    chosen: rec.chosen,
    version: rec.version,
    data: rec.data,
    pending,
    unsettled: false,
    record,
  };
}

function unsettledEntry(key: string): BackupEntry {
  return { key, chosen: 0, version: 0, data: null, pending: false, unsettled: true, record: null };
}

/** The held keys among `keys`, as this replica knows them now. */
function heldAmong(source: BackupSource, keys: ReadonlySet<string>): Map<string, BackupEntry> {
  const out = new Map<string, BackupEntry>();
  if (keys.size === 0) return out;
  for (const h of source.held()) {
    if (!keys.has(h.key)) continue;
    out.set(h.key, h.status === 'ready' ? entryOf(h.key, h.rec) : unsettledEntry(h.key));
  }
  return out;
}

function decodeStored(key: string, bytes: Uint8Array): BackupEntry {
  try {
    return entryOf(key, decodeRecord(openRecord(bytes)));
  } catch (error) {
    if (!isEngineError(error, 'CORRUPTED')) throw error;
    return unsettledEntry(key);
  }
}

function scanPromise(
  source: BackupSource,
  gte: string,
  examineMax: number,
): Promise<{ entries: Array<[string, Uint8Array]>; exhausted: boolean }> {
  const scan = source.scan;
  assert(scan !== undefined, 'backup page of a store without ordered scans');
  return new Promise((resolve, reject) => {
    scan({ gte, lt: KEY_CEILING, reverse: false, examineMax }, (entries, exhausted, err) => {
      if (err !== undefined) reject(err);
      else resolve({ entries, exhausted });
    });
  });
}

/** One page of this replica group's keys from `request.gte` on (see the file comment). */
export async function backupPage(
  request: BackupPageRequest,
  source: BackupSource,
  scanOf = scanPromise,
): Promise<BackupPage> {
  assert(isBackupPageRequest(request), 'bad backup page request');
  if (source.amnesic) return { entries: [], more: false, resume: '', amnesic: true };
  const { entries: examined, exhausted } = await scanOf(source, request.gte, request.limit);
  assert(
    examined.length <= request.limit,
    () => `backup scan returned ${examined.length} > ${request.limit}`,
  );
  // The held records are read after the scan's await, in one turn: one cut of memory.
  const records = examined.filter(([key]) => !source.isDerived(key));
  const held = heldAmong(source, new Set(records.map(([key]) => key)));
  const entries: BackupEntry[] = [];
  let resume = '';
  let bytes = 0;
  let cut = false;
  for (const [key, value] of examined) {
    if (entries.length > 0 && bytes >= request.bytesMax) {
      cut = true;
      break;
    }
    resume = key;
    if (source.isDerived(key)) continue;
    const entry = held.get(key) ?? decodeStored(key, value);
    bytes += key.length + (entry.data?.length ?? 0);
    entries.push(entry);
  }
  const more = cut || !exhausted;
  assert(!more || resume !== '', 'a backup page with more keys but no resume point');
  return { entries, more, resume, amnesic: false };
}

/**
 * The chosen state of named keys, from memory only: the backup asks right after a linearizable
 * read of each through this replica, so a key that is not held and ready (evicted since, or
 * recovering) is answered unsettled and the backup reads it again. Disk alone could be older
 * than what the read learnt (chosen-only changes are not written).
 */
export function backupKeys(request: BackupKeysRequest, source: BackupSource): BackupEntry[] {
  assert(isBackupKeysRequest(request), 'bad backup keys request');
  if (source.amnesic) return request.keys.map(unsettledEntry);
  const held = heldAmong(source, new Set(request.keys));
  return request.keys.map((key) => held.get(key) ?? unsettledEntry(key));
}
