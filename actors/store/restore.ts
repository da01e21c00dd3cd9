/**
 * `restoreBackup({ from, dir })`: a data directory built from a backup (README "Backups",
 * docs/decisions.md "Backups").
 *
 * 1. The whole backup is checked first (backup-read.ts: manifest, every file's size and
 *    SHA-256, every frame): a damaged or incomplete backup is refused with CORRUPTED naming
 *    the file, before anything is written.
 * 2. A new store with the backup's layout and engine is opened in a temporary sibling of `dir`,
 *    and each key's state goes in through Paxos as install ops (models/install-op.ts) on the
 *    empty key: data and version exactly as backed up, on every replica that accepts them.
 * 3. `verify({ repair: true })` brings any replica that missed an install up to date, and a
 *    last `verify()` must find every replica aligned and holding every key.
 * 4. The store is closed and the directory renamed to `dir`: `dir` never holds half a restore.
 *
 * What is not carried over: Paxos instance numbers (a restored key starts again, at instance 2),
 * and the at-most-once windows (the ids of recent requests): a write retried across a restore
 * is a new write.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import { InstallStatus, encodeInstallOp } from '../../models/install-op';
import type { ClientResult } from '../paxos/core/types';
import { readGroup, checkBackup } from './backup-read';
import type { BackedUpKey, BackupLayout, BackupManifest } from './backup-format';
import { ErrorCodes, PaxosStoreError, checked, invalid } from './errors';
import type { PaxosStoreOptions } from './options';
import type { RequestBody } from './request-pipeline';
import { runBounded } from './verify-install';
import type { VerifyReport } from './verify';
import { collectReplay, replayed, resolvePoint } from './backup-replay';
import type { Replay, RestorePoint } from './backup-replay';

export interface RestoreProgress {
  readonly phase: 'check' | 'install' | 'verify';
  readonly keys: number;
  readonly keysTotal: number;
}

export interface RestoreOptions {
  /** The backup directory (made by `store.backup` or `paxosstore backup`). */
  readonly from: string;
  /** The new data directory: must not exist, or be empty. */
  readonly dir: string;
  /** Worker threads of the store that does the restore (default: available cores). */
  readonly workers?: number;
  readonly onProgress?: (progress: RestoreProgress) => void;
  /**
   * A following backup only: restore to this point, a time (ISO string, ms or Date: every
   * entry the followed replica applied at or before it) or `{ seqs }` (one journal seq per
   * group). Default: everything the backup holds. README "Backups".
   */
  readonly at?: RestorePoint;
}

export interface RestoreReport {
  readonly dir: string;
  readonly layout: BackupLayout;
  readonly keys: number;
  /** When the backup began (its guarantee holds for writes acknowledged before then). */
  readonly backupStartedAt: string;
  /** Journal entries replayed onto the full copy (0 for a backup without follow). */
  readonly entries: number;
}

/** What restore needs of a store (PaxosStore.restoreContext): its request path and verify. */
export interface RestoreTarget {
  call(body: RequestBody): Promise<ClientResult>;
  verify(options?: { repair?: boolean }): Promise<VerifyReport>;
  close(): Promise<void>;
}

export type OpenForRestore = (options: PaxosStoreOptions) => Promise<RestoreTarget>;

const OPTION_NAMES = new Set(['from', 'dir', 'workers', 'onProgress', 'at']);
/** Keys read from the backup before their installs are sent (32 in flight, verify-install.ts). */
const INSTALL_BATCH = 256;
const INSTALL_ATTEMPTS = 5;
const REPAIR_ROUNDS = 3;

function resolve(options: RestoreOptions): RestoreOptions {
  if (typeof options !== 'object' || options === null)
    throw invalid('restore options must be an object with `from` and `dir`');
  for (const k of Object.keys(options))
    if (!OPTION_NAMES.has(k)) throw invalid(`unknown restore option '${k}'`);
  const isPath = (p: unknown): p is string =>
    typeof p === 'string' && p.length > 0 && p.length <= 4096 && !p.includes('\u0000');
  if (!isPath(options.from)) throw invalid('restore `from` must be a backup directory');
  if (!isPath(options.dir)) throw invalid('restore `dir` must be a directory path');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw invalid('restore onProgress must be a function');
  if (path.resolve(options.from) === path.resolve(options.dir))
    throw invalid('restore `dir` must differ from `from`');
  return options;
}

/** Engine options for an engine label as `paxosstore.json` records it. */
export function engineOptionsOf(label: string): PaxosStoreOptions {
  if (label === 'memory-persist') return { engine: 'memory', persist: true };
  if (label === 'lsm' || label === 'bitcask' || label === 'bitcask2') return { engine: label };
  throw invalid(`unknown engine '${label}'`);
}

/** `dir` must not exist or be empty: a restore never mixes with other data. */
async function checkTarget(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw invalid(`restore dir ${dir} cannot be read: ${error.message}`);
  });
  if (entries.length > 0)
    throw invalid(
      `restore dir ${dir} is not empty (${entries.length} entries); restore into a new directory`,
    );
}

