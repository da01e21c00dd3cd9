/**
 * Opening a bitcask2 directory: remove unfinished files, load the newest usable index, then
 * replay the data files from the index's checkpoint on into the write buffer, flushing it into
 * a new index whenever it passes its bound (so even a directory with no index, or a huge
 * tail, opens in bounded RAM). Torn tails are handled exactly as in bitcask
 * (`../bitcask/recovery.ts`, `scanOrTruncate`): only the newest written file can be torn.
 *
 * Merged data files (`merge.ts`) hold only records older than every record of every write
 * file that survives their merge, and each key at most once, so "later wins" holds when they
 * are replayed first (in id order) and the write files after them (in id order). With an index
 * loaded they are not replayed at all: the merge's index generation, and every later one,
 * covers them. A merge that committed before a crash is finished first (`redoIndexedMerge`).
 *
 * The index is derived data. An index file whose header, footer or directory fails its check
 * is not used (`indexRejected`); the next older one, or else none at all, is used instead and
 * more of the data files are replayed. Only data is ever authoritative.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { isEngineError, engineError } from '../errors';
import type { DataFile } from '../bitcask/data-file';
import { ioStep } from '../bitcask/data-file';
import type { FileSystem } from '../fs/file-system';
import { DATA_HEADER_BYTES, isUnfinishedName } from '../bitcask/format';
import { idsOf, openAll, reopenNewestWritable, scanOrTruncate } from '../bitcask/recovery';
import type { ScannedRecord } from '../bitcask/scan-file';
import { flushIndex } from './flush';
import { type Checkpoint, IndexFile, indexFileName, parseIndexName } from './index-file';
import { redoIndexedMerge } from './merge-index';
import { WriteBuffer } from './write-buffer';

export interface IndexedRecoveryStats {
  /** Data files replayed (wholly or from the checkpoint on). */
  readonly filesReplayed: number;
  /** Records replayed into the write buffer. */
  readonly recordsReplayed: number;
  /** True when an index file was loaded. */
  readonly indexLoaded: boolean;
  /** Index files present but unusable. */
  readonly indexRejected: number;
  /** Flushes run during the replay (the buffer passed its bound). */
  readonly flushes: number;
  readonly bytesTruncated: number;
  readonly batchesDropped: number;
  /** Bad bytes before the durable end, skipped (damage; see bitcask's `scanOrTruncate`). */
  readonly bytesDamaged: number;
  /** Damage was found: records that may have been acknowledged are lost. */
  readonly damaged: boolean;
  readonly unfinishedFilesRemoved: number;
  /** A merge had committed before the last crash; open finished installing it. */
  readonly mergeRedone: boolean;
}

export interface RecoveredIndexed {
  readonly files: Map<number, DataFile>;
  readonly newestWriteId: number | undefined;
  readonly index: IndexFile | undefined;
  readonly buffer: WriteBuffer;
  readonly nextSeq: number;
  readonly nextFileId: number;
  readonly nextGeneration: number;
  readonly stats: IndexedRecoveryStats;
}

export interface RecoverOptions {
  readonly bufferKeysMax: number;
  readonly keysPerBucket: number;
}

interface Replay {
  index: IndexFile | undefined;
  buffer: WriteBuffer;
  generation: number;
  seqMax: number;
  filesReplayed: number;
  recordsReplayed: number;
  flushes: number;
  bytesTruncated: number;
  batchesDropped: number;
  bytesDamaged: number;
  damaged: boolean;
}

