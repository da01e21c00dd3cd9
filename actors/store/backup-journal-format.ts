/**
 * The incremental part of a following backup (README "Backups", docs/decisions.md "Backups:
 * follow and point-in-time restore"): journal segment files `journal-NNNNNN.seg` and the
 * manifest's `follow` section.
 *
 * A segment: the header [magic "PXSJRNL1"][format u32][segment number u32], then one frame per
 * journal entry [payload length u32][CRC-32 of payload u32][payload], payload = [group u32]
 * [seq f64][time f64][kind u8][version f64][fromVersion f64][key length u32][key UTF-8]
 * [hasBytes u8]([bytes length u32][bytes])?. `bytes` are the stored entry's own: the tagged
 * model op (kind 0) or the tagged data state the replica adopted (kind 1). Numbers big-endian.
 *
 * A segment is appended to across flushes and fsynced at each; the manifest records how many
 * of its bytes count and their SHA-256 at the last flush, so bytes a crash left after it are
 * ignored, and bytes missing or changed before it are CORRUPTED.
 */
import { assert } from '../../runtime/assert';
import { crc32 } from '../../engines/crc32';
import { JournalEntryKind } from '../paxos/journal-codec';
import type { BackupFile } from './backup-format';

export const SEGMENT_MAGIC = 'PXSJRNL1';
export const SEGMENT_FORMAT = 1;
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length + 8;
/** A segment is closed and the next one begun once it passes this size. */
export const SEGMENT_BYTES_MAX = 64 * 1024 * 1024;
/** Segments one backup may list (at SEGMENT_BYTES_MAX each: 640 GB of entries). */
export const SEGMENTS_MAX = 10_000;
/** The largest frame accepted (a key, a data state and the fields). */
export const SEGMENT_FRAME_BYTES_MAX = 64 * 1024 * 1024;
export const SEGMENT_NAME_PATTERN = /^journal-\d{6}\.seg$/;

/** One shipped journal entry: the serving replica's record of one change of one key. */
export interface ShippedEntry {
  readonly group: number;
  readonly seq: number;
  readonly time: number;
  readonly kind: JournalEntryKind;
  /** The replicated key (namespace and object prefixes included), as the store holds it. */
  readonly key: string;
  readonly version: number;
  readonly fromVersion: number;
  readonly bytes: Uint8Array | null;
}

/** Where the follow stands in one group of the serving replica's journal. */
export interface FollowGroup {
  readonly group: number;
  /** The journal's epoch when the follow registered (an entry of another epoch is refused). */
  readonly epoch: number;
  /** The first seq the follow ships: taken before the full copy of the group began. */
  readonly startSeq: number;
  /** The last seq shipped (startSeq - 1: none yet) and its time (0: none). */
  readonly shippedSeq: number;
  readonly shippedTime: number;
}

/** The manifest's `follow` section (absent from a backup made without follow). */
export interface FollowManifest {
  /** The subscriber name whose cursors keep the entries in the journal: `backup:<id>`. */
  readonly name: string;
  /** The replica whose journals are followed (each replica numbers its own). */
  readonly replica: number;
  readonly groups: FollowGroup[];
  /** Segment files, oldest first; `bytes`/`sha256` of the last count up to its last flush. */
  readonly segments: BackupFile[];
  /**
   * The latest point a restore can reach (ISO time): every entry the serving replica journaled
   * at or before it (by entry time) is shipped. Never before the full copy's `finishedAt`;
   * null until the follow first caught up after it.
   */
  readonly through: string | null;
  /**
   * 'following'; 'paused' once stop({ keepCursor: true }) wrote its final flush (its cursor is
   * kept: resumeBackup goes on); 'stopped' once stop() did (cursor removed, for good). A follow
   * that was killed stays 'following' and can be resumed too.
   */
  readonly state: 'following' | 'paused' | 'stopped';
}

export function segmentName(n: number): string {
  assert(Number.isInteger(n) && n >= 1 && n <= SEGMENTS_MAX, () => `segment number ${n}`);
  return `journal-${String(n).padStart(6, '0')}.seg`;
}

export function segmentHeader(n: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.write(SEGMENT_MAGIC, 0, 'latin1');
  h.writeUInt32BE(SEGMENT_FORMAT, SEGMENT_MAGIC.length);
  h.writeUInt32BE(n, SEGMENT_MAGIC.length + 4);
  return h;
}

export function encodeShipped(e: ShippedEntry): Buffer {
  assert(e.version > e.fromVersion, () => `shipped ${e.key} ${e.fromVersion}->${e.version}`);
  assert(Number.isSafeInteger(e.seq) && e.seq >= 1, () => `shipped seq ${e.seq}`);
  const key = Buffer.from(e.key, 'utf8');
  const n = e.bytes === null ? 0 : 4 + e.bytes.length;
  const payloadBytes = 4 + 8 + 8 + 1 + 8 + 8 + 4 + key.length + 1 + n;
  const out = Buffer.alloc(8 + payloadBytes);
  let at = out.writeUInt32BE(e.group, 8);
  at = out.writeDoubleBE(e.seq, at);
  at = out.writeDoubleBE(e.time, at);
  at = out.writeUInt8(e.kind, at);
  at = out.writeDoubleBE(e.version, at);
  at = out.writeDoubleBE(e.fromVersion, at);
  at = out.writeUInt32BE(key.length, at);
  at += key.copy(out, at);
  at = out.writeUInt8(e.bytes === null ? 0 : 1, at);
  if (e.bytes !== null) {
    at = out.writeUInt32BE(e.bytes.length, at);
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  assert(at === out.length, () => `shipped frame wrote ${at} of ${out.length} bytes`);
  out.writeUInt32BE(payloadBytes, 0);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return out;
}

/** A payload whose CRC matched; undefined when its fields do not decode (bounds checked). */
export function decodeShipped(p: Buffer): ShippedEntry | undefined {
  if (p.length < 42) return undefined;
  const group = p.readUInt32BE(0);
  const seq = p.readDoubleBE(4);
  const time = p.readDoubleBE(12);
  const kind = p.readUInt8(20);
  const version = p.readDoubleBE(21);
  const fromVersion = p.readDoubleBE(29);
  const keyBytes = p.readUInt32BE(37);
  let at = 41 + keyBytes;
  if (at + 1 > p.length) return undefined;
  const key = p.toString('utf8', 41, at);
  const hasBytes = p.readUInt8(at);
  at += 1;
  let bytes: Uint8Array | null = null;
  if (hasBytes === 1) {
    if (at + 4 > p.length) return undefined;
    const n = p.readUInt32BE(at);
    if (at + 4 + n > p.length) return undefined;
    bytes = new Uint8Array(p.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  } else if (hasBytes !== 0) return undefined;
  const sane =
    at === p.length &&
    key.length > 0 &&
    Number.isSafeInteger(seq) &&
    seq >= 1 &&
    Number.isFinite(time) &&
    (kind === JournalEntryKind.op || kind === JournalEntryKind.state) &&
    (kind === JournalEntryKind.state || bytes !== null) &&
    Number.isSafeInteger(version) &&
    Number.isSafeInteger(fromVersion) &&
    fromVersion >= 0 &&
    version > fromVersion;
  return sane
    ? { group, seq, time, kind: kind as JournalEntryKind, key, version, fromVersion, bytes }
    : undefined;
}
