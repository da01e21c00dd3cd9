/**
 * kv-load for two builds in one process, slice by slice: the A/B of the whole store (client
 * thread, workers, the collector's threads) that separate kv-load runs on a shared machine
 * cannot give. Runs minutes apart on this 2-core machine differ by more than the changes we
 * measure (the same build gave 26k–54k writes/s in one hour: bench/README "Tenth session").
 *
 * Each build (a `dist` directory) is loaded as its own modules and opens its own store (its
 * own workers). After a warm-up slice each, the two take turns: one slice of `--slice-seconds`
 * of closed-loop load on A, then on B (the order flips every pair), so both see the same
 * neighbours and the same CPU frequency. Each slice's figures are kv-load's (process CPU per
 * op, ops/s, p99), taken while the other store is idle. Half the pairs run with A's store
 * opened first, half (after both are closed and opened again) with B's: in A/A runs the store
 * opened second was the cheaper one in 8 of 8 pairs.
 *
 *   node dist/bench/kv-load-ab.js --a /tmp/base/dist [--b dist] [--phase write|read]
 *     [--slices 12] [--slice-seconds 2] [--keys 100000] [--clients 256] [--workers 2]
 *     [--engine memory|bitcask|bitcask2|lsm] [--persist] [--sync batch] [--threads]
 *
 * What the slices share: the process. The idle store's threads cost a little (their ticks),
 * alike for both, and work one store leaves to V8's helper threads (concurrent marking,
 * sweeping) can run into the other's slice: that dilutes a difference, it does not reverse
 * it. Prints every pair, then per build the median and minimum cpu us/op, the median ops/s
 * and p99, and the difference b − a: the mean of the two rounds' medians (the opening bias
 * cancels), with each round's median and how many pairs b was cheaper.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../runtime/assert';
import type { EngineName, PaxosStore } from '../index';
import type { KvNamespace } from '../actors/store/kv';
import type { PhaseResult } from './kv-load';
import { NAMESPACE, countedPhase, phaseSpecs, prewarm, runPhase } from './kv-load';
import type { PhaseSpec } from './kv-load';
import {
  AB_BUILD_FLAGS,
  abBuilds,
  parseBenchArgsOrExit,
  positiveIntFlag,
  ENGINE_FLAG,
  engineFlag,
  stringFlag,
} from './cli-args';
import type { BenchFlags } from './cli-args';
import { cpuByThread } from './kv-load-counts';
import { median } from './paxos-path';
import { loadStoreBuild } from './load-build';
import type { OpenStore } from './load-build';

interface AbOptions {
  a: string;
  b: string;
  phase: 'write' | 'read';
  slices: number;
  sliceSeconds: number;
  keys: number;
  clients: number;
  workers: number;
  engine: EngineName;
  persist: boolean;
  sync: 'always' | 'batch' | 'none';
  /** Print each slice's cpu us/op by thread (the stores' own thread counters). */
  threads: boolean;
  /** Each side's worker young generation in MiB (`workerYoungMb`); undefined: the default. */
  youngMb: { a: number | undefined; b: number | undefined };
}

/** One build's store, with what a slice needs. */
interface Side {
  store: PaxosStore;
  dir: string | undefined;
  spec: (phase: PhaseSpec['phase'], seconds: number) => PhaseSpec;
}

async function openSide(open: OpenStore, o: AbOptions, label: 'a' | 'b'): Promise<Side> {
  const young = o.youngMb[label];
  const needsDir = o.engine !== 'memory' || o.persist;
  const dir = needsDir ? await mkdtemp(path.join(os.tmpdir(), 'paxosstore-kv-ab-')) : undefined;
  const store = await open({
    engine: o.engine,
    workers: o.workers,
    sync: o.sync,
    ...(o.persist ? { persist: true } : {}),
    ...(dir === undefined ? {} : { dir }),
    ...(young === undefined ? {} : { workerYoungMb: young }),
  });
  // The other build's KvNamespace: the same shape, from its own modules.
  const namespaces = [store.kv(NAMESPACE) as unknown as KvNamespace];
  const spec = phaseSpecs(namespaces, { ...o, valueBytes: 100, progress: false }, label);
  return { store, dir, spec };
}

async function closeSide(side: Side): Promise<void> {
  await side.store.close();
  if (side.dir !== undefined) await rm(side.dir, { recursive: true, force: true });
}

