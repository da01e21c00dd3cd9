/**
 * Reads a data file frame by frame at recovery, in large chunks (one read per chunk, not per
 * frame), and reports its records. Scanning stops at the first frame that is incomplete or
 * fails a checksum: recovery then decides between a torn tail and damage (`recovery.ts`).
 */
import { assert } from '../../runtime/assert';
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  frameBodyMatches,
  readFrameHeader,
  splitFrameBody,
} from './batch-frame';
import type { DataFile } from './data-file';
import { type DecodedEntry, readEntryRecord } from './entry-record';
import { DATA_HEADER_BYTES } from './format';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface ScannedRecord {
  readonly offset: number;
  readonly size: number;
  readonly entry: DecodedEntry;
}

export interface ScanOutcome {
  /** Offset just after the last good frame. */
  readonly end: number;
  readonly frames: number;
  /** The first bad frame, if any: it starts at `end`. */
  readonly problem?: string;
  /**
   * True when that frame is only cut short (the file ends inside it): what a crash in the
   * middle of an append leaves. False when it is whole but fails a check: damage, or a
   * power loss that wrote pages out of order.
   */
  readonly cutShort?: boolean;
}

/**
 * Calls `onFrame` with the records of each good frame, in file order, from the frame at
 * `from` (default: the first one) on. A frame whose checksums hold but whose records are
 * malformed throws CORRUPTED: a torn write cannot produce it.
 */
export async function scanFrames(
  file: DataFile,
  onFrame: (records: readonly ScannedRecord[]) => void,
  from: number = DATA_HEADER_BYTES,
): Promise<ScanOutcome> {
  assert(from >= DATA_HEADER_BYTES && from <= file.size, `scan of file ${file.id} from ${from}`);
  const reader = new ChunkReader(file);
  let offset = from;
  let frames = 0;
  // Every frame takes at least its header, which bounds the loop by the file size.
  const framesMax = Math.ceil((file.size - from) / FRAME_HEADER_BYTES);
  for (; frames <= framesMax && offset < file.size; frames++) {
    const stop = (problem: string, cutShort: boolean): ScanOutcome => ({ end: offset, frames, problem, cutShort });
    if (offset + FRAME_HEADER_BYTES > file.size) return stop('torn frame header', true);
    const header = readFrameHeader(await reader.slice(offset, FRAME_HEADER_BYTES));
    if (!header.ok) return stop(header.reason, false);
    const bodyStart = offset + FRAME_HEADER_BYTES;
    if (bodyStart + header.bodyBytes > file.size) return stop('torn frame body', true);
    const body = await reader.slice(bodyStart, header.bodyBytes);
    if (!frameBodyMatches(body, header)) return stop('frame body checksum mismatch', false);
    onFrame(decodeFrameBody(body, header.count, bodyStart));
    offset = bodyStart + header.bodyBytes;
  }
  assert(offset === file.size, `scan of file ${file.id}: stopped at ${offset} of ${file.size}`);
  return { end: offset, frames };
}

function decodeFrameBody(body: Uint8Array, count: number, bodyStart: number): ScannedRecord[] {
  return splitFrameBody(body, count).map(([offset, size]) => ({
    offset: bodyStart + offset,
    size,
    entry: readEntryRecord(body.subarray(offset, offset + size)),
  }));
}

/**
 * True when a whole, valid frame starts anywhere after `from`. A torn write leaves nothing
 * valid behind it; a valid frame after a bad one means damage in the middle of the file.
 */
export async function validFrameAfter(file: DataFile, from: number): Promise<boolean> {
  assert(from >= DATA_HEADER_BYTES && from <= file.size, `validFrameAfter ${from}`);
  const rest = Buffer.from(await file.read(from, file.size - from));
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(FRAME_MAGIC);
  // indexOf moves forward by at least one byte per round: bounded by the bytes left.
  for (let at = rest.indexOf(magic, 1); at !== -1; at = rest.indexOf(magic, at + 1)) {
    if (at + FRAME_HEADER_BYTES > rest.length) return false;
    const header = readFrameHeader(rest.subarray(at, at + FRAME_HEADER_BYTES));
    const bodyEnd = at + FRAME_HEADER_BYTES + (header.ok ? header.bodyBytes : 0);
    if (!header.ok || bodyEnd > rest.length) continue;
    if (frameBodyMatches(rest.subarray(at + FRAME_HEADER_BYTES, bodyEnd), header)) return true;
  }
  return false;
}

/** Serves byte ranges of a file from one large buffered read at a time. */
export class ChunkReader {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly file: DataFile) {}

  async slice(offset: number, size: number): Promise<Uint8Array> {
    assert(offset + size <= this.file.size, `ChunkReader: ${size} at ${offset} past the end`);
    const end = offset + size;
    if (offset < this.start || end > this.start + this.bytes.length) {
      const length = Math.min(Math.max(CHUNK_BYTES, size), this.file.size - offset);
      this.bytes = await this.file.read(offset, length);
      this.start = offset;
    }
    return this.bytes.subarray(offset - this.start, end - this.start);
  }
}