export async function recoverIndexed(
  fs: FileSystem,
  dir: string,
  options: RecoverOptions,
): Promise<RecoveredIndexed> {
  const mergeRedone = await redoIndexedMerge(fs, dir);
  const names = await ioStep(`list ${dir}`, () => fs.readdir(dir));
  if (idsOf(names, 'hint').length > 0) {
    throw engineError(
      'INVALID_ARGUMENT',
      `bitcask2: ${dir} holds hint files (a bitcask directory that has merged)`,
    );
  }
  const unfinished = names.filter(isUnfinishedName);
  for (const name of unfinished)
    await ioStep(`remove ${name}`, () => fs.unlink(path.join(dir, name)));
  const files = await openAll(fs, dir, idsOf(names, 'data'));
  let replay: Replay | undefined;
  try {
    const loaded = await loadIndex(fs, dir, names);
    replay = newReplay(loaded.index, loaded.generationMax + 1);
    const newestWriteId = await reopenNewestWritable(fs, dir, files);
    await replayAll(fs, dir, files, newestWriteId, replay, options);
    // The previous process may have written the newest file only as far as the OS.
    if (newestWriteId !== undefined) await files.get(newestWriteId)?.datasync();
    const cleanup = {
      indexLoaded: loaded.index !== undefined,
      indexRejected: loaded.rejected,
      unfinishedFilesRemoved: unfinished.length,
      mergeRedone,
    };
    return finish(files, newestWriteId, replay, cleanup);
  } catch (err) {
    await replay?.index?.close();
    await Promise.all([...files.values()].map((file) => file.close()));
    throw err;
  }
}

function newReplay(index: IndexFile | undefined, generation: number): Replay {
  return {
    index,
    buffer: new WriteBuffer(),
    generation,
    seqMax: -1,
    filesReplayed: 0,
    recordsReplayed: 0,
    flushes: 0,
    bytesTruncated: 0,
    batchesDropped: 0,
    bytesDamaged: 0,
    damaged: false,
  };
}

/** The newest index that opens; every other index file is removed. */
async function loadIndex(
  fs: FileSystem,
  dir: string,
  names: readonly string[],
): Promise<{ index: IndexFile | undefined; rejected: number; generationMax: number }> {
  const generations: number[] = [];
  for (const name of names) {
    const generation = parseIndexName(name);
    if (generation !== undefined) generations.push(generation);
  }
  generations.sort((a, b) => b - a);
  let index: IndexFile | undefined;
  let rejected = 0;
  for (const generation of generations) {
    try {
      index = await IndexFile.open(fs, dir, generation);
      break;
    } catch (err) {
      if (!isEngineError(err, 'CORRUPTED')) throw err;
      rejected++;
    }
  }
  for (const generation of generations) {
    if (generation === index?.generation) continue;
    const file = path.join(dir, indexFileName(generation));
    await ioStep(`remove ${file}`, () => fs.unlink(file));
  }
  return { index, rejected, generationMax: generations[0] ?? 0 };
}

/**
 * Replays merged files first (only without an index), then every write file from the
 * checkpoint on, in id (= write) order.
 */
async function replayAll(
  fs: FileSystem,
  dir: string,
  files: ReadonlyMap<number, DataFile>,
  newestWriteId: number | undefined,
  replay: Replay,
  options: RecoverOptions,
): Promise<void> {
  const checkpoint = replay.index?.footer;
  if (checkpoint !== undefined) checkCheckpoint(files, checkpoint);
  const byId = [...files.values()].sort((a, b) => a.id - b.id);
  const merged = checkpoint === undefined ? byId.filter((file) => file.kind === 'merge') : [];
  const written = byId.filter((file) => file.kind === 'write');
  // After the merged files, everything before the first write file is in the buffer.
  const afterMerged = { fileId: written[0]?.id ?? nextIdOf(files), offset: DATA_HEADER_BYTES };
  for (const file of merged) {
    await replayFile(file, DATA_HEADER_BYTES, false, replay);
    if (replay.buffer.size >= options.bufferKeysMax) {
      await flushDuringReplay(fs, dir, afterMerged, replay, options, async () => undefined);
    }
  }
  for (const file of written) {
    if (checkpoint !== undefined && file.id < checkpoint.fileId) continue;
    const atCheckpoint = checkpoint !== undefined && file.id === checkpoint.fileId;
    const from = atCheckpoint ? checkpoint.offset : DATA_HEADER_BYTES;
    await replayFile(file, from, file.id === newestWriteId, replay);
    if (replay.buffer.size >= options.bufferKeysMax) {
      const end = { fileId: file.id, offset: file.size };
      await flushDuringReplay(fs, dir, end, replay, options, () => file.datasync());
    }
  }
}