function row(tag: string, r: PhaseResult): string {
  const rate = Math.round(r.opsPerSecond).toLocaleString('en-US');
  const errors = r.errorCount > 0 ? `, ${r.errorCount} errors` : '';
  return `${tag} ${rate} ops/s  p99 ${r.p99Ms.toFixed(1)} ms  ${r.cpuMicrosPerOp.toFixed(2)} cpu us/op${errors}`;
}

/** kv-load's split of the slice's cpu us/op by thread (`--threads`). */
function threadRow(tag: string, r: PhaseResult): string {
  return `${tag} ${r.perOp === undefined ? '?' : cpuByThread(r.perOp)}`;
}

function summary(label: string, runs: PhaseResult[]): string {
  const cpu = runs.map((r) => r.cpuMicrosPerOp);
  const rate = median(runs.map((r) => r.opsPerSecond));
  const p99 = median(runs.map((r) => r.p99Ms));
  return `${label}: median ${median(cpu).toFixed(2)}  min ${Math.min(...cpu).toFixed(2)} cpu us/op  ${Math.round(rate).toLocaleString('en-US')} ops/s  p99 ${p99.toFixed(1)} ms`;
}

/**
 * Opens both stores (`first` opens first), warms each with one slice, runs `pairs` pairs of
 * slices (the order flips every pair) into `runs`, and closes both.
 */
async function runRound(
  o: AbOptions,
  opens: readonly [OpenStore, OpenStore],
  first: 0 | 1,
  pairs: number,
  runs: [PhaseResult[], PhaseResult[]],
): Promise<void> {
  const second = first === 0 ? 1 : 0;
  const opened: Partial<Record<0 | 1, Side>> = {};
  try {
    opened[first] = await openSide(opens[first], o, first === 0 ? 'a' : 'b');
    opened[second] = await openSide(opens[second], o, second === 0 ? 'a' : 'b');
    const [sideA, sideB] = [opened[0], opened[1]];
    assert(sideA !== undefined && sideB !== undefined, 'both stores opened');
    const sides: readonly [Side, Side] = [sideA, sideB];
    for (const side of [sides[first], sides[second]]) {
      if (o.phase === 'read') await prewarm(side.spec('write', 0));
      await runPhase(side.spec('warmup', o.sliceSeconds));
    }
    for (let p = 0; p < pairs; p++) {
      const order = p % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
      const pair: Partial<Record<0 | 1, PhaseResult>> = {};
      for (const i of order) {
        const spec = sides[i].spec(o.phase, o.sliceSeconds);
        pair[i] = o.threads ? await countedPhase(sides[i].store, spec) : await runPhase(spec);
      }
      const [a, b] = [pair[0], pair[1]];
      assert(a !== undefined && b !== undefined, 'both builds ran the slice');
      runs[0].push(a);
      runs[1].push(b);
      const opening = first === 0 ? 'a opened first' : 'b opened first';
      const ran = order[0] === 0 ? 'a ran first' : 'b ran first';
      console.log(`pair ${runs[0].length} (${opening}, ${ran}): ${row('a', a)} | ${row('b', b)}`);
      if (o.threads) console.log(`  by thread: ${threadRow('a', a)} | ${threadRow('b', b)}`);
    }
  } finally {
    await Promise.all([opened[0], opened[1]].map((s) => (s ? closeSide(s) : undefined)));
  }
}

async function main(): Promise<void> {
  const o = parseArgs();
  const opens = [loadStoreBuild(o.a), loadStoreBuild(o.b)] as const;
  const runs: [PhaseResult[], PhaseResult[]] = [[], []];
  // Two rounds with the opening order swapped: the store opened second ran 2–5 % cheaper in
  // A/A runs (the same build on both sides), whatever the order of the slices.
  const firstRound = Math.ceil(o.slices / 2);
  await runRound(o, opens, 0, firstRound, runs);
  await runRound(o, opens, 1, o.slices - firstRound, runs);
  const [a, b] = runs;
  const diffs = a.map((r, i) => (b[i] as PhaseResult).cpuMicrosPerOp - r.cpuMicrosPerOp);
  const cheaper = diffs.filter((d) => d < 0).length;
  // The store opened second runs cheaper by an amount that varies from run to run, so the
  // pairs of the two rounds form two clusters: the estimate is the mean of the rounds'
  // medians, and half their difference is that opening bias.
  const round1 = median(diffs.slice(0, firstRound));
  const round2 = median(diffs.slice(firstRound));
  console.log(
    `a = ${o.a}, b = ${o.b}; ${o.phase}, ${o.slices} pairs of ${o.sliceSeconds} s slices`,
  );
  console.log(`${o.phase}  ${summary('a', a)}`);
  console.log(`${o.phase}  ${summary('b', b)}`);
  console.log(
    `${o.phase}  b − a: ${((round1 + round2) / 2).toFixed(2)} cpu us/op (medians ${round1.toFixed(2)} with b opened second, ${round2.toFixed(2)} with a opened second; opening bias ${((round2 - round1) / 2).toFixed(2)}); b cheaper in ${cheaper} of ${diffs.length} pairs`,
  );
  if (o.threads) console.log(clientSummary(o.phase, a, b, firstRound));
}

