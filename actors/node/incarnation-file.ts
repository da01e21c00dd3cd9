/**
 * A replica group's incarnation number, kept beside its data directory and raised at every
 * start. Proposal ids are (replica, seq) with seq in [incarnation × 2^32, +2^32), and
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
import { INCARNATION_SPAN } from '../paxos/core/ids';
import { assert } from '../../runtime/assert';
import { PaxosStoreError, ErrorCodes } from '../store/errors';

/** seq = incarnation × 2^32 + n must stay a safe integer, and the incarnation is a ballot epoch. */
export const INCARNATIONS_MAX = INCARNATION_SPAN - 1;

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
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      `${file} does not hold an incarnation count: ${JSON.stringify(text.slice(0, 40))}`,
    );
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
  const next = nextCount(readCount(file), file);
  writeCount(file, next);
  assert(readCount(file) === next, () => `incarnation file ${file} did not keep ${next}`);
  return next;
}

/** What a group learns when it starts (see startGroup). */
export interface GroupStart {
  /** Never used before by this (replica, group), its directory lost or not. */
  readonly incarnation: number;
  /**
   * The group must obey the amnesia rule: its directory was lost (the store's root says it
   * started before, its own files are gone) or an earlier start found its state damaged, and
   * nothing has rebuilt it since (`group-G.amnesic` marker).
   */
  readonly amnesic: boolean;
}

/** Where the counts and the marker of (replica, group) live under a store's root directory. */
export function groupFiles(
  root: string,
  replica: number,
  group: number,
): { own: string; rootCopy: string; marker: string; journal: string; journalGap: string } {
  assert(
    Number.isInteger(replica) && replica >= 0 && Number.isInteger(group) && group >= 0,
    () => `group ${replica}/${group}`,
  );
  const replicaDir = path.join(root, `replica-${replica}`);
  return {
    own: path.join(replicaDir, `group-${group}.incarnation`),
    rootCopy: path.join(root, 'incarnations', `replica-${replica}.group-${group}`),
    marker: path.join(replicaDir, `group-${group}.amnesic`),
    // The journal's markers (journal-gap-file.ts): it kept a journal; it started without one since.
    journal: path.join(replicaDir, `group-${group}.journal`),
    journalGap: path.join(replicaDir, `group-${group}.journal-gap`),
  };
}

/**
 * Starts (replica, group) of the store in `root` (decision 15, issue "lost replica directory").
 *
 * The incarnation count is kept twice: in the replica's own directory, and in the store's root
 * (`incarnations/`), which a lost or replaced replica disk does not take with it. The next
 * incarnation is one above the larger, so ids never repeat even when the replica's directory
 * is gone. The replica's own copy is written first: a crash between the two writes then leaves
 * the root copy behind (harmless, the next start takes the larger) rather than a missing own
 * copy that would look like a lost directory.
 *
 * A root copy without the replica's own copy means the replica's state is gone while the store
 * lives on: the group must come up amnesic, and stays so on every later start (its keys are
 * missing, not absent) until a full rebuild clears the marker (clearGroupAmnesia) — the marker
 * is written, durably, before anything else.
 */
export function startGroup(root: string, replica: number, group: number): GroupStart {
  const files = groupFiles(root, replica, group);
  const own = readCount(files.own);
  const rootCopy = readCount(files.rootCopy);
  const lost = rootCopy > 0 && own === 0;
  if (lost) {
    console.error(
      `replica ${replica} group ${group}: its directory lost its state; it recovers every key from its peers`,
    );
    writeMarkerFile(files.marker);
  }
  const amnesic = lost || fs.existsSync(files.marker);
  return { incarnation: advance(files, Math.max(own, rootCopy)), amnesic };
}

/**
 * A new incarnation number for a running group whose id range is running out (core/ids.ts
 * `renewIds`): one above both copies, kept in both.
 */
export function renewGroupIncarnation(root: string, replica: number, group: number): number {
  const files = groupFiles(root, replica, group);
  return advance(files, Math.max(readCount(files.own), readCount(files.rootCopy)));
}

function advance(files: { own: string; rootCopy: string }, current: number): number {
  const next = nextCount(current, files.own);
  writeCount(files.own, next);
  writeCount(files.rootCopy, next);
  assert(
    readCount(files.own) === next && readCount(files.rootCopy) === next,
    () => `incarnation ${next} not kept`,
  );
  return next;
}

/**
 * Marks (replica, group) amnesic on every later start too: its storage lost records at open
 * (a damaged log), so keys it has not recovered are missing, not absent. Durable before it
 * returns. Only a full rebuild removes it (clearGroupAmnesia).
 */
export function markGroupAmnesic(root: string, replica: number, group: number): void {
  writeMarkerFile(groupFiles(root, replica, group).marker);
}

/**
 * Removes the marker of (replica, group), durably (unlink, directory fsync): the background
 * repair's rebuild has brought every key any other replica holds up to a majority in this
 * replica's own records (actors/store/amnesia-rebuild.ts, docs/decisions.md 27). A crash
 * before the fsync leaves the marker: one more amnesic start, never a trusted gap.
 */
export function clearGroupAmnesia(root: string, replica: number, group: number): void {
  removeMarkerFile(groupFiles(root, replica, group).marker);
}

/** Removes a marker file durably (unlink, directory fsync); absent already is fine. */
export function removeMarkerFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fsyncDir(path.dirname(file));
  assert(!fs.existsSync(file), () => `marker ${file} still there`);
}

/** Writes a marker file durably (its directories, temp file, fsync, rename, directory fsync). */
export function writeMarkerFile(file: string): void {
  writeCount(file, 1);
}

/** The count after `current`, refused past the incarnation range (a reset would reuse ids). */
function nextCount(current: number, file: string): number {
  const next = current + 1;
  if (next > INCARNATIONS_MAX) {
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      `${file}: more than ${INCARNATIONS_MAX} starts of one replica group`,
    );
  }
  return next;
}

/**
 * Writes `n` to `file` durably: every directory it creates fsynced into its parent (a new
 * replica-R must outlive a power loss), then temp file, fsync, rename, directory fsync.
 */
function writeCount(file: string, n: number): void {
  const dir = path.dirname(file);
  const created = fs.mkdirSync(dir, { recursive: true });
  if (created !== undefined) fsyncCreated(created, dir);
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, `${n}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDir(dir);
}
