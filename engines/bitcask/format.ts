/**
 * The bitcask directory layout and the data file header (see README.md in this directory).
 *
 *   NNNNNN.data   a data file: a header, then batch frames (`batch-frame.ts`)
 *   NNNNNN.hint   the hint file of a merged data file (`hint-file.ts`)
 *   MERGE         a committed merge still being installed (`merge-commit.ts`)
 *   LOCK          the directory lock (`lock-file.ts`)
 *   *.tmp, *.merging   unfinished files: removed on open
 *
 * Data file header (24 bytes, big-endian):
 *
 *   offset 0   magic      u32  'PXBK'
 *   offset 4   version    u8   FORMAT_VERSION
 *   offset 5   kind       u8   1 = written by `write`, 2 = written by a merge
 *   offset 6   reserved   u16  0
 *   offset 8   file id    u32  the NNNNNN of its name, so a renamed file is detected
 *   offset 12  seq floor  u64  the next batch sequence number when the file was created
 *   offset 20  checksum   u32  CRC-32 of bytes [0, 20)
 *
 * The seq floor keeps sequence numbers increasing across restarts even when a merge has
 * dropped the records that carried the highest ones.
 */
import { assert } from '../../runtime/assert';
import { crc32 } from '../crc32';
import { engineError } from '../errors';
import { getU32 } from '../record-codec';

export const DATA_MAGIC = 0x5058_424b;
/**
 * 2: the writer puts sync marks between frames (`batch-frame.ts`). Version 1 files (older
 * writers) are still read, with the older tear rule while they hold no mark; an older engine
 * refuses a version 2 file rather than take its marks for damage.
 */
export const FORMAT_VERSION = 2;
const FORMAT_VERSION_LEGACY = 1;
export const DATA_HEADER_BYTES = 24;
/** File ids fit a u32 in the header; names use at least six digits. */
export const FILE_ID_MAX = 0xffff_ffff;

export type FileKind = 'write' | 'merge';

const KIND_CODES: Readonly<Record<FileKind, number>> = { write: 1, merge: 2 };

export interface DataHeader {
  readonly id: number;
  readonly kind: FileKind;
  readonly seqFloor: number;
  /** Written by a version 1 writer, which put no sync marks in it (absent: version 2). */
  readonly legacy?: true;
}

export const LOCK_FILE_NAME = 'LOCK';
export const MERGE_COMMIT_NAME = 'MERGE';
/** Suffix of a file being created; it gets its final name by rename once it is durable. */
export const TEMP_SUFFIX = '.tmp';
/** Suffix of a merge output not yet installed. */
export const MERGING_SUFFIX = '.merging';

export function dataFileName(id: number): string {
  return `${fileIdText(id)}.data`;
}

export function hintFileName(id: number): string {
  return `${fileIdText(id)}.hint`;
}

function fileIdText(id: number): string {
  assert(Number.isInteger(id) && id >= 1 && id <= FILE_ID_MAX, `file id ${id}`);
  return String(id).padStart(6, '0');
}

export interface ParsedName {
  readonly id: number;
  readonly type: 'data' | 'hint';
}

/** The id and type of a final data or hint file name; undefined for every other name. */
export function parseFileName(name: string): ParsedName | undefined {
  const match = /^(\d{6,10})\.(data|hint)$/.exec(name);
  if (match === null) return undefined;
  const id = Number(match[1]);
  if (id < 1 || id > FILE_ID_MAX) return undefined;
  return { id, type: match[2] === 'data' ? 'data' : 'hint' };
}

/** True for the names of files that were never finished (see the header comment). */
export function isUnfinishedName(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX) || name.endsWith(MERGING_SUFFIX);
}

export function encodeDataHeader(header: DataHeader): Uint8Array {
  assert(header.id >= 1 && header.id <= FILE_ID_MAX, `header id ${header.id}`);
  const bytes = new Uint8Array(DATA_HEADER_BYTES);
  const view = viewOf(bytes);
  view.setUint32(0, DATA_MAGIC, false);
  view.setUint8(4, FORMAT_VERSION);
  view.setUint8(5, KIND_CODES[header.kind]);
  view.setUint32(8, header.id, false);
  writeU64(view, 12, header.seqFloor);
  view.setUint32(20, crc32(bytes.subarray(0, 20)), false);
  assert(decodeDataHeader(bytes).seqFloor === header.seqFloor, 'encodeDataHeader: round trip');
  return bytes;
}

/** Throws CORRUPTED unless `bytes` starts with a well-formed header. */
export function decodeDataHeader(bytes: Uint8Array): DataHeader {
  if (bytes.length < DATA_HEADER_BYTES) {
    throw engineError('CORRUPTED', `data file header truncated: ${bytes.length} bytes`);
  }
  const view = viewOf(bytes);
  if (view.getUint32(20, false) !== crc32(bytes.subarray(0, 20))) {
    throw engineError('CORRUPTED', 'data file header checksum mismatch');
  }
  const version = view.getUint8(4);
  if (
    view.getUint32(0, false) !== DATA_MAGIC ||
    (version !== FORMAT_VERSION && version !== FORMAT_VERSION_LEGACY)
  ) {
    throw engineError('CORRUPTED', 'data file header: unknown magic or version');
  }
  const code = view.getUint8(5);
  const kind: FileKind | undefined = code === 1 ? 'write' : code === 2 ? 'merge' : undefined;
  if (kind === undefined) throw engineError('CORRUPTED', `data file kind ${code} unknown`);
  const legacy = version === FORMAT_VERSION_LEGACY ? { legacy: true as const } : {};
  return { id: view.getUint32(8, false), kind, seqFloor: readU64(view, 12), ...legacy };
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes a safe integer as an unsigned 64-bit big-endian number. */
export function writeU64(view: DataView, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `writeU64: ${value}`);
  view.setUint32(offset, Math.floor(value / 0x1_0000_0000), false);
  view.setUint32(offset + 4, value >>> 0, false);
}

/** Reads what `writeU64` wrote; a value past 2^53 can only come from damage: CORRUPTED. */
export function readU64(view: DataView, offset: number): number {
  return u64Of(view.getUint32(offset, false), view.getUint32(offset + 4, false));
}

/** `readU64` over bytes (no DataView: an entry's seq, read for every record). */
export function readU64At(bytes: Uint8Array, offset: number): number {
  return u64Of(getU32(bytes, offset), getU32(bytes, offset + 4));
}

function u64Of(high: number, low: number): number {
  if (high > 0x1f_ffff) throw engineError('CORRUPTED', `u64 field ${high} * 2^32 is too large`);
  return high * 0x1_0000_0000 + low;
}
