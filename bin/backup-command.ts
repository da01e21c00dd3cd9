/**
 * `paxosstore backup` and `paxosstore restore` (README "Backups"):
 *
 *   paxosstore backup --dir DATA --to BACKUP [--rate BYTES_PER_SECOND] [--workers N]
 *                     [--follow [--flush-ms MS]]
 *   paxosstore backup (--dir DATA [--workers N] | --config CLUSTER.json) --to BACKUP --resume
 *                     [--flush-ms MS]
 *   paxosstore backup --config CLUSTER.json --to BACKUP [--rate BYTES_PER_SECOND]
 *                     [--follow [--flush-ms MS]]
 *   paxosstore restore --from BACKUP --dir NEW_DATA [--workers N] [--at ISO_TIME | --at seqs:S0,S1,...]
 *   paxosstore restore --from BACKUP --config NEW_CLUSTER.json --to ROOT [--set ID] [--workers N]
 *                      [--at ISO_TIME | --at seqs:S0,S1,...]
 *
 * With `--config`, the backup is of a running cluster (through its nodes, client/
 * cluster-backup.ts), and the restore builds one data dir per node of the new cluster file,
 * `ROOT/<node>` (client/cluster-restore.ts).
 *
 * `--follow` keeps shipping the journal's entries after the full copy (the store is opened
 * with `journal: true`) until SIGINT or SIGTERM, then writes a final flush and exits 0; a
 * `{"event":"follow",...}` line reports each time the point a restore can reach moves. The
 * follow ends *paused*: its journal cursor is kept, so `--resume` goes on later
 * without a new full copy (as it does after a kill -9 of this process). `--at` restores a
 * following backup to a time, or to one journal seq per group.
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
import type { BackupFollow, BackupProgress, RestorePoint, RestoreProgress } from '../index';
import { engineOptionsOf } from '../actors/store/restore';
import { loadClusterConfig } from '../cluster/cluster-config';
import { isClusterBackup } from '../client/cluster-backup';
import type { RemoteStore } from '../client/remote-store';

export const BACKUP_USAGE =
  '       paxosstore backup --dir DATA --to BACKUP [--rate BYTES_PER_SECOND] [--workers N] [--follow [--flush-ms MS]]\n' +
  '       paxosstore backup (--dir DATA [--workers N] | --config CLUSTER.json) --to BACKUP --resume [--flush-ms MS]\n' +
  '       paxosstore backup --config CLUSTER.json --to BACKUP [--rate BYTES_PER_SECOND] [--follow [--flush-ms MS]]\n' +
  '       paxosstore restore --from BACKUP --dir NEW_DATA [--workers N] [--at ISO_TIME | --at seqs:S0,S1,...]\n' +
  '       paxosstore restore --from BACKUP --config NEW_CLUSTER.json --to ROOT [--set ID] [--workers N] [--at ISO_TIME | --at seqs:S0,...]';

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

const FLAGS = new Set(['follow', 'resume']);

function parse(
  argv: string[],
  names: readonly string[],
): Record<string, string | boolean | undefined> | undefined {
  try {
    const options = Object.fromEntries(
      names.map((n) => [n, { type: FLAGS.has(n) ? ('boolean' as const) : ('string' as const) }]),
    );
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
    return positionals.length === 0
      ? (values as Record<string, string | boolean | undefined>)
      : undefined;
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
  follow: { flushMs: number | undefined } | undefined,
): Promise<number> {
  const cluster = loadClusterConfig(config);
  const nodes = cluster.sets.flatMap((s) => s.replicas.map((r) => r.address));
  const store = await PaxosStore.connect({ nodes, secret: cluster.secret });
  try {
    const onProgress = backupProgress();
    const report = await store.backup({
      to,
      ...(rate === undefined ? {} : { rate }),
      ...(follow === undefined ? {} : { follow: true }),
      ...(follow?.flushMs === undefined ? {} : { flushMs: follow.flushMs }),
      onProgress,
    });
    finishLine();
    const { follow: handle, ...copy } = report;
    const followed =
      handle === undefined ? {} : { follow: await followUntilSignal(handle, true), paused: true };
    console.log(JSON.stringify({ event: 'done', ...copy, ...followed }));
    return 0;
  } finally {
    await store.close();
  }
}

/** The store a resume runs on: embedded over `--dir`, or a cluster through `--config`. */
async function resumeTarget(v: Values): Promise<PaxosStore | RemoteStore | undefined> {
  const [dir, config] = [text(v, 'dir'), text(v, 'config')];
  const workers = workersOf(text(v, 'workers'));
  const extra = ['rate', 'follow'].some((n) => v[n] !== undefined);
  if ((dir === undefined) === (config === undefined) || workers === 'bad' || extra)
    return undefined;
  if (config !== undefined) {
    if (workers !== undefined) return undefined;
    const cluster = loadClusterConfig(config);
    const nodes = cluster.sets.flatMap((s) => s.replicas.map((r) => r.address));
    return PaxosStore.connect({ nodes, secret: cluster.secret });
  }
  const layout = recorded(dir as string);
  return PaxosStore.open({
    dir: dir as string,
    replicas: layout.replicas,
    groups: layout.groups,
    ...engineOptionsOf(layout.engine),
    workers: workers ?? 1,
    journal: true,
  });
}

