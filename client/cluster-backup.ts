/**
 * A full backup of a cluster (`store.backup({ to })` on a connected store, and `paxosstore
 * backup --config`): README "Backups", docs/decisions.md "Cluster backups, verify and repair".
 *
 * Layout: `to/set-NNNN/` holds the embedded backup of the N-th Set of the route table (the
 * same format, backup-format.ts, made by the same runBackup over the network: pages of each
 * group from a majority of the Set's replicas, the same per-key merge rule), and
 * `to/manifest.json`, written last, says what the whole is: kind `paxosstore-cluster-backup`,
 * format, start and end, the cluster layout (vnodes, groups per replica, replicas, engine, and
 * per Set its id, nodes, directory and the SHA-256 of its manifest). Its own `sha256` field
 * is the SHA-256 of its JSON without that field. A backup without it is unfinished.
 *
 * Guarantee: the Sets are backed up one after the other, each after this call began, so every
 * write acknowledged before the call is in its Set's backup (per key one chosen state, never
 * torn). The rate bound applies to each Set's run, and the runs do not overlap.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../runtime/assert';
import { runBackup } from '../actors/store/backup';
import type { BackupOptions, BackupProgress } from '../actors/store/backup';
import { MANIFEST_FILE, corrupted } from '../actors/store/backup-format';
import { invalid } from '../actors/store/errors';
import type { JournalSource } from '../actors/store/subscription';
import type { BackupFollow } from '../actors/store/backup-follow';
import type { SetAccess } from './set-context';
import { backupContextOf } from './set-context';
import { clusterFollow } from './cluster-follow';
import type { ClusterFollowState } from './cluster-follow';

export const CLUSTER_BACKUP_KIND = 'paxosstore-cluster-backup';
export const CLUSTER_BACKUP_FORMAT = 1;
/** Sets one cluster backup may hold (the route table's own bound is far lower in practice). */
const SETS_MAX = 1024;

export interface ClusterBackupSet {
  readonly id: string;
  readonly nodes: readonly string[];
  /** The Set's embedded backup, relative to the cluster backup's directory. */
  readonly dir: string;
  readonly manifestSha256: string;
}

export interface ClusterBackupManifest {
  readonly format: number;
  readonly kind: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly layout: {
    readonly vnodes: number;
    readonly groups: number;
    readonly replicas: number;
    readonly engine: string;
    readonly sets: readonly ClusterBackupSet[];
  };
  /**
   * A following backup only (cluster-follow.ts): `through` is the minimum over the Sets'. While
   * 'following', the Sets' manifests change after each flush: each is checked by its own
   * sha256, and `manifestSha256` only once 'stopped'.
   */
  readonly follow?: ClusterFollowState;
}

export interface ClusterBackupReport extends BackupProgress {
  readonly dir: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly sets: number;
  readonly files: number;
  readonly diverged: number;
  /** With `follow: true`: every Set's follow as one (stop it with `stop()` or the signal). */
  readonly follow?: BackupFollow;
}

/** What the connected store lends a cluster backup. */
export interface ClusterBackupSource {
  readonly vnodes: number;
  readonly engine: string;
  readonly sets: readonly {
    readonly id: string;
    readonly access: SetAccess;
    /** The journals of the Set's replica-0 node (a following backup reads them). */
    readonly journal?: JournalSource;
  }[];
}

export function setDirName(index: number): string {
  assert(Number.isInteger(index) && index >= 0 && index < SETS_MAX, () => `set ${index}`);
  return `set-${String(index).padStart(4, '0')}`;
}