function nextIdOf(files: ReadonlyMap<number, DataFile>): number {
  return Math.max(0, ...files.keys()) + 1;
}

/** The checkpoint must lie inside the data: the index was installed only after that fsync. */
function checkCheckpoint(files: ReadonlyMap<number, DataFile>, checkpoint: Checkpoint): void {
  const file = files.get(checkpoint.fileId);
  // close() removes an active file no batch reached; a checkpoint at its start is still fine.
  if (file === undefined && checkpoint.offset === DATA_HEADER_BYTES) return;
  const { offset } = checkpoint;
  if (file === undefined || offset > file.size || offset < DATA_HEADER_BYTES) {
    const where = `data file ${checkpoint.fileId} at ${checkpoint.offset}`;
    throw engineError('CORRUPTED', `bitcask2: the index checkpoint ${where} is past the data`);
  }
}

async function replayFile(
  file: DataFile,
  from: number,
  mayBeTorn: boolean,
  replay: Replay,
): Promise<void> {
  const onFrame = (records: readonly ScannedRecord[]): void => {
    for (const { offset, size, entry } of records) {
      if (entry.seq > replay.seqMax) replay.seqMax = entry.seq;
      if (entry.kind === 'tombstone') replay.buffer.delete(entry.key);
      else replay.buffer.set(entry.key, { fileId: file.id, offset, size, seq: entry.seq });
      replay.recordsReplayed++;
    }
  };
  const cut = await scanOrTruncate(file, mayBeTorn, onFrame, from);
  replay.filesReplayed++;
  replay.bytesTruncated += cut.bytesTruncated;
  replay.batchesDropped += cut.batchesDropped;
  replay.bytesDamaged += cut.bytesDamaged;
  if (cut.damaged) replay.damaged = true;
}

/** Everything before `at` is in the index or the buffer: flush with that checkpoint. */
async function flushDuringReplay(
  fs: FileSystem,
  dir: string,
  at: { readonly fileId: number; readonly offset: number },
  replay: Replay,
  options: RecoverOptions,
  beforeInstall: () => Promise<void>,
): Promise<void> {
  const old = replay.index;
  const next = await flushIndex({
    fs,
    dir,
    generation: replay.generation,
    old,
    buffer: replay.buffer,
    keysPerBucket: options.keysPerBucket,
    checkpoint: { ...at, nextSeq: replay.seqMax + 1 },
    beforeInstall,
  });
  replay.index = next;
  replay.generation++;
  replay.buffer = new WriteBuffer();
  replay.flushes++;
  if (old !== undefined) {
    await old.close();
    await ioStep(`remove ${old.path}`, () => fs.unlink(old.path));
  }
}

function finish(
  files: Map<number, DataFile>,
  newestWriteId: number | undefined,
  replay: Replay,
  cleanup: Pick<
    IndexedRecoveryStats,
    'indexLoaded' | 'indexRejected' | 'unfinishedFilesRemoved' | 'mergeRedone'
  >,
): RecoveredIndexed {
  const footer = replay.index?.footer;
  const floors = [...files.values()].map((file) => file.header.seqFloor);
  const nextSeq = Math.max(replay.seqMax + 1, footer?.nextSeq ?? 0, ...floors);
  const nextFileId = Math.max(0, footer?.fileId ?? 0, ...files.keys()) + 1;
  assert(Number.isSafeInteger(nextSeq) && nextSeq >= 0, () => `recovery: next seq ${nextSeq}`);
  return {
    files,
    newestWriteId,
    index: replay.index,
    buffer: replay.buffer,
    nextSeq,
    nextFileId,
    nextGeneration: replay.generation,
    stats: {
      filesReplayed: replay.filesReplayed,
      recordsReplayed: replay.recordsReplayed,
      ...cleanup,
      flushes: replay.flushes,
      bytesTruncated: replay.bytesTruncated,
      batchesDropped: replay.batchesDropped,
      bytesDamaged: replay.bytesDamaged,
      damaged: replay.damaged,
    },
  };
}
