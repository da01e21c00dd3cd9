/**
 * What one run spends beyond another, function by function: the self time of each function in
 * profile B minus its self time in profile A, divided by the operations both runs made (`--ops`).
 * For two runs of the same work that differ in one thing (paxos-path `--engine none` against
 * `--engine bitcask`: what persisting adds per write; bench/README.md "Issue 10, sixth session
 * (wt/disk2)").
 *
 *   node dist/bench/cpuprofile-diff.js --ops N [--top 30] A.cpuprofile B.cpuprofile
 *
 * Self times are sampled wall time of the profiled thread (see cpuprofile-top.ts): on a loaded
 * machine a preempted thread's time lands on whatever it was running, so compare runs made at
 * a similar load. Idle time is left out.
 */
import { readFileSync } from 'node:fs';
import { assert } from '../runtime/assert';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags } from './cli-args';
import { topSelf } from './cpuprofile-top';
import type { Profile } from './cpuprofile-top';

export interface DiffEntry {
  readonly name: string;
  readonly aMs: number;
  readonly bMs: number;
  /** (b − a) in microseconds per operation. */
  readonly usPerOp: number;
}

/** Every function's self time in both profiles, largest increase first. */
export function diffSelf(a: Profile, b: Profile, ops: number): DiffEntry[] {
  assert(Number.isSafeInteger(ops) && ops > 0, () => `ops ${ops}`);
  const selfA = selfMap(a);
  const selfB = selfMap(b);
  const names = new Set([...selfA.keys(), ...selfB.keys()]);
  names.delete('(idle)');
  const out: DiffEntry[] = [];
  for (const name of names) {
    const aMs = selfA.get(name) ?? 0;
    const bMs = selfB.get(name) ?? 0;
    out.push({ name, aMs, bMs, usPerOp: ((bMs - aMs) * 1000) / ops });
  }
  return out.sort((x, y) => y.usPerOp - x.usPerOp);
}

function selfMap(p: Profile): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of topSelf(p, Number.MAX_SAFE_INTEGER).entries) m.set(e.name, e.selfMs);
  return m;
}

if (require.main === module) {
  const usage = 'cpuprofile-diff --ops N [--top 30] A.cpuprofile B.cpuprofile';
  const flags: BenchFlags = {
    ops: { type: 'string', help: ['N', '', 'operations each run made (the divisor)'] },
    top: { type: 'string', help: ['N', '30', 'functions listed'] },
  };
  const o = parseBenchArgsOrExit(
    'cpuprofile-diff',
    usage,
    flags,
    process.argv.slice(2),
    (args) => {
      const ops = Number(stringFlag(args, 'ops'));
      const top = Number(stringFlag(args, 'top') ?? 30);
      if (!Number.isSafeInteger(ops) || ops < 1)
        throw new Error('--ops must be a positive integer');
      if (!Number.isSafeInteger(top) || top < 1)
        throw new Error('--top must be a positive integer');
      const [a, b] = args.positionals;
      if (a === undefined || b === undefined || args.positionals.length !== 2)
        throw new Error('give two .cpuprofile files: A and B');
      return { ops, top, a, b };
    },
    true,
  );
  const load = (f: string): Profile => JSON.parse(readFileSync(f, 'utf8')) as Profile;
  const rows = diffSelf(load(o.a), load(o.b), o.ops);
  const sum = rows.reduce((s, r) => s + r.usPerOp, 0);
  console.log(`B − A: ${sum.toFixed(2)} us per op (not idle); largest increases:`);
  for (const r of rows.slice(0, o.top))
    console.log(
      `${r.usPerOp.toFixed(2).padStart(8)} us/op  ${r.aMs.toFixed(0).padStart(6)} → ${r.bMs.toFixed(0).padStart(6)} ms  ${r.name}`,
    );
}
