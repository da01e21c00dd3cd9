#!/usr/bin/env node
/**
 * paxosstore — a small command-line tool over an embedded Set on disk (lsm engine).
 *
 *   paxosstore --dir ./data put <namespace> <key> <value>
 *   paxosstore --dir ./data get <namespace> <key>
 *   paxosstore --dir ./data incr <namespace> <key> [by]
 *   paxosstore --dir ./data delete <namespace> <key>
 *   paxosstore --dir ./data verify [--repair]     replica alignment; exit 3 on damage
 *   paxosstore --dir ./data stats                 per-replica counters
 *
 * Output is one JSON line per command (or "(absent)"). Errors print `CODE: message` and exit 1;
 * bad usage exits 2.
 */
import { PaxosStore } from '../index';
import type { KvNamespace, VerifyReport } from '../index';

const USAGE =
  'usage: paxosstore --dir DIR (put NS KEY VALUE | get NS KEY | incr NS KEY [BY] | delete NS KEY | verify [--repair] | stats)';

function usage(): never {
  console.error(USAGE);
  process.exit(2);
}

async function kvCommand(kv: KvNamespace, command: string, key: string, arg: string | undefined): Promise<void> {
  if (command === 'put' && arg !== undefined) console.log(JSON.stringify(await kv.put(key, arg)));
  else if (command === 'get') {
    const r = await kv.get(key);
    console.log(r === undefined ? '(absent)' : JSON.stringify({ value: r.value.toString(), version: r.version }));
  } else if (command === 'incr') console.log(JSON.stringify(await kv.incr(key, arg === undefined ? 1 : Number(arg))));
  else if (command === 'delete') console.log(JSON.stringify(await kv.delete(key)));
  else usage();
}

function summary(report: VerifyReport): Record<string, unknown> {
  const kinds: Record<string, number> = {};
  for (const m of report.mismatches) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
  return {
    ok: report.ok,
    aligned: report.aligned,
    replicas: report.replicas.map((r) => ({ replica: r.replica, up: r.up, keys: r.keys, corrupted: r.corrupted, digest: r.digest })),
    mismatches: kinds,
    truncated: report.truncated,
    repaired: report.repaired,
    repairFailed: report.repairFailed,
    installed: report.installed,
  };
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--dir');
  if (argv.includes('--help') || at === -1 || argv[at + 1] === undefined) usage();
  const dir = argv[at + 1] as string;
  const rest = argv.filter((_, i) => i !== at && i !== at + 1);
  const [command, ns, key, arg] = rest;
  if (command === undefined) usage();
  const admin = command === 'verify' || command === 'stats';
  if (!admin && (ns === undefined || key === undefined)) usage();
  const store = await PaxosStore.open({ engine: 'lsm', dir, sync: 'always', workers: 1, groups: 4 });
  try {
    if (command === 'verify') {
      const report = await store.verify({ repair: rest.includes('--repair') });
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

main(process.argv.slice(2)).catch((err: { code?: string; message: string }) => {
  console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
  process.exit(1);
});
