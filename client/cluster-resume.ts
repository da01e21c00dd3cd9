/**
 * Resuming the follow of a cluster backup (`store.resumeBackup({ to })` on a connected store,
 * `paxosstore backup --config --to --resume`): each Set's follow resumes as an embedded one
 * does (actors/store/backup-follow-resume.ts: its cursor kept every entry after the Set
 * manifest's shipped seqs), and the whole is one follow again (cluster-follow.ts) that keeps
 * the cluster manifest's `through` at the minimum over Sets. docs/decisions.md "Resuming a
 * backup follow".
 */
import * as path from 'node:path';
import { resolveResume, resumeFollow } from '../actors/store/backup-follow-resume';
import type { ResumeBackupOptions } from '../actors/store/backup-follow-resume';
import type { BackupFollow } from '../actors/store/backup-follow';
import { ErrorCodes, PaxosStoreError, checked, invalid } from '../actors/store/errors';
import type { ClusterBackupSource } from './cluster-backup';
import { readClusterManifest, rehashed, writeClusterManifest } from './cluster-backup';
import { clusterFollow } from './cluster-follow';

/** The Sets of the backup must be this cluster's, in route-table order. */
function checkSameCluster(
  to: string,
  source: ClusterBackupSource,
  sets: readonly { id: string }[],
  groups: number,
): void {
  const ids = source.sets.map((s) => s.id);
  const same = sets.length === ids.length && sets.every((s, i) => s.id === ids[i]);
  const groupsNow = source.sets[0]?.access.groups;
  if (!same || groupsNow !== groups)
    throw invalid(
      `the backup in ${to} is of Sets ${sets.map((s) => s.id).join(',')} with ${groups} groups; this cluster has ${ids.join(',')} with ${String(groupsNow)}`,
    );
}

/** See the file comment. */
export async function resumeCluster(
  source: ClusterBackupSource,
  options: ResumeBackupOptions,
): Promise<BackupFollow> {
  const settings = checked('resumeBackup', () => resolveResume(options));
  const to = settings.to;
  const manifest = await readClusterManifest(to);
  if (manifest.follow === undefined || manifest.follow.state === 'stopped')
    throw new PaxosStoreError(
      ErrorCodes.INVALID_ARGUMENT,
      manifest.follow === undefined
        ? `the backup in ${to} was made without follow: there is nothing to resume`
        : `the follow of the backup in ${to} was stopped and its cursors removed: take a new backup`,
    );
  checkSameCluster(to, source, manifest.layout.sets, manifest.layout.groups);
  const follows: BackupFollow[] = [];
  try {
    for (const [i, s] of manifest.layout.sets.entries()) {
      const journal = source.sets[i]?.journal;
      if (journal === undefined) throw invalid(`Set ${s.id} has no journal source`);
      follows.push(await resumeFollow(path.join(to, s.dir), journal, settings));
    }
  } catch (error) {
    // The Sets resumed so far pause again: their cursors stay for the next attempt.
    await Promise.all(follows.map((f) => f.stop({ keepCursor: true }).catch(() => undefined)));
    throw error;
  }
  const { follow: _state, ...base } = manifest;
  const write = async (s: { state: 'following' | 'paused' | 'stopped'; through: string | null }) =>
    writeClusterManifest(to, {
      ...base,
      layout: { ...base.layout, sets: await rehashed(to, base.layout.sets) },
      follow: s,
    });
  await write({ state: 'following', through: manifest.follow.through });
  return clusterFollow(follows, manifest.layout.groups, settings.flushMs, write);
}
