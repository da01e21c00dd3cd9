/**
 * A merge, driven from the engine's thread: snapshot the live records of every immutable data
 * file, have a pool worker copy them into new files (`merge-worker.ts`), commit and install the
 * result (`merge-commit.ts`), then point the key directory at the new copies.
 *
 * Writes go on meanwhile. The active file is never an input (the merge first rotates away from
 * it), and a key written or deleted while the worker ran no longer points at its snapshot
 * location, so its merged copy is simply not used (it is dead weight for the next merge; its
 * lower seq also loses to the newer record at recovery).
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { DataFile } from './data-file';
import { dataFileName, hintFileName, MERGING_SUFFIX } from './format';
import { hintFileBytes } from './hint-file';
import type { KeyDir, Location } from './keydir';
import {
  type MergeCommit,
  removeMergeInputs,
  renameMergeOutputs,
  writeMergeCommit,
} from './merge-commit';
import { type MergePlan, planMerge } from './merge-plan';
import type { MergeOutputResult, MergeTask, MergeTaskResult } from './merge-task';

/** Frames of merged files: bounded pieces for the worker and for a scan without hints. */
const MERGE_FRAME_BYTES_MAX = 1024 * 1024;
const MERGE_FRAME_RECORDS_MAX = 4096;

export interface MergeHost {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly keydir: KeyDir;
  readonly files: Map<number, DataFile>;
  activeFileId(): number;
  rotate(): Promise<void>;
  allocateFileId(): number;
  nextSeq(): number;
  runTask(task: MergeTask): Promise<MergeTaskResult>;
  /** A step after the commit point failed: the engine must refuse writes until reopened. */
  markBroken(err: unknown): void;
  /** Replaced by the merge: closes once its last reader is done, or at close at the latest. */
  retire(file: DataFile): void;
}

export interface MergeResult {
  readonly inputFiles: number;
  readonly outputFiles: number;
  /** Live records copied whose key still pointed at them when the merge was installed. */
  readonly keysMoved: number;
  /** Bytes of the input files minus bytes of the outputs (data and hint files). */
  readonly bytesReclaimed: number;
}

interface Snapshot {
  readonly keys: string[];
  readonly locations: Location[];
}

const NOTHING_MERGED: MergeResult = Object.freeze({
  inputFiles: 0,
  outputFiles: 0,
  keysMoved: 0,
  bytesReclaimed: 0,
});

export async function runMerge(host: MergeHost): Promise<MergeResult> {
  await host.rotate();
  const active = host.activeFileId();
  const inputs = [...host.files.values()].filter((file) => file.id !== active);
  if (inputs.length === 0) return NOTHING_MERGED;
  const snapshot = takeSnapshot(host.keydir, new Set(inputs.map((file) => file.id)));
  const sizes = Uint32Array.from(snapshot.locations, (location) => location.size);
  const layout = {
    fileBytesMax: host.fileBytesMax,
    frameBytesMax: MERGE_FRAME_BYTES_MAX,
    frameRecordsMax: MERGE_FRAME_RECORDS_MAX,
  };
  const plan = planMerge(sizes, layout, () => host.allocateFileId());
  const inputBytes = await inputBytesOf(host.fs, host.dir, inputs);
  const hints = chooseHints(snapshot.keys, plan, inputBytes);
  // A merge never grows the data it rewrites: if the data files alone would not be smaller
  // (nothing dead, or a rare layout: records re-framed into more frames or files than they
  // came in), rewriting them gains nothing and the merge is skipped.
  if (hints === undefined) return NOTHING_MERGED;
  const outputs = await runWorker(host, snapshot, sizes, plan, hints);
  const commit: MergeCommit = {
    inputs: inputs.map((file) => file.id),
    outputs: plan.outputs.map((output) => output.id),
  };
  let keysMoved: number;
  try {
    keysMoved = await install(host, commit, snapshot, plan);
  } catch (err) {
    // Whether or not MERGE reached the disk, only open knows how to finish or undo it.
    host.markBroken(err);
    throw err;
  }
  const outputBytes = outputs.reduce((sum, o) => sum + o.dataBytes + o.hintBytes, 0);
  assert(outputBytes <= inputBytes, () => `merge wrote ${outputBytes} bytes for ${inputBytes}`);
  const bytesReclaimed = inputBytes - outputBytes;
  return { inputFiles: inputs.length, outputFiles: outputs.length, keysMoved, bytesReclaimed };
}

/** What the merge removes: the input data files and the hint files of merged ones. */
async function inputBytesOf(
  fs: FileSystem,
  dir: string,
  inputs: readonly DataFile[],
): Promise<number> {
  let bytes = 0;
  for (const file of inputs) {
    bytes += file.size;
    if (file.kind !== 'merge') continue;
    const hint = path.join(dir, hintFileName(file.id));
    bytes += await fs.stat(hint).then(
      (stat) => stat.size,
      () => 0, // none (or unreadable): it is not counted, and the merge removes at most that
    );
  }
  assert(bytes >= 0, () => `merge: input bytes ${bytes}`);
  return bytes;
}

