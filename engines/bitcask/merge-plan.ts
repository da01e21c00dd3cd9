/**
 * The layout of a merge's output, computed up front (pure): which output file and offset each
 * live record gets, and where frames end. The engine knows every record's new location before
 * the worker runs, so the worker only copies bytes, and the engine checks what it reports.
 *
 * Records keep their order (input file, then offset). An output file takes records until the
 * next one would push it past `fileBytesMax` (a record larger than that gets a file of its
 * own). A frame takes records up to `frameBytesMax` bytes or `frameRecordsMax` records, so
 * that recovery scans a merged file (when its hint is missing) in bounded pieces.
 */
import { assert } from '../../runtime/assert';
import { FRAME_HEADER_BYTES } from './batch-frame';
import { DATA_HEADER_BYTES } from './format';

export interface MergeOutputPlan {
  readonly id: number;
  /** The records of this output are [first, end) of the merge's record list. */
  readonly first: number;
  readonly end: number;
  /** Record indexes at which each frame ends (exclusive); the last one is `end`. */
  readonly frameEnds: readonly number[];
  /** The output's size in bytes, header included. */
  readonly bytes: number;
}

export interface MergePlan {
  readonly outputs: readonly MergeOutputPlan[];
  /** Per record: the index (into `outputs`) of the file it goes to. */
  readonly outputIndex: Uint32Array;
  /** Per record: its offset in that file. */
  readonly offsets: Float64Array;
}

export interface MergeLayout {
  readonly fileBytesMax: number;
  readonly frameBytesMax: number;
  readonly frameRecordsMax: number;
}

interface OpenOutput {
  first: number;
  bytes: number;
  frameEnds: number[];
  frameBytes: number;
  frameRecords: number;
}

export function planMerge(
  sizes: ArrayLike<number>,
  layout: MergeLayout,
  allocateId: () => number,
): MergePlan {
  assert(layout.fileBytesMax > DATA_HEADER_BYTES, `planMerge: fileBytesMax ${layout.fileBytesMax}`);
  assert(layout.frameRecordsMax >= 1, `planMerge: frameRecordsMax ${layout.frameRecordsMax}`);
  const outputs: MergeOutputPlan[] = [];
  const outputIndex = new Uint32Array(sizes.length);
  const offsets = new Float64Array(sizes.length);
  let current: OpenOutput | undefined;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i];
    if (!(Number.isInteger(size) && size > 0)) assert(false, `planMerge: record ${i} of ${size} B`);
    if (current !== undefined && current.bytes + FRAME_HEADER_BYTES + size > layout.fileBytesMax) {
      outputs.push(closeOutput(current, i, allocateId()));
      current = undefined;
    }
    current ??= {
      first: i,
      bytes: DATA_HEADER_BYTES,
      frameEnds: [],
      frameBytes: 0,
      frameRecords: 0,
    };
    if (current.frameRecords === 0 || !frameHasRoom(current, size, layout)) {
      if (current.frameRecords > 0) current.frameEnds.push(i);
      current.bytes += FRAME_HEADER_BYTES;
      current.frameBytes = 0;
      current.frameRecords = 0;
    }
    outputIndex[i] = outputs.length;
    offsets[i] = current.bytes;
    current.bytes += size;
    current.frameBytes += size;
    current.frameRecords++;
  }
  if (current !== undefined) outputs.push(closeOutput(current, sizes.length, allocateId()));
  assert(sizes.length === 0 || outputs.length > 0, 'planMerge: records but no output');
  return { outputs, outputIndex, offsets };
}

function frameHasRoom(output: OpenOutput, size: number, layout: MergeLayout): boolean {
  return (
    output.frameRecords < layout.frameRecordsMax && output.frameBytes + size <= layout.frameBytesMax
  );
}

function closeOutput(output: OpenOutput, end: number, id: number): MergeOutputPlan {
  assert(end > output.first, `planMerge: empty output at ${end}`);
  const frameEnds = [...output.frameEnds, end];
  return { id, first: output.first, end, frameEnds, bytes: output.bytes };
}
