/**
 * Resuming the follow of a backup (`store.resumeBackup({ to })`, `paxosstore backup --resume`)
 * without a new full copy: after a kill of the process that followed, a store that closed
 * under it, or a pause (`follow.stop({ keepCursor: true })`). docs/decisions.md "Resuming a
 * backup follow".
 *
 * What makes it safe: the follow's cursor (`backup:<id>`) is acknowledged only after the
 * manifest that records the shipped entries is durable, so every entry after the manifest's
 * `shippedSeq` is still retained in its group's journal, or the journal answers
 * SUBSCRIPTION_EXPIRED (trimmed past it, or a new epoch). Checks before anything is written:
 * the manifest (sha256), the store's layout, each group's epoch and retained range, and the last
 * segment's bytes against the recorded sha256. Then bytes past the recorded size (a flush that
 * never reached its manifest) are cut, a segment the manifest does not list is removed, and the
 * follow goes on into a new segment.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import type { JournalSource } from './subscription';
import { corrupted, writeManifest } from './backup-format';
import type { BackupFile, BackupManifest } from './backup-format';
import { readManifest } from './backup-read';
import { segmentName, SEGMENTS_MAX } from './backup-journal-format';
import type { FollowGroup, FollowManifest } from './backup-journal-format';
import { checkBackupDir, checkFollowSettings, openCursor, startFollow } from './backup-follow';
import type { BackupFollow, FollowSettings } from './backup-follow';
import { ErrorCodes, PaxosStoreError, checked, invalid } from './errors';

const HASH_CHUNK_BYTES = 1024 * 1024;

/** The manifest of a follow that can go on, or why not. */
async function resumableManifest(
  dir: string,
  groups: number,
): Promise<{ base: BackupManifest; follow: FollowManifest }> {
  const manifest = await readManifest(dir);
  const { follow, ...base } = manifest;
  if (follow === undefined)
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      `the backup in ${dir} was made without follow: there is nothing to resume`,
    );
  if (follow.state === 'stopped')
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      `the follow of the backup in ${dir} was stopped and its cursor removed: take a new backup (pause with stop({ keepCursor: true }) to resume later)`,
    );
  if (base.layout.groups !== groups)
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      `the backup in ${dir} has ${base.layout.groups} groups, this store ${groups}: not its backup`,
    );
  return { base, follow };
}

/** Each group's cursor must still hold every entry after what the manifest shipped. */
async function checkCursors(
  dir: string,
  source: JournalSource,
  follow: FollowManifest,
): Promise<void> {
  for (const g of follow.groups) {
    const r = await openCursor(source, g.group, follow.name, 'existing');
    if (r.epoch !== g.epoch)
      throw new PaxosStoreError(
        ErrorCodes.SUBSCRIPTION_EXPIRED,
        `backup follow, group ${g.group}: the journal started over (epoch ${r.epoch}, followed ${g.epoch}): take a new backup`,
      );
    // The cursor moves only after a manifest that records it: a newer cursor means this
    // manifest is older than the follow (a copied or restored backup directory).
    if (r.acked > g.shippedSeq)
      throw corrupted(
        path.join(dir, 'manifest.json'),
        `records group ${g.group} shipped through ${g.shippedSeq}, but its follow acknowledged ${r.acked} (an older copy of the backup?)`,
      );
    if (r.first > g.shippedSeq + 1)
      throw new PaxosStoreError(
        ErrorCodes.SUBSCRIPTION_EXPIRED,
        `backup follow, group ${g.group}: entries after ${g.shippedSeq} were trimmed: take a new backup`,
      );
  }
}

async function hashPrefix(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(HASH_CHUNK_BYTES, Math.max(1, bytes)));
    for (let at = 0; at < bytes;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, bytes - at), at);
      if (bytesRead === 0) throw corrupted(file, `is shorter than the ${bytes} bytes recorded`);
      hash.update(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Cuts the last segment back to its manifest and removes a segment the manifest never listed. */
async function trimSegments(dir: string, segments: readonly BackupFile[]): Promise<void> {
  const last = segments[segments.length - 1];
  if (last !== undefined) {
    const file = path.join(dir, last.name);
    if ((await hashPrefix(file, last.bytes)) !== last.sha256)
      throw corrupted(file, 'does not match the sha256 its manifest records');
    await fs.truncate(file, last.bytes);
  }
  if (segments.length < SEGMENTS_MAX) {
    const unlisted = path.join(dir, segmentName(segments.length + 1));
    await fs.rm(unlisted, { force: true });
  }
  const dirHandle = await fs.open(dir, 'r').catch(() => undefined);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close();
}

/** See the file comment. The follow's first flush comes within `settings.flushMs`. */
export async function resumeFollow(
  dir: string,
  source: JournalSource,
  settings: FollowSettings,
): Promise<BackupFollow> {
  const { base, follow } = await resumableManifest(dir, source.groups);
  await checkCursors(dir, source, follow);
  await trimSegments(dir, follow.segments);
  const groups: FollowGroup[] = follow.groups.map((g) => ({ ...g }));
  assert(groups.length === source.groups, 'a follow position per group');
  const resumed: FollowManifest = { ...follow, groups, state: 'following' };
  await writeManifest(dir, { ...base, follow: resumed });
  return startFollow(dir, source, base, resumed, settings);
}

export interface ResumeBackupOptions {
  /** The directory of a following backup whose follow was killed, lost its store, or paused. */
  readonly to: string;
  /** How often entries are flushed to the backup, in ms (default 1000). */
  readonly flushMs?: number;
  /** Aborting it stops the follow after a final flush (like `follow.stop()`). */
  readonly signal?: AbortSignal;
}

const RESUME_OPTION_NAMES = new Set(['to', 'flushMs', 'signal']);

/** The checked options of a resume (embedded or cluster), with the default flushMs. */
export function resolveResume(options: ResumeBackupOptions): FollowSettings & { to: string } {
  if (typeof options !== 'object' || options === null)
    throw invalid('resumeBackup options must be an object with `to`');
  for (const k of Object.keys(options))
    if (!RESUME_OPTION_NAMES.has(k)) throw invalid(`unknown resumeBackup option '${k}'`);
  const { to, flushMs, signal } = options;
  checkBackupDir('resumeBackup', to);
  checkFollowSettings('resumeBackup', flushMs, signal);
  return { to, flushMs: flushMs ?? 1000, signal };
}

/** `store.resumeBackup(options)`: validates, then resumeFollow on the store's journal. */
export async function resumeBackup(
  source: JournalSource | undefined,
  options: ResumeBackupOptions,
): Promise<BackupFollow> {
  const o = checked('resumeBackup', () => resolveResume(options));
  if (source === undefined)
    throw invalid(
      'resumeBackup needs a store that keeps a journal: open it with `journal: true` (a durable engine)',
    );
  return resumeFollow(o.to, source, o);
}
