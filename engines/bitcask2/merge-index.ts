/**
 * The index side of a bitcask2 merge, and its commit.
 *
 * `writeMergedIndex` writes the next index generation: the current index with every entry
 * that points into an input moved to its merged copy. It learns each new location by walking
 * the snapshot generation the worker copied from, in the same order and through the same
 * `MergeLayoutCursor`, so nothing as large as "every moved key" is ever held in RAM: one
 * snapshot page's moves at a time. The current index may be newer than the snapshot (flushes
 * ran during the merge), with more bucket bits; a snapshot bucket g covers the current buckets
 * [g << shift, (g + 1) << shift), so both are read in one sequential pass.
 *
 * Why every current entry in an input has a move: after the merge's own flush, every record
 * of the inputs is in the snapshot, and later writes only go to files after the inputs, so an
 * entry pointing into an input is one the snapshot held, unchanged. That is asserted.
 *
 * Commit (the same redo record as bitcask, `../bitcask/merge-commit.ts`, plus the index):
 *   1. the worker's outputs (`*.data.merging`) and this index (`NNNNNN.index.tmp`) are durable;
 *   2. `MERGE` names inputs, outputs and the index generation: the commit point;
 *   3. rename outputs and index into place, fsync the directory (`installMergeFiles`);
 *   4. delete older index generations and the inputs, then `MERGE` (`removeMergeLeftovers`).
 * Open redoes 3 and 4 when it finds `MERGE` (`redoIndexedMerge`); each step is idempotent.
 */
import * as path from 'node:path';
import { assert, VERIFY } from '../../runtime/assert';
import { engineError } from '../errors';
import { errorCode, type FileSystem } from '../fs/file-system';
import { ioStep, syncDirectory } from '../bitcask/data-file';
import { TEMP_SUFFIX } from '../bitcask/format';
import {
  type MergeCommit,
  readMergeCommit,
  removeMergeInputs,
  renameMergeOutputs,
} from '../bitcask/merge-commit';
import { PageReader, pageCount } from './flush';
import {
  type Checkpoint,
  IndexBuilder,
  type IndexFile,
  indexFileName,
  parseIndexName,
} from './index-file';
import { decodePage, encodePage, type PageEntry } from './index-page';
import { mergeLayout, MergeLayoutCursor } from './merge-layout';

export interface MergedIndexRequest {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly generation: number;
  readonly snapshot: IndexFile;
  readonly current: IndexFile;
  readonly inputs: ReadonlySet<number>;
  readonly firstOutputId: number;
  readonly fileBytesMax: number;
  readonly checkpoint: Checkpoint;
}

/** A key's move: from its snapshot location to its merged copy. */
interface Move {
  readonly fromFile: number;
  readonly fromOffset: number;
  readonly fileId: number;
  readonly offset: number;
}

/**
 * Writes and fsyncs `NNNNNN.index.tmp` (not yet in place). Returns the builder (to install
 * or abandon) and the layout's record and output counts, which must match the worker's.
 */
export async function writeMergedIndex(
  request: MergedIndexRequest,
): Promise<{ builder: IndexBuilder; records: number; outputs: number; moved: number }> {
  const { fs, dir, generation, snapshot, current } = request;
  assert(current.bucketBits >= snapshot.bucketBits, 'merged index: the table shrank');
  const builder = await IndexBuilder.create(fs, dir, generation, current.bucketBits);
  try {
    const cursor = new MergeLayoutCursor(mergeLayout(request.fileBytesMax));
    const moved = await rewritePages(builder, request, cursor);
    await builder.finish(request.checkpoint);
    return { builder, records: cursor.placed, outputs: cursor.outputs, moved };
  } catch (err) {
    await builder.abandon();
    throw err;
  }
}

