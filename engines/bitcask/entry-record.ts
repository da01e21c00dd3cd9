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
import {
  getU32,
  openRecord,
  putU32,
  RECORD_HEADER_BYTES,
  sealRecordAroundSealedAt,
  sealRecordAt,
} from '../record-codec';
import { readU64At } from './format';

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
const utf8Encoder = new TextEncoder();

/** Bytes of the sealed record for a key and value of these sizes. */
export function entryRecordBytes(keyBytes: number, valueBytes: number): number {
  if (!(keyBytes >= 1 && keyBytes <= KEY_BYTES_MAX))
    assert(false, `entry key of ${keyBytes} bytes`);
  return RECORD_HEADER_BYTES + ENTRY_FIXED_BYTES + keyBytes + valueBytes;
}

/**
 * Writes a sealed record into `frame` at `offset` (`entryRecordBytes` long; usually inside a
 * batch frame). Building in place saves a copy of every value; the key is written straight from
 * the string (`keyBytes`: its UTF-8 length), so no buffer is allocated for it. The fields come
 * as arguments and the checks as guards, so a record written allocates nothing: this runs for
 * every record persisted. `valueSealed`: the value is a sealed record whose checksum holds
 * (`BatchOp.sealed`), so the entry's checksum is derived from it (`sealRecordAroundSealedAt`:
 * the same checksum, without a second pass over the value).
 */
export function writeEntryRecordAt(
  frame: Uint8Array,
  offset: number,
  kind: EntryKind,
  seq: number,
  key: string,
  keyBytes: number,
  value: Uint8Array | undefined,
  valueSealed: boolean = false,
): number {
  const valueBytes = value === undefined ? 0 : value.byteLength;
  if (!(kind === 'put' || valueBytes === 0)) assert(false, 'writeEntryRecord: tombstone value');
  if (!(Number.isSafeInteger(seq) && seq >= 0)) assert(false, `writeEntryRecord: seq ${seq}`);
  const size = entryRecordBytes(keyBytes, valueBytes);
  const end = offset + size;
  if (!(offset >= 0 && end <= frame.length))
    assert(false, `writeEntryRecord: ${size} bytes at ${offset} of ${frame.length}`);
  const at = offset + RECORD_HEADER_BYTES;
  frame[at] = kind === 'put' ? 1 : 2;
  putU32(frame, at + 1, Math.floor(seq / 0x1_0000_0000));
  putU32(frame, at + 5, seq >>> 0);
  frame[at + 9] = keyBytes >>> 8;
  frame[at + 10] = keyBytes;
  const keyAt = at + ENTRY_FIXED_BYTES;
  const written = writeKey(frame, keyAt, key, keyBytes);
  if (written !== keyBytes)
    assert(false, `writeEntryRecord: key of ${written} bytes, not ${keyBytes}`);
  if (value !== undefined) frame.set(value, keyAt + keyBytes);
  if (valueSealed && value !== undefined)
    sealRecordAroundSealedAt(frame, offset, keyAt + keyBytes, end);
  else sealRecordAt(frame, offset, end);
  return size;
}

/** UTF-8 bytes of `key` (the ASCII keys of the store counted without an encoder call). */
export function keyByteLength(key: string): number {
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) >= 0x80) return Buffer.byteLength(key, 'utf8');
  }
  return key.length;
}

function writeKey(frame: Uint8Array, at: number, key: string, keyBytes: number): number {
  if (keyBytes === key.length) {
    // keyByteLength said ASCII: one byte per code unit.
    for (let i = 0; i < key.length; i++) frame[at + i] = key.charCodeAt(i);
    return keyBytes;
  }
  return utf8Encoder.encodeInto(key, frame.subarray(at, at + keyBytes)).written;
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
  // Byte reads, not a DataView (an object per record read).
  const code = payload[0];
  if (code !== 1 && code !== 2) throw engineError('CORRUPTED', `entry record kind ${code}`);
  const keyBytes = ((payload[9] as number) << 8) | (payload[10] as number);
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
  return { kind, seq: readU64At(payload, 1), key, value: payload.subarray(keyEnd) };
}

/** The total length of the sealed record starting at `bytes[0]`, from its length field. */
export function sealedRecordLength(bytes: Uint8Array): number {
  if (bytes.length < RECORD_HEADER_BYTES) {
    throw engineError('CORRUPTED', `record header truncated: ${bytes.length} bytes`);
  }
  return RECORD_HEADER_BYTES + getU32(bytes, 1);
}
