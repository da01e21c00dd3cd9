/**
 * The compact in-memory form of a settled key's record on the memory engine (decision 28):
 * the whole KeyRecord, exactly, as bytes (kept in the port's arena, record-arena.ts).
 *
 * Why not the sealed disk record's plain layout (codec.ts layout 2)? It writes every number as
 * an 8-byte float and carries a 9-byte checksum header: ~90 bytes beyond the value for a key
 * written once, where the compact layout (compact-layout.ts) needs ~25 (numbers as base-128
 * varints: an instance or a version takes one or two bytes, a proposal seq seven or eight). At
 * 10 M keys × 3 replicas that difference is ~2 GB. A record with a number that is not a
 * non-negative safe integer (none is, today) is kept in the plain layout behind a format byte
 * instead, so the form is exact for any record.
 *
 * The layout is the one persisted records use too (codec.ts layout 3), so it is fixed; the
 * format byte here is the in-memory form's own and may change with any build.
 */
import { assert } from '../../runtime/assert';
import type { KeyRecord } from './core/types';
import { decodeRecord, encodeRecord, encodeSealedRecord, sealCompactBody } from './codec';
import { decodeCompactLayout, encodeCompactLayout, readDigestFieldsAt } from './compact-layout';
import type { DigestFieldsOut } from './record-port';

const FORMAT_SEALED = 0;
/** The compact layout with layout 3's result differences (no longer made; read). */
const FORMAT_COMPACT = 1;
/** The compact layout with results in runs (layout 4's: compact-layout.ts). */
const FORMAT_COMPACT_RUNS = 2;
const COMPACT_PREFIX = Uint8Array.of(FORMAT_COMPACT_RUNS);

/**
 * The record's compact bytes: a view of a scratch buffer that the next encode reuses (the
 * caller copies it, as the arena does). A record the compact layout cannot hold (none today)
 * is a new array in the plain layout behind FORMAT_SEALED.
 */
export function encodeCompactRecord(rec: KeyRecord): Uint8Array {
  const compact = encodeCompactLayout(COMPACT_PREFIX, rec);
  if (compact !== undefined) return compact;
  const whole = encodeRecord(rec);
  const out = new Uint8Array(1 + whole.length);
  out[0] = FORMAT_SEALED;
  out.set(whole, 1);
  return out;
}

function formatOf(bytes: Uint8Array): number {
  const format = bytes[0];
  if (!(format === FORMAT_COMPACT_RUNS || format === FORMAT_COMPACT || format === FORMAT_SEALED))
    assert(false, `compact record format ${format}`);
  return format;
}

/** The record the bytes of encodeCompactRecord hold (every field a copy, never a view). */
export function decodeCompactRecord(bytes: Uint8Array): KeyRecord {
  const format = formatOf(bytes);
  if (format === FORMAT_SEALED) return decodeRecord(bytes.slice(1));
  return decodeCompactLayout(bytes, 1, format === FORMAT_COMPACT_RUNS);
}

/**
 * The sealed record (as encodeSealedRecord makes it) of the bytes of encodeCompactRecord: for
 * the current compact format a copy of its body behind the envelope, with no decode and encode
 * (a kept record's load, kept-record-port.ts); any other format through the record.
 */
export function sealedFromCompact(bytes: Uint8Array): Uint8Array {
  if (formatOf(bytes) === FORMAT_COMPACT_RUNS) return sealCompactBody(bytes, 1);
  return encodeSealedRecord(decodeCompactRecord(bytes));
}

/**
 * The digest's fields of a compact record, read in place: no record is built and `data` is a
 * view of `bytes` (the digest scan hashes it at once, from a snapshot nobody changes). False for
 * a record kept in the plain layout: the caller decodes it whole (decodeCompactRecord).
 */
export function readDigestFields(bytes: Uint8Array, out: DigestFieldsOut): boolean {
  const format = formatOf(bytes);
  if (format === FORMAT_SEALED) return false;
  readDigestFieldsAt(bytes, 1, out, format === FORMAT_COMPACT_RUNS);
  return true;
}
