/**
 * `paxosstore backup` and `paxosstore restore` (README "Backups"):
 *
 *   paxosstore backup --dir DATA --to BACKUP [--rate BYTES_PER_SECOND] [--workers N]
 *   paxosstore backup --config CLUSTER.json --to BACKUP [--rate BYTES_PER_SECOND]
 *   paxosstore restore --from BACKUP --dir NEW_DATA [--workers N]
 *   paxosstore restore --from BACKUP --config NEW_CLUSTER.json --to ROOT [--set ID] [--workers N]
 *
 * With `--config`, the backup is of a running cluster (through its nodes, client/
 * cluster-backup.ts), and the restore builds one data dir per node of the new cluster file,
 * `ROOT/<node>` (client/cluster-restore.ts).
 *
 * Progress goes to stderr as a bar when stderr is a terminal, else to stdout as JSON lines
 * (`{"event":"progress",...}`); the last stdout line is `{"event":"done",...}` with the report.
 * Exit 0 on success; 1 with `CODE: message` on stderr on failure (CORRUPTED for a damaged
 * backup, LOCKED when another process has the data dir open, ...); 2 on bad usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PaxosStore } from '../index';
import type { BackupProgress, RestoreProgress } from '../index';
import { engineOptionsOf } from '../actors/store/restore';
import { loadClusterConfig } from '../cluster/cluster-config';
import { isClusterBackup } from '../client/cluster-backup';

export const BACKUP_USAGE =
  '       paxosstore backup --dir DATA --to BACKUP [--rate BYTES_PER_SECOND] [--workers N]\n' +
  '       paxosstore backup --config CLUSTER.json --to BACKUP [--rate BYTES_PER_SECOND]\n' +
  '       paxosstore restore --from BACKUP --dir NEW_DATA [--workers N]\n' +
  '       paxosstore restore --from BACKUP --config NEW_CLUSTER.json --to ROOT [--set ID] [--workers N]';

const BAR_WIDTH = 30;

function usage(): number {
  console.error(`usage:\n${BACKUP_USAGE}`);
  return 2;
}

/** A progress line: a bar on a terminal (stderr), JSON lines otherwise (stdout). */
function reporter(): (done: number, total: number, fields: Record<string, unknown>) => void {
  const tty = process.stderr.isTTY === true;
  return (done, total, fields) => {
    if (!tty) {
      console.log(JSON.stringify({ event: 'progress', ...fields }));
      return;
    }
    const filled =
      total === 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH));
    const text = Object.entries(fields)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join('  ');
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${text}   `);
  };
}

function finishLine(): void {
  if (process.stderr.isTTY === true) process.stderr.write('\n');
}

function parse(
  argv: string[],
  names: readonly string[],
): Record<string, string | undefined> | undefined {
  try {
    const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
    return positionals.length === 0 ? (values as Record<string, string | undefined>) : undefined;
  } catch {
    return undefined;
  }
}

function workersOf(text: string | undefined): number | undefined | 'bad' {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n : 'bad';
}

/** The layout `paxosstore.json` records; a dir without one is not a store. */
function recorded(dir: string): { replicas: number; groups: number; engine: string } {
  const file = path.join(dir, 'paxosstore.json');
  let r: { replicas?: unknown; groups?: unknown; engine?: unknown };
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof r;
  } catch (error) {
    throw Object.assign(
      new Error(
        `${file} cannot be read (${(error as Error).message}): is ${dir} a store's data dir?`,
      ),
      { code: 'INVALID_ARGUMENT' },
    );
  }
  if (
    typeof r.replicas !== 'number' ||
    typeof r.groups !== 'number' ||
    typeof r.engine !== 'string'
  ) {
    throw Object.assign(new Error(`${file} does not record replicas, groups and engine`), {
      code: 'INVALID_ARGUMENT',
    });
  }
  return { replicas: r.replicas, groups: r.groups, engine: r.engine };
}

function backupProgress(): (p: BackupProgress) => void {
  const show = reporter();
  return (p) =>
    show(p.groupsDone, p.groups, {
      groups: `${p.groupsDone}/${p.groups}`,
      keys: p.keys,
      bytes: p.bytes,
      reads: p.reads,
    });
}

