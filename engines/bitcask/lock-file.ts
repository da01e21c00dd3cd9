/**
 * The directory lock: one open engine per directory, across processes and within one.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL holding the owner's pid and
 * a random token. A lock whose pid is no longer running was left by a crash (kill -9) and is
 * taken over. Within a process, a registry of held directories refuses a second instance even
 * though the pid matches (and tells our own live lock from a stale one left by an earlier
 * process that happened to get the same pid, as happens in containers).
 *
 * Limitation: two processes that find the same stale lock at the same instant may both take
 * it over. Starting two stores on one directory at once after a crash is an operator error
 * this does not fully guard against.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { storeError } from '../errors';
import { LOCK_FILE_NAME } from './format';

/** Directories locked by this process (absolute paths). */
const heldByThisProcess = new Set<string>();

/** Taking over a stale lock can race with another taker; a few rounds settle it. */
const ACQUIRE_ROUNDS_MAX = 4;

export interface DirectoryLock {
  readonly dir: string;
  readonly token: string;
}

export async function acquireLock(dir: string): Promise<DirectoryLock> {
  assert(path.isAbsolute(dir), `acquireLock: ${dir} is not absolute`);
  if (heldByThisProcess.has(dir)) throw lockedError(dir, 'another engine in this process');
  // Reserve before the first await, so a concurrent open in this process sees it.
  heldByThisProcess.add(dir);
  try {
    return await acquireFile(dir);
  } catch (err) {
    heldByThisProcess.delete(dir);
    throw err;
  }
}

async function acquireFile(dir: string): Promise<DirectoryLock> {
  const file = path.join(dir, LOCK_FILE_NAME);
  const token = randomBytes(12).toString('hex');
  for (let round = 0; round < ACQUIRE_ROUNDS_MAX; round++) {
    if (await tryCreate(file, token)) return { dir, token };
    const owner = await readOwner(file);
    if (owner === undefined) continue; // it vanished meanwhile: just try again
    // Our own pid here is an earlier process's: this process's locks are in the registry.
    if (owner !== process.pid && isRunning(owner)) throw lockedError(dir, `process ${owner}`);
    // Stale: its owner is gone (killed without closing).
    await unlink(file).catch(() => undefined);
  }
  throw lockedError(dir, 'the lock file keeps reappearing');
}

export async function releaseLock(lock: DirectoryLock): Promise<void> {
  assert(heldByThisProcess.has(lock.dir), `releaseLock: ${lock.dir} is not held`);
  heldByThisProcess.delete(lock.dir);
  const file = path.join(lock.dir, LOCK_FILE_NAME);
  const text = await readFile(file, 'utf8').catch(() => '');
  // Only remove our own lock; another process may have (wrongly) taken it over.
  if (text.split('\n')[1] === lock.token) await unlink(file).catch(() => undefined);
}

/** True when this process holds the lock of `dir` (for tests and diagnostics). */
export function isLockedHere(dir: string): boolean {
  return heldByThisProcess.has(dir);
}

/**
 * Writes the lock under a private name and hard-links it into place: link(2) fails if LOCK
 * exists, and the lock never appears without its content (an empty LOCK would look stale).
 */
async function tryCreate(file: string, token: string): Promise<boolean> {
  const pending = `${file}.${token}.pending`;
  await writeFile(pending, `${process.pid}\n${token}\n`).catch((err: unknown) => {
    throw storeError('IO_ERROR', `bitcask: cannot create ${pending}`, err);
  });
  try {
    await link(pending, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storeError('IO_ERROR', `bitcask: cannot create ${file}`, err);
  } finally {
    await unlink(pending).catch(() => undefined);
  }
}

async function readOwner(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number(text.split('\n')[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, holder: string): Error {
  return storeError('LOCKED', `bitcask directory ${dir} is locked by ${holder}`);
}
