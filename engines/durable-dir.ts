/**
 * Directories whose entries survive a power loss. A new directory (or file) exists after a crash
 * only once the directory holding its name has been fsynced; ext4 and XFS mostly order this for
 * us, POSIX does not. `mkdirDurable` creates every missing component of a path and fsyncs each
 * parent whose entries it changed, so a data directory, replica-R and group-G cannot vanish
 * under files that were fsynced into them.
 */
import * as path from 'node:path';
import { assert } from '../runtime/assert';
import { errorCode, type FileSystem } from './fs/file-system';
import { nodeFileSystem } from './fs/node-fs';

/** Path components deeper than this are refused (an upper bound for the walk up). */
const DEPTH_MAX = 4096;

/** mkdir -p, then fsync the parent of every directory it created (and the deepest new one). */
export async function mkdirDurable(dir: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (let depth = 0; depth < DEPTH_MAX && !(await exists(fs, at)); depth++) {
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (missing.length === 0) return;
  await fs.mkdir(target);
  // Children first is fine: every parent is fsynced once its new child exists.
  for (const created of missing) await fsyncDirectory(path.dirname(created), fs);
  await fsyncDirectory(target, fs);
  assert(await exists(fs, target), `mkdirDurable: ${target} missing after mkdir`);
}

/** fsync(2) of a directory: makes its entries (creations, renames, removals) durable. */
export async function fsyncDirectory(dir: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(fs: FileSystem, p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}
