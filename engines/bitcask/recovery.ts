/**
 * Opening a bitcask directory: finish or discard an interrupted merge, remove unfinished
 * files, and rebuild the key directory from hint files (merged files) or by scanning frames
 * (everything else, and merged files whose hint is missing or does not match).
 *
 * Torn tails. Only the newest file written by `write` can end in a torn batch: older ones were
 * fsynced when the engine rotated away from them (and at the open after a crash), and merged
 * files are fsynced before their merge commits. If that file's scan stops at a bad frame and
 * no valid frame follows it, the bad bytes are a write cut short by the crash: they are
 * truncated and reported (`RecoveryStats`). A bad frame anywhere else, or one followed by a
 * valid frame, is damage, not a tear: open fails with CORRUPTED rather than drop data.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { isStoreError, storeError } from '../errors';
import { DataFile, ioStep } from './data-file';
import { hintFileName, isUnfinishedName, parseFileName } from './format';
import { decodeHint, type HintEntry } from './hint-file';
import { KeyDir, RecoveringKeyDir } from './keydir';
import { readMergeCommit, removeMergeInputs, renameMergeOutputs } from './merge-commit';
import { scanFrames, type ScannedRecord, validFrameAfter } from './scan-file';

export interface RecoveryStats {
  /** Data files whose frames were read (no usable hint). */
  readonly filesScanned: number;
  /** Merged data files whose key directory entries came from their hint file. */
  readonly hintFilesLoaded: number;
  /** Hint files present but unusable (damaged, or for another version of the data file). */
  readonly hintFilesRejected: number;
  /** Bytes cut from the torn tail of the newest written file. */
  readonly bytesTruncated: number;
  /** Batches lost with that tail: 1 when bytes were cut (a crash tears one write), else 0. */
  readonly batchesDropped: number;
  /**
   * True when the dropped tail was a whole frame that failed its checksum, not a write cut
   * short by a crash. A cut-short write was never acknowledged (its append had not returned);
   * a whole frame may have been, so a caller that acknowledged it must treat it as forgotten.
   */
  readonly damagedTailDropped: boolean;
  /** `*.tmp` and `*.merging` files left by a crash, removed. */
  readonly unfinishedFilesRemoved: number;
  /** True when open finished installing a merge that had committed before a crash. */
  readonly mergeRedone: boolean;
}

export interface Recovered {
  readonly keydir: KeyDir;
  /** Every data file, open; the newest written one (if any) is open for appending. */
  readonly files: Map<number, DataFile>;
  readonly newestWriteId: number | undefined;
  readonly nextSeq: number;
  readonly nextFileId: number;
  readonly stats: RecoveryStats;
}

interface Counts {
  filesScanned: number;
  hintFilesLoaded: number;
  hintFilesRejected: number;
  bytesTruncated: number;
  batchesDropped: number;
  damagedTailDropped: boolean;
}

export async function recover(dir: string): Promise<Recovered> {
  const commit = await readMergeCommit(dir);
  if (commit !== undefined) {
    await renameMergeOutputs(dir, commit);
    await removeMergeInputs(dir, commit);
  }
  const names = await ioStep(`list ${dir}`, () => readdir(dir));
  const unfinished = names.filter(isUnfinishedName);
  for (const name of unfinished) await ioStep(`remove ${name}`, () => unlink(path.join(dir, name)));
  const dataIds = idsOf(names, 'data');
  for (const id of commit?.outputs ?? []) {
    if (!dataIds.includes(id)) throw storeError('CORRUPTED', `merged data file ${id} is missing`);
  }
  const files = await openAll(dir, dataIds);
  try {
    return await rebuild(dir, files, new Set(idsOf(names, 'hint')), {
      unfinishedFilesRemoved: unfinished.length,
      mergeRedone: commit !== undefined,
    });
  } catch (err) {
    await Promise.all([...files.values()].map((file) => file.close()));
    throw err;
  }
}

async function rebuild(
  dir: string,
  files: Map<number, DataFile>,
  hintIds: ReadonlySet<number>,
  cleanup: Pick<RecoveryStats, 'unfinishedFilesRemoved' | 'mergeRedone'>,
): Promise<Recovered> {
  const newestWriteId = await reopenNewestWritable(dir, files);
  const counts: Counts = {
    filesScanned: 0,
    hintFilesLoaded: 0,
    hintFilesRejected: 0,
    bytesTruncated: 0,
    batchesDropped: 0,
    damagedTailDropped: false,
  };
  const recovering = new RecoveringKeyDir();
  for (const file of files.values()) {
    if (file.kind === 'merge' && hintIds.has(file.id)) {
      if (await loadHint(dir, file, recovering)) {
        counts.hintFilesLoaded++;
        continue;
      }
      counts.hintFilesRejected++;
    }
    counts.filesScanned++;
    await scanFile(file, file.id === newestWriteId, recovering, counts);
  }
  // The previous process may have written this file only as far as the OS (sync: false);
  // make that durable now, so that from here on only the file we append to can be torn.
  if (newestWriteId !== undefined) await files.get(newestWriteId)?.datasync();
  const floors = [...files.values()].map((file) => file.header.seqFloor);
  return {
    keydir: recovering.finish(),
    files,
    newestWriteId,
    nextSeq: Math.max(recovering.maxSeq + 1, ...floors),
    nextFileId: Math.max(0, ...files.keys()) + 1,
    stats: { ...counts, ...cleanup },
  };
}

