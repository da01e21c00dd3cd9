/**
 * Reads: find the key's location (active buffer, then frozen buffer, then one index page),
 * then read its record with one positional read and verify the record's checksum before any
 * byte is returned. A page is verified too. Damage of either is CORRUPTED, never data.
 *
 * The buffers and the index are looked at in one synchronous step, and the index is pinned
 * (`IndexFile.acquire`), so a flush that swaps in a new index meanwhile changes nothing for a
 * read already under way: it answers as of the moment it started.
 */
import { assert } from '../../runtime/assert';
import type { IterateRange } from '../engine';
import { engineError } from '../errors';
import { inRange } from '../key-order';
import type { DataFile } from '../bitcask/data-file';
import { readEntryRecord } from '../bitcask/entry-record';
import { READ_WINDOW } from '../bitcask/reads';
import { bucketOf, keyHash } from './bucket-hash';
import { mergeBucket } from './flush';
import { findInSealedPage, type IndexLocation } from './index-page';
import type { IndexedSession } from './session';
import { bucketItems, itemsBefore } from './write-buffer';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Lookups of one get: a merge installed between a lookup and its read forces another. */
const READ_ATTEMPTS_MAX = 4;

export async function readValue(
  session: IndexedSession,
  key: string,
): Promise<Uint8Array | undefined> {
  for (let attempt = 1; ; attempt++) {
    const installed = session.mergesInstalled;
    const location = await locate(session, key);
    if (location === undefined) return undefined;
    const file = session.files.get(location.fileId);
    if (file === undefined) {
      // A merge swapped its index in while the page was read: the location it gave is in a
      // retired input. Look again (the new index has the copy).
      if (session.mergesInstalled !== installed && attempt < READ_ATTEMPTS_MAX) continue;
      throw engineError(
        'CORRUPTED',
        `bitcask2: ${key} points at missing data file ${location.fileId}`,
      );
    }
    file.acquire();
    try {
      return await readRecord(file, key, location);
    } finally {
      file.release();
    }
  }
}

async function locate(session: IndexedSession, key: string): Promise<IndexLocation | undefined> {
  const active = session.active.get(key);
  if (active !== undefined) return active ?? undefined;
  const frozen = session.frozen?.get(key);
  if (frozen !== undefined) return frozen ?? undefined;
  const index = session.index;
  if (index === undefined) return undefined;
  const keyBytes = Buffer.from(key, 'utf8');
  const hash = keyHash(keyBytes);
  const bucket = bucketOf(hash, index.bucketBits);
  if (index.lengths[bucket] === 0) return undefined;
  index.acquire();
  try {
    const page = await index.readPageBytes(bucket);
    return page === undefined ? undefined : findInSealedPage(page, bucket, keyBytes, hash);
  } finally {
    index.release();
  }
}

/** Reads and verifies the record at `location`, which must be a put of `key`. */
async function readRecord(
  file: DataFile,
  key: string,
  location: IndexLocation,
): Promise<Uint8Array> {
  if (location.offset + location.size > file.size) {
    throw engineError('CORRUPTED', `bitcask2: ${key} points past the end of file ${file.id}`);
  }
  const entry = readEntryRecord(await file.read(location.offset, location.size));
  if (entry.key !== key || entry.kind !== 'put') {
    const where = `file ${file.id} at ${location.offset}`;
    throw engineError('CORRUPTED', `bitcask2: ${where} holds another record than ${key}`);
  }
  assert(entry.value.byteOffset >= 0, 'readRecord: value view');
  return entry.value;
}

/**
 * Iteration in bucket order (bitcask2 is not `ordered`) over a snapshot taken at the first
 * `next()`: the pinned index (immutable) plus a copy of the buffers (bounded), with every data
 * file pinned. One page and one window of values are in memory at a time.
 */
export async function* iterateSnapshot(
  session: IndexedSession,
  range: IterateRange,
  isCurrent: () => boolean,
): AsyncGenerator<[string, Uint8Array]> {
  if (!isCurrent()) throw notOpen();
  const index = session.index;
  const bits = index?.bucketBits ?? 0;
  const frozen = session.frozen;
  const buffers = frozen === undefined ? [session.active] : [frozen, session.active];
  const items = bucketItems(buffers, bits);
  // The files as of the snapshot, pinned: a merge may retire some of them meanwhile.
  const files = new Map(session.files);
  index?.acquire();
  for (const file of files.values()) file.acquire();
  let left = range.limit ?? Infinity;
  try {
    let itemAt = 0;
    for (let bucket = 0; bucket < 2 ** bits && left > 0; bucket++) {
      const itemEnd = itemsBefore(items, itemAt, bucket + 1);
      const hasPage = index !== undefined && index.lengths[bucket] > 0;
      if (!hasPage && itemEnd === itemAt) continue;
      if (!isCurrent()) throw notOpen();
      const entries = hasPage ? await index.readPage(bucket) : [];
      const pages = mergeBucket(entries, items.slice(itemAt, itemEnd), bits);
      itemAt = itemEnd;
      assert(pages.length <= 1 && (pages[0]?.[0] ?? bucket) === bucket, 'iterate: page mix-up');
      const inRangeEntries = (pages[0]?.[1] ?? [])
        .map((entry) => ({ key: utf8Decoder.decode(entry.key), location: entry }))
        .filter(({ key }) => inRange(key, range.gte, range.lt))
        .slice(0, left);
      for (let start = 0; start < inRangeEntries.length; start += READ_WINDOW) {
        if (!isCurrent()) throw notOpen();
        const window = inRangeEntries.slice(start, start + READ_WINDOW);
        const reads = window.map(({ key, location }) => readPinned(files, key, location));
        const values = await Promise.all(reads);
        for (let i = 0; i < window.length; i++) {
          if (!isCurrent()) throw notOpen();
          left--;
          yield [window[i].key, values[i]];
        }
      }
    }
  } finally {
    index?.release();
    for (const file of files.values()) file.release();
  }
}

function readPinned(
  files: ReadonlyMap<number, DataFile>,
  key: string,
  location: IndexLocation,
): Promise<Uint8Array> {
  const file = files.get(location.fileId);
  if (file === undefined) {
    const message = `bitcask2: ${key} points at missing file ${location.fileId}`;
    return Promise.reject(engineError('CORRUPTED', message));
  }
  return readRecord(file, key, location);
}

export function notOpen(): Error {
  return engineError('NOT_OPEN', 'bitcask2 engine is not open');
}
