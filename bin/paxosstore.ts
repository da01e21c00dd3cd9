#!/usr/bin/env node
/**
 * paxosstore — a small command-line tool over an embedded Set on disk.
 *
 *   paxosstore --dir ./data put <namespace> <key> <value>
 *   paxosstore --dir ./data get <namespace> <key>
 *   paxosstore --dir ./data incr <namespace> <key> [by]
 *   paxosstore --dir ./data delete <namespace> <key>
 *   paxosstore --dir ./data verify [--repair]     replica alignment; exit 3 on damage
 *   paxosstore --dir ./data stats                 per-replica counters
 *   paxosstore serve --config cluster.json --node n1 --dir data/n1   one cluster node
 *   paxosstore status --config cluster.json       one row per node of the cluster
 *   paxosstore verify --config cluster.json [--repair]   replica alignment of every Set
 *   paxosstore backup --dir DATA --to BACKUP      a full backup (bin/backup-command.ts)
 *   paxosstore restore --from BACKUP --dir NEW    a new data dir from a backup
 *   paxosstore journal --config cluster.json --name N [--from start|now] [--ack]
 *                                                 a subscriber printing JSON lines (client/journal-command.ts)
 *
 * Options may come before or after the command. A directory made by `PaxosStore.open` (any
 * engine, any `groups`) is opened with what its `paxosstore.json` records; a new directory
 * gets the library's defaults on the `lsm` engine (or `--engine`). `--sync` (default
 * 'always') and `--workers` (default 1) are the CLI's own.
 *
 * Output is one JSON line per command (or "(absent)"). Errors print `CODE: message` and exit 1;
 * bad usage exits 2.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PaxosStore } from '../index';
import type { KvNamespace, PaxosStoreOptions, VerifyReport } from '../index';
import { serve } from '../server/node-main';
import { status } from '../client/status-command';
import { JOURNAL_USAGE, journalCommand } from '../client/journal-command';
import { BACKUP_USAGE, backupCommand } from './backup-command';
import { loadClusterConfig } from '../cluster/cluster-config';

const USAGE =
  'usage: paxosstore --dir DIR [--engine lsm|bitcask|bitcask2|memory-persist] [--sync always|batch|none] [--workers N]\n' +
  '                  (put NS KEY VALUE | get NS KEY | incr NS KEY [BY] | delete NS KEY | verify [--repair] | stats)\n' +
  '       paxosstore verify --config CLUSTER.json [--repair]\n' +
  JOURNAL_USAGE +
  BACKUP_USAGE;

function usage(): never {
  console.error(USAGE);
  process.exit(2);
}

async function kvCommand(
  kv: KvNamespace,
  command: string,
  key: string,
  arg: string | undefined,
): Promise<void> {
  if (command === 'put' && arg !== undefined) console.log(JSON.stringify(await kv.put(key, arg)));
  else if (command === 'get') {
    const r = await kv.get(key);
    console.log(
      r === undefined
        ? '(absent)'
        : JSON.stringify({ value: r.value.toString(), version: r.version }),
    );
  } else if (command === 'incr')
    console.log(JSON.stringify(await kv.incr(key, arg === undefined ? 1 : Number(arg))));
  else if (command === 'delete') console.log(JSON.stringify(await kv.delete(key)));
  else usage();
}

function summary(report: VerifyReport): Record<string, unknown> {
  const kinds: Record<string, number> = {};
  for (const m of report.mismatches) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
  return {
    ok: report.ok,
    aligned: report.aligned,
    replicas: report.replicas.map((r) => ({
      replica: r.replica,
      up: r.up,
      keys: r.keys,
      corrupted: r.corrupted,
      digest: r.digest,
    })),
    mismatches: kinds,
    truncated: report.truncated,
    repaired: report.repaired,
    repairFailed: report.repairFailed,
    installed: report.installed,
  };
}

/** `verify --config`: every Set of a running cluster, through its nodes; exit 3 on damage. */
async function verifyCluster(configPath: string, repair: boolean): Promise<void> {
  const config = loadClusterConfig(configPath);
  const nodes = config.sets.flatMap((s) => s.replicas.map((r) => r.address));
  const store = await PaxosStore.connect({ nodes, secret: config.secret });
  try {
    const report = await store.verify({ repair });
    const { sets, ...totals } = report;
    console.log(
      JSON.stringify({
        ...totals,
        sets: sets.map((s) => ({ set: s.set, nodes: s.nodes, ...summary(s.report) })),
      }),
    );
    if (!report.ok) process.exitCode = 3;
  } finally {
    await store.close();
  }
}

