/**
 * Reads a data file frame by frame at recovery, in large chunks (one read per chunk, not per
 * frame), and reports its records and sync marks. Scanning stops at the first frame that is
 * incomplete, fails a checksum or holds malformed records: recovery then looks for the next
 * valid frame (`nextValidFrame`) and decides between a tear and damage (`recovery.ts`).
 */
import { assert } from '../../runtime/assert';
import { isEngineError } from '../errors';
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  frameBodyMatches,
  readFrameHeader,
  readSyncMark,
  splitFrameBody,
  SYNC_MARK_BYTES,
  SYNC_MARK_MAGIC,
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
  /** The highest durable end named by a valid sync mark in the scanned part (0: none). */
  readonly durableMark: number;
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
 * `from` (default: the first one) on, and notes the sync marks between frames. A frame whose
 * checksums hold but whose records are malformed stops the scan like any bad frame (a torn
 * write cannot produce it, but where it lies decides what it means: `recovery.ts`).
 */
export async function scanFrames(
  file: DataFile,
  onFrame: (records: readonly ScannedRecord[]) => void,
  from: number = DATA_HEADER_BYTES,
): Promise<ScanOutcome> {
  assert(from >= DATA_HEADER_BYTES && from <= file.size, `scan of file ${file.id} from ${from}`);
  assert(SYNC_MARK_BYTES === FRAME_HEADER_BYTES, 'a sync mark is as long as a frame header');
  const reader = new ChunkReader(file);
  let offset = from;
  let frames = 0;
  let durableMark = 0;
  // Every frame and mark takes at least a header's bytes, which bounds the loop by the file size.
  const framesMax = Math.ceil((file.size - from) / FRAME_HEADER_BYTES);
  for (let step = 0; step <= framesMax && offset < file.size; step++) {
    const stop = (problem: string, cutShort: boolean): ScanOutcome => ({
      end: offset,
      frames,
      durableMark,
      problem,
      cutShort,
    });
    if (offset + FRAME_HEADER_BYTES > file.size) return stop('torn frame header', true);
    const head = await reader.slice(offset, FRAME_HEADER_BYTES);
    const mark = readSyncMark(head);
    if (mark !== undefined) {
      durableMark = Math.max(durableMark, mark);
      offset += SYNC_MARK_BYTES;
      continue;
    }
    const header = readFrameHeader(head);
    if (!header.ok) return stop(header.reason, false);
    const bodyStart = offset + FRAME_HEADER_BYTES;
    if (bodyStart + header.bodyBytes > file.size) return stop('torn frame body', true);
    const body = await reader.slice(bodyStart, header.bodyBytes);
    if (!frameBodyMatches(body, header)) return stop('frame body checksum mismatch', false);
    const records = decodeOrUndefined(body, header.count, bodyStart);
    if (records === undefined) return stop('frame records malformed', false);
    onFrame(records);
    frames++;
    offset = bodyStart + header.bodyBytes;
  }
  assert(offset === file.size, `scan of file ${file.id}: stopped at ${offset} of ${file.size}`);
  return { end: offset, frames, durableMark };
}

function decodeOrUndefined(
  body: Uint8Array,
  count: number,
  bodyStart: number,
): ScannedRecord[] | undefined {
  try {
    return decodeFrameBody(body, count, bodyStart);
  } catch (err) {
    if (isEngineError(err, 'CORRUPTED')) return undefined;
    throw err;
  }
}

function decodeFrameBody(body: Uint8Array, count: number, bodyStart: number): ScannedRecord[] {
  return splitFrameBody(body, count).map(([offset, size]) => ({
    offset: bodyStart + offset,
    size,
    entry: readEntryRecord(body.subarray(offset, offset + size)),
  }));
}

/**
 * The offset of the first whole, valid frame or sync mark that starts after `from` (a bad
 * frame starts at `from`), or undefined when there is none. Reads the rest of the file once;
 * data files are bounded by `fileBytesMax`.
 */
export async function nextValidFrame(file: DataFile, from: number): Promise<number | undefined> {
  assert(from >= DATA_HEADER_BYTES && from <= file.size, `nextValidFrame ${from}`);
  const rest = Buffer.from(await file.read(from, file.size - from));
  const frameAt = firstValid(rest, FRAME_MAGIC, (at) => {
    const header = readFrameHeader(rest.subarray(at, at + FRAME_HEADER_BYTES));
    const bodyEnd = at + FRAME_HEADER_BYTES + (header.ok ? header.bodyBytes : 0);
    return (
      header.ok &&
      bodyEnd <= rest.length &&
      frameBodyMatches(rest.subarray(at + FRAME_HEADER_BYTES, bodyEnd), header)
    );
  });
  const markAt = firstValid(
    rest,
    SYNC_MARK_MAGIC,
    (at) => readSyncMark(rest.subarray(at)) !== undefined,
  );
  const at = Math.min(frameAt ?? Infinity, markAt ?? Infinity);
  return at === Infinity ? undefined : from + at;
}

/** The first offset ≥ 1 in `rest` where `magic` starts and `valid` holds. */
function firstValid(
  rest: Buffer,
  magicValue: number,
  valid: (at: number) => boolean,
): number | undefined {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(magicValue);
  // indexOf moves forward by at least one byte per round: bounded by the bytes left.
  for (let at = rest.indexOf(magic, 1); at !== -1; at = rest.indexOf(magic, at + 1)) {
    if (at + FRAME_HEADER_BYTES > rest.length) return undefined;
    if (valid(at)) return at;
  }
  return undefined;
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
