/**
 * Summarizes .cpuprofile files (from `node --cpu-prof`): top functions by self time, per file.
 *
 *   node dist/bench/cpuprofile-top.js [--top 10] <file-or-dir>...
 *
 * Self time of a function = the sampled time whose top frame is that function, summed over
 * every call-tree node with the same name, file and line. Paths are shown relative to cwd.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { assert } from '../runtime/assert';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags } from './cli-args';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface TopEntry {
  name: string;
  selfMs: number;
  percent: number;
}

export function topSelf(
  profile: Profile,
  top: number,
): { totalMs: number; idleMs: number; entries: TopEntry[] } {
  const byNode = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byNode.set(n.id, n);
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // a sample's time runs until the next one
    const sample = profile.samples[i];
    assert(sample !== undefined, 'i < samples.length');
    const node = byNode.get(sample);
    if (node === undefined) continue;
    const f = node.callFrame;
    total += dt;
    if (f.functionName === '(idle)') idle += dt;
    const file = f.url ? path.relative(process.cwd(), f.url.replace(/^file:\/\//, '')) : '';
    const key =
      `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const entries = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: ms, percent: (100 * ms) / total }));
  return { totalMs: total, idleMs: idle, entries };
}

function files(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (statSync(a).isDirectory()) {
      for (const f of readdirSync(a).sort())
        if (f.endsWith('.cpuprofile')) out.push(path.join(a, f));
    } else out.push(a);
  }
  return out;
}

if (require.main === module) {
  const usage = 'cpuprofile-top [--top N] <file-or-dir>...';
  const flags: BenchFlags = {
    top: { type: 'string', help: ['N', '10', 'functions listed per profile'] },
  };
  const { top, paths } = parseBenchArgsOrExit(
    'cpuprofile-top',
    usage,
    flags,
    process.argv.slice(2),
    (args) => {
      const n = Number(stringFlag(args, 'top') ?? 10);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error('--top must be a positive integer');
      if (args.positionals.length === 0) throw new Error('no .cpuprofile file or directory given');
      return { top: n, paths: [...args.positionals] };
    },
    true,
  );
  for (const f of files(paths)) {
    const r = topSelf(JSON.parse(readFileSync(f, 'utf8')) as Profile, top);
    console.log(
      `${path.basename(f)}: ${(r.totalMs / 1000).toFixed(2)} s sampled, idle ${((100 * r.idleMs) / r.totalMs).toFixed(1)}%`,
    );
    for (const e of r.entries)
      console.log(
        `  ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`,
      );
  }
}
