/**
 * One key's record in a data file: a put (key and value) or a tombstone (key only), sealed
 * with the shared record envelope (`../record-codec.ts`: format, length, CRC-32), so every
 * record can be verified on its own when `get` reads it with one positional read.
 *
 * Payload (big-endian):
 *
 *   offset 0   kind        u8   1 = put, 2 = tombstone
 *   offset 1   seq         u64  sequence number of the batch that wrote it
 *   offset 9   key length  u16  UTF-8 bytes
 *   offset 11  key
 *   then       value       (the rest; empty for a tombstone)
 *
 * The seq lets recovery pick the newest record of a key whatever file it is in, so merged
 * files need no particular place in the file order.
 */
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import { openRecord, RECORD_HEADER_BYTES, sealRecordInPlace } from '../record-codec';
import { readU64, viewOf, writeU64 } from './format';

export type EntryKind = 'put' | 'tombstone';

const ENTRY_FIXED_BYTES = 11;
const KEY_BYTES_MAX = 0xffff;

export interface DecodedEntry {
  readonly kind: EntryKind;
  readonly seq: number;
  readonly key: string;
  /** A view into the record's bytes; empty for a tombstone. */
  readonly value: Uint8Array;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes of the sealed record for a key and value of these sizes. */
export function entryRecordBytes(keyBytes: number, valueBytes: number): number {
  assert(keyBytes >= 1 && keyBytes <= KEY_BYTES_MAX, `entry key of ${keyBytes} bytes`);
  return RECORD_HEADER_BYTES + ENTRY_FIXED_BYTES + keyBytes + valueBytes;
}

/**
 * Fills `target` (exactly `entryRecordBytes` long, usually a view into a batch frame) with a
 * sealed record. Building in place saves a copy of every value.
 */
export function writeEntryRecord(
  target: Uint8Array,
  kind: EntryKind,
  seq: number,
  key: Uint8Array,
  value: Uint8Array | undefined,
): void {
  const valueBytes = value === undefined ? 0 : value.byteLength;
  assert(kind === 'put' || valueBytes === 0, 'writeEntryRecord: a tombstone has no value');
  assert(target.length === entryRecordBytes(key.length, valueBytes), 'writeEntryRecord: size');
  const payload = target.subarray(RECORD_HEADER_BYTES);
  const view = viewOf(payload);
  view.setUint8(0, kind === 'put' ? 1 : 2);
  writeU64(view, 1, seq);
  view.setUint16(9, key.length, false);
  payload.set(key, ENTRY_FIXED_BYTES);
  if (value !== undefined) payload.set(value, ENTRY_FIXED_BYTES + key.length);
  sealRecordInPlace(target);
}

/**
 * Verifies and decodes a sealed entry record. Throws CORRUPTED if the checksum fails or the
 * payload is malformed: damaged bytes are never returned as data.
 */
export function readEntryRecord(bytes: Uint8Array): DecodedEntry {
  const payload = openRecord(bytes);
  if (payload.length < ENTRY_FIXED_BYTES) {
    throw engineError('CORRUPTED', `entry record payload of ${payload.length} bytes`);
  }
  const view = viewOf(payload);
  const code = view.getUint8(0);
  if (code !== 1 && code !== 2) throw engineError('CORRUPTED', `entry record kind ${code}`);
  const keyBytes = view.getUint16(9, false);
  const keyEnd = ENTRY_FIXED_BYTES + keyBytes;
  if (keyBytes === 0 || keyEnd > payload.length || (code === 2 && keyEnd !== payload.length)) {
    throw engineError('CORRUPTED', `entry record key length ${keyBytes} of ${payload.length}`);
  }
  let key: string;
  try {
    key = utf8Decoder.decode(payload.subarray(ENTRY_FIXED_BYTES, keyEnd));
  } catch (err) {
    throw engineError('CORRUPTED', 'entry record key is not UTF-8', err);
  }
  const kind: EntryKind = code === 1 ? 'put' : 'tombstone';
  return { kind, seq: readU64(view, 1), key, value: payload.subarray(keyEnd) };
}

/** The total length of the sealed record starting at `bytes[0]`, from its length field. */
export function sealedRecordLength(bytes: Uint8Array): number {
  if (bytes.length < RECORD_HEADER_BYTES) {
    throw engineError('CORRUPTED', `record header truncated: ${bytes.length} bytes`);
  }
  return RECORD_HEADER_BYTES + viewOf(bytes).getUint32(1, false);
}