/**
 * `--threads`: the client (embedding) thread's cpu us/op, per build and b − a by the same
 * estimator as the whole process's (the mean of the two rounds' medians), in hundredths: the
 * per-slice rows print tenths, coarser than a client-side change.
 */
function clientSummary(
  phase: string,
  a: readonly PhaseResult[],
  b: readonly PhaseResult[],
  firstRound: number,
): string {
  const client = (r: PhaseResult): number => r.perOp?.threadMicrosPerOp[0] ?? NaN;
  const diffs = a.map((r, i) => client(b[i] as PhaseResult) - client(r));
  const estimate = (median(diffs.slice(0, firstRound)) + median(diffs.slice(firstRound))) / 2;
  const each = (runs: readonly PhaseResult[]): string =>
    runs.map((r) => client(r).toFixed(2)).join(' ');
  const cheaper = diffs.filter((d) => d < 0).length;
  return [
    `${phase}  client thread a: median ${median(a.map(client)).toFixed(2)} us/op (${each(a)})`,
    `${phase}  client thread b: median ${median(b.map(client)).toFixed(2)} us/op (${each(b)})`,
    `${phase}  client thread b − a: ${estimate.toFixed(2)} us/op; b cheaper in ${cheaper} of ${diffs.length} pairs`,
  ].join('\n');
}

const FLAGS: BenchFlags = {
  ...AB_BUILD_FLAGS,
  phase: { type: 'string', help: ['write|read', 'write', 'the operation each slice runs'] },
  slices: { type: 'string', help: ['N', '12', 'pairs of slices'] },
  'slice-seconds': { type: 'string', help: ['N', '2', 'length of each slice'] },
  keys: { type: 'string', help: ['N', '100000', 'keyspace size'] },
  clients: { type: 'string', help: ['N', '256', 'concurrent closed-loop clients'] },
  workers: { type: 'string', help: ['N', '2', 'workers of each store'] },
  engine: ENGINE_FLAG,
  persist: { type: 'boolean', help: ['', 'off', 'memory only: persist: true'] },
  sync: { type: 'string', help: ['MODE', 'batch', 'always | batch | none'] },
  threads: { type: 'boolean', help: ['', 'off', "each slice's cpu us/op by thread"] },
  'young-a': { type: 'string', help: ['MIB', '(default)', "A's worker young generation"] },
  'young-b': { type: 'string', help: ['MIB', '(default)', "B's worker young generation"] },
};

const SYNCS = ['always', 'batch', 'none'] as const;

function parseArgs(): AbOptions {
  return parseBenchArgsOrExit(
    'kv-load-ab',
    'node dist/bench/kv-load-ab.js --a <dir> [--b <dir>] [flags]',
    FLAGS,
    process.argv.slice(2),
    (args) => {
      const phase = stringFlag(args, 'phase') ?? 'write';
      if (phase !== 'write' && phase !== 'read') throw new TypeError('--phase: write or read');
      const engine = engineFlag(args);
      const sync = stringFlag(args, 'sync') ?? 'batch';
      const syncMode = SYNCS.find((m) => m === sync);
      if (syncMode === undefined) throw new TypeError(`--sync: one of ${SYNCS.join(', ')}`);
      const persist = args.values['persist'] === true;
      if (persist && engine !== 'memory') throw new TypeError('--persist is for the memory engine');
      return {
        ...abBuilds(args),
        phase,
        slices: positiveIntFlag(args, 'slices', 12),
        sliceSeconds: positiveIntFlag(args, 'slice-seconds', 2),
        keys: positiveIntFlag(args, 'keys', 100_000),
        clients: positiveIntFlag(args, 'clients', 256),
        workers: positiveIntFlag(args, 'workers', 2),
        engine,
        persist,
        sync: syncMode,
        threads: args.values['threads'] === true,
        youngMb: {
          a: args.values['young-a'] === undefined ? undefined : positiveIntFlag(args, 'young-a', 1),
          b: args.values['young-b'] === undefined ? undefined : positiveIntFlag(args, 'young-b', 1),
        },
      };
    },
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
