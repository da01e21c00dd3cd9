/**
 * Directories whose entries survive a power loss. A new directory (or file) exists after a crash
 * only once the directory holding its name has been fsynced; ext4 and XFS mostly order this for
 * us, POSIX does not. `mkdirDurable` creates every missing component of a path and fsyncs each
 * parent whose entries it changed, so a data directory, replica-R and group-G cannot vanish
 * under files that were fsynced into them.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../runtime/assert';

/** Path components deeper than this are refused (an upper bound for the walk up). */
const DEPTH_MAX = 4096;

/** mkdir -p, then fsync the parent of every directory it created (and the deepest new one). */
export async function mkdirDurable(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (let depth = 0; depth < DEPTH_MAX && !(await exists(at)); depth++) {
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (missing.length === 0) return;
  await mkdir(target, { recursive: true });
  // Children first is fine: every parent is fsynced once its new child exists.
  for (const created of missing) await fsyncDirectory(path.dirname(created));
  await fsyncDirectory(target);
  assert(await exists(target), `mkdirDurable: ${target} missing after mkdir`);
}

/** fsync(2) of a directory: makes its entries (creations, renames, removals) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
