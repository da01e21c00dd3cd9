/**
 * Installing a merge atomically. A merge replaces several files by several others, which no
 * single rename can do, so it commits through a tiny redo record:
 *
 *   1. the worker has written and fsynced every output as `*.merging`;
 *   2. write `MERGE` (inputs and outputs; temp name, fsync, rename, dir fsync): the commit;
 *   3. rename the outputs into place, fsync the directory;
 *   4. delete the inputs, fsync the directory, delete `MERGE`, fsync the directory.
 *
 * A crash before 2 leaves the inputs in force (open removes the `*.merging` files); a crash
 * after 2 is finished by open, which runs 3 and 4 again (each step is idempotent). So open
 * sees either all the inputs or all the outputs, never a mix, and a merge may drop
 * tombstones: the older records they hide vanish together with them.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import { errorCode, type FileSystem } from '../fs/file-system';
import { openRecord, sealRecord } from '../record-codec';
import { ioStep, syncDirectory } from './data-file';
import {
  dataFileName,
  hintFileName,
  MERGE_COMMIT_NAME,
  MERGING_SUFFIX,
  TEMP_SUFFIX,
} from './format';

export interface MergeCommit {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /**
   * bitcask2 only: the index generation the merge installs (`NNNNNN.index.tmp` until the
   * redo renames it). bitcask ignores it.
   */
  readonly index?: number;
}

/** Step 2: after this resolves the merge has happened, whatever crashes next. */
export async function writeMergeCommit(
  fs: FileSystem,
  dir: string,
  commit: MergeCommit,
): Promise<void> {
  assert(commit.inputs.length > 0, 'writeMergeCommit: no inputs');
  const file = path.join(dir, MERGE_COMMIT_NAME);
  const bytes = sealRecord(Buffer.from(JSON.stringify(commit), 'utf8'));
  await ioStep(`write ${file}`, async () => {
    await fs.writeFile(file + TEMP_SUFFIX, bytes, { flush: true });
    await fs.rename(file + TEMP_SUFFIX, file);
  });
  await syncDirectory(fs, dir);
}

/** The pending commit, if a crash interrupted one; CORRUPTED if `MERGE` is damaged. */
export async function readMergeCommit(
  fs: FileSystem,
  dir: string,
): Promise<MergeCommit | undefined> {
  const file = path.join(dir, MERGE_COMMIT_NAME);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw engineError('IO_ERROR', `bitcask: read ${file} failed`, err);
  }
  const text = Buffer.from(openRecord(bytes)).toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    throw engineError('CORRUPTED', `${file} is not JSON`, err);
  }
  if (!isMergeCommit(payload)) throw engineError('CORRUPTED', `${file} is not a merge commit`);
  return payload;
}

/** Step 3. An output already renamed (a redo after a crash) is left as it is. */
export async function renameMergeOutputs(
  fs: FileSystem,
  dir: string,
  commit: MergeCommit,
): Promise<void> {
  for (const id of commit.outputs) {
    for (const name of [dataFileName(id), hintFileName(id)]) {
      const final = path.join(dir, name);
      await fs.rename(final + MERGING_SUFFIX, final).catch((err: unknown) => {
        if (errorCode(err) !== 'ENOENT') {
          throw engineError('IO_ERROR', `bitcask: install ${final} failed`, err);
        }
      });
    }
  }
  await syncDirectory(fs, dir);
}

/** Step 4: the inputs go, then the commit record itself. */
export async function removeMergeInputs(
  fs: FileSystem,
  dir: string,
  commit: MergeCommit,
): Promise<void> {
  for (const id of commit.inputs) {
    for (const name of [dataFileName(id), hintFileName(id)]) {
      await unlinkIfPresent(fs, path.join(dir, name));
    }
  }
  await syncDirectory(fs, dir);
  await unlinkIfPresent(fs, path.join(dir, MERGE_COMMIT_NAME));
  await syncDirectory(fs, dir);
}

async function unlinkIfPresent(fs: FileSystem, file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw engineError('IO_ERROR', `bitcask: delete ${file} failed`, err);
  }
}

function isMergeCommit(value: unknown): value is MergeCommit {
  if (typeof value !== 'object' || value === null) return false;
  const { inputs, outputs, index } = value as {
    inputs?: unknown;
    outputs?: unknown;
    index?: unknown;
  };
  const isId = (id: unknown): boolean => Number.isInteger(id) && (id as number) >= 1;
  const ids = (list: unknown): boolean => Array.isArray(list) && list.every(isId);
  return ids(inputs) && ids(outputs) && (index === undefined || isId(index));
}
