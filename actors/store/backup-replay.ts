/**
 * Point-in-time restore (README "Backups", docs/decisions.md "Backups: follow and point-in-time
 * restore"): which shipped journal entries a restore `at` a point replays, and the pure fold of
 * one key's entries onto its full-copy state.
 *
 * A point is a time T (entries the serving replica applied at or before T) or one sync version
 * per group (entries with seq at or below it). Per key, the full copy's state comes first; an
 * entry at or below the state's version is already in it (the copy and the journal overlap:
 * the follow's cursors were registered before the copy began), an op entry is applied with the
 * models' own registry (the same pure `apply` every replica runs), a state entry is adopted.
 * Entries of one key always join up (the journal's rule: a replica that skipped ops writes a
 * state entry), so a gap means a damaged backup: CORRUPTED, never a guess.
 */
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { allModels } from '../../models/all-models';
import { JournalEntryKind } from '../paxos/journal-codec';
import { corrupted, MANIFEST_FILE } from './backup-format';
import type { BackedUpKey, BackupManifest } from './backup-format';
import type { ShippedEntry } from './backup-journal-format';
import { readFollow } from './backup-journal-read';
import { ErrorCodes, PaxosStoreError, describe, invalid } from './errors';

/** Where a restore stops: a time, or one journal seq (sync version) per group. */
export type RestorePoint = string | number | Date | { readonly seqs: readonly number[] };

type Point = { readonly time: number } | { readonly seqs: readonly number[] };

/** Entries a restore keeps in memory at most (they are folded group by group). */
export const REPLAY_ENTRIES_MAX = 4_000_000;

/** Per group, per key, the entries to replay in seq order. */
export type Replay = Map<number, Map<string, ShippedEntry[]>>;

function timeOf(at: string | number | Date): number {
  const t = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : at;
  if (!Number.isFinite(t)) throw invalid(`restore at ${describe(at)} is not a time`);
  return t;
}

/** Checks a point against what the backup holds; undefined: everything shipped. */
export function resolvePoint(at: RestorePoint | undefined, m: BackupManifest): Point | undefined {
  if (at === undefined) return undefined;
  const follow = m.follow;
  if (follow === undefined)
    throw invalid('restore at: this backup has no incremental part (made without follow)');
  if (typeof at === 'object' && !(at instanceof Date)) {
    const seqs = (at as { seqs?: unknown }).seqs;
    if (!Array.isArray(seqs) || seqs.length !== follow.groups.length)
      throw invalid(`restore at seqs must list one seq per group (${follow.groups.length})`);
    follow.groups.forEach((g, i) => {
      const s: unknown = seqs[i];
      if (typeof s !== 'number' || !Number.isInteger(s) || s < g.startSeq - 1 || s > g.shippedSeq)
        throw invalid(
          `restore at: group ${i} seq ${describe(s)} is outside ${g.startSeq - 1}..${g.shippedSeq}`,
        );
    });
    return { seqs: seqs as number[] };
  }
  const time = timeOf(at);
  const earliest = Date.parse(m.finishedAt);
  if (time < earliest)
    throw invalid(
      `restore at ${new Date(time).toISOString()} is before the full copy finished (${m.finishedAt})`,
    );
  if (follow.through === null || time > Date.parse(follow.through))
    throw invalid(
      `restore at ${new Date(time).toISOString()} is after the latest point this backup reached (${follow.through ?? 'none yet'})`,
    );
  return { time };
}

function included(e: ShippedEntry, point: Point | undefined): boolean {
  if (point === undefined) return true;
  if ('time' in point) return e.time <= point.time;
  const s = point.seqs[e.group];
  assert(s !== undefined, () => `no seq for group ${e.group}`);
  return e.seq <= s;
}

/** Reads (and checks) the backup's segments, keeping the entries up to `point`. */
export async function collectReplay(
  dir: string,
  m: BackupManifest,
  point: Point | undefined,
): Promise<{ replay: Replay; entries: number }> {
  const replay: Replay = new Map();
  let entries = 0;
  if (m.follow === undefined) return { replay, entries };
  await readFollow(dir, m, m.follow, (e) => {
    if (!included(e, point)) return;
    entries += 1;
    if (entries > REPLAY_ENTRIES_MAX)
      throw new PaxosStoreError(
        ErrorCodes.LIMIT_EXCEEDED,
        `restore at: more than ${REPLAY_ENTRIES_MAX} journal entries to replay; restore from a newer full backup`,
      );
    let keys = replay.get(e.group);
    if (keys === undefined) replay.set(e.group, (keys = new Map()));
    const list = keys.get(e.key);
    if (list === undefined) keys.set(e.key, [e]);
    else list.push(e);
  });
  return { replay, entries };
}

/**
 * The key's state after its entries (pure): a string names the problem (a gap, or an op that
 * does not apply) when the entries do not join up with the state.
 */
export function foldKey(
  base: { version: number; data: Uint8Array | null },
  entries: readonly ShippedEntry[],
): { version: number; data: Uint8Array | null } | string {
  let { version, data } = base;
  for (const e of entries) {
    if (e.version <= version) continue; // Already in the full copy (or a repeat).
    if (e.kind === JournalEntryKind.state) {
      if (e.fromVersion > version)
        return `group ${e.group} entry ${e.seq} jumps ${e.key} from ${e.fromVersion}, the backup holds ${version}`;
      data = e.bytes;
      version = e.version;
      continue;
    }
    if (e.fromVersion !== version || e.bytes === null)
      return `group ${e.group} entry ${e.seq} applies to ${e.key} at ${e.fromVersion}, the backup holds ${version}`;
    const out = allModels.apply(data, version, e.bytes);
    if (!out.mutated)
      return `group ${e.group} entry ${e.seq} does not apply to ${e.key} at version ${version}`;
    data = out.data;
    version += 1;
    assert(version === e.version, () => `fold of ${e.key} reached ${version}, not ${e.version}`);
  }
  return { version, data };
}

/** A key's state to install: its full-copy state with the entries replayed (or the copy's). */
export function replayed(
  dir: string,
  group: number,
  key: string,
  base: BackedUpKey | undefined,
  entries: readonly ShippedEntry[],
): BackedUpKey {
  const folded = foldKey(base ?? { version: 0, data: null }, entries);
  if (typeof folded === 'string') throw corrupted(path.join(dir, MANIFEST_FILE), folded);
  assert(folded.version >= 1 || base !== undefined, () => `replay of ${key} in group ${group}`);
  return {
    key,
    chosen: Math.max(1, base?.chosen ?? 1),
    version: folded.version,
    data: folded.data,
  };
}
