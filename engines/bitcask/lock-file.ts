/**
 * The directory lock: one open engine (or store) per directory, across processes and within one.
 *
 * Node has no flock(2), so the lock is a file created with link(2) (fails if it exists) holding
 * the owner's pid, a random token, the boot id of the machine and the owner's start time. The
 * content is fsynced before the link and the directory after it, so a power loss leaves either
 * no LOCK or a LOCK with its content; an empty or garbled LOCK can only be such a leftover (or
 * damage) and is stale. A lock is stale, and taken over, when:
 *
 * - it was written in another boot of the machine (its boot id differs from ours; a LOCK of the
 *   old format without a boot id: its mtime is before this boot): every process of that boot is
 *   gone, whatever process now has its pid (after a reboot pid 1 is always running);
 * - its pid is not running (a kill -9), or runs a process that started at another time than the
 *   owner (pid reuse, e.g. a container restarted on the same kernel);
 * - it names this very process and `ownProcessHolds` is false (the engine locks: a worker thread
 *   that replaces a dead one must be able to take its groups back; the store's own lock, taken
 *   with `ownProcessHolds`, is what refuses a second store in this process).
 *
 * Within one thread a registry of held directories refuses a second instance at once.
 *
 * Limitation: two processes that find the same stale lock at the same instant may both take
 * it over. Starting two stores on one directory at once after a crash is an operator error
 * this does not fully guard against.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { engineError } from '../errors';
import { fsyncDirectory } from '../durable-dir';
import { errorCode, type FileSystem } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';
import { LOCK_FILE_NAME } from './format';

/**
 * Directories locked by this thread (absolute paths of the lock files), per file system: a
 * simulated one (`../fs/sim-fs.ts`) is a disk of its own, and a crash state of it a new one.
 */
const heldByThisThread = new WeakMap<FileSystem, Set<string>>();

function heldOn(fs: FileSystem): Set<string> {
  let held = heldByThisThread.get(fs);
  if (held === undefined) {
    held = new Set();
    heldByThisThread.set(fs, held);
  }
  return held;
}

/** Taking over a stale lock can race with another taker; a few rounds settle it. */
const ACQUIRE_ROUNDS_MAX = 4;
/** Clock slack when a LOCK without a boot id is dated against the boot time. */
const BOOT_TIME_SLACK_MS = 60_000;

export interface DirectoryLock {
  readonly dir: string;
  readonly file: string;
  readonly token: string;
  readonly fs: FileSystem;
}

export interface LockOptions {
  /** Lock file name inside `dir` (default `LOCK`). */
  readonly fileName?: string;
  /** A lock this process holds (from another thread) counts as held. Default false. */
  readonly ownProcessHolds?: boolean;
  /** What the error names, e.g. 'bitcask directory' or 'store directory'. */
  readonly what?: string;
  /** The file system `dir` is on (default the real one). */
  readonly fs?: FileSystem;
}

/** The parsed content of a LOCK file; undefined fields were absent (old format) or unknown. */
export interface LockOwner {
  readonly pid: number;
  readonly bootId: string | undefined;
  readonly startTime: string | undefined;
}

export async function acquireLock(dir: string, options: LockOptions = {}): Promise<DirectoryLock> {
  assert(path.isAbsolute(dir), `acquireLock: ${dir} is not absolute`);
  const file = path.join(dir, options.fileName ?? LOCK_FILE_NAME);
  const what = options.what ?? 'bitcask directory';
  const fs = options.fs ?? nodeFileSystem;
  const held = heldOn(fs);
  if (held.has(file)) throw lockedError(what, dir, 'another instance in this process');
  // Reserve before the first await, so a concurrent open in this thread sees it.
  held.add(file);
  try {
    return await acquireFile(fs, dir, file, what, options.ownProcessHolds === true);
  } catch (err) {
    held.delete(file);
    throw err;
  }
}

async function acquireFile(
  fs: FileSystem,
  dir: string,
  file: string,
  what: string,
  ownProcessHolds: boolean,
): Promise<DirectoryLock> {
  const token = randomBytes(12).toString('hex');
  for (let round = 0; round < ACQUIRE_ROUNDS_MAX; round++) {
    if (await tryCreate(fs, dir, file, token)) {
      await removeLeftovers(fs, dir, file);
      return { dir, file, token, fs };
    }
    const found = await readLockFile(fs, file);
    if (found === 'missing') continue; // it vanished meanwhile: just try again
    const holder =
      found === 'garbled' ? undefined : holderOf(found, found.mtimeMs, ownProcessHolds);
    if (holder !== undefined) throw lockedError(what, dir, holder);
    // Stale: left by a crash, a power loss or an earlier boot.
    await fs.unlink(file).catch(() => undefined);
  }
  throw lockedError(what, dir, 'the lock file keeps reappearing');
}

/**
 * Who holds a lock whose file says `owner` (written at `mtimeMs`), or undefined when the lock is
 * stale. Pure apart from reading /proc and signalling with signal 0.
 */
