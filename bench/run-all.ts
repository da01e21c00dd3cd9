/**
 * Runs every bench and prints one summary with the targets beside each figure:
 *
 *   1. mailbox: SPSC ring vs postMessage (bench/mailbox.ts)
 *   2. kv-load, memory engine, workers 1 and N (N = os.availableParallelism())
 *   3. kv-load, lsm engine, sync 'batch', workers N
 *
 *   npm run bench                                   # 5 s phases
 *   node dist/bench/run-all.js --seconds 2 --keys 20000 [--clients 256] [--json]
 *
 * kv-load flags/env vars other than --engine/--sync/--workers pass through (see kv-load.ts).
 * Exits 0 whether or not targets are met (the summary says which); 1 only if a bench fails.
 */
import * as os from 'node:os';
import { runMailboxBench } from './mailbox';
import type { MailboxBenchResult } from './mailbox';
import { KV_LOAD_FLAGS, formatResult, kvLoadOptionsOf, runKvLoad } from './kv-load';
import { parseBenchArgsOrExit } from './cli-args';
import type { KvLoadOptions, KvLoadResult, RunResult } from './kv-load';

export const TARGETS = {
  mailboxRatio: 5,
  memoryWritesPerSecond: 100_000,
  memoryReadsPerSecond: 200_000,
  memoryWriteP99Ms: 10,
  lsmBatchWritesPerSecond: 30_000,
  workersScaling: 1.5,
} as const;

export interface RunAllResult {
  workersN: number;
  mailbox: MailboxBenchResult;
  memory: KvLoadResult;
  lsm: KvLoadResult;
  checks: Check[];
}

export interface Check {
  name: string;
  measured: number;
  target: string;
  pass: boolean;
  unit: string;
}

function cores(): number {
  return typeof os.availableParallelism === 'function'
    ? os.availableParallelism()
    : os.cpus().length;
}

function atLeast(name: string, measured: number, target: number, unit: string): Check {
  return { name, measured, target: `>= ${fmt(target, unit)}`, pass: measured >= target, unit };
}

function atMost(name: string, measured: number, target: number, unit: string): Check {
  return { name, measured, target: `<= ${fmt(target, unit)}`, pass: measured <= target, unit };
}

function fmt(n: number, unit: string): string {
  if (Number.isNaN(n)) return 'n/a';
  if (unit === 'x') return `${n.toFixed(2)}x`;
  if (unit === 'ms') return `${n.toFixed(2)} ms`;
  return `${Math.round(n).toLocaleString('en-US')} ${unit}`;
}

function byWorkers(r: KvLoadResult, w: number): RunResult {
  const run = r.runs.find((x) => x.workers === w);
  if (run === undefined) throw new Error(`no run with ${w} workers`);
  return run;
}

/** The figures against the issue-2/3 targets. */
function targetChecks(
  n: number,
  mailboxRatio: number,
  memory: KvLoadResult,
  lsm: KvLoadResult,
): Check[] {
  const memN = byWorkers(memory, n);
  const mem1 = byWorkers(memory, 1);
  const lsmN = byWorkers(lsm, n);
  const ops = (p: RunResult['write']) => p?.opsPerSecond ?? NaN;
  const checks: Check[] = [
    atLeast('mailbox ring / postMessage (one-way msg/s)', mailboxRatio, TARGETS.mailboxRatio, 'x'),
    atLeast(
      `memory writes/s (workers ${n})`,
      ops(memN.write),
      TARGETS.memoryWritesPerSecond,
      'ops/s',
    ),
    atLeast(
      `memory reads/s (workers ${n}, linearizable)`,
      ops(memN.read),
      TARGETS.memoryReadsPerSecond,
      'ops/s',
    ),
    atMost(
      `memory write p99 (workers ${n})`,
      memN.write?.p99Ms ?? NaN,
      TARGETS.memoryWriteP99Ms,
      'ms',
    ),
    atLeast(
      `lsm sync=batch writes/s (workers ${n})`,
      ops(lsmN.write),
      TARGETS.lsmBatchWritesPerSecond,
      'ops/s',
    ),
  ];
  if (n > 1) {
    checks.push(
      atLeast(
        `memory writes workers ${n} vs 1`,
        ops(memN.write) / ops(mem1.write),
        TARGETS.workersScaling,
        'x',
      ),
    );
    checks.push(
      atLeast(
        `memory reads workers ${n} vs 1`,
        ops(memN.read) / ops(mem1.read),
        TARGETS.workersScaling,
        'x',
      ),
    );
  }
  return checks;
}

export async function runAll(kv: KvLoadOptions = {}): Promise<RunAllResult> {
  const n = cores();
  const log = (s: string) => console.log(s);

  log('== mailbox: SPSC ring vs postMessage ==');
  const mailbox = await runMailboxBench();
  log(
    `ring ${fmt(mailbox.ring.oneWayMessagesPerSecond, 'msg/s')}, postMessage ${fmt(mailbox.postMessage.oneWayMessagesPerSecond, 'msg/s')}, ` +
      `ratio ${fmt(mailbox.throughputRatio, 'x')}; rtt p50 ${mailbox.ring.rttP50Micros.toFixed(1)} vs ${mailbox.postMessage.rttP50Micros.toFixed(1)} us\n`,
  );

  const workers = n > 1 ? [1, n] : [1];
  log(`== kv-load: memory engine, workers ${workers.join(',')} ==`);
  const memory = await runKvLoad({
    ...kv,
    engine: 'memory',
    sync: kv.sync ?? 'batch',
    workers,
    print: false,
  });
  log(formatResult(memory) + '\n');

  log(`== kv-load: lsm engine, sync batch, workers ${n} ==`);
  const lsm = await runKvLoad({ ...kv, engine: 'lsm', sync: 'batch', workers: [n], print: false });
  log(formatResult(lsm) + '\n');

  const checks = targetChecks(n, mailbox.throughputRatio, memory, lsm);
  return { workersN: n, mailbox, memory, lsm, checks };
}

export function formatChecks(r: RunAllResult): string {
  const w = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [
    `== summary (${r.workersN} cores available) ==`,
    `${'metric'.padEnd(w)}  ${'measured'.padStart(16)}  ${'target'.padStart(18)}  status`,
  ];
  for (const c of r.checks) {
    lines.push(
      `${c.name.padEnd(w)}  ${fmt(c.measured, c.unit).padStart(16)}  ${c.target.padStart(18)}  ${c.pass ? 'PASS' : 'MISS'}`,
    );
  }
  const missed = r.checks.filter((c) => !c.pass).length;
  lines.push(`${r.checks.length - missed}/${r.checks.length} targets met`);
  return lines.join('\n');
}

if (require.main === module) {
  const usage =
    "run-all [--flag value]... (kv-load's flags; --engine and --workers are ignored: run-all picks them)";
  const args = parseBenchArgsOrExit(
    'run-all',
    usage,
    KV_LOAD_FLAGS,
    process.argv.slice(2),
    (parsed) => kvLoadOptionsOf(parsed),
  );
  const { json, engine: _engine, workers: _workers, ...kv } = args;
  (async () => {
    const r = await runAll(kv);
    console.log(formatChecks(r));
    if (json) console.log(JSON.stringify(r, null, 2));
  })()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
