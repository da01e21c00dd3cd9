/**
 * A bitcask2 merge, driven from the engine's thread. Bitcask's merge snapshots its in-RAM key
 * directory; bitcask2 has none, so its snapshot is an index generation on disk:
 *
 *   1. rotate (the active file is never an input) and flush the write buffer, so that every
 *      record of the inputs (every data file but the active one) is in the index; pin that
 *      generation, so no flush deletes it while the worker reads it;
 *   2. the worker (offload pool, `merge-worker.ts`) streams the pinned index and copies every
 *      record it points at in an input into `*.data.merging` files, at a bounded rate;
 *   3. holding the flush slot (no flush runs meanwhile; writes go on into the write buffer),
 *      write the next index generation: the current index with the moved entries pointing at
 *      their copies (`merge-index.ts`), then commit (`MERGE`), rename, and in one synchronous
 *      step swap in the new index and the new files; then delete the inputs.
 *
 * Writes during the merge go to the active file and later ones, never to an input, so a key
 * written or deleted meanwhile simply keeps its newer location (its merged copy is dead weight
 * for the next merge). Reads go on: an input stays open, unlinked, until its last reader is done.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { DataFile } from '../bitcask/data-file';
import { DATA_HEADER_BYTES, dataFileName, MERGING_SUFFIX } from '../bitcask/format';
import { type MergeCommit, writeMergeCommit } from '../bitcask/merge-commit';
import { type Checkpoint, IndexFile } from './index-file';
import { installMergeFiles, removeMergeLeftovers, writeMergedIndex } from './merge-index';
import type { IndexedMergeTask, IndexedMergeTaskResult } from './merge-task';

export interface IndexedMergeHost {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly bytesPerSecondMax: number;
  readonly files: ReadonlyMap<number, DataFile>;
  activeFileId(): number;
  rotate(): Promise<void>;
  /** Flushes the write buffer (waits for a running flush first); rejects if a flush failed. */
  flushAll(): Promise<void>;
  currentIndex(): IndexFile | undefined;
  /** While pinned, a flush that replaces this generation does not delete its file. */
  pinIndex(index: IndexFile): void;
  unpinIndex(index: IndexFile): Promise<void>;
  allocateFileId(): number;
  allocateGeneration(): number;
  nextSeq(): number;
  runTask(task: IndexedMergeTask): Promise<IndexedMergeTaskResult>;
  /** True once close has begun: the merge stops before its commit point. */
  aborted(): boolean;
  /** Runs `step` as if it were a flush: no flush runs beside it. */
  withFlushSlot<T>(step: () => Promise<T>): Promise<T>;
  /** One synchronous step: the new index and outputs in, the inputs retired. */
  swapIn(index: IndexFile, outputs: readonly DataFile[], inputs: readonly number[]): void;
  /** A step at or after the commit point failed: only a reopen (which redoes it) helps. */
  markBroken(err: unknown): void;
}

export interface IndexedMergeResult {
  readonly inputFiles: number;
  readonly outputFiles: number;
  /** Index entries moved to a merged copy (keys not written or deleted during the merge). */
  readonly keysMoved: number;
  /** Bytes of the inputs minus bytes of the outputs; never negative (see below). */
  readonly bytesReclaimed: number;
}

const NOTHING_MERGED: IndexedMergeResult = Object.freeze({
  inputFiles: 0,
  outputFiles: 0,
  keysMoved: 0,
  bytesReclaimed: 0,
});

interface Copied {
  readonly inputs: readonly DataFile[];
  readonly inputBytes: number;
  readonly snapshot: IndexFile;
  readonly firstOutputId: number;
  readonly result: Extract<IndexedMergeTaskResult, { ok: true }>;
}