async function prepareDir(to: string): Promise<void> {
  if (typeof to !== 'string' || to.length === 0 || to.includes('\u0000'))
    throw invalid('backup `to` must be a directory path');
  await fs.mkdir(to, { recursive: true }).catch((error: Error) => {
    throw invalid(`backup dir ${to} cannot be created: ${error.message}`);
  });
  const entries = await fs.readdir(to);
  if (entries.length > 0)
    throw invalid(`backup dir ${to} is not empty (${entries.length} entries); use a new directory`);
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Writes the manifest last, through a temp file and a rename (as backup-format.ts does). */
export async function writeClusterManifest(dir: string, m: ClusterBackupManifest): Promise<void> {
  const sha256 = createHash('sha256').update(JSON.stringify(m)).digest('hex');
  const tmp = path.join(dir, `.${MANIFEST_FILE}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify({ ...m, sha256 }, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path.join(dir, MANIFEST_FILE));
}

/** The Sets' manifests hashed now (a following backup rewrites them after each flush). */
export async function rehashed(
  to: string,
  sets: readonly ClusterBackupSet[],
): Promise<ClusterBackupSet[]> {
  const out: ClusterBackupSet[] = [];
  for (const s of sets)
    out.push({ ...s, manifestSha256: await sha256Of(path.join(to, s.dir, MANIFEST_FILE)) });
  return out;
}

type Totals = {
  groupsDone: number;
  keys: number;
  bytes: number;
  reads: number;
  files: number;
  diverged: number;
};

/** Backs up every Set in turn (with follow: each Set's follow starts after its copy). */
async function backupSets(
  source: ClusterBackupSource,
  options: BackupOptions,
  groups: number,
): Promise<{ sets: ClusterBackupSet[]; follows: BackupFollow[]; done: Totals }> {
  const to = options.to;
  const done: Totals = { groupsDone: 0, keys: 0, bytes: 0, reads: 0, files: 0, diverged: 0 };
  const sets: ClusterBackupSet[] = [];
  const follows: BackupFollow[] = [];
  try {
    for (const [index, set] of source.sets.entries()) {
      const dir = setDirName(index);
      const journal = set.journal === undefined ? {} : { journal: set.journal };
      const report = await runBackup(
        { ...backupContextOf(set.access, source.engine), ...journal },
        {
          ...options,
          to: path.join(to, dir),
          onProgress: (p) =>
            options.onProgress?.({
              groups,
              groupsDone: done.groupsDone + p.groupsDone,
              keys: done.keys + p.keys,
              bytes: done.bytes + p.bytes,
              reads: done.reads + p.reads,
            }),
        },
      );
      if (report.follow !== undefined) follows.push(report.follow);
      done.groupsDone += report.groupsDone;
      done.keys += report.keys;
      done.bytes += report.bytes;
      done.reads += report.reads;
      done.files += report.files;
      done.diverged += report.diverged;
      const manifestSha256 = await sha256Of(path.join(to, dir, MANIFEST_FILE));
      sets.push({ id: set.id, nodes: set.access.nodes, dir, manifestSha256 });
    }
  } catch (error) {
    // No cluster manifest: never restorable. The follows started are stopped, and the Sets'
    // directories removed so `to` can be used again (it was empty when the backup began).
    await Promise.all(follows.map((f) => f.stop().catch(() => undefined)));
    for (let i = 0; i < source.sets.length; i++)
      await fs.rm(path.join(to, setDirName(i)), { recursive: true, force: true });
    throw error;
  }
  return { sets, follows, done };
}

/** See the file comment. */
export async function backupCluster(
  source: ClusterBackupSource,
  options: BackupOptions,
): Promise<ClusterBackupReport> {
  const startedAt = new Date().toISOString();
  const to = options?.to;
  await prepareDir(to);
  const groups = source.sets.reduce((n, s) => n + s.access.groups, 0);
  const { sets, follows, done } = await backupSets(source, options, groups);
  const first = source.sets[0]?.access;
  assert(first !== undefined, 'a cluster has a Set');
  const finishedAt = new Date().toISOString();
  const layout = {
    vnodes: source.vnodes,
    groups: first.groups,
    replicas: first.nodes.length,
    engine: source.engine,
    sets,
  };
  const base = { format: CLUSTER_BACKUP_FORMAT, kind: CLUSTER_BACKUP_KIND, startedAt, finishedAt };
  const following = options.follow === true;
  const state: ClusterFollowState = { state: 'following', through: null };
  await writeClusterManifest(to, { ...base, layout, ...(following ? { follow: state } : {}) });
  const { files, diverged, ...progress } = done;
  const report = { ...progress, groups, dir: path.resolve(to), startedAt, finishedAt };
  if (!following) return { ...report, sets: sets.length, files, diverged };
  assert(follows.length === sets.length, 'a follow per Set');
  // docs/decisions.md "Cluster follow": the cluster manifest follows the Sets' `through`.
  const follow = clusterFollow(follows, first.groups, options.flushMs ?? 1000, async (s) =>
    writeClusterManifest(to, {
      ...base,
      layout: { ...layout, sets: await rehashed(to, sets) },
      follow: s,
    }),
  );
  return { ...report, sets: sets.length, files, diverged, follow };
}

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkLayout(v: unknown): string | undefined {
  if (!isObject(v)) return 'layout is not an object';
  const n = (x: unknown, lo: number, hi: number): boolean =>
    typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
  if (!n(v.vnodes, 1, 1 << 16) || !n(v.groups, 1, 4096) || !n(v.replicas, 1, 7))
    return 'layout has bad vnodes, groups or replicas';
  if (typeof v.engine !== 'string') return 'layout.engine is not a string';
  if (!Array.isArray(v.sets) || v.sets.length < 1 || v.sets.length > SETS_MAX)
    return 'layout.sets is not a list of Sets';
  for (const [i, s] of (v.sets as unknown[]).entries()) {
    if (!isObject(s) || typeof s.id !== 'string' || s.dir !== setDirName(i))
      return `layout.sets[${i}] is not Set ${i}`;
    if (!Array.isArray(s.nodes) || s.nodes.length !== v.replicas)
      return `layout.sets[${i}] does not list ${String(v.replicas)} nodes`;
    if (typeof s.manifestSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.manifestSha256))
      return `layout.sets[${i}] has a bad manifestSha256`;
  }
  return undefined;
}

/** The cluster manifest of `dir`, checked (and each Set's manifest against its hash). */
export async function readClusterManifest(dir: string): Promise<ClusterBackupManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw corrupted(file, error.code === 'ENOENT' ? 'is missing' : 'is unreadable');
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupted(file, 'is not valid JSON');
  }
  if (!isObject(parsed) || typeof parsed.sha256 !== 'string')
    throw corrupted(file, 'has no sha256 field');
  const { sha256, ...body } = parsed;
  if (createHash('sha256').update(JSON.stringify(body)).digest('hex') !== sha256)
    throw corrupted(file, 'does not match its sha256 (it was changed or damaged)');
  if (body.kind !== CLUSTER_BACKUP_KIND || body.format !== CLUSTER_BACKUP_FORMAT)
    throw corrupted(file, `is not a cluster backup of format ${CLUSTER_BACKUP_FORMAT}`);
  const problem = checkLayout(body.layout);
  if (problem !== undefined) throw corrupted(file, problem);
  const manifest = body as unknown as ClusterBackupManifest;
  const follow = body.follow as unknown;
  if (
    follow !== undefined &&
    (!isObject(follow) ||
      (follow.state !== 'following' && follow.state !== 'paused' && follow.state !== 'stopped') ||
      (follow.through !== null && typeof follow.through !== 'string'))
  )
    throw corrupted(file, 'has a malformed follow section');
  // A running follow rewrites the Sets' manifests: each is checked by its own sha256 then.
  if (manifest.follow?.state === 'following') return manifest;
  for (const s of manifest.layout.sets) {
    const setManifest = path.join(dir, s.dir, MANIFEST_FILE);
    const actual = await sha256Of(setManifest).catch(() => 'missing');
    if (actual !== s.manifestSha256)
      throw corrupted(setManifest, 'is missing or differs from the cluster manifest');
  }
  return manifest;
}

/** True when `dir` holds a cluster backup's manifest (rather than a Set's). */
export async function isClusterBackup(dir: string): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8').catch(() => '');
  try {
    return (JSON.parse(text) as { kind?: unknown }).kind === CLUSTER_BACKUP_KIND;
  } catch {
    return false;
  }
}
