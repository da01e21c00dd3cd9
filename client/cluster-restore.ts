/**
 * Restoring a cluster backup (cluster-backup.ts) into the data directories of a new cluster:
 * `PaxosStore.restoreCluster({ from, config, to })` and `paxosstore restore --from BACKUP
 * --config NEW_CLUSTER.json --to ROOT [--set ID]`. README "Backups", docs/decisions.md
 * "Cluster backups, verify and repair".
 *
 * Every chosen Set's backup is checked whole first (backup-read.ts), so a damaged backup
 * writes nothing. Then per Set: the Set's embedded backup is restored (restore.ts: every key
 * installed through Paxos, every replica verified aligned) into one staging
 * store under ROOT, then split: replica r's directory (with the placement record and replica
 * r's incarnation counts) becomes `ROOT/<node>`, where <node> is the r-th node of that Set in
 * the new cluster file. Each node is then started with `serve --dir ROOT/<node>` (or that
 * directory is copied to the node's machine first). One run builds every replica of a Set, so
 * the replicas hold the very same Paxos state: restoring the nodes one by one in separate runs
 * would give each its own proposal ids, and verify would find every key diverged.
 *
 * The new cluster must route keys as the old one did: the same Set ids, vnodes, replicas per
 * Set and groups (node names and addresses may differ). Anything else is refused
 * (INVALID_ARGUMENT) before anything is written.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadClusterConfig } from '../cluster/cluster-config';
import type { ClusterConfig } from '../cluster/cluster-config';
import { ClusterConfigError } from '../cluster/cluster-error';
import { invalid } from '../actors/store/errors';
import { restoreBackup } from '../actors/store/restore';
import { checkBackup } from '../actors/store/backup-read';
import { MANIFEST_FILE, corrupted } from '../actors/store/backup-format';
import type { OpenForRestore, RestoreProgress } from '../actors/store/restore';
import { resolvePoint } from '../actors/store/backup-replay';
import type { RestorePoint } from '../actors/store/backup-replay';
import { readClusterManifest } from './cluster-backup';
import type { ClusterBackupManifest } from './cluster-backup';

export interface ClusterRestoreOptions {
  /** The cluster backup directory. */
  readonly from: string;
  /** The new cluster's file (path). */
  readonly config: string;
  /** The root under which each node's data directory `<to>/<node>` is made. */
  readonly to: string;
  /** Restore only this Set (e.g. one machine per Set); default every Set. */
  readonly set?: string;
  readonly workers?: number;
  readonly onProgress?: (progress: RestoreProgress & { readonly set: string }) => void;
  /**
   * A following backup only: restore to this point, as embedded (restore.ts): a time applies
   * to every Set (each Set's replica 0's apply times), `{ seqs }` holds one seq per cluster
   * group (`setIndex × groups + g`, the numbering of a subscription through `connect`).
   */
  readonly at?: RestorePoint;
}

export interface ClusterRestoreReport {
  readonly to: string;
  readonly backupStartedAt: string;
  readonly keys: number;
  /** Per node restored, its data directory. */
  readonly nodes: { readonly node: string; readonly set: string; readonly dir: string }[];
}

function loadConfig(file: string): ClusterConfig {
  try {
    return loadClusterConfig(file);
  } catch (error) {
    if (error instanceof ClusterConfigError) throw invalid(error.message);
    throw error;
  }
}

/** The new cluster's Sets must place keys exactly as the backed-up one did. */
function checkSameRouting(m: ClusterBackupManifest, config: ClusterConfig): void {
  const { layout } = m;
  const ids = (xs: readonly { id: string }[]): string => xs.map((s) => s.id).join(',');
  if (ids(config.sets) !== ids(layout.sets))
    throw invalid(
      `the cluster file's Sets (${ids(config.sets)}) differ from the backup's (${ids(layout.sets)}): keys would route elsewhere`,
    );
  if (config.vnodes !== layout.vnodes)
    throw invalid(
      `the cluster file's vnodes ${config.vnodes} differ from the backup's ${layout.vnodes}`,
    );
  if (config.groups !== undefined && config.groups !== layout.groups)
    throw invalid(
      `the cluster file's groups ${config.groups} differ from the backup's ${layout.groups}`,
    );
  for (const s of config.sets) {
    if (s.replicas.length !== layout.replicas)
      throw invalid(`Set ${s.id} has ${s.replicas.length} replicas, the backup ${layout.replicas}`);
  }
}

async function mustBeEmpty(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw invalid(`${dir} cannot be read: ${error.message}`);
  });
  if (entries.length > 0) throw invalid(`${dir} is not empty; restore into new directories`);
}

