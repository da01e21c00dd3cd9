/**
 * A batch frame: the unit of atomicity on disk. Every `write` call appends exactly one frame;
 * merges write frames too. Recovery applies a frame's records only when the whole frame is
 * present and its checksums hold, so a batch is applied entirely or not at all.
 *
 * Frame header (20 bytes, big-endian), then the body: `count` sealed entry records.
 *
 *   offset 0   magic          u32  'PXBF'
 *   offset 4   count          u32  records in the body
 *   offset 8   body length    u32  bytes
 *   offset 12  body checksum  u32  CRC-32 of the body
 *   offset 16  header check   u32  CRC-32 of bytes [0, 16)
 *
 * The header has its own checksum so that recovery can trust the body length, tell a torn
 * body (length runs past the end of the file) from damage, and look for valid frames after a
 * bad one (`scan-file.ts`).
 */
import { assert } from '../../runtime/assert';
import type { BatchOp } from '../engine';
import { crc32, crc32Range } from '../crc32';
import { engineError } from '../errors';
import {
  entryRecordBytes,
  type EntryKind,
  keyByteLength,
  sealedRecordLength,
  writeEntryRecordAt,
} from './entry-record';
import { readU64, viewOf, writeU64 } from './format';

export const FRAME_MAGIC = 0x5058_4246;
export const FRAME_HEADER_BYTES = 20;
const BODY_BYTES_MAX = 0xffff_ffff;

/** Where one record of a frame lies, relative to the start of the frame. */
export interface FramedEntry {
  readonly key: string;
  readonly kind: EntryKind;
  readonly offset: number;
  readonly size: number;
}

export interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly entries: readonly FramedEntry[];
}

/**
 * Encodes a batch as one frame. Only the last operation on each key is kept (within a batch
 * the last one wins), so each key appears at most once per seq. Copies every value, so the
 * caller may reuse its buffers as soon as this returns.
 *
 * `scratch`: when the frame fits, it is built in `scratch`'s first bytes (every byte is
 * written, so stale bytes there never leak into it) instead of a new buffer: a frame of a few
 * KiB is an ArrayBuffer of its own off the heap, zero-filled, registered with the collector and
 * swept (~1-2 us each). Only for a caller that is done with the frame before it reuses
 * `scratch` (bitcask's idle append, written before `write` returns).
 */
export function encodeBatchFrame(
  batch: readonly BatchOp[],
  seq: number,
  scratch?: Uint8Array,
): EncodedBatch {
  const ops = lastOfEachKey(batch);
  let total = FRAME_HEADER_BYTES;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const valueBytes = op.type === 'put' ? op.value.byteLength : 0;
    total += entryRecordBytes(keyByteLength(op.key), valueBytes);
  }
  const bytes =
    scratch !== undefined && total <= scratch.length
      ? new Uint8Array(scratch.buffer, scratch.byteOffset, total)
      : new Uint8Array(total);
  const entries: FramedEntry[] = new Array<FramedEntry>(ops.length);
  let offset = FRAME_HEADER_BYTES;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const kind: EntryKind = op.type === 'put' ? 'put' : 'tombstone';
    const value = op.type === 'put' ? op.value : undefined;
    const sealed = op.type === 'put' && op.sealed === true;
    // The key's length again (a loop over an ASCII key) rather than an array of them.
    const keyBytes = keyByteLength(op.key);
    const size = writeEntryRecordAt(bytes, offset, kind, seq, op.key, keyBytes, value, sealed);
    entries[i] = { key: op.key, kind, offset, size };
    offset += size;
  }
  if (offset !== total) assert(false, `encodeBatchFrame: ${offset} of ${total} bytes`);
  sealFrame(bytes, entries.length);
  return { bytes, entries };
}

/** Batches up to this size look for repeated keys pair by pair instead of through a Map. */
const PAIRWISE_OPS_MAX = 16;

/**
 * The batch with only the last operation on each key (at the place of the key's first). A
 * batch without repeats (the Paxos shell's: one record per key) is returned as it is.
 */
function lastOfEachKey(batch: readonly BatchOp[]): readonly BatchOp[] {
  if (batch.length <= PAIRWISE_OPS_MAX && !hasRepeatedKey(batch)) return batch;
  const last = new Map<string, BatchOp>();
  for (const op of batch) last.set(op.key, op); // records of one seq may come in any order
  return [...last.values()];
}

function hasRepeatedKey(batch: readonly BatchOp[]): boolean {
  for (let i = 1; i < batch.length; i++) {
    const key = batch[i].key;
    for (let j = 0; j < i; j++) if (batch[j].key === key) return true;
  }
  return false;
}

