/**
 * Merges of the bitcask engines (issue 11, "Space you get back"): space before and after a
 * merge, merge throughput, and what foreground writes cost while a merge runs.
 *
 *   node dist/bench/engine-merge.js                                   # both engines, defaults
 *   node dist/bench/engine-merge.js --keys 200000 --rounds 3 --engines bitcask2 --rate 0
 *
 * Per engine, in a fresh directory under os.tmpdir(): load `--keys` keys (`--value-bytes`
 * each, batches of 100, `sync: false`), overwrite them `--rounds` times and delete every
 * third, so all but (2/3) / (rounds + 1) of the data is dead. Then:
 *   1. a merge with nothing else running (in the engine's own one-thread pool): space before
 *      and after (every file in the directory), its wall time, input MiB/s and keys moved/s;
 *   2. the same churn again; foreground writes alone: `--writes` single-key puts, 16 in flight;
 *   3. a merge with the same writes running beside it until it ends.
 * Costs are per foreground write: process CPU (every thread, so it includes the merge's
 * worker) and main-thread busy time (event loop utilisation: the engine's own thread).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BitcaskEngine } from '../engines/bitcask/bitcask-engine';
import { Bitcask2Engine } from '../engines/bitcask2/bitcask2-engine';
import type { BatchOp } from '../engines/engine';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

type EngineChoice = 'bitcask' | 'bitcask2';
type MergingEngine = (BitcaskEngine | Bitcask2Engine) & {
  merge(): Promise<{ bytesReclaimed: number; keysMoved: number }>;
};

interface Options {
  readonly keys: number;
  readonly rounds: number;
  readonly valueBytes: number;
  readonly writes: number;
  readonly rate: number;
  readonly engines: readonly EngineChoice[];
}

const FLAGS: BenchFlags = {
  keys: { type: 'string', help: ['N', '100000', 'keys loaded'] },
  rounds: { type: 'string', help: ['N', '3', 'times every key is overwritten'] },
  'value-bytes': { type: 'string', help: ['N', '100', 'value size'] },
  writes: { type: 'string', help: ['N', '20000', 'foreground writes measured without a merge'] },
  rate: { type: 'string', help: ['B/s', '0', 'bitcask2 mergeBytesPerSecondMax (0: unbounded)'] },
  engines: { type: 'string', help: ['a,b', 'bitcask,bitcask2', 'engines to run'] },
};

const IN_FLIGHT = 16;
const LOAD_BATCH = 100;

function optionsOf(args: ParsedBenchArgs): Options {
  const int = (name: string, fallback: number): number => {
    const value = Number(stringFlag(args, name) ?? fallback);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} ${value}`);
    return value;
  };
  const engines = (stringFlag(args, 'engines') ?? 'bitcask,bitcask2').split(',');
  for (const engine of engines) {
    if (engine !== 'bitcask' && engine !== 'bitcask2') throw new Error(`--engines ${engine}`);
  }
  return {
    keys: int('keys', 100_000),
    rounds: int('rounds', 3),
    valueBytes: int('value-bytes', 100),
    writes: int('writes', 20_000),
    rate: int('rate', 0),
    engines: engines as EngineChoice[],
  };
}

function keyOf(i: number): string {
  return `key-${String(i).padStart(10, '0')}`;
}

async function load(engine: MergingEngine, options: Options): Promise<void> {
  const value = new Uint8Array(options.valueBytes).fill(120);
  for (let round = 0; round <= options.rounds; round++) {
    for (let start = 0; start < options.keys; start += LOAD_BATCH) {
      const ops: BatchOp[] = [];
      for (let i = start; i < Math.min(start + LOAD_BATCH, options.keys); i++) {
        ops.push({ type: 'put', key: keyOf(i), value });
      }
      await engine.write(ops, { sync: false });
    }
  }
  for (let start = 0; start < options.keys; start += 3 * LOAD_BATCH) {
    const ops: BatchOp[] = [];
    for (let i = start; i < Math.min(start + 3 * LOAD_BATCH, options.keys); i += 3) {
      ops.push({ type: 'del', key: keyOf(i) });
    }
    await engine.write(ops, { sync: false });
  }
}

interface WriteCost {
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly processCpuUsPerOp: number;
  readonly mainThreadUsPerOp: number;
}

/** Single-key puts, IN_FLIGHT at a time, until `ops` are done or `until` says stop. */
async function foreground(
  engine: MergingEngine,
  options: Options,
  ops: number,
  until: () => boolean,
): Promise<WriteCost> {
  const value = new Uint8Array(options.valueBytes).fill(121);
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ops && !until()) {
      const i = next++;
      await engine.write([{ type: 'put', key: keyOf(i % options.keys), value }], { sync: false });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(elu);
  const done = Math.max(1, next);
  return {
    ops: next,
    opsPerSecond: Math.round(next / seconds),
    processCpuUsPerOp: Math.round((used.user + used.system) / done),
    mainThreadUsPerOp: Math.round((busy.active * 1000) / done),
  };
}

async function directoryBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir)) bytes += (await stat(path.join(dir, name))).size;
  return bytes;
}

async function runEngine(choice: EngineChoice, options: Options): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), `pxs-merge-${choice}-`));
  const dir = path.join(root, 'db');
  const engine: MergingEngine =
    choice === 'bitcask'
      ? new BitcaskEngine(dir, { autoMerge: false, fileBytesMax: 8 * 1024 * 1024 })
      : new Bitcask2Engine(dir, {
          autoMerge: false,
          fileBytesMax: 8 * 1024 * 1024,
          mergeBytesPerSecondMax: options.rate,
        });
  try {
    await engine.open();
    // A quiet merge: space and throughput.
    await load(engine, options);
    const before = await directoryBytes(dir);
    const started = performance.now();
    const quiet = await engine.merge();
    const mergeSeconds = (performance.now() - started) / 1000;
    const after = await directoryBytes(dir);
    // The same churn again, then writes alone, then writes beside a merge.
    await load(engine, options);
    const alone = await foreground(engine, options, options.writes, () => false);
    let merging = true;
    const merge = engine.merge().finally(() => {
      merging = false;
    });
    const beside = await foreground(engine, options, Number.MAX_SAFE_INTEGER, () => !merging);
    await merge;
    const report = {
      engine: choice,
      spaceBeforeMiB: +(before / 2 ** 20).toFixed(1),
      spaceAfterMiB: +(after / 2 ** 20).toFixed(1),
      mergeSeconds: +mergeSeconds.toFixed(2),
      mergeInputMiBPerSecond: +(before / 2 ** 20 / mergeSeconds).toFixed(1),
      keysMovedPerSecond: Math.round(quiet.keysMoved / mergeSeconds),
      writesAlone: alone,
      writesDuringMerge: beside,
    };
    console.log(JSON.stringify(report));
  } finally {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseBenchArgsOrExit(
    'engine-merge',
    'engine-merge [--flag value]...',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  console.log(JSON.stringify({ node: process.version, cpus: os.cpus().length, options }));
  for (const choice of options.engines) await runEngine(choice, options);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