/**
 * Installs one key, twice. The first install (on the empty key, instance 0) is chosen at
 * instance 1. Chosen-only changes are not written (docs/decisions.md 3): on disk, the replicas
 * that did not propose it hold it only as an accepted value, and after a reopen they would
 * read the key as absent with `consistency: 'local'` until its next access. The second install
 * of the same state (on instance 1) makes every replica that accepts it write its record with
 * instance 1 applied: after a reopen each one reads the backed-up state, even locally.
 */
async function installOne(target: RestoreTarget, k: BackedUpKey): Promise<void> {
  for (const expectChosen of [0, 1]) {
    const op = encodeInstallOp({ expectChosen, version: k.version, data: k.data, recent: [] });
    await installOnce(target, k.key, op);
  }
}

async function installOnce(target: RestoreTarget, key: string, op: Uint8Array): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < INSTALL_ATTEMPTS; attempt++) {
    const res = await target
      .call({ kind: 'write', key, op })
      .catch((error: Error) => ({ ok: false as const, message: error.message }));
    if (res.ok && res.result[0] === InstallStatus.installed) return;
    // A retry finding the key written was our own earlier attempt (nothing else writes here).
    if (res.ok && res.result[0] === InstallStatus.stale && attempt > 0) return;
    if (res.ok)
      throw new PaxosStoreError(
        ErrorCodes.CORRUPTED,
        `backup holds key ${JSON.stringify(key)} twice (install answered ${res.result[0]})`,
      );
    last = res.message;
  }
  throw new PaxosStoreError(
    ErrorCodes.UNAVAILABLE,
    `restore could not install ${JSON.stringify(key)}: ${last}`,
  );
}

async function installAllKeys(
  target: RestoreTarget,
  from: string,
  manifest: BackupManifest,
  replay: Replay,
  progress: (keys: number) => void,
): Promise<number> {
  let keys = 0;
  let batch: BackedUpKey[] = [];
  const flush = async (): Promise<void> => {
    const jobs = batch;
    batch = [];
    await runBounded(jobs, (k) => installOne(target, k));
    keys += jobs.length;
    progress(keys);
  };
  const add = async (k: BackedUpKey): Promise<void> => {
    batch.push(k);
    if (batch.length >= INSTALL_BATCH) await flush();
  };
  for (const g of manifest.groups) {
    // Keys with journal entries get them replayed; keys only the journal knows come after.
    const entries = replay.get(g.group) ?? new Map<string, never[]>();
    await readGroup(from, manifest, g, async (k) => {
      const mine = entries.get(k.key);
      entries.delete(k.key);
      await add(mine === undefined ? k : replayed(from, g.group, k.key, k, mine));
    });
    for (const [key, mine] of entries) await add(replayed(from, g.group, key, undefined, mine));
  }
  await flush();
  return keys;
}

/** Repairs until every replica holds every key at one state (bounded rounds). */
async function alignReplicas(target: RestoreTarget, keys: number): Promise<void> {
  let report: VerifyReport | undefined;
  for (let round = 0; round < REPAIR_ROUNDS; round++) {
    report = await target.verify();
    if (report.aligned && report.replicas.every((r) => r.keys === keys)) return;
    await target.verify({ repair: true });
  }
  report = await target.verify();
  if (report.aligned && report.replicas.every((r) => r.keys === keys)) return;
  const held = report.replicas.map((r) => r.keys).join(', ');
  throw new PaxosStoreError(
    ErrorCodes.UNAVAILABLE,
    `restore: replicas did not align (keys per replica ${held}, expected ${keys})`,
  );
}

/** See the file comment. `open` is PaxosStore's (passed in: this module sits below it). */
export async function restoreBackup(
  options: RestoreOptions,
  open: OpenForRestore,
): Promise<RestoreReport> {
  const o = checked('restore', () => resolve(options));
  const report = (phase: RestoreProgress['phase'], keys: number, keysTotal: number): void =>
    o.onProgress?.({ phase, keys, keysTotal });
  await checkTarget(o.dir);
  const manifest = await checkBackup(o.from);
  const point = resolvePoint(o.at, manifest);
  const { replay, entries } = await collectReplay(o.from, manifest, point);
  let keysTotal = manifest.groups.reduce((n, g) => n + g.keys, 0);
  report('check', 0, keysTotal);
  const dir = path.resolve(o.dir);
  const staging = `${dir}.restoring-${process.pid}-${randomBytes(4).toString('hex')}`;
  const { replicas, groups, engine } = manifest.layout;
  const workers = o.workers === undefined ? {} : { workers: o.workers };
  let target: RestoreTarget | undefined;
  try {
    target = await open({ dir: staging, replicas, groups, ...engineOptionsOf(engine), ...workers });
    const keys = await installAllKeys(target, o.from, manifest, replay, (n) =>
      report('install', n, keysTotal),
    );
    assert(keys >= keysTotal, () => `restored ${keys} of ${keysTotal} keys`);
    keysTotal = keys; // Keys the journal added after the full copy.
    report('verify', keys, keysTotal);
    await alignReplicas(target, keysTotal);
    await target.close();
    target = undefined;
    await checkTarget(o.dir);
    await fs.rm(dir, { recursive: true, force: true }); // an empty dir (checked just above)
    await fs.rename(staging, dir);
    return { dir, layout: manifest.layout, keys, backupStartedAt: manifest.startedAt, entries };
  } catch (error) {
    await target?.close().catch(() => undefined);
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}