/** Fills in the header of a frame whose body (the records) is already in place. */
export function sealFrame(frame: Uint8Array, count: number): void {
  const bodyBytes = frame.length - FRAME_HEADER_BYTES;
  if (!(bodyBytes >= 0 && bodyBytes <= BODY_BYTES_MAX)) assert(false, `sealFrame: ${bodyBytes} B`);
  if (!(Number.isInteger(count) && count >= 0)) assert(false, `sealFrame: count ${count}`);
  const view = viewOf(frame);
  view.setUint32(0, FRAME_MAGIC, false);
  view.setUint32(4, count, false);
  view.setUint32(8, bodyBytes, false);
  view.setUint32(12, crc32(frame.subarray(FRAME_HEADER_BYTES)), false);
  view.setUint32(16, crc32Range(frame, 0, 16), false);
}

export type FrameHeader =
  | {
      readonly ok: true;
      readonly count: number;
      readonly bodyBytes: number;
      readonly bodyCrc: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Checks the header at the start of `bytes` (at least FRAME_HEADER_BYTES long). */
export function readFrameHeader(bytes: Uint8Array): FrameHeader {
  assert(bytes.length >= FRAME_HEADER_BYTES, `readFrameHeader: ${bytes.length} bytes`);
  const view = viewOf(bytes);
  if (view.getUint32(0, false) !== FRAME_MAGIC) return { ok: false, reason: 'bad frame magic' };
  if (view.getUint32(16, false) !== crc32Range(bytes, 0, 16)) {
    return { ok: false, reason: 'frame header checksum mismatch' };
  }
  const count = view.getUint32(4, false);
  const bodyBytes = view.getUint32(8, false);
  return { ok: true, count, bodyBytes, bodyCrc: view.getUint32(12, false) };
}

/**
 * The offset and size of each record in a frame body whose checksum already held. A body
 * whose checksum holds but whose records do not add up cannot come from a torn write, so it
 * is CORRUPTED outright.
 */
export function splitFrameBody(body: Uint8Array, count: number): Array<[number, number]> {
  const records: Array<[number, number]> = [];
  let offset = 0;
  for (let index = 0; index < count; index++) {
    if (offset >= body.length) {
      throw engineError('CORRUPTED', `frame body holds ${index} of ${count} records`);
    }
    const size = sealedRecordLength(body.subarray(offset));
    if (offset + size > body.length) throw engineError('CORRUPTED', 'frame record overruns body');
    records.push([offset, size]);
    offset += size;
  }
  if (offset !== body.length) {
    throw engineError('CORRUPTED', `frame body has ${body.length - offset} extra bytes`);
  }
  assert(records.length === count, `splitFrameBody: ${records.length} of ${count}`);
  return records;
}

/** True when the body's checksum matches the one its header carries. */
export function frameBodyMatches(body: Uint8Array, header: FrameHeader): boolean {
  assert(header.ok, 'frameBodyMatches: header not checked');
  assert(body.length === header.bodyBytes, `frameBodyMatches: ${body.length} bytes`);
  return crc32(body) === header.bodyCrc;
}

/**
 * A sync mark: 20 bytes the writer puts in front of a group once the bytes before `durableEnd`
 * are known to be on disk (an fdatasync returned, or open synced the file). Recovery uses the
 * highest mark it finds to tell a tear from damage: bytes before it were durable, so a bad
 * frame there is damage (acknowledged data may be lost); a bad frame after it lies in what no
 * fdatasync had covered yet, so under `sync: true` nothing in it was acknowledged: a tear.
 *
 *   offset 0   magic        u32  'PXBS'
 *   offset 4   reserved     u32  0
 *   offset 8   durable end  u64  file offset up to which every byte was durable
 *   offset 16  checksum     u32  CRC-32 of bytes [0, 16)
 *
 * A mark is not a frame: it carries no records and no seq. It is written in the same write(2)
 * as the group after it, never on its own, so it costs no system call.
 */
export const SYNC_MARK_MAGIC = 0x5058_4253;
export const SYNC_MARK_BYTES = 20;

export function encodeSyncMark(durableEnd: number): Uint8Array {
  assert(Number.isSafeInteger(durableEnd) && durableEnd >= 0, `encodeSyncMark: ${durableEnd}`);
  const bytes = new Uint8Array(SYNC_MARK_BYTES);
  const view = viewOf(bytes);
  view.setUint32(0, SYNC_MARK_MAGIC, false);
  writeU64(view, 8, durableEnd);
  view.setUint32(16, crc32(bytes.subarray(0, 16)), false);
  assert(readSyncMark(bytes) === durableEnd, 'encodeSyncMark: round trip');
  return bytes;
}

/** The durable end a valid mark at the start of `bytes` names; undefined for anything else. */
export function readSyncMark(bytes: Uint8Array): number | undefined {
  if (bytes.length < SYNC_MARK_BYTES) return undefined;
  const view = viewOf(bytes);
  if (view.getUint32(0, false) !== SYNC_MARK_MAGIC) return undefined;
  if (view.getUint32(16, false) !== crc32(bytes.subarray(0, 16))) return undefined;
  // A matching checksum over random bytes is possible (1 in 2^32): never throw for it.
  const high = view.getUint32(8, false);
  if (high > 0x1f_ffff) return undefined;
  const end = readU64(view, 8);
  return Number.isSafeInteger(end) ? end : undefined;
}
