/**
 * The on-disk layout of a replica group's journal (docs/decisions.md "Journal subscription"): entries, the group's
 * journal head, and subscriber cursors, as engine keys beside the group's records. Every key
 * starts with JOURNAL_PREFIX, which no record key can start with (KV keys start with a
 * namespace, objects with U+0000, big-table index entries with U+0002).
 *
 * Entry keys carry the sequence number as fixed-width hex, so they sort in sequence order on
 * ordered engines; readers fetch them by key (seq is consecutive), so unordered engines serve
 * the journal too. Values are sealed (engines/record-codec.ts: a checksum), and a value read
 * back is input: it is opened and decoded with checks, never trusted.
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { openRecord, sealRecord } from '../../engines/record-codec';

export const JOURNAL_PREFIX = '\u0003';
const ENTRY_PREFIX = `${JOURNAL_PREFIX}e`;
export const JOURNAL_META_KEY = `${JOURNAL_PREFIX}m`;
/** Sequence numbers stay below 2^48 (12 hex digits) and within a double's exact integers. */
export const JOURNAL_SEQ_MAX = 2 ** 48 - 1;
const FORMAT = 1;

/** Why an entry is there: an op this replica applied, or a state it adopted without the op. */
export const JournalEntryKind = { op: 0, state: 1 } as const;
export type JournalEntryKind = (typeof JournalEntryKind)[keyof typeof JournalEntryKind];

/**
 * One journal entry as stored. `op` entries hold the model op (tagged, request id removed) that
 * took the key from `version - 1` to `version`. `state` entries hold the data state the replica
 * adopted (catch-up, amnesia recovery, a repair install) that took it from `fromVersion` to
 * `version` without this replica seeing the ops between: the subscriber sees the jump, never a
 * silent gap.
 */
export interface JournalRecord {
  readonly seq: number;
  /** Wall-clock ms when the shell staged it; never decreases within a group's journal. */
  readonly time: number;
  readonly kind: JournalEntryKind;
  readonly key: string;
  readonly version: number;
  readonly fromVersion: number;
  /** kind op: the op; kind state: the adopted data state (null: the key is absent). */
  readonly bytes: Uint8Array | null;
}

/** The journal's durable head, written (with the cursors) in every batch that moves it. */
export interface JournalMeta {
  /** The journal's epoch: changes when a replica's journal starts over (amnesia). */
  readonly epoch: number;
  /** Oldest retained seq (first === head + 1: empty). */
  readonly first: number;
  /** Newest seq written (0: none yet). */
  readonly head: number;
  /** Time of the newest entry (ms). */
  readonly time: number;
  /** Bytes of the retained entries' values. */
  readonly bytes: number;
}

/** A subscriber's durable cursor in one group's journal. */
export interface JournalCursor {
  readonly epoch: number;
  /** Last acknowledged seq (0: nothing yet). */
  readonly acked: number;
}

export function isJournalKey(key: string): boolean {
  return key.startsWith(JOURNAL_PREFIX);
}

export function entryKey(seq: number): string {
  assert(Number.isInteger(seq) && seq >= 1 && seq <= JOURNAL_SEQ_MAX, () => `journal seq ${seq}`);
  return `${ENTRY_PREFIX}${seq.toString(16).padStart(12, '0')}`;
}

export function encodeJournalRecord(e: JournalRecord): Uint8Array {
  assert(e.version > e.fromVersion, () => `entry version ${e.version} <= ${e.fromVersion}`);
  assert(e.kind === JournalEntryKind.state || e.bytes !== null, 'an op entry without an op');
  const w = new ByteWriter(64 + e.key.length * 3 + (e.bytes?.length ?? 0));
  w.u8(FORMAT);
  w.u8(e.kind);
  w.f64(e.seq);
  w.f64(e.time);
  w.f64(e.version);
  w.f64(e.fromVersion);
  w.str(e.key);
  w.u8(e.bytes === null ? 0 : 1);
  if (e.bytes !== null) w.bytes(e.bytes);
  return sealRecord(w.finish());
}

/** Throws (CORRUPTED from openRecord, or a decode error) on bytes that are not an entry. */
export function decodeJournalRecord(sealed: Uint8Array): JournalRecord {
  const r = new ByteReader(openRecord(sealed));
  const format = r.u8();
  if (format !== FORMAT) throw new Error(`journal entry format ${format}`);
  const kind = r.u8();
  if (kind !== JournalEntryKind.op && kind !== JournalEntryKind.state)
    throw new Error(`journal entry kind ${kind}`);
  const seq = r.f64();
  const time = r.f64();
  const version = r.f64();
  const fromVersion = r.f64();
  const key = r.str();
  const bytes = r.u8() === 1 ? r.bytesCopy() : null;
  if (!Number.isInteger(seq) || seq < 1 || !(version > fromVersion) || !Number.isFinite(time))
    throw new Error(`journal entry ${seq} malformed`);
  if (kind === JournalEntryKind.op && bytes === null) throw new Error('op entry without op');
  return { seq, time, kind, key, version, fromVersion, bytes };
}

/** Longest subscriber name (UTF-16 units); names match SUBSCRIBER_NAME_PATTERN. */
export const SUBSCRIBER_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The head and the cursors, in one small record rewritten by every batch that moves them. */
export function encodeJournalMeta(
  m: JournalMeta,
  cursors: readonly (readonly [string, JournalCursor])[],
): Uint8Array {
  assert(m.first >= 1 && m.first <= m.head + 1, () => `journal meta ${m.first}..${m.head}`);
  const w = new ByteWriter(48 + cursors.length * 96);
  w.u8(FORMAT);
  w.f64(m.epoch);
  w.f64(m.first);
  w.f64(m.head);
  w.f64(m.time);
  w.f64(m.bytes);
  w.u32(cursors.length);
  for (const [name, c] of cursors) {
    assert(SUBSCRIBER_NAME_PATTERN.test(name), () => `subscriber name ${JSON.stringify(name)}`);
    w.str(name);
    w.f64(c.epoch);
    w.f64(c.acked);
  }
  return sealRecord(w.finish());
}

/** Throws on bytes that are not a journal head (a damaged one is CORRUPTED from openRecord). */
export function decodeJournalMeta(sealed: Uint8Array): {
  meta: JournalMeta;
  cursors: [string, JournalCursor][];
} {
  const r = new ByteReader(openRecord(sealed));
  if (r.u8() !== FORMAT) throw new Error('journal meta format');
  const meta = { epoch: r.f64(), first: r.f64(), head: r.f64(), time: r.f64(), bytes: r.f64() };
  if (!Number.isInteger(meta.first) || !Number.isInteger(meta.head) || meta.first < 1)
    throw new Error('journal meta malformed');
  if (meta.first > meta.head + 1) throw new Error(`journal meta ${meta.first}..${meta.head}`);
  const count = r.u32();
  if (count > 4096) throw new Error(`journal meta with ${count} cursors`);
  const cursors: [string, JournalCursor][] = [];
  for (let i = 0; i < count; i++) {
    const name = r.str();
    const c = { epoch: r.f64(), acked: r.f64() };
    if (!SUBSCRIBER_NAME_PATTERN.test(name) || !Number.isInteger(c.acked) || c.acked < 0)
      throw new Error('journal cursor malformed');
    cursors.push([name, c]);
  }
  return { meta, cursors };
}
