/**
 * How long `close()` takes, for two builds in one process, round by round (docs/decisions.md
 * "close() lets the actors quiesce first"): an idle store (opened, left a moment, closed) and a
 * store closed right after a load (closed-loop writers over fresh keys, the default routing;
 * close() is called the moment the last write is answered). Each round opens, loads and closes
 * a store of A, then of B (the order flips every round). Prints every round, then per build and
 * case the median and the maximum.
 *
 *   node dist/bench/close-time-ab.js --a /tmp/base/dist [--b dist] [--rounds 8]
 *     [--engine memory|bitcask|bitcask2|lsm] [--journal] [--writes 5000] [--clients 64]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EngineName } from '../index';
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
import { median } from './paxos-path';
import { loadStoreBuild } from './load-build';
import type { OpenStore } from './load-build';

interface Options {
  a: string;
  b: string;
  rounds: number;
  engine: EngineName;
  journal: boolean;
  writes: number;
  clients: number;
}

/** Opens a store, loads it (or not), and returns the milliseconds its close() took. */
async function closeTime(
  open: OpenStore,
  o: Options,
  load: boolean,
  round: number,
): Promise<number> {
  const dir =
    o.engine === 'memory' ? undefined : await mkdtemp(path.join(os.tmpdir(), 'pxs-close-'));
  const store = await open({
    engine: o.engine,
    workers: 2,
    ...(dir === undefined ? {} : { dir }),
    ...(o.journal ? { journal: true } : {}),
  });
  try {
    if (load) {
      const kv = store.kv('close');
      let next = 0;
      await Promise.all(
        Array.from({ length: o.clients }, async () => {
          for (let i = next++; i < o.writes; i = next++) await kv.put(`r${round}k${i}`, 'v');
        }),
      );
    } else {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const started = performance.now();
    await store.close();
    return performance.now() - started;
  } finally {
    await store.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseOptions();
  const builds = { a: loadStoreBuild(o.a), b: loadStoreBuild(o.b) };
  const times: Record<string, number[]> = {};
  const add = (key: string, ms: number): void => {
    (times[key] ??= []).push(ms);
  };
  console.log(
    `close-time-ab: ${o.engine}${o.journal ? ' + journal' : ''}, ${o.rounds} rounds, ` +
      `load ${o.writes} writes by ${o.clients} clients; a=${o.a} b=${o.b}`,
  );
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const line: string[] = [];
    for (const load of [false, true]) {
      const kind = load ? 'after load' : 'idle';
      for (const side of order) {
        const ms = await closeTime(builds[side], o, load, round);
        add(`${side} ${kind}`, ms);
        line.push(`${side} ${kind} ${ms.toFixed(1)} ms`);
      }
    }
    console.log(`round ${round}: ${line.join(', ')}`);
  }
  for (const kind of ['idle', 'after load'])
    for (const side of ['a', 'b']) {
      const all = times[`${side} ${kind}`] ?? [];
      console.log(
        `${side} ${kind.padEnd(10)} median ${median(all).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms`,
      );
    }
}

const FLAGS: BenchFlags = {
  ...AB_BUILD_FLAGS,
  rounds: { type: 'string', help: ['N', '8', 'rounds (each: both builds, both cases)'] },
  engine: ENGINE_FLAG,
  journal: { type: 'boolean', help: ['', 'off', 'keep the journal (disk engines)'] },
  writes: { type: 'string', help: ['N', '5000', 'writes of the load before a close'] },
  clients: { type: 'string', help: ['N', '64', 'concurrent closed-loop writers'] },
};

function parseOptions(): Options {
  return parseBenchArgsOrExit(
    'close-time-ab',
    'node dist/bench/close-time-ab.js --a <dir> [--b <dir>] [flags]',
    FLAGS,
    process.argv.slice(2),
    (args) => {
      const engine = engineFlag(args);
      const journal = args.values['journal'] === true;
      if (journal && engine === 'memory') throw new TypeError('--journal needs a disk engine');
      return {
        ...abBuilds(args),
        rounds: positiveIntFlag(args, 'rounds', 8),
        engine,
        journal,
        writes: positiveIntFlag(args, 'writes', 5000),
        clients: positiveIntFlag(args, 'clients', 64),
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