export function holderOf(
  owner: LockOwner,
  mtimeMs: number,
  ownProcessHolds: boolean,
): string | undefined {
  const bootId = currentBootId();
  if (owner.bootId !== undefined && bootId !== undefined && owner.bootId !== bootId)
    return undefined;
  if (owner.bootId === undefined && mtimeMs < bootTimeMs() - BOOT_TIME_SLACK_MS) return undefined;
  if (owner.pid === process.pid) {
    const ours = owner.startTime !== undefined && owner.startTime === startTimeOf(process.pid);
    return ours && ownProcessHolds ? 'another store in this process' : undefined;
  }
  if (!isRunning(owner.pid)) return undefined;
  const startTime = startTimeOf(owner.pid);
  if (owner.startTime !== undefined && startTime !== undefined && startTime !== owner.startTime)
    return undefined;
  return `process ${owner.pid}`;
}

export async function releaseLock(lock: DirectoryLock): Promise<void> {
  const held = heldOn(lock.fs);
  assert(held.has(lock.file), `releaseLock: ${lock.file} is not held`);
  held.delete(lock.file);
  const text = await lock.fs.readFile(lock.file).then(
    (bytes) => Buffer.from(bytes).toString('utf8'),
    () => '',
  );
  // Only remove our own lock; another process may have (wrongly) taken it over.
  if (text.split('\n')[1] === lock.token) await lock.fs.unlink(lock.file).catch(() => undefined);
}

/** True when this thread holds the lock of `dir` (for tests and diagnostics). */
export function isLockedHere(
  dir: string,
  fileName: string = LOCK_FILE_NAME,
  fs: FileSystem = nodeFileSystem,
): boolean {
  return heldOn(fs).has(path.join(dir, fileName));
}

/** The content a lock of this process has: pid, token, boot id, start time (one per line). */
export function lockContent(token: string): string {
  return `${process.pid}\n${token}\n${currentBootId() ?? ''}\n${startTimeOf(process.pid) ?? ''}\n`;
}

/**
 * Writes the lock under a private name, fsyncs it and hard-links it into place: link(2) fails if
 * LOCK exists, and the lock never appears without its content. The directory is fsynced so the
 * lock survives a power loss as long as the store that holds it might have written anything.
 */
async function tryCreate(
  fs: FileSystem,
  dir: string,
  file: string,
  token: string,
): Promise<boolean> {
  const pending = `${file}.${token}.pending`;
  try {
    const handle = await fs.open(pending, 'wx');
    try {
      await handle.writeFile(lockContent(token));
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw engineError('IO_ERROR', `cannot create ${pending}`, err);
  }
  try {
    await fs.link(pending, file);
  } catch (err) {
    // ENOENT: our private file is gone, removed as a leftover by the holder of a new lock.
    if (errorCode(err) === 'EEXIST' || errorCode(err) === 'ENOENT') return false;
    throw engineError('IO_ERROR', `cannot create ${file}`, err);
  } finally {
    await fs.unlink(pending).catch(() => undefined);
  }
  await syncDir(fs, dir);
  return true;
}

/**
 * A power loss between creating a private `LOCK.<token>.pending` and the directory fsync that
 * records its removal can leave it behind (found by the crash-state check); once we hold the
 * lock, every such file is a leftover (a taker racing us finds its own gone and reports LOCKED).
 * Best effort: the next holder tries again.
 */
async function removeLeftovers(fs: FileSystem, dir: string, file: string): Promise<void> {
  const prefix = `${path.basename(file)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{24}\.pending$/.test(name.slice(prefix.length)))
      continue;
    await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

async function readLockFile(
  fs: FileSystem,
  file: string,
): Promise<'missing' | 'garbled' | (LockOwner & { mtimeMs: number })> {
  let text: string;
  let mtimeMs: number;
  try {
    text = Buffer.from(await fs.readFile(file)).toString('utf8');
    mtimeMs = (await fs.stat(file)).mtimeMs;
  } catch {
    return 'missing';
  }
  const owner = parseLock(text);
  return owner === undefined ? 'garbled' : { ...owner, mtimeMs };
}

/** Parses a LOCK's content; undefined when it names no pid (empty after a power loss, damaged). */
export function parseLock(text: string): LockOwner | undefined {
  const lines = text.split('\n');
  if (!/^[1-9]\d{0,9}$/.test(lines[0] ?? '')) return undefined;
  const pid = Number(lines[0]);
  if (!Number.isSafeInteger(pid)) return undefined;
  const field = (line: string | undefined): string | undefined =>
    line === undefined || line === '' ? undefined : line;
  return { pid, bootId: field(lines[2]), startTime: field(lines[3]) };
}

let bootIdCache: string | null | undefined;

/** Linux's id of this boot; undefined elsewhere. */
export function currentBootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

function bootTimeMs(): number {
  return Date.now() - os.uptime() * 1000;
}

/** A process's start time since boot (Linux: /proc/PID/stat field 22); undefined if unknown. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19]; // field 22 overall: fields 3.. start at index 0
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
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

async function syncDir(fs: FileSystem, dir: string): Promise<void> {
  try {
    await fsyncDirectory(dir, fs);
  } catch (err) {
    throw engineError('IO_ERROR', `cannot sync directory ${dir}`, err);
  }
}

function lockedError(what: string, dir: string, holder: string): Error {
  return engineError('LOCKED', `${what} ${dir} is locked by ${holder}`);
}