/** `backup --to --resume`: goes on with a paused or killed follow (no new full copy). */
async function runResume(v: Values): Promise<number> {
  const to = text(v, 'to');
  const flushText = text(v, 'flush-ms');
  const flushMs = flushText === undefined ? undefined : Number(flushText);
  if (to === undefined) return usage();
  const store = await resumeTarget(v);
  if (store === undefined) return usage();
  try {
    const follow = await store.resumeBackup({ to, ...(flushMs === undefined ? {} : { flushMs }) });
    console.log(JSON.stringify({ event: 'resumed', dir: path.resolve(to), name: follow.name }));
    const report = await followUntilSignal(follow, true);
    console.log(JSON.stringify({ event: 'done', follow: report, paused: true }));
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * Follows until SIGINT or SIGTERM (then a final flush); a line each time `through` moves.
 * Answers the follow's final report. With `keepCursor` the follow ends paused (resumable).
 */
async function followUntilSignal(
  follow: BackupFollow,
  keepCursor = false,
): Promise<Record<string, unknown>> {
  const stop = (): void => void follow.stop({ keepCursor }).catch(() => undefined);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let shown: string | null = null;
  const timer = setInterval(() => {
    const s = follow.status();
    if (s.through === shown) return;
    shown = s.through;
    console.log(JSON.stringify({ event: 'follow', through: s.through, entries: s.entries }));
  }, 1000);
  try {
    const report = await follow.done;
    return { ...report };
  } finally {
    clearInterval(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

type Values = Record<string, string | boolean | undefined>;

function text(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

async function runBackup(v: Values): Promise<number> {
  if (v.resume === true) return runResume(v);
  const [dir, to, config] = [text(v, 'dir'), text(v, 'to'), text(v, 'config')];
  const follow = v.follow === true;
  const flushText = text(v, 'flush-ms');
  const flushMs = flushText === undefined ? undefined : Number(flushText);
  const rateText = text(v, 'rate');
  const rate = rateText === undefined ? undefined : Number(rateText);
  if (config !== undefined) {
    if (dir !== undefined || to === undefined || (rate !== undefined && !(rate > 0)))
      return usage();
    if (flushMs !== undefined && !follow) return usage();
    return runClusterBackup(config, to, rate, follow ? { flushMs } : undefined);
  }
  const workers = workersOf(text(v, 'workers'));
  if (
    dir === undefined ||
    to === undefined ||
    workers === 'bad' ||
    (rate !== undefined && !(rate > 0)) ||
    (flushMs !== undefined && !follow)
  )
    return usage();
  const layout = recorded(dir);
  const store = await PaxosStore.open({
    dir,
    replicas: layout.replicas,
    groups: layout.groups,
    ...engineOptionsOf(layout.engine),
    workers: workers ?? 1,
    ...(follow ? { journal: true } : {}),
  });
  try {
    const onProgress = backupProgress();
    const report = await store.backup({
      to,
      ...(rate === undefined ? {} : { rate }),
      ...(follow ? { follow, ...(flushMs === undefined ? {} : { flushMs }) } : {}),
      onProgress,
    });
    finishLine();
    const { follow: handle, ...copy } = report;
    const followed =
      handle === undefined ? {} : { follow: await followUntilSignal(handle, true), paused: true };
    console.log(JSON.stringify({ event: 'done', ...copy, ...followed }));
    return 0;
  } finally {
    await store.close();
  }
}

async function runClusterRestore(v: Values, at: RestorePoint | undefined): Promise<number> {
  const [from, config, to, set] = [
    text(v, 'from'),
    text(v, 'config'),
    text(v, 'to'),
    text(v, 'set'),
  ];
  const workers = workersOf(text(v, 'workers'));
  if (from === undefined || config === undefined || to === undefined || workers === 'bad')
    return usage();
  const show = reporter();
  const report = await PaxosStore.restoreCluster({
    from,
    config,
    to,
    ...(set === undefined ? {} : { set }),
    ...(workers === undefined ? {} : { workers }),
    ...(at === undefined ? {} : { at }),
    onProgress: (p) =>
      show(p.keys, p.keysTotal, { set: p.set, phase: p.phase, keys: `${p.keys}/${p.keysTotal}` }),
  });
  finishLine();
  console.log(JSON.stringify({ event: 'done', ...report }));
  return 0;
}

/** `--at`: an ISO time, or `seqs:S0,S1,...` (one journal seq per group). */
function pointOf(at: string | undefined): RestorePoint | undefined | 'bad' {
  if (at === undefined) return undefined;
  if (at.startsWith('seqs:')) {
    const seqs = at.slice(5).split(',').map(Number);
    return seqs.every((s) => Number.isInteger(s) && s >= 0) ? { seqs } : 'bad';
  }
  return Number.isNaN(Date.parse(at)) ? 'bad' : at;
}

async function runRestore(v: Values): Promise<number> {
  const [from, dir] = [text(v, 'from'), text(v, 'dir')];
  const at = pointOf(text(v, 'at'));
  if (v.config !== undefined)
    return dir === undefined && at !== 'bad' ? runClusterRestore(v, at) : usage();
  const workers = workersOf(text(v, 'workers'));
  if (from === undefined || dir === undefined || workers === 'bad' || at === 'bad') return usage();
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
    ...(at === undefined ? {} : { at }),
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
      ? ['dir', 'to', 'rate', 'workers', 'config', 'follow', 'flush-ms', 'resume']
      : ['from', 'dir', 'workers', 'config', 'to', 'set', 'at'],
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