/**
 * Which outputs get a hint file. Hints cost 22 bytes plus the key per record, which a merge
 * whose inputs hold little or nothing dead does not win back; a hint only saves reading the
 * file at open, so outputs get one, in order, while the bytes the merge frees pay for it.
 * undefined: the data files alone would be no smaller than the inputs (skip the merge).
 */
function chooseHints(
  keys: readonly string[],
  plan: MergePlan,
  inputBytes: number,
): boolean[] | undefined {
  const dataBytes = plan.outputs.reduce((sum, output) => sum + output.bytes, 0);
  if (dataBytes >= inputBytes) return undefined;
  let budget = inputBytes - dataBytes;
  const hints = plan.outputs.map((output) => {
    let keyBytes = 0;
    for (let i = output.first; i < output.end; i++) keyBytes += Buffer.byteLength(keys[i]);
    const bytes = hintFileBytes(output.end - output.first, keyBytes);
    if (bytes > budget) return false;
    budget -= bytes;
    return true;
  });
  assert(budget >= 0, () => `merge: hint budget ${budget}`);
  return hints;
}

/** Runs the worker part in the pool and checks its report against the plan. */
async function runWorker(
  host: MergeHost,
  snapshot: Snapshot,
  sizes: Uint32Array,
  plan: MergePlan,
  hints: readonly boolean[],
): Promise<readonly MergeOutputResult[]> {
  const result = await host.runTask({
    dir: host.dir,
    keys: snapshot.keys,
    fileIds: Uint32Array.from(snapshot.locations, (location) => location.fileId),
    offsets: Float64Array.from(snapshot.locations, (location) => location.offset),
    sizes,
    outputs: plan.outputs,
    hints,
    seqFloor: host.nextSeq(),
  });
  if (!result.ok) {
    await removeUnfinishedOutputs(host.fs, host.dir, plan);
    throw engineError(result.code, `bitcask merge: ${result.message}`);
  }
  assert(result.outputs.length === plan.outputs.length, 'merge: output count differs from plan');
  result.outputs.forEach((output, i) => {
    const planned = plan.outputs[i];
    const same = output.id === planned.id && output.dataBytes === planned.bytes;
    assert(hints[i] || output.hintBytes === 0, () => `merge: output ${output.id} got a hint`);
    assert(same, () => `merge: output ${output.id} differs from its plan`);
  });
  return result.outputs;
}

/** A failed worker's partial outputs: best effort, open removes whatever is left. */
async function removeUnfinishedOutputs(
  fs: FileSystem,
  dir: string,
  plan: MergePlan,
): Promise<void> {
  for (const output of plan.outputs) {
    for (const name of [dataFileName(output.id), hintFileName(output.id)]) {
      await fs.unlink(path.join(dir, name + MERGING_SUFFIX)).catch(() => undefined);
    }
  }
}

/** The live records in `inputs`, in (file, offset) order so the worker reads sequentially. */
function takeSnapshot(keydir: KeyDir, inputs: ReadonlySet<number>): Snapshot {
  const entries = keydir.entriesIn(inputs);
  entries.sort((a, b) => a[1].fileId - b[1].fileId || a[1].offset - b[1].offset);
  const keys = entries.map((entry) => entry[0]);
  return { keys, locations: entries.map((entry) => entry[1]) };
}

/**
 * Commit, rename, then switch the key directory and the open files over in one synchronous
 * step (no read can see half of it), then delete the inputs. Readers that still hold an input
 * keep it open until they finish (`DataFile.retire`).
 */
async function install(
  host: MergeHost,
  commit: MergeCommit,
  snapshot: Snapshot,
  plan: MergePlan,
): Promise<number> {
  await writeMergeCommit(host.fs, host.dir, commit);
  await renameMergeOutputs(host.fs, host.dir, commit);
  const outputs: DataFile[] = [];
  for (const id of commit.outputs) outputs.push(await DataFile.open(host.fs, host.dir, id, false));
  let keysMoved = 0;
  for (let i = 0; i < snapshot.keys.length; i++) {
    const old = snapshot.locations[i];
    const output = outputs[plan.outputIndex[i]];
    const next: Location = { ...old, fileId: output.id, offset: plan.offsets[i] };
    if (host.keydir.replaceIfUnchanged(snapshot.keys[i], old, next)) keysMoved++;
  }
  for (const output of outputs) host.files.set(output.id, output);
  for (const id of commit.inputs) {
    const input = host.files.get(id);
    assert(input !== undefined, `merge: input ${id} vanished`);
    host.files.delete(id);
    host.retire(input);
  }
  await removeMergeInputs(host.fs, host.dir, commit);
  return keysMoved;
}
