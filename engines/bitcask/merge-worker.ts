/**
 * The merge's CPU and I/O work, run in the piscina pool off the caller's thread: copy the
 * live records (verifying each one's checksum) from the old data files into new ones, laid
 * out as the engine planned (`merge-plan.ts`), and write a hint file for each.
 *
 * Stateless: it reads old, immutable files and writes `*.merging` files that nobody else
 * uses. It never renames or deletes anything; installing the result is the engine's job
 * (`merge-commit.ts`), so a worker that dies half-way leaves only files that open removes.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { isEngineError } from '../errors';
import type { FileSystem, FsFile } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';
import { FRAME_HEADER_BYTES, sealFrame } from './batch-frame';
import { DataFile, ioStep, writeFully } from './data-file';
import { readEntryRecord } from './entry-record';
import { dataFileName, encodeDataHeader, hintFileName, MERGING_SUFFIX } from './format';
import { encodeHint, type HintEntry } from './hint-file';
import type { MergeOutputPlan } from './merge-plan';
import type { MergeOutputResult, MergeTask, MergeTaskResult } from './merge-task';
import { ChunkReader } from './scan-file';

/** The pool's entry point: the real file system. */
export default function runMergeTask(task: MergeTask): Promise<MergeTaskResult> {
  return mergeFiles(nodeFileSystem, task);
}

/**
 * The merge's work on `fs`; the engine calls this in its own thread when it runs on another file
 * system than the real one (the simulated one of the tests does not cross threads).
 */
export async function mergeFiles(fs: FileSystem, task: MergeTask): Promise<MergeTaskResult> {
  const inputs = new Map<number, ChunkReader>();
  const files: DataFile[] = [];
  try {
    for (const id of new Set(task.fileIds)) {
      const file = await DataFile.open(fs, task.dir, id, false);
      files.push(file);
      inputs.set(id, new ChunkReader(file));
    }
    const outputs: MergeOutputResult[] = [];
    assert(task.hints.length === task.outputs.length, 'merge: one hint flag per output');
    for (let i = 0; i < task.outputs.length; i++) {
      outputs.push(await writeOutput(fs, task, task.outputs[i], task.hints[i], inputs));
    }
    return { ok: true, outputs };
  } catch (err) {
    if (!isEngineError(err)) throw err;
    return { ok: false, code: err.code, message: err.message };
  } finally {
    await Promise.all(files.map((file) => file.close()));
  }
}

async function writeOutput(
  fs: FileSystem,
  task: MergeTask,
  output: MergeOutputPlan,
  withHint: boolean,
  inputs: ReadonlyMap<number, ChunkReader>,
): Promise<MergeOutputResult> {
  const dataPath = path.join(task.dir, dataFileName(output.id) + MERGING_SUFFIX);
  const handle = await ioStep(`create ${dataPath}`, () => fs.open(dataPath, 'w'));
  const hints: HintEntry[] = [];
  let position = 0;
  try {
    const header = encodeDataHeader({ id: output.id, kind: 'merge', seqFloor: task.seqFloor });
    await writeFully(handle, header, position);
    position += header.length;
    let first = output.first;
    for (const end of output.frameEnds) {
      const frame = await buildFrame(task, first, end, inputs, position, hints);
      await writeFully(handle, frame, position);
      position += frame.length;
      first = end;
    }
    await ioStep(`sync ${dataPath}`, () => handle.datasync());
  } finally {
    await handle.close().catch(() => undefined);
  }
  assert(position === output.bytes, () => `merge output ${output.id}: ${position} bytes`);
  if (!withHint) return { id: output.id, dataBytes: position, hintBytes: 0 };
  const hint = encodeHint({ dataId: output.id, dataBytes: position, entries: hints });
  const hintPath = path.join(task.dir, hintFileName(output.id) + MERGING_SUFFIX);
  await writeDurably(fs, hintPath, hint);
  return { id: output.id, dataBytes: position, hintBytes: hint.length };
}

/** Copies records [first, end) into one frame that will sit at `position` in its output. */
async function buildFrame(
  task: MergeTask,
  first: number,
  end: number,
  inputs: ReadonlyMap<number, ChunkReader>,
  position: number,
  hints: HintEntry[],
): Promise<Uint8Array> {
  let bytes = FRAME_HEADER_BYTES;
  for (let i = first; i < end; i++) bytes += task.sizes[i];
  const frame = new Uint8Array(bytes);
  let offset = FRAME_HEADER_BYTES;
  for (let i = first; i < end; i++) {
    const reader = inputs.get(task.fileIds[i]);
    assert(reader !== undefined, `merge: no input file ${task.fileIds[i]}`);
    const record = await reader.slice(task.offsets[i], task.sizes[i]);
    // Verify before copying: a damaged record must fail the merge, not be laundered into a
    // new file under a fresh checksum (the copy keeps the original bytes and checksum anyway).
    const entry = readEntryRecord(record);
    assert(entry.key === task.keys[i], () => `merge: record ${i} is not ${task.keys[i]}`);
    if (entry.kind !== 'put') assert(false, `merge: record ${i} is a tombstone`);
    frame.set(record, offset);
    hints.push({ key: entry.key, seq: entry.seq, offset: position + offset, size: record.length });
    offset += record.length;
  }
  assert(offset === bytes, `merge frame: ${offset} of ${bytes} bytes`);
  sealFrame(frame, end - first);
  return frame;
}

async function writeDurably(fs: FileSystem, file: string, bytes: Uint8Array): Promise<void> {
  const handle: FsFile = await ioStep(`create ${file}`, () => fs.open(file, 'w'));
  try {
    await writeFully(handle, bytes, 0);
    await ioStep(`sync ${file}`, () => handle.datasync());
  } finally {
    await handle.close().catch(() => undefined);
  }
}
