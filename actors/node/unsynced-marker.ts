/**
 * Guards against trusting a data directory after a crash of a `sync: 'none'` run.
 *
 * With 'none', replies go out before records are written. In the embedded Set every replica
 * lives in one process, so a process crash makes all of them forget together: what is on disk
 * may miss acknowledged writes, and no replica is left that remembers them. While a 'none'
 * store is open, a marker file sits in its directory; a clean close removes it. An open that
 * finds the marker refuses with DATA_LOSS_POSSIBLE unless the caller accepts the loss.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fsyncDirectory } from '../../engines/durable-dir';
import { ErrorCodes, PaxosStoreError } from '../store/errors';

export const UNSYNCED_MARKER_FILE = 'UNSYNCED-RUN';

/** Refuses a directory whose last 'none' run did not close cleanly, unless accepted. */
export async function checkUnsyncedMarker(dir: string, acceptDataLoss: boolean): Promise<void> {
  const file = path.join(dir, UNSYNCED_MARKER_FILE);
  let found = false;
  try {
    await fs.access(file);
    found = true;
  } catch {
    found = false;
  }
  if (!found) return;
  if (!acceptDataLoss) {
    throw new PaxosStoreError(
      ErrorCodes.DATA_LOSS_POSSIBLE,
      `${dir} was last used with sync 'none' and not closed cleanly: acknowledged writes may be lost. ` +
        `Open with { acceptDataLoss: true } to use what is on disk.`,
    );
  }
  await fs.rm(file, { force: true });
}

/** Writes the marker durably before any reply of a 'none' run can go out. */
export async function writeUnsyncedMarker(dir: string): Promise<void> {
  const file = path.join(dir, UNSYNCED_MARKER_FILE);
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(`sync 'none' run started ${new Date().toISOString()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The marker's name must outlive a power loss too, or the crash it guards against goes unseen.
  await fsyncDirectory(dir);
}

/**
 * Called after every engine has closed, which made every write durable (each engine syncs at
 * close in every sync mode). The removal is fsynced too: a marker that reappears after a power
 * loss would only make the next open refuse, never trust, the directory.
 */
export async function removeUnsyncedMarker(dir: string): Promise<void> {
  await fs.rm(path.join(dir, UNSYNCED_MARKER_FILE), { force: true });
  await fsyncDirectory(dir);
}
