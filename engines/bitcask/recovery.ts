/**
 * Opening a bitcask directory: finish or discard an interrupted merge, remove unfinished
 * files, and rebuild the key directory from hint files (merged files) or by scanning frames
 * (everything else, and merged files whose hint is missing or does not match).
 *
 * Tears and damage (`scanOrTruncate`, docs/decisions.md 19). Only the newest file written by
 * `write` can be torn: older ones were fsynced when the engine rotated away from them (and at
 * the open after a crash), and merged files are fsynced before their merge commits. In that
 * file, bad bytes after the last durable point (its highest sync mark) are a tear, cut off and
 * reported; bad bytes before it, or in any other file, are damage: skipped and reported
 * (`RecoveryStats.damaged`), so that a caller which acknowledged those records (the Paxos
 * shell) can treat them as forgotten. Open fails for neither.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { isEngineError, engineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { DataFile, ioStep } from './data-file';
import { DATA_HEADER_BYTES, hintFileName, isUnfinishedName, parseFileName } from './format';
import { decodeHint, type HintEntry } from './hint-file';
import type { KeyDir } from './keydir';
import { RecoveringKeyDir } from './keydir';
import { type DamageRegion, readDamageRecord, sameRegion } from './damage-record';
import { readMergeCommit, removeMergeInputs, renameMergeOutputs } from './merge-commit';
import { nextValidFrame, scanFrames, type ScannedRecord } from './scan-file';

export interface RecoveryStats {
  /** Data files whose frames were read (no usable hint). */
  readonly filesScanned: number;
  /** Merged data files whose key directory entries came from their hint file. */
  readonly hintFilesLoaded: number;
  /** Hint files present but unusable (damaged, or for another version of the data file). */
  readonly hintFilesRejected: number;
  /** Bytes cut from the torn tail of the newest written file. */
  readonly bytesTruncated: number;
  /** Frames cut with that tail: the torn one and any valid ones after a hole in it. */
  readonly batchesDropped: number;
  /**
   * Bad bytes before the durable end (see `scanOrTruncate`), skipped: damage to what was on
   * disk, not a tear. The frames in them are lost, and they may have been acknowledged.
   */
  readonly bytesDamaged: number;
  /**
   * The part of `bytesDamaged` in regions a caller acknowledged after an earlier open
   * (`acknowledgeDamage`, `damage-record.ts`): found again, not reported again.
   */
  readonly bytesDamagedKnown: number;
  /** The damaged regions skipped at this open, acknowledged or not. */
  readonly damageRegions: readonly DamageRegion[];
  /**
   * True when damage not acknowledged before was found: a caller that acknowledged records
   * must treat them as forgotten.
   */
  readonly damaged: boolean;
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
  bytesDamaged: number;
  bytesDamagedKnown: number;
  damageRegions: DamageRegion[];
  damaged: boolean;
}

export async function recover(fs: FileSystem, dir: string): Promise<Recovered> {
  const commit = await readMergeCommit(fs, dir);
  if (commit !== undefined) {
    await renameMergeOutputs(fs, dir, commit);
    await removeMergeInputs(fs, dir, commit);
  }
  const names = await ioStep(`list ${dir}`, () => fs.readdir(dir));
  const unfinished = names.filter(isUnfinishedName);
  for (const name of unfinished)
    await ioStep(`remove ${name}`, () => fs.unlink(path.join(dir, name)));
  const dataIds = idsOf(names, 'data');
  for (const id of commit?.outputs ?? []) {
    if (!dataIds.includes(id)) throw engineError('CORRUPTED', `merged data file ${id} is missing`);
  }
  const files = await openAll(fs, dir, dataIds);
  try {
    return await rebuild(fs, dir, files, new Set(idsOf(names, 'hint')), {
      unfinishedFilesRemoved: unfinished.length,
      mergeRedone: commit !== undefined,
    });
  } catch (err) {
    await Promise.all([...files.values()].map((file) => file.close()));
    throw err;
  }
}

