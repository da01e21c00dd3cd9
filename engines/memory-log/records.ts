/**
 * The in-RAM side of MemoryLogEngine: a Map from key to the key's sealed entry record (the
 * very bytes the log holds: `../bitcask/entry-record.ts`, CRC-32 included), loaded from the
 * log at open and kept up to date by every write.
 *
 * Holding the sealed record, not the bare value, is what lets every read verify its checksum:
 * a record whose bytes went bad (on disk before the load, or in memory since) is CORRUPTED,
 * never returned as data, and the Paxos shell then recovers that key from its peers.
 *
 * A record is held as a one-byte string (latin1: one character per byte, a bijection), not
 * a Uint8Array: every record written is kept until its key's next write, and a Uint8Array
 * of more than 64 bytes is an ArrayBuffer off the JS heap, which V8 allocates, registers with
 * its sweeper and frees one by one (~1 us each; ~300 bytes more RSS per record). A string is
 * one object on the heap, bump-allocated (issue 10, sixth session; docs/decisions.md "Memory-log
 * records as one-byte strings"). Reads turn it back into bytes to verify it.
 */
import { assert } from '../../runtime/assert';
import type { EncodedBatch } from '../bitcask/batch-frame';
import type { DataFile } from '../bitcask/data-file';
import { readEntryRecord } from '../bitcask/entry-record';
import type { Location } from '../bitcask/keydir';
import { ChunkReader } from '../bitcask/scan-file';
import type { Session } from '../bitcask/session';
import type { IterateRange } from '../engine';
import { isEngineError, engineError } from '../errors';
import { compareKeys, inRange } from '../key-order';

/** Key → its sealed entry record, one byte per character (`recordString`). */
export type RecordMap = Map<string, string>;

/** Records up to this size (V8's string limit is ~2^29 characters; a record is far smaller). */
const RECORD_CHARS_MAX = 2 ** 28;

/**
 * Bytes [start, end) of `bytes` as a one-byte string (latin1: byte i is char code i). A Buffer,
 * so a frame's records are cut from one view of it (bufferOf), not one view per record.
 */
export function recordString(bytes: Buffer, start: number, end: number): string {
  assert(0 <= start && start <= end && end <= bytes.length, () => `record [${start}, ${end})`);
  assert(end - start <= RECORD_CHARS_MAX, () => `memory-log: record of ${end - start} bytes`);
  const s = bytes.toString('latin1', start, end);
  assert(s.length === end - start, () => `memory-log: ${s.length} chars for ${end - start}`);
  return s;
}

/** The bytes of a record held as a string (a buffer of their own; dropped after the read). */
export function recordBytes(record: string): Uint8Array {
  const bytes = Buffer.from(record, 'latin1');
  assert(bytes.length === record.length, () => `memory-log: ${bytes.length} of ${record.length}`);
  return bytes;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export interface LoadedRecords {
  readonly records: RecordMap;
  /** Live records whose checksum (or key) failed at load: kept, so reads report CORRUPTED. */
  readonly corrupted: number;
}

/**
 * Reads every live record the key directory points at, file by file in offset order (large
 * sequential reads through `ChunkReader`), into a fresh Map. Runs inside open, before any
 * write or merge can touch the files. Each record is copied out of its 4 MiB chunk, so the
 * Map never pins a chunk.
 */
export async function loadRecords(session: Session): Promise<LoadedRecords> {
  const entries: Array<[string, Location]> = [...session.keydir];
  entries.sort((a, b) => a[1].fileId - b[1].fileId || a[1].offset - b[1].offset);
  const records: RecordMap = new Map();
  const readers = new Map<number, ChunkReader>();
  let corrupted = 0;
  for (const [key, location] of entries) {
    const reader = readerOf(session, readers, location.fileId);
    const bytes = await reader.slice(location.offset, location.size);
    if (!recordHolds(key, bytes)) corrupted++;
    records.set(key, recordString(bufferOf(bytes), 0, bytes.length));
  }
  assert(records.size === session.keydir.size, `memory-log load: ${records.size} records`);
  assert(corrupted <= records.size, `memory-log load: ${corrupted} corrupted`);
  return { records, corrupted };
}

function readerOf(session: Session, readers: Map<number, ChunkReader>, id: number): ChunkReader {
  let reader = readers.get(id);
  if (reader === undefined) {
    const file: DataFile | undefined = session.files.get(id);
    assert(file !== undefined, () => `memory-log load: key points at missing file ${id}`);
    reader = new ChunkReader(file);
    readers.clear(); // records come file by file: only the current file's chunk is needed
    readers.set(id, reader);
  }
  return reader;
}

/** True when the record verifies and is a put of `key`. */
function recordHolds(key: string, record: Uint8Array): boolean {
  try {
    const entry = readEntryRecord(record);
    return entry.key === key && entry.kind === 'put';
  } catch (err) {
    if (isEngineError(err, 'CORRUPTED')) return false;
    throw err;
  }
}

/**
 * Applies a written batch frame: puts point at their records (copied out of the frame as
 * strings, so no key keeps the frame alive), tombstones remove the key.
 */
export function applyFrame(records: RecordMap, frame: EncodedBatch): void {
  assert(frame.entries.length > 0, 'memory-log: empty frame applied');
  const bytes = bufferOf(frame.bytes);
  for (const { key, kind, offset, size } of frame.entries) {
    assert(offset > 0 && offset + size <= bytes.length, () => `memory-log: record of ${key}`);
    if (kind === 'tombstone') records.delete(key);
    else records.set(key, recordString(bytes, offset, offset + size));
  }
}

/**
 * The value of `key`'s record, verified (checksum, key, kind) and copied into a buffer the
 * caller owns. CORRUPTED if any check fails.
 */
export function verifiedValue(key: string, record: string): Uint8Array {
  const entry = readEntryRecord(recordBytes(record));
  if (entry.key !== key || entry.kind !== 'put') {
    throw engineError('CORRUPTED', `memory-log: the record held for ${key} is another record`);
  }
  const value = new Uint8Array(entry.value);
  assert(value.buffer !== entry.value.buffer, 'memory-log: value shares memory with its record');
  return value;
}

/** The records in range, sorted (UTF-8 byte order), reversed and limited as asked. */
export function selectRange(records: RecordMap, range: IterateRange): Array<[string, string]> {
  const limit = range.limit ?? Infinity;
  assert(limit === Infinity || (Number.isInteger(limit) && limit >= 0), `limit ${limit}`);
  const selected: Array<[string, string]> = [];
  for (const entry of records) {
    if (inRange(entry[0], range.gte, range.lt)) selected.push(entry);
  }
  selected.sort((a, b) => compareKeys(a[0], b[0]));
  if (range.reverse === true) selected.reverse();
  if (selected.length > limit) selected.length = limit;
  assert(selected.length <= records.size, 'memory-log.iterate: more entries than stored');
  return selected;
}