export function idsOf(names: readonly string[], type: 'data' | 'hint'): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const parsed = parseFileName(name);
    if (parsed !== undefined && parsed.type === type) ids.push(parsed.id);
  }
  return ids.sort((a, b) => a - b);
}

/** Opens every data file read-only, in id order; closes what it opened if one fails. */
export async function openAll(dir: string, ids: readonly number[]): Promise<Map<number, DataFile>> {
  const files = new Map<number, DataFile>();
  try {
    for (const id of ids) files.set(id, await DataFile.open(dir, id, false));
  } catch (err) {
    await Promise.all([...files.values()].map((file) => file.close()));
    throw err;
  }
  return files;
}

/** Finds the newest file `write` appended to and reopens it for truncating and appending. */
export async function reopenNewestWritable(
  dir: string,
  files: Map<number, DataFile>,
): Promise<number | undefined> {
  const writeIds = [...files.values()].filter((f) => f.kind === 'write').map((f) => f.id);
  if (writeIds.length === 0) return undefined;
  const id = Math.max(...writeIds);
  const readOnly = files.get(id);
  assert(readOnly !== undefined, `recovery: file ${id} vanished`);
  await readOnly.close();
  files.set(id, await DataFile.open(dir, id, true));
  return id;
}

/** Applies a merged file's hint; false (nothing applied) when the hint is unusable. */
async function loadHint(
  dir: string,
  file: DataFile,
  recovering: RecoveringKeyDir,
): Promise<boolean> {
  const hintPath = path.join(dir, hintFileName(file.id));
  const bytes = await ioStep(`read ${hintPath}`, () => readFile(hintPath));
  let hint;
  try {
    hint = decodeHint(bytes);
  } catch (err) {
    if (isStoreError(err, 'CORRUPTED')) return false;
    throw err;
  }
  if (hint.dataId !== file.id || hint.dataBytes !== file.size) return false;
  const fits = (e: HintEntry): boolean => e.size > 0 && e.offset + e.size <= file.size;
  if (!hint.entries.every(fits)) return false;
  for (const { key, offset, size, seq } of hint.entries) {
    recovering.put(key, { fileId: file.id, offset, size, seq });
  }
  return true;
}

async function scanFile(
  file: DataFile,
  mayBeTorn: boolean,
  recovering: RecoveringKeyDir,
  counts: Counts,
): Promise<void> {
  const cut = await scanOrTruncate(file, mayBeTorn, (records) => {
    for (const { offset, size, entry } of records) {
      if (entry.kind === 'tombstone') recovering.tombstone(entry.key, entry.seq);
      else recovering.put(entry.key, { fileId: file.id, offset, size, seq: entry.seq });
    }
  });
  counts.bytesTruncated += cut.bytesTruncated;
  counts.batchesDropped += cut.batchesDropped;
  if (cut.damaged) counts.damagedTailDropped = true;
}

export interface TailCut {
  readonly bytesTruncated: number;
  readonly batchesDropped: number;
  /** The cut frame was whole but failed a check (not a write cut short): it may have been acknowledged. */
  readonly damaged: boolean;
}

/**
 * Scans `file` frame by frame from `from` (shared with the two-level bitcask, which replays
 * only the part after its index checkpoint). A bad frame is a torn tail only in a file that
 * `mayBeTorn` and only when no valid frame follows it: then the file is cut there. Anything
 * else is damage: CORRUPTED.
 */
export async function scanOrTruncate(
  file: DataFile,
  mayBeTorn: boolean,
  onFrame: (records: readonly ScannedRecord[]) => void,
  from?: number,
): Promise<TailCut> {
  const outcome = await scanFrames(file, onFrame, from);
  if (outcome.problem === undefined) return { bytesTruncated: 0, batchesDropped: 0, damaged: false };
  const where = `data file ${file.id} at ${outcome.end}: ${outcome.problem}`;
  if (!mayBeTorn || (await validFrameAfter(file, outcome.end))) {
    throw storeError('CORRUPTED', `bitcask ${where}`);
  }
  const bytesTruncated = file.size - outcome.end;
  await file.truncate(outcome.end);
  assert(file.size === outcome.end, `recovery: truncate of ${where}`);
  return { bytesTruncated, batchesDropped: 1, damaged: outcome.cutShort !== true };
}