/** Engine options for an engine label as `paxosstore.json` records it. */
function engineOptions(label: string): PaxosStoreOptions {
  if (label === 'memory-persist') return { engine: 'memory', persist: true };
  if (label === 'lsm' || label === 'bitcask' || label === 'bitcask2') return { engine: label };
  throw Object.assign(new Error(`unknown engine '${label}'`), { code: 'INVALID_ARGUMENT' });
}

/**
 * The placement a directory was made with (its `paxosstore.json`), so the CLI opens any store
 * the library made; undefined for a new directory. A garbled record is left to `open`, which
 * rejects it with a clear INVALID_ARGUMENT.
 */
function recordedPlacement(
  dir: string,
): { replicas?: number; groups?: number; engine?: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(text) as { replicas?: unknown; groups?: unknown; engine?: unknown };
    return {
      ...(typeof r.replicas === 'number' ? { replicas: r.replicas } : {}),
      ...(typeof r.groups === 'number' ? { groups: r.groups } : {}),
      ...(typeof r.engine === 'string' ? { engine: r.engine } : {}),
    };
  } catch {
    return undefined;
  }
}

function storeOptions(
  dir: string,
  values: { engine?: string; sync?: string; workers?: string },
): PaxosStoreOptions {
  const recorded = recordedPlacement(dir);
  const engine = values.engine ?? recorded?.engine ?? 'lsm';
  const sync = values.sync ?? 'always';
  if (sync !== 'always' && sync !== 'batch' && sync !== 'none') usage();
  const workers = values.workers === undefined ? 1 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) usage();
  return {
    dir,
    ...engineOptions(engine),
    sync,
    workers,
    ...(recorded?.replicas !== undefined ? { replicas: recorded.replicas } : {}),
    ...(recorded?.groups !== undefined ? { groups: recorded.groups } : {}),
  };
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        config: { type: 'string' },
        engine: { type: 'string' },
        sync: { type: 'string' },
        workers: { type: 'string' },
        repair: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch {
    usage();
  }
  const { values, positionals } = parsed;
  const [command, ns, key, arg] = positionals;
  if (values.config !== undefined) {
    if (command !== 'verify' || values.dir !== undefined || ns !== undefined) usage();
    return verifyCluster(values.config, values.repair === true);
  }
  if (values.help === true || values.dir === undefined) usage();
  if (command === undefined) usage();
  const admin = command === 'verify' || command === 'stats';
  if (!admin && (ns === undefined || key === undefined)) usage();
  const store = await PaxosStore.open(storeOptions(values.dir, values));
  try {
    if (command === 'verify') {
      const report = await store.verify({ repair: values.repair === true });
      console.log(JSON.stringify(summary(report)));
      if (!report.ok) process.exitCode = 3;
    } else if (command === 'stats') {
      console.log(JSON.stringify((await store.stats()).replicas));
    } else {
      await kvCommand(store.kv(ns as string), command, key as string, arg);
    }
  } finally {
    await store.close();
  }
}

const argv = process.argv.slice(2);
if (argv[0] === 'serve') {
  // A cluster node (server/node-main.ts): runs until SIGTERM.
  void serve(argv.slice(1)).then((code) => process.exit(code));
} else if (argv[0] === 'backup' || argv[0] === 'restore') {
  void backupCommand(argv[0], argv.slice(1)).then((code) => process.exit(code));
} else if (argv[0] === 'journal') {
  void journalCommand(argv.slice(1)).then((code) => process.exit(code));
} else if (argv[0] === 'status') {
  void status(argv.slice(1)).then((code) => process.exit(code));
} else {
  main(argv).catch((err: { code?: string; message: string }) => {
    console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
    process.exit(1);
  });
}