async function rebuild(
  fs: FileSystem,
  dir: string,
  files: Map<number, DataFile>,
  hintIds: ReadonlySet<number>,
  cleanup: Pick<RecoveryStats, 'unfinishedFilesRemoved' | 'mergeRedone'>,
): Promise<Recovered> {
  const newestWriteId = await reopenNewestWritable(fs, dir, files);
  const counts: Counts = {
    filesScanned: 0,
    hintFilesLoaded: 0,
    hintFilesRejected: 0,
    bytesTruncated: 0,
    batchesDropped: 0,
    bytesDamaged: 0,
    bytesDamagedKnown: 0,
    damageRegions: [],
    damaged: false,
  };
  const known = await readDamageRecord(fs, dir);
  const recovering = new RecoveringKeyDir();
  for (const file of files.values()) {
    if (file.kind === 'merge' && hintIds.has(file.id)) {
      if (await loadHint(fs, dir, file, recovering)) {
        counts.hintFilesLoaded++;
        continue;
      }
      counts.hintFilesRejected++;
    }
    counts.filesScanned++;
    await scanFile(file, file.id === newestWriteId, recovering, counts, known);
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
export async function openAll(
  fs: FileSystem,
  dir: string,
  ids: readonly number[],
): Promise<Map<number, DataFile>> {
  const files = new Map<number, DataFile>();
  try {
    for (const id of ids) files.set(id, await DataFile.open(fs, dir, id, false));
  } catch (err) {
    await Promise.all([...files.values()].map((file) => file.close()));
    throw err;
  }
  return files;
}

/** Finds the newest file `write` appended to and reopens it for truncating and appending. */
export async function reopenNewestWritable(
  fs: FileSystem,
  dir: string,
  files: Map<number, DataFile>,
): Promise<number | undefined> {
  const writeIds = [...files.values()].filter((f) => f.kind === 'write').map((f) => f.id);
  if (writeIds.length === 0) return undefined;
  const id = Math.max(...writeIds);
  const readOnly = files.get(id);
  assert(readOnly !== undefined, `recovery: file ${id} vanished`);
  await readOnly.close();
  files.set(id, await DataFile.open(fs, dir, id, true));
  return id;
}

/** Applies a merged file's hint; false (nothing applied) when the hint is unusable. */
async function loadHint(
  fs: FileSystem,
  dir: string,
  file: DataFile,
  recovering: RecoveringKeyDir,
): Promise<boolean> {
  const hintPath = path.join(dir, hintFileName(file.id));
  const bytes = await ioStep(`read ${hintPath}`, () => fs.readFile(hintPath));
  let hint;
  try {
    hint = decodeHint(bytes);
  } catch (err) {
    if (isEngineError(err, 'CORRUPTED')) return false;
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
  known: readonly DamageRegion[],
): Promise<void> {
  const cut = await scanOrTruncate(file, mayBeTorn, (records) => {
    for (const { offset, size, entry } of records) {
      if (entry.kind === 'tombstone') recovering.tombstone(entry.key, entry.seq);
      else recovering.put(entry.key, { fileId: file.id, offset, size, seq: entry.seq });
    }
  });
  counts.bytesTruncated += cut.bytesTruncated;
  counts.batchesDropped += cut.batchesDropped;
  counts.bytesDamaged += cut.bytesDamaged;
  // Damage a caller acknowledged after an earlier open is counted, not reported again.
  let fresh = cut.damageCut;
  for (const hole of cut.regions) {
    const region = { fileId: file.id, ...hole };
    counts.damageRegions.push(region);
    if (known.some((seen) => sameRegion(seen, region))) {
      counts.bytesDamagedKnown += hole.end - hole.start;
    } else {
      fresh = true;
    }
  }
  assert(!fresh || cut.damaged, () => `recovery: file ${file.id} fresh damage not flagged`);
  if (fresh) counts.damaged = true;
}

export interface TailCut {
  /** Bytes cut off the end as a tear (never acknowledged under `sync: true`). */
  readonly bytesTruncated: number;
  /** Frames cut with them: the bad one and any valid ones after it (0 when nothing was cut). */
  readonly batchesDropped: number;
  /** Bad bytes found before the durable end (damage): skipped, not cut. */
  readonly bytesDamaged: number;
  /** Damage was found: records that were durable, and maybe acknowledged, are lost. */
  readonly damaged: boolean;
  /** The damaged regions skipped (they stay in the file; a tear is cut and is not one). */
  readonly regions: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  /** Damage cut off the end (a version 1 file's last frame, not cut short): gone for good. */
  readonly damageCut: boolean;
}

interface Hole {
  readonly start: number;
  /** Where the next valid frame or mark starts (the file's size when none does). */
  readonly end: number;
  readonly problem: string;
  /** The bad frame runs past the end of the file (what a crash in an append leaves). */
  readonly cutShort: boolean;
  /** Valid frames between this hole and the next one, held until the hole is judged. */
  readonly after: Array<readonly ScannedRecord[]>;
}

/**
 * Scans `file` from `from` (shared with the two-level bitcask, which replays only the part
 * after its index checkpoint) and sorts every bad region ("hole") into a tear or damage by the
 * file's durable end: the highest sync mark found (`batch-frame.ts`), at least `from` (bitcask2
 * synced the data before its checkpoint), and the whole file when it cannot be torn (only the
 * newest written file can: older ones were fsynced at rotation, merged ones before their commit).
 *
 * - A hole that starts at or after the durable end lies in bytes no fdatasync had covered: the
 *   tail of a write that power loss tore, maybe with later pages of the same group intact. Under
 *   `sync: true` nothing there was acknowledged (its fdatasync had not returned), so the file is
 *   cut at the first such hole, valid frames after it included: a tear.
 * - A hole before the durable end is damage to bytes that were on disk: it is skipped, the valid
 *   frames after it are kept, and `damaged` says that records which may have been acknowledged
 *   are gone (the Paxos shell then makes the group amnesic). Open never fails for it.
 *
 * Not covered: the last group synced before a crash has no mark after it (the mark rides on the
 * next group's write), so damage at rest to exactly that group before the next open reads it is
 * taken for a tear. A clean close writes the mark.
 */
export async function scanOrTruncate(
  file: DataFile,
  mayBeTorn: boolean,
  onFrame: (records: readonly ScannedRecord[]) => void,
  from: number = DATA_HEADER_BYTES,
): Promise<TailCut> {
  let durableEnd = mayBeTorn ? from : file.size;
  let marked = false;
  const holes: Hole[] = [];
  let offset = from;
  // Each round starts past the previous hole: bounded by the file size.
  for (let round = 0; round <= file.size && offset < file.size; round++) {
    const last = holes[holes.length - 1];
    const sink =
      last === undefined
        ? onFrame
        : (records: readonly ScannedRecord[]) => void last.after.push(records);
    const outcome = await scanFrames(file, sink, offset);
    durableEnd = Math.max(durableEnd, outcome.durableMark);
    if (outcome.durableMark > 0) marked = true;
    if (outcome.problem === undefined) break;
    const next = await nextValidFrame(file, outcome.end);
    const cutShort = outcome.cutShort === true;
    holes.push({
      start: outcome.end,
      end: next ?? file.size,
      problem: outcome.problem,
      cutShort,
      after: [],
    });
    if (next === undefined) break;
    offset = next;
  }
  if (holes.length === 0) {
    const none = { bytesTruncated: 0, batchesDropped: 0, bytesDamaged: 0, damaged: false };
    return { ...none, regions: [], damageCut: false };
  }
  if (mayBeTorn && file.header.legacy === true && !marked) return legacyCut(file, holes, onFrame);
  const tearAt = mayBeTorn ? holes.findIndex((hole) => hole.start >= durableEnd) : -1;
  const damage = tearAt === -1 ? holes : holes.slice(0, tearAt);
  for (const hole of damage) {
    console.error(
      `bitcask: data file ${file.id}: ${hole.end - hole.start} damaged bytes at ${hole.start} (${hole.problem}) skipped`,
    );
    for (const records of hole.after) onFrame(records);
  }
  const bytesDamaged = damage.reduce((sum, hole) => sum + (hole.end - hole.start), 0);
  const regions = damage.map(({ start, end }) => ({ start, end }));
  if (tearAt === -1) {
    const skipped = { bytesTruncated: 0, batchesDropped: 0, bytesDamaged, damaged: true };
    return { ...skipped, regions, damageCut: false };
  }
  const cut = holes[tearAt].start;
  const batchesDropped = 1 + holes.slice(tearAt).reduce((sum, hole) => sum + hole.after.length, 0);
  const bytesTruncated = file.size - cut;
  await file.truncate(cut);
  assert(file.size === cut, `recovery: truncate of data file ${file.id} at ${cut}`);
  const damaged = damage.length > 0;
  return { bytesTruncated, batchesDropped, bytesDamaged, damaged, regions, damageCut: false };
}

/**
 * A file of a version 1 writer that holds no sync mark: its durable end is unknown, so the
 * rule of decision 9 applies. Only a bad region at the very end is cut (reported as damage
 * unless the file ends inside that frame); a bad region followed by a valid frame is damage,
 * skipped (the frames after it kept).
 */
async function legacyCut(
  file: DataFile,
  holes: readonly Hole[],
  onFrame: (records: readonly ScannedRecord[]) => void,
): Promise<TailCut> {
  const last = holes[holes.length - 1];
  assert(last !== undefined, 'legacyCut without a hole');
  const trailing = last.end === file.size && last.after.length === 0;
  const damage = trailing ? holes.slice(0, -1) : holes;
  for (const hole of damage) for (const records of hole.after) onFrame(records);
  const bytesDamaged = damage.reduce((sum, hole) => sum + (hole.end - hole.start), 0);
  const regions = damage.map(({ start, end }) => ({ start, end }));
  if (!trailing) {
    const skipped = { bytesTruncated: 0, batchesDropped: 0, bytesDamaged, damaged: true };
    return { ...skipped, regions, damageCut: false };
  }
  const bytesTruncated = file.size - last.start;
  await file.truncate(last.start);
  return {
    bytesTruncated,
    batchesDropped: 1,
    bytesDamaged,
    damaged: damage.length > 0 || !last.cutShort,
    regions,
    damageCut: !last.cutShort,
  };
}