async function rewritePages(
  builder: IndexBuilder,
  request: MergedIndexRequest,
  cursor: MergeLayoutCursor,
): Promise<number> {
  const { snapshot, current, inputs } = request;
  const span = 2 ** (current.bucketBits - snapshot.bucketBits);
  const snapshotPages = new PageReader(snapshot);
  const currentPages = new PageReader(current);
  let moved = 0;
  for (let g = 0; g < snapshot.lengths.length; g++) {
    const raw = await snapshotPages.page(g);
    const moves = new Map<string, Move>();
    if (raw !== undefined) {
      for (const entry of decodePage(raw, g)) {
        if (!inputs.has(entry.fileId)) continue;
        const placed = cursor.place(entry.size);
        const fileId = request.firstOutputId + placed.output;
        const move = {
          fromFile: entry.fileId,
          fromOffset: entry.offset,
          fileId,
          offset: placed.offset,
        };
        moves.set(keyOf(entry.key), move);
      }
    }
    for (let bucket = g * span; bucket < (g + 1) * span; bucket++) {
      const page = await currentPages.page(bucket);
      if (page === undefined) continue;
      if (moves.size === 0 && !VERIFY) {
        await builder.addPage(bucket, page, pageCount(page));
        continue;
      }
      const entries: PageEntry[] = [];
      for (const entry of decodePage(page, bucket)) {
        const next = relocate(entry, inputs, moves);
        if (next !== entry) moved++;
        entries.push(next);
      }
      await builder.addPage(bucket, encodePage(bucket, entries), entries.length);
    }
  }
  return moved;
}

function relocate(
  entry: PageEntry,
  inputs: ReadonlySet<number>,
  moves: ReadonlyMap<string, Move>,
): PageEntry {
  if (!inputs.has(entry.fileId)) return entry;
  const move = moves.get(keyOf(entry.key));
  assert(move !== undefined, () => `merged index: an entry in input ${entry.fileId} has no move`);
  assert(
    move.fromFile === entry.fileId && move.fromOffset === entry.offset,
    () => `merged index: entry at ${entry.fileId}:${entry.offset} is not its snapshot location`,
  );
  return { ...entry, fileId: move.fileId, offset: move.offset };
}

/** Key bytes as a Map key (latin1 keeps every byte). */
function keyOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

/** Step 3: outputs and index into place (an item already renamed is left as it is). */
export async function installMergeFiles(
  fs: FileSystem,
  dir: string,
  commit: MergeCommit,
): Promise<void> {
  assert(commit.index !== undefined, 'installMergeFiles: a commit without an index');
  const final = path.join(dir, indexFileName(commit.index));
  await fs.rename(final + TEMP_SUFFIX, final).catch((err: unknown) => {
    if (errorCode(err) !== 'ENOENT') {
      throw engineError('IO_ERROR', `bitcask2: install ${final} failed`, err);
    }
  });
  await renameMergeOutputs(fs, dir, commit); // fsyncs the directory
}

/** Step 4: older index generations, the inputs, then `MERGE` itself. */
export async function removeMergeLeftovers(
  fs: FileSystem,
  dir: string,
  commit: MergeCommit,
): Promise<void> {
  const index = commit.index;
  assert(index !== undefined, 'removeMergeLeftovers: a commit without an index');
  const names = await ioStep(`list ${dir}`, () => fs.readdir(dir));
  for (const name of names) {
    const generation = parseIndexName(name);
    if (generation === undefined || generation >= index) continue;
    await fs.unlink(path.join(dir, name)).catch((err: unknown) => {
      if (errorCode(err) !== 'ENOENT') {
        throw engineError('IO_ERROR', `bitcask2: delete ${name} failed`, err);
      }
    });
  }
  await syncDirectory(fs, dir);
  await removeMergeInputs(fs, dir, commit);
}

/**
 * At open: finishes a merge that committed before a crash. A `MERGE` without an index is a
 * bitcask merge (a bitcask directory): INVALID_ARGUMENT, as before.
 */
export async function redoIndexedMerge(fs: FileSystem, dir: string): Promise<boolean> {
  const commit = await readMergeCommit(fs, dir);
  if (commit === undefined) return false;
  if (commit.index === undefined) {
    throw engineError('INVALID_ARGUMENT', `bitcask2: ${dir} holds a bitcask merge`);
  }
  await installMergeFiles(fs, dir, commit);
  await removeMergeLeftovers(fs, dir, commit);
  return true;
}
