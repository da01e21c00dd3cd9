/**
 * An index page (pure): the level-2 key directory entries of one bucket. A page is one sealed
 * record (`../record-codec.ts`: format, length, CRC-32), verified every time it is read, so a
 * damaged page is CORRUPTED and never taken for a location.
 *
 * Payload (big-endian):
 *
 *   offset 0   bucket   u32  the bucket this page belongs to (a misplaced page is caught)
 *   offset 4   count    u32  entries
 *   offset 8   entries: hash u32, file id u32, offset u32, size u32, key length u16, key
 *
 * The hash is stored so that a flush that grows the table can move an entry to its new
 * bucket without hashing the key again, and so that lookups compare key bytes only when the
 * hash matches. Entries are in no particular order; a page holds about `keysPerBucket` of them.
 */
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import { openRecord, RECORD_HEADER_BYTES, sealRecordInPlace } from '../record-codec';

const PAGE_FIXED_BYTES = 8;
export const ENTRY_FIXED_BYTES = 18;
const KEY_BYTES_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;

/** Where a key's newest record is: the same triple as bitcask's key directory, minus seq. */
export interface IndexLocation {
  readonly fileId: number;
  readonly offset: number;
  readonly size: number;
}

export interface PageEntry extends IndexLocation {
  readonly hash: number;
  /** UTF-8 key bytes (a view into the page when decoded). */
  readonly key: Uint8Array;
}

/** Bytes of the sealed page holding `entries`. */
export function pageBytes(entries: readonly PageEntry[]): number {
  let bytes = RECORD_HEADER_BYTES + PAGE_FIXED_BYTES;
  for (const entry of entries) bytes += ENTRY_FIXED_BYTES + entry.key.length;
  return bytes;
}

/** Seals the page of `bucket` into `target` (exactly `pageBytes(entries)` long). */
export function encodePageInto(
  target: Uint8Array,
  bucket: number,
  entries: readonly PageEntry[],
): void {
  assert(target.length === pageBytes(entries), () => `encodePage: ${target.length} bytes`);
  assert(bucket >>> 0 === bucket, () => `encodePage: bucket ${bucket}`);
  const payload = target.subarray(RECORD_HEADER_BYTES);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  view.setUint32(0, bucket, false);
  view.setUint32(4, entries.length, false);
  let at = PAGE_FIXED_BYTES;
  for (const { hash, fileId, offset, size, key } of entries) {
    assert(
      key.length >= 1 && key.length <= KEY_BYTES_MAX,
      () => `encodePage: key of ${key.length}`,
    );
    assert(offset <= U32_MAX && size <= U32_MAX && fileId <= U32_MAX, 'encodePage: location');
    view.setUint32(at, hash, false);
    view.setUint32(at + 4, fileId, false);
    view.setUint32(at + 8, offset, false);
    view.setUint32(at + 12, size, false);
    view.setUint16(at + 16, key.length, false);
    payload.set(key, at + ENTRY_FIXED_BYTES);
    at += ENTRY_FIXED_BYTES + key.length;
  }
  assert(at === payload.length, () => `encodePage: wrote ${at} of ${payload.length}`);
  sealRecordInPlace(target);
}

export function encodePage(bucket: number, entries: readonly PageEntry[]): Uint8Array {
  const bytes = new Uint8Array(pageBytes(entries));
  encodePageInto(bytes, bucket, entries);
  return bytes;
}

/**
 * Verifies a sealed page and decodes its entries (keys are views into `bytes`). CORRUPTED if
 * the checksum fails, the page belongs to another bucket, or the entries do not add up.
 */
export function decodePage(bytes: Uint8Array, bucket: number): PageEntry[] {
  const { view, count } = openPage(bytes, bucket);
  const entries: PageEntry[] = [];
  let at = PAGE_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    const keyEnd = entryEnd(view, at);
    entries.push({
      hash: view.getUint32(at, false),
      fileId: view.getUint32(at + 4, false),
      offset: view.getUint32(at + 8, false),
      size: view.getUint32(at + 12, false),
      key: keyView(view, at, keyEnd),
    });
    at = keyEnd;
  }
  if (at !== view.byteLength) throw engineError('CORRUPTED', 'index page has extra bytes');
  assert(entries.length === count, () => `decodePage: ${entries.length} of ${count}`);
  return entries;
}

/**
 * The location of `key` (hash `hash`) in the sealed page of `bucket`, read straight from its
 * bytes after the checksum: a get decodes only the entry whose hash matches. CORRUPTED as in
 * `decodePage` when the page is damaged.
 */
