/**
 * The in-RAM side of MemoryLogEngine: a Map from key to the key's sealed entry record (the
 * very bytes the log holds: `../bitcask/entry-record.ts`, CRC-32 included), loaded from the
 * log at open and kept up to date by every write.
 *
 * Holding the sealed record, not the bare value, is what lets every read verify its checksum:
 * a record whose bytes went bad (on disk before the load, or in memory since) is CORRUPTED,
 * never returned as data, and the Paxos shell then recovers that key from its peers.
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

export type RecordMap = Map<string, Uint8Array>;

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
    const record = new Uint8Array(await reader.slice(location.offset, location.size));
    if (!recordHolds(key, record)) corrupted++;
    records.set(key, record);
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
 * Applies a written batch frame: puts point at their records, tombstones remove the key. A
 * frame of one record is referenced in place (its 20-byte header is the only overhead); the
 * records of a larger frame are copied, so a key that outlives its batch-mates does not keep
 * the whole frame alive.
 */
export function applyFrame(records: RecordMap, frame: EncodedBatch): void {
  assert(frame.entries.length > 0, 'memory-log: empty frame applied');
  const shared = frame.entries.length > 1;
  for (const { key, kind, offset, size } of frame.entries) {
    assert(offset > 0 && offset + size <= frame.bytes.length, () => `memory-log: record of ${key}`);
    if (kind === 'tombstone') {
      records.delete(key);
    } else {
      const view = frame.bytes.subarray(offset, offset + size);
      records.set(key, shared ? new Uint8Array(view) : view);
    }
  }
}

/**
 * The value of `key`'s record, verified (checksum, key, kind) and copied into a buffer the
 * caller owns. CORRUPTED if any check fails.
 */
export function verifiedValue(key: string, record: Uint8Array): Uint8Array {
  const entry = readEntryRecord(record);
  if (entry.key !== key || entry.kind !== 'put') {
    throw engineError('CORRUPTED', `memory-log: the record held for ${key} is another record`);
  }
  const value = new Uint8Array(entry.value);
  assert(value.buffer !== record.buffer, 'memory-log: value shares memory with its record');
  return value;
}

/** The records in range, sorted (UTF-8 byte order), reversed and limited as asked. */
export function selectRange(records: RecordMap, range: IterateRange): Array<[string, Uint8Array]> {
  const limit = range.limit ?? Infinity;
  assert(limit === Infinity || (Number.isInteger(limit) && limit >= 0), `limit ${limit}`);
  const selected: Array<[string, Uint8Array]> = [];
  for (const entry of records) {
    if (inRange(entry[0], range.gte, range.lt)) selected.push(entry);
  }
  selected.sort((a, b) => compareKeys(a[0], b[0]));
  if (range.reverse === true) selected.reverse();
  if (selected.length > limit) selected.length = limit;
  assert(selected.length <= records.size, 'memory-log.iterate: more entries than stored');
  return selected;
}
