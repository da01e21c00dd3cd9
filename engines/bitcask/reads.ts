/**
 * Reads: one positional read per value, at the location the key directory gives, and the
 * record's checksum verified before any byte of it is returned (a bad record is CORRUPTED,
 * never data).
 *
 * A read pins its data file (`DataFile.acquire`) in the same synchronous step as it looks the
 * key up, so a merge that replaces the file meanwhile cannot close it under the read.
 */
import { assert } from '../../runtime/assert';
import type { IterateRange } from '../engine';
import { engineError } from '../errors';
import { compareKeys, inRange } from '../key-order';
import type { DataFile } from './data-file';
import { readEntryRecord } from './entry-record';
import type { Location } from './keydir';
import type { Session } from './session';

/** Reads in flight at once for getMany and iterate: enough to overlap, bounded in memory. */
export const READ_WINDOW = 32;

/**
 * Point reads READ_WINDOW at a time, results lined up with `keys` (getMany of the bitcask
 * engines). `checkOpen` runs before each window and throws when the engine closed meanwhile.
 */
export async function readWindowed(
  keys: readonly string[],
  readOne: (key: string) => Promise<Uint8Array | undefined>,
  checkOpen: () => void,
): Promise<Array<Uint8Array | undefined>> {
  const values: Array<Uint8Array | undefined> = [];
  for (let start = 0; start < keys.length; start += READ_WINDOW) {
    checkOpen();
    const window = keys.slice(start, start + READ_WINDOW);
    values.push(...(await Promise.all(window.map(readOne))));
  }
  assert(values.length === keys.length, () => `getMany: ${values.length} of ${keys.length}`);
  return values;
}

export function readValue(session: Session, key: string): Promise<Uint8Array | undefined> {
  const location = session.keydir.get(key);
  if (location === undefined) return Promise.resolve(undefined);
  const file = session.files.get(location.fileId);
  assert(file !== undefined, () => `bitcask: key ${key} points at missing file ${location.fileId}`);
  file.acquire();
  return readPinned(file, key, location).finally(() => file.release());
}

/** Reads a value from a file the caller has pinned. */
async function readPinned(file: DataFile, key: string, location: Location): Promise<Uint8Array> {
  const record = await file.read(location.offset, location.size);
  const entry = readEntryRecord(record);
  if (entry.key !== key || entry.kind !== 'put') {
    // A record that checks out but is the wrong one: the location is wrong, not the bytes.
    const where = `file ${file.id} at ${location.offset}`;
    throw engineError('CORRUPTED', `bitcask: ${where} holds another record than ${key}`);
  }
  return entry.value;
}

interface SnapshotEntry {
  readonly key: string;
  readonly location: Location;
  readonly file: DataFile;
}

/**
 * Ordered iteration over a snapshot taken at the first `next()`: the keys in range, sorted in
 * UTF-8 byte order, with their locations and pinned files. Values are then read in windows.
 * Appends never change a record, and pinned files stay open, so the snapshot stays valid
 * whatever writes and merges happen meanwhile. `isCurrent` is false once the engine closed.
 */
export async function* iterateSnapshot(
  session: Session,
  range: IterateRange,
  isCurrent: () => boolean,
): AsyncGenerator<[string, Uint8Array]> {
  if (!isCurrent()) throw notOpen();
  const snapshot = takeSnapshot(session, range);
  const pinned = new Set(snapshot.map((entry) => entry.file));
  for (const file of pinned) file.acquire();
  try {
    for (let start = 0; start < snapshot.length; start += READ_WINDOW) {
      if (!isCurrent()) throw notOpen();
      const window = snapshot.slice(start, start + READ_WINDOW);
      const values = await Promise.all(window.map((e) => readPinned(e.file, e.key, e.location)));
      for (let i = 0; i < window.length; i++) {
        if (!isCurrent()) throw notOpen();
        yield [window[i].key, values[i]];
      }
    }
  } finally {
    for (const file of pinned) file.release();
  }
}

function takeSnapshot(session: Session, range: IterateRange): SnapshotEntry[] {
  const limit = range.limit ?? Infinity;
  assert(limit === Infinity || (Number.isInteger(limit) && limit >= 0), `limit ${limit}`);
  const entries: SnapshotEntry[] = [];
  for (const [key, location] of session.keydir) {
    if (!inRange(key, range.gte, range.lt)) continue;
    const file = session.files.get(location.fileId);
    assert(file !== undefined, () => `bitcask: ${key} points at missing ${location.fileId}`);
    entries.push({ key, location, file });
  }
  entries.sort((a, b) => compareKeys(a.key, b.key));
  if (range.reverse === true) entries.reverse();
  if (entries.length > limit) entries.length = limit;
  assert(entries.length <= session.keydir.size, 'bitcask.iterate: more entries than keys');
  return entries;
}

export function notOpen(): Error {
  return engineError('NOT_OPEN', 'bitcask engine is not open');
}