export function findInSealedPage(
  bytes: Uint8Array,
  bucket: number,
  key: Uint8Array,
  hash: number,
): IndexLocation | undefined {
  const { view, count } = openPage(bytes, bucket);
  let at = PAGE_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    const keyEnd = entryEnd(view, at);
    if (view.getUint32(at, false) === hash && keyEnd - at - ENTRY_FIXED_BYTES === key.length) {
      if (sameBytes(keyView(view, at, keyEnd), key)) {
        const [fileId, offset, size] = [4, 8, 12].map((field) => view.getUint32(at + field, false));
        return { fileId, offset, size };
      }
    }
    at = keyEnd;
  }
  if (at !== view.byteLength) throw engineError('CORRUPTED', 'index page has extra bytes');
  return undefined;
}

/**
 * Rewrites the sealed page of `bucket` without decoding it: entries for which `drop` holds
 * are left out, the others are copied byte for byte, then `added` are appended. Undefined
 * when nothing is left.
 */
export function rewriteSealedPage(
  bytes: Uint8Array,
  bucket: number,
  drop: (hash: number, key: Uint8Array, size: number) => boolean,
  added: readonly PageEntry[],
): { page: Uint8Array; count: number } | undefined {
  const { view, count } = openPage(bytes, bucket);
  const kept: number[] = [];
  let keptBytes = 0;
  let at = PAGE_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    const keyEnd = entryEnd(view, at);
    const key = keyView(view, at, keyEnd);
    if (!drop(view.getUint32(at, false), key, view.getUint32(at + 12, false))) {
      kept.push(at, keyEnd);
      keptBytes += keyEnd - at;
    }
    at = keyEnd;
  }
  if (at !== view.byteLength) throw engineError('CORRUPTED', 'index page has extra bytes');
  const total = kept.length / 2 + added.length;
  if (total === 0) return undefined;
  const addedPage = encodePage(bucket, added);
  const page = new Uint8Array(addedPage.length + keptBytes);
  const source = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let out = RECORD_HEADER_BYTES + PAGE_FIXED_BYTES;
  for (let i = 0; i < kept.length; i += 2) {
    page.set(source.subarray(kept[i], kept[i + 1]), out);
    out += kept[i + 1] - kept[i];
  }
  page.set(addedPage.subarray(RECORD_HEADER_BYTES + PAGE_FIXED_BYTES), out);
  const pageView = new DataView(page.buffer, page.byteOffset + RECORD_HEADER_BYTES);
  pageView.setUint32(0, bucket, false);
  pageView.setUint32(4, total, false);
  sealRecordInPlace(page);
  assert(
    out + addedPage.length - RECORD_HEADER_BYTES - PAGE_FIXED_BYTES === page.length,
    'rewrite: size',
  );
  return { page, count: total };
}

/** Verifies a sealed page and checks its bucket and count (a bound on the entry loop). */
function openPage(bytes: Uint8Array, bucket: number): { view: DataView; count: number } {
  const payload = openRecord(bytes);
  if (payload.length < PAGE_FIXED_BYTES) throw engineError('CORRUPTED', 'index page too short');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const found = view.getUint32(0, false);
  if (found !== bucket) {
    throw engineError('CORRUPTED', `index page of bucket ${found}, not ${bucket}`);
  }
  const count = view.getUint32(4, false);
  // Each entry takes at least ENTRY_FIXED_BYTES + 1: this bounds the loop by the page size.
  if (count > (payload.length - PAGE_FIXED_BYTES) / (ENTRY_FIXED_BYTES + 1)) {
    throw engineError(
      'CORRUPTED',
      `index page count ${count} does not fit ${payload.length} bytes`,
    );
  }
  return { view, count };
}

/** The key bytes of the entry at `at` (a view, no copy). */
function keyView(view: DataView, at: number, keyEnd: number): Uint8Array {
  const start = at + ENTRY_FIXED_BYTES;
  return new Uint8Array(view.buffer, view.byteOffset + start, keyEnd - start);
}

/** The end of the entry at `at`, checked against the page. */
function entryEnd(view: DataView, at: number): number {
  if (at + ENTRY_FIXED_BYTES > view.byteLength) throw engineError('CORRUPTED', 'index entry');
  const keyEnd = at + ENTRY_FIXED_BYTES + view.getUint16(at + 16, false);
  if (keyEnd > view.byteLength || keyEnd === at + ENTRY_FIXED_BYTES) {
    throw engineError('CORRUPTED', 'index entry key overruns its page');
  }
  return keyEnd;
}

/** The location of `key` (hash `hash`) in a decoded page, or undefined. */
export function findInPage(
  entries: readonly PageEntry[],
  key: Uint8Array,
  hash: number,
): IndexLocation | undefined {
  for (const entry of entries) {
    if (entry.hash === hash && sameBytes(entry.key, key)) return entry;
  }
  return undefined;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