/** A cluster's backup through its nodes (every node of the file is a seed). */
async function runClusterBackup(
  config: string,
  to: string,
  rate: number | undefined,
): Promise<number> {
  const cluster = loadClusterConfig(config);
  const nodes = cluster.sets.flatMap((s) => s.replicas.map((r) => r.address));
  const store = await PaxosStore.connect({ nodes, secret: cluster.secret });
  try {
    const onProgress = backupProgress();
    const report = await store.backup({ to, ...(rate === undefined ? {} : { rate }), onProgress });
    finishLine();
    console.log(JSON.stringify({ event: 'done', ...report }));
    return 0;
  } finally {
    await store.close();
  }
}

async function runBackup(v: Record<string, string | undefined>): Promise<number> {
  const { dir, to, config } = v;
  if (config !== undefined) {
    const rate = v.rate === undefined ? undefined : Number(v.rate);
    if (dir !== undefined || to === undefined || (rate !== undefined && !(rate > 0)))
      return usage();
    return runClusterBackup(config, to, rate);
  }
  const workers = workersOf(v.workers);
  const rate = v.rate === undefined ? undefined : Number(v.rate);
  if (
    dir === undefined ||
    to === undefined ||
    workers === 'bad' ||
    (rate !== undefined && !(rate > 0))
  )
    return usage();
  const layout = recorded(dir);
  const store = await PaxosStore.open({
    dir,
    replicas: layout.replicas,
    groups: layout.groups,
    ...engineOptionsOf(layout.engine),
    workers: workers ?? 1,
  });
  try {
    const onProgress = backupProgress();
    const report = await store.backup({ to, ...(rate === undefined ? {} : { rate }), onProgress });
    finishLine();
    console.log(JSON.stringify({ event: 'done', ...report }));
    return 0;
  } finally {
    await store.close();
  }
}

async function runClusterRestore(v: Record<string, string | undefined>): Promise<number> {
  const { from, config, to, set } = v;
  const workers = workersOf(v.workers);
  if (from === undefined || config === undefined || to === undefined || workers === 'bad')
    return usage();
  const show = reporter();
  const report = await PaxosStore.restoreCluster({
    from,
    config,
    to,
    ...(set === undefined ? {} : { set }),
    ...(workers === undefined ? {} : { workers }),
    onProgress: (p) =>
      show(p.keys, p.keysTotal, { set: p.set, phase: p.phase, keys: `${p.keys}/${p.keysTotal}` }),
  });
  finishLine();
  console.log(JSON.stringify({ event: 'done', ...report }));
  return 0;
}

async function runRestore(v: Record<string, string | undefined>): Promise<number> {
  const { from, dir } = v;
  if (v.config !== undefined) return dir === undefined ? runClusterRestore(v) : usage();
  const workers = workersOf(v.workers);
  if (from === undefined || dir === undefined || workers === 'bad') return usage();
  if (await isClusterBackup(from)) {
    throw Object.assign(
      new Error(
        `${from} is a cluster backup: restore it with --config NEW_CLUSTER.json --to ROOT (one dir per node)`,
      ),
      { code: 'INVALID_ARGUMENT' },
    );
  }
  const show = reporter();
  const onProgress = (p: RestoreProgress): void =>
    show(p.keys, p.keysTotal, { phase: p.phase, keys: `${p.keys}/${p.keysTotal}` });
  const report = await PaxosStore.restore({
    from,
    dir,
    ...(workers === undefined ? {} : { workers }),
    onProgress,
  });
  finishLine();
  console.log(JSON.stringify({ event: 'done', ...report }));
  return 0;
}

/** `paxosstore backup ...` or `paxosstore restore ...` (argv after the command); the exit code. */
export async function backupCommand(
  command: 'backup' | 'restore',
  argv: string[],
): Promise<number> {
  const values = parse(
    argv,
    command === 'backup'
      ? ['dir', 'to', 'rate', 'workers', 'config']
      : ['from', 'dir', 'workers', 'config', 'to', 'set'],
  );
  if (values === undefined) return usage();
  try {
    return command === 'backup' ? await runBackup(values) : await runRestore(values);
  } catch (error) {
    finishLine();
    const e = error as { code?: unknown; message?: unknown };
    console.error(`${typeof e.code === 'string' ? e.code : 'ERROR'}: ${String(e.message)}`);
    return 1;
  }
}
