/**
 * Where each record of a bitcask2 merge goes (pure), decided one record at a time: the worker
 * copies records in index order as it streams the index, and the install pass walks the same
 * index in the same order to learn each key's new location, so both must place records alike.
 * This cursor is that shared rule: the layout of bitcask's `planMerge` (`../bitcask/merge-plan.ts`),
 * made incremental because a bitcask2 merge never holds the whole list of live records.
 *
 * An output file takes records until the next one would push it past `fileBytesMax` (a record
 * larger than that gets a file of its own); a frame takes records up to `frameBytesMax` bytes
 * or `frameRecordsMax` records.
 */
import { assert } from '../../runtime/assert';
import { FRAME_HEADER_BYTES } from '../bitcask/batch-frame';
import { DATA_HEADER_BYTES } from '../bitcask/format';
import type { MergeLayout } from '../bitcask/merge-plan';

/** Frames of merged files, as in bitcask: bounded pieces for a scan at open. */
const MERGE_FRAME_BYTES_MAX = 1024 * 1024;
const MERGE_FRAME_RECORDS_MAX = 4096;

export function mergeLayout(fileBytesMax: number): MergeLayout {
  return {
    fileBytesMax,
    frameBytesMax: MERGE_FRAME_BYTES_MAX,
    frameRecordsMax: MERGE_FRAME_RECORDS_MAX,
  };
}

export interface Placement {
  /** Index of the output file (0, 1, ...), and the record's offset in it. */
  readonly output: number;
  readonly offset: number;
  /** The record starts a new output file (and so a new frame). */
  readonly outputStart: boolean;
  /** The record starts a new frame. */
  readonly frameStart: boolean;
}

export class MergeLayoutCursor {
  private output = -1;
  private bytes = 0;
  private frameBytes = 0;
  private frameRecords = 0;
  private records = 0;

  constructor(private readonly layout: MergeLayout) {
    assert(layout.fileBytesMax > DATA_HEADER_BYTES, `layout: fileBytesMax ${layout.fileBytesMax}`);
    assert(layout.frameRecordsMax >= 1, `layout: frameRecordsMax ${layout.frameRecordsMax}`);
  }

  /** Output files started so far. */
  get outputs(): number {
    return this.output + 1;
  }

  /** Records placed so far. */
  get placed(): number {
    return this.records;
  }

  /** The size of the output being filled (header and frame headers included). */
  get outputBytes(): number {
    return this.bytes;
  }

  place(size: number): Placement {
    assert(Number.isInteger(size) && size > 0, () => `layout: record of ${size} bytes`);
    const outputStart =
      this.output < 0 || this.bytes + FRAME_HEADER_BYTES + size > this.layout.fileBytesMax;
    if (outputStart) {
      this.output++;
      this.bytes = DATA_HEADER_BYTES;
      this.frameRecords = 0;
    }
    const frameStart = this.frameRecords === 0 || !this.frameHasRoom(size);
    if (frameStart) {
      this.bytes += FRAME_HEADER_BYTES;
      this.frameBytes = 0;
      this.frameRecords = 0;
    }
    const offset = this.bytes;
    this.bytes += size;
    this.frameBytes += size;
    this.frameRecords++;
    this.records++;
    assert(offset > DATA_HEADER_BYTES, () => `layout: offset ${offset}`);
    return { output: this.output, offset, outputStart, frameStart };
  }

  private frameHasRoom(size: number): boolean {
    return (
      this.frameRecords < this.layout.frameRecordsMax &&
      this.frameBytes + size <= this.layout.frameBytesMax
    );
  }
}
