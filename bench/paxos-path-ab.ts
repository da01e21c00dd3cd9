/**
 * paxos-path for two builds in one process, slice by slice: the A/B that a shared machine's
 * load cannot tilt. Each build (a `dist` directory) is loaded as its own set of modules, gets its
 * own three replicas (warmed up), and the two take turns running one slice at a time (the order
 * flips every slice), so both see the same load, the same CPU frequency and the same neighbours.
 * Separate processes run minutes apart on this machine and differ by ±15 % at the same build.
 *
 * What it shares: one V8 heap. Each slice's CPU includes the collector's work on the other
 * build's live objects (both key spaces are in the old generation), alike for both.
 *
 *   node dist/bench/paxos-path-ab.js --a /tmp/base-dist --b dist [--ops 60000] [--keys 30000] [--slices 20]
 *     [--engine none|memory-log|bitcask|lsm] [--groups N]
 *
 * Both directories must hold a build of bench/paxos-path with `openPaxosPath` (copy this
 * build's dist/bench/paxos-path.js into an older dist to compare with it). Prints, per phase and
 * build, the median and the minimum cpu us/op over the slices, the median heap B/op, and the
 * median of the per-pair differences (b − a) with how many pairs b was cheaper.
 */
import { resolve } from 'node:path';
import { assert } from '../runtime/assert';
import { AB_BUILD_FLAGS, abBuilds, parseBenchArgsOrExit } from './cli-args';
import type { BenchFlags } from './cli-args';
import type { Options, PaxosPathRig, PhaseResult, WorkloadDefaults } from './paxos-path';
import { median, workloadFlags, workloadOptions } from './paxos-path';

type Open = (o: Options) => Promise<PaxosPathRig>;

interface AbOptions extends Options {
  a: string;
  b: string;
}

function loadBuild(dir: string): Open {
  const mod = require(resolve(dir, 'bench', 'paxos-path.js')) as { openPaxosPath?: Open };
  assert(typeof mod.openPaxosPath === 'function', `${dir}: no openPaxosPath in its paxos-path`);
  return mod.openPaxosPath;
}

function summary(label: string, runs: PhaseResult[]): string {
  const cpu = runs.map((r) => r.cpuMicrosPerOp);
  const heap = runs.map((r) => r.heapBytesPerOp);
  return `${label}: median ${median(cpu).toFixed(2)}  min ${Math.min(...cpu).toFixed(2)} cpu us/op  heap ${median(heap).toFixed(0)} B/op`;
}

async function main(): Promise<void> {
  const o = parseArgs();
  const builds = [loadBuild(o.a), loadBuild(o.b)] as const;
  const rigs = [await builds[0](o), await builds[1](o)] as const;
  const per = Math.ceil(o.ops / o.slices);
  const runs = { write: [[], []], read: [[], []] } as Record<
    'write' | 'read',
    [PhaseResult[], PhaseResult[]]
  >;
  for (let slice = 0; slice < o.slices; slice++) {
    for (const kind of ['write', 'read'] as const) {
      const order = slice % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) runs[kind][i as 0 | 1].push(await rigs[i as 0 | 1].slice(kind, per));
    }
  }
  await Promise.all(rigs.map((r) => r.close()));
  console.log(`a = ${o.a}, b = ${o.b}; ${o.slices} slices of ${per} ops per phase`);
  for (const kind of ['write', 'read'] as const) {
    const [a, b] = runs[kind];
    const diffs = a.map((r, i) => (b[i] as PhaseResult).cpuMicrosPerOp - r.cpuMicrosPerOp);
    const cheaper = diffs.filter((d) => d < 0).length;
    console.log(`${kind}  ${summary('a', a)}`);
    console.log(`${kind}  ${summary('b', b)}`);
    console.log(
      `${kind}  b − a: median ${median(diffs).toFixed(2)} cpu us/op; b cheaper in ${cheaper} of ${diffs.length} pairs`,
    );
  }
}

const DEFAULTS: WorkloadDefaults = { ops: 60_000, keys: 30_000, slices: 20 };

const FLAGS: BenchFlags = {
  ...AB_BUILD_FLAGS,
  ...workloadFlags(DEFAULTS),
};

function parseArgs(): AbOptions {
  return parseBenchArgsOrExit(
    'paxos-path-ab',
    'node dist/bench/paxos-path-ab.js --a <dir> [--b <dir>] [flags]',
    FLAGS,
    process.argv.slice(2),
    (args) => {
      return {
        ...abBuilds(args),
        ...workloadOptions(args, DEFAULTS),
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