export async function runIndexedMerge(host: IndexedMergeHost): Promise<IndexedMergeResult> {
  await host.rotate();
  const active = host.activeFileId();
  const inputs = [...host.files.values()].filter((file) => file.id !== active);
  if (inputs.length === 0) return NOTHING_MERGED;
  await host.flushAll();
  const snapshot = host.currentIndex();
  assert(snapshot !== undefined, 'bitcask2 merge: no index after the flush');
  host.pinIndex(snapshot);
  try {
    const inputBytes = inputs.reduce((sum, file) => sum + file.size, 0);
    // Next-fit packing: any two outputs in a row hold more than one file's worth.
    const outputsMax = 2 * Math.ceil(inputBytes / host.fileBytesMax) + 2;
    const firstOutputId = host.allocateFileId();
    for (let i = 1; i < outputsMax; i++) {
      assert(host.allocateFileId() === firstOutputId + i, 'bitcask2 merge: ids not consecutive');
    }
    const result = await host.runTask({
      dir: host.dir,
      generation: snapshot.generation,
      inputs: inputs.map((file) => file.id),
      firstOutputId,
      outputsMax,
      fileBytesMax: host.fileBytesMax,
      seqFloor: host.nextSeq(),
      bytesPerSecondMax: host.bytesPerSecondMax,
    });
    const removeOutputs = (): Promise<void> =>
      removeUnfinished(host.fs, host.dir, firstOutputId, outputsMax);
    if (!result.ok) {
      await removeOutputs();
      throw engineError(result.code, `bitcask2 merge: ${result.message}`);
    }
    if (host.aborted()) {
      await removeOutputs();
      throw engineError('NOT_OPEN', 'bitcask2 closed during the merge');
    }
    const outputBytes = result.outputs.reduce((sum, output) => sum + output.dataBytes, 0);
    // A merge never grows the data it rewrites: with nothing dead to drop it is not installed.
    if (outputBytes >= inputBytes) {
      await removeOutputs();
      return NOTHING_MERGED;
    }
    const copied = { inputs, inputBytes, snapshot, firstOutputId, result };
    return await host.withFlushSlot(() => install(host, copied, active));
  } finally {
    await host.unpinIndex(snapshot);
  }
}

/** Step 3, in the flush slot: the merged index, the commit, the switch-over, the deletes. */
async function install(
  host: IndexedMergeHost,
  copied: Copied,
  active: number,
): Promise<IndexedMergeResult> {
  const current = host.currentIndex();
  assert(current !== undefined, 'bitcask2 merge: the index vanished');
  const inputIds = new Set(copied.inputs.map((file) => file.id));
  const written = await writeMergedIndex({
    fs: host.fs,
    dir: host.dir,
    generation: host.allocateGeneration(),
    snapshot: copied.snapshot,
    current,
    inputs: inputIds,
    firstOutputId: copied.firstOutputId,
    fileBytesMax: host.fileBytesMax,
    checkpoint: checkpointAfter(current, inputIds, active),
  });
  const { result } = copied;
  assert(written.records === result.records, () => `merge: ${written.records} ≠ ${result.records}`);
  assert(written.outputs === result.outputs.length, 'bitcask2 merge: output count differs');
  const commit: MergeCommit = {
    inputs: [...inputIds],
    outputs: result.outputs.map((output) => output.id),
    index: written.builder.generation,
  };
  try {
    await writeMergeCommit(host.fs, host.dir, commit);
    await installMergeFiles(host.fs, host.dir, commit);
    const outputs: DataFile[] = [];
    for (const id of commit.outputs)
      outputs.push(await DataFile.open(host.fs, host.dir, id, false));
    const index = await IndexFile.open(host.fs, host.dir, written.builder.generation);
    host.swapIn(index, outputs, commit.inputs);
    await removeMergeLeftovers(host.fs, host.dir, commit);
  } catch (err) {
    // Whether or not MERGE reached the disk, only open knows how to finish or undo it.
    host.markBroken(err);
    throw err;
  }
  const outputBytes = result.outputs.reduce((sum, output) => sum + output.dataBytes, 0);
  return {
    inputFiles: copied.inputs.length,
    outputFiles: result.outputs.length,
    keysMoved: written.moved,
    bytesReclaimed: copied.inputBytes - outputBytes,
  };
}

/**
 * The merged index's checkpoint: the current one, unless it lies in an input (no write since
 * the merge's flush), which is deleted; then the start of the file that was active when the
 * merge began. Replaying from an earlier point than needed is harmless: later records win.
 */
function checkpointAfter(
  current: IndexFile,
  inputs: ReadonlySet<number>,
  active: number,
): Checkpoint {
  const { fileId, offset, nextSeq } = current.footer;
  if (!inputs.has(fileId)) return { fileId, offset, nextSeq };
  assert(fileId < active, () => `merge: checkpoint file ${fileId} after the active ${active}`);
  return { fileId: active, offset: DATA_HEADER_BYTES, nextSeq };
}

/** A failed or skipped worker's outputs: best effort (open removes `*.merging` files anyway). */
async function removeUnfinished(
  fs: FileSystem,
  dir: string,
  firstId: number,
  count: number,
): Promise<void> {
  for (let id = firstId; id < firstId + count; id++) {
    await fs.unlink(path.join(dir, dataFileName(id) + MERGING_SUFFIX)).catch(() => undefined);
  }
}