/** Moves replica `replica` of the restored store in `staging` to its node's directory. */
async function splitReplica(staging: string, replica: number, nodeDir: string): Promise<void> {
  await fs.mkdir(path.join(nodeDir, 'incarnations'), { recursive: true });
  await fs.copyFile(path.join(staging, 'paxosstore.json'), path.join(nodeDir, 'paxosstore.json'));
  await fs.rename(
    path.join(staging, `replica-${replica}`),
    path.join(nodeDir, `replica-${replica}`),
  );
  const counts = await fs.readdir(path.join(staging, 'incarnations')).catch(() => [] as string[]);
  for (const name of counts.filter((n) => n.startsWith(`replica-${replica}.`)))
    await fs.copyFile(
      path.join(staging, 'incarnations', name),
      path.join(nodeDir, 'incarnations', name),
    );
}

/**
 * One Set's backup, checked whole, its layout against the cluster manifest's, and the point a
 * restore `at` asks of it (so a point one Set cannot reach is refused before anything is written).
 */
async function checkSetBackup(
  from: string,
  dir: string,
  cluster: ClusterBackupManifest,
  point: { at?: RestorePoint },
): Promise<void> {
  const m = await checkBackup(path.join(from, dir));
  resolvePoint(point.at, m);
  const { groups, replicas, engine } = cluster.layout;
  if (m.layout.groups !== groups || m.layout.replicas !== replicas || m.layout.engine !== engine)
    throw corrupted(
      path.join(from, dir, MANIFEST_FILE),
      `has layout ${JSON.stringify(m.layout)}, the cluster manifest says ${JSON.stringify({ replicas, groups, engine })}`,
    );
}

/** The point for Set `index` of a cluster-wide one: a time as is, its own groups' seqs. */
function setPoint(
  at: RestorePoint | undefined,
  index: number,
  m: ClusterBackupManifest,
): { at?: RestorePoint } {
  if (at === undefined) return {};
  if (typeof at !== 'object' || at instanceof Date || !Array.isArray(at.seqs)) return { at };
  const { groups, sets } = m.layout;
  if (at.seqs.length !== groups * sets.length)
    throw invalid(
      `restore at seqs needs one seq per cluster group (${groups * sets.length}), got ${at.seqs.length}`,
    );
  return { at: { seqs: at.seqs.slice(index * groups, (index + 1) * groups) } };
}

/** See the file comment. `open` is PaxosStore's (this module sits below it). */
export async function restoreCluster(
  options: ClusterRestoreOptions,
  open: OpenForRestore,
): Promise<ClusterRestoreReport> {
  if (typeof options !== 'object' || options === null)
    throw invalid('restore options must be an object with `from`, `config` and `to`');
  const manifest = await readClusterManifest(options.from);
  const config = loadConfig(options.config);
  checkSameRouting(manifest, config);
  const chosen = manifest.layout.sets.filter(
    (s) => options.set === undefined || s.id === options.set,
  );
  if (chosen.length === 0) throw invalid(`the backup has no Set ${String(options.set)}`);
  const targets = chosen.map((s) => {
    const set = config.sets.find((c) => c.id === s.id);
    if (set === undefined) throw invalid(`no Set ${s.id} in the cluster file`);
    const index = manifest.layout.sets.indexOf(s);
    const point = setPoint(options.at, index, manifest);
    return { backup: s, nodes: set.replicas.map((r) => r.node), point };
  });
  for (const t of targets) await checkSetBackup(options.from, t.backup.dir, manifest, t.point);
  for (const t of targets)
    for (const node of t.nodes) await mustBeEmpty(path.join(options.to, node));
  const restored: ClusterRestoreReport['nodes'] = [];
  let keys = 0;
  for (const t of targets) {
    const staging = path.join(options.to, `.restoring-${t.backup.dir}`);
    await fs.rm(staging, { recursive: true, force: true });
    const report = await restoreBackup(
      {
        from: path.join(options.from, t.backup.dir),
        dir: staging,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
        ...t.point,
        onProgress: (p) => options.onProgress?.({ ...p, set: t.backup.id }),
      },
      open,
    );
    keys += report.keys;
    for (const [replica, node] of t.nodes.entries()) {
      const dir = path.resolve(options.to, node);
      await splitReplica(staging, replica, dir);
      restored.push({ node, set: t.backup.id, dir });
    }
    await fs.rm(staging, { recursive: true, force: true });
  }
  return {
    to: path.resolve(options.to),
    backupStartedAt: manifest.startedAt,
    keys,
    nodes: restored,
  };
}
