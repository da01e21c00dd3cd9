/**
 * Hint files: for each merged data file, the key directory entries of its records, so that
 * open rebuilds the key directory without reading values. A merge writes one per output.
 *
 * The whole file is one sealed record (`../record-codec.ts`); its payload (big-endian):
 *
 *   offset 0   magic        u32  'PXBH'
 *   offset 4   data id      u32  the data file it describes
 *   offset 8   data bytes   u64  that file's size: a hint for another version is not used
 *   offset 16  count        u32
 *   offset 20  entries: seq u64, offset u64, size u32, key length u16, key
 *
 * Merged files hold puts only (a merge drops tombstones and dead records), so entries need
 * no kind. A hint that fails any check is ignored and its data file is scanned instead.
 */
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import { openRecord, RECORD_HEADER_BYTES, sealRecordInPlace } from '../record-codec';
import { readU64, viewOf, writeU64 } from './format';

const HINT_MAGIC = 0x5058_4248;
const HINT_FIXED_BYTES = 20;
const ENTRY_FIXED_BYTES = 22;

export interface HintEntry {
  readonly key: string;
  readonly seq: number;
  readonly offset: number;
  readonly size: number;
}

export interface Hint {
  readonly dataId: number;
  readonly dataBytes: number;
  readonly entries: readonly HintEntry[];
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The exact size of the hint file of `count` entries whose keys take `keyBytes` UTF-8 bytes. */
export function hintFileBytes(count: number, keyBytes: number): number {
  assert(Number.isSafeInteger(count) && count >= 0, () => `hintFileBytes: count ${count}`);
  assert(keyBytes >= count, () => `hintFileBytes: ${keyBytes} key bytes for ${count} keys`);
  return RECORD_HEADER_BYTES + HINT_FIXED_BYTES + count * ENTRY_FIXED_BYTES + keyBytes;
}

/** The sealed bytes of a hint file. */
export function encodeHint(hint: Hint): Uint8Array {
  const keys = hint.entries.map((entry) => Buffer.from(entry.key, 'utf8'));
  const keyBytes = keys.reduce((sum, key) => sum + key.length, 0);
  const payloadBytes = HINT_FIXED_BYTES + hint.entries.length * ENTRY_FIXED_BYTES + keyBytes;
  const record = new Uint8Array(RECORD_HEADER_BYTES + payloadBytes);
  const view = viewOf(record.subarray(RECORD_HEADER_BYTES));
  view.setUint32(0, HINT_MAGIC, false);
  view.setUint32(4, hint.dataId, false);
  writeU64(view, 8, hint.dataBytes);
  view.setUint32(16, hint.entries.length, false);
  let offset = HINT_FIXED_BYTES;
  for (let i = 0; i < hint.entries.length; i++) {
    const entry = hint.entries[i];
    writeU64(view, offset, entry.seq);
    writeU64(view, offset + 8, entry.offset);
    view.setUint32(offset + 16, entry.size, false);
    view.setUint16(offset + 20, keys[i].length, false);
    record.set(keys[i], RECORD_HEADER_BYTES + offset + ENTRY_FIXED_BYTES);
    offset += ENTRY_FIXED_BYTES + keys[i].length;
  }
  assert(offset === payloadBytes, `encodeHint: ${offset} of ${payloadBytes} bytes`);
  assert(record.length === hintFileBytes(hint.entries.length, keyBytes), 'encodeHint: size');
  return sealRecordInPlace(record);
}

/** Verifies and decodes a hint file; throws CORRUPTED on any damage. */
export function decodeHint(bytes: Uint8Array): Hint {
  const payload = openRecord(bytes);
  if (payload.length < HINT_FIXED_BYTES) throw engineError('CORRUPTED', 'hint file too short');
  const view = viewOf(payload);
  if (view.getUint32(0, false) !== HINT_MAGIC) throw engineError('CORRUPTED', 'hint magic');
  const count = view.getUint32(16, false);
  // Each entry takes at least ENTRY_FIXED_BYTES + 1, which bounds the loop below by the size.
  if (count > (payload.length - HINT_FIXED_BYTES) / (ENTRY_FIXED_BYTES + 1)) {
    throw engineError('CORRUPTED', `hint count ${count} does not fit ${payload.length} bytes`);
  }
  const entries: HintEntry[] = [];
  let offset = HINT_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    if (offset + ENTRY_FIXED_BYTES > payload.length) throw engineError('CORRUPTED', 'hint entry');
    const keyEnd = offset + ENTRY_FIXED_BYTES + view.getUint16(offset + 20, false);
    if (keyEnd > payload.length) throw engineError('CORRUPTED', 'hint key overruns the file');
    entries.push({
      key: decodeKey(payload.subarray(offset + ENTRY_FIXED_BYTES, keyEnd)),
      seq: readU64(view, offset),
      offset: readU64(view, offset + 8),
      size: view.getUint32(offset + 16, false),
    });
    offset = keyEnd;
  }
  if (offset !== payload.length) throw engineError('CORRUPTED', 'hint file has extra bytes');
  return { dataId: view.getUint32(4, false), dataBytes: readU64(view, 8), entries };
}

function decodeKey(bytes: Uint8Array): string {
  if (bytes.length === 0) throw engineError('CORRUPTED', 'hint entry with an empty key');
  try {
    return utf8Decoder.decode(bytes);
  } catch (err) {
    throw engineError('CORRUPTED', 'hint key is not UTF-8', err);
  }
}
