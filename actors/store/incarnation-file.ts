/**
 * A replica group's incarnation number, kept beside its data directory and raised at every
 * start. Proposal ids are (replica, seq) with seq in [incarnation × SEQ_SPAN, +SEQ_SPAN), and
 * a chosen value is applied once per id (the at-most-once window): an id reused by a later
 * incarnation would make a new write look like an old one already applied, and be answered
 * with the old result without being applied. A random seq base (as before) repeats after a
 * few thousand restarts of one replica; a counter on disk never does.
 *
 * Synchronous on purpose: it runs once when the actor is created, before it can propose, and
 * the new number is durable (temp file, fsync, rename, directory fsync) before it is used, so
 * a crash can at worst waste a number, never hand one out twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { PaxosStoreError, ErrorCodes } from './errors';

/** seq = incarnation × 2^32 + n must stay a safe integer. */
export const INCARNATIONS_MAX = 2 ** 21 - 1;

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readCount(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > INCARNATIONS_MAX) {
    throw new PaxosStoreError(ErrorCodes.INVALID_ARGUMENT, `${file} does not hold an incarnation count: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return n;
}

/** fsyncs the parent of every directory from `first` (the topmost new one) down to `last`. */
function fsyncCreated(first: string, last: string): void {
  let at = last;
  for (let depth = 0; depth < 4096; depth++) {
    fsyncDir(path.dirname(at));
    if (at === first || path.dirname(at) === at) break;
    at = path.dirname(at);
  }
  fsyncDir(last);
}

/** Raises the count in `file` by one, durably, and returns the new value (1 on first use). */
export function takeIncarnation(file: string): number {
  const dir = path.dirname(file);
  // A new replica-R must outlive a power loss with its parent's entry (DESIGN §7 durability).
  const created = fs.mkdirSync(dir, { recursive: true });
  if (created !== undefined) fsyncCreated(created, dir);
  const next = readCount(file) + 1;
  if (next > INCARNATIONS_MAX) {
    throw new PaxosStoreError(ErrorCodes.INVALID_ARGUMENT, `${file}: more than ${INCARNATIONS_MAX} starts of one replica group`);
  }
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, `${next}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDir(dir);
  assert(readCount(file) === next, () => `incarnation file ${file} did not keep ${next}`);
  return next;
}
