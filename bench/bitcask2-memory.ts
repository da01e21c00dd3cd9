/**
 * Resident memory of the key directory: bitcask (every key in RAM) against bitcask2 (a bucket
 * summary in RAM, index pages on disk), after loading N keys with 100-byte values.
 *
 *   node dist/bench/bitcask2-memory.js                       # 10,000,000 keys, both engines
 *   node dist/bench/bitcask2-memory.js --keys 1000000 --engines bitcask2 --gets 100000
 *
 * Options: --keys N (10000000), --value-bytes N (100), --batch N (1000 keys per write),
 * --gets N (200000 random gets), --engines a,b (bitcask,bitcask2), --json.
 *
 * Each engine runs in its own child process (`process.execPath` with --expose-gc and a large
 * heap limit), so RSS is measured separately. The child loads the keys straight into the
 * engine (`sync: false` batches, a few in flight), runs a full GC, reports RSS and heapUsed
 * (also before opening: the baseline), then does random gets. The parent stops it by pid and
 * removes its directory under os.tmpdir().
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BitcaskEngine } from '../engines/bitcask/bitcask-engine';
import { Bitcask2Engine } from '../engines/bitcask2/bitcask2-engine';
import type { Engine } from '../engines/engine';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

type EngineChoice = 'bitcask' | 'bitcask2';

interface Options {
  readonly keys: number;
  readonly valueBytes: number;
  readonly batch: number;
  readonly gets: number;
  readonly engines: readonly EngineChoice[];
  readonly json: boolean;
}

export interface MemoryResult {
  readonly engine: EngineChoice;
  readonly keys: number;
  readonly loadSeconds: number;
  readonly loadKeysPerSecond: number;
  readonly baselineRssBytes: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Memory of ArrayBuffers and other objects outside the JS heap (process.memoryUsage). */
  readonly externalBytes: number;
  readonly rssBytesPerKey: number;
  readonly heapBytesPerKey: number;
  readonly getsPerSecond: number;
  readonly getsMissing: number;
  readonly engineStats: unknown;
}

const WRITES_IN_FLIGHT = 4;
const GETS_IN_FLIGHT = 64;
/** The child's heap limit: bitcask's key directory for 10 M keys needs a few GiB. */
const CHILD_HEAP_MB = 12 * 1024;
const RESULT_PREFIX = 'RESULT ';

function keyOf(i: number): string {
  return `key-${String(i).padStart(10, '0')}`;
}

function valueOf(i: number, bytes: number): Uint8Array {
  const value = Buffer.alloc(bytes, i & 0xff);
  value.writeUInt32BE(i >>> 0, 0);
  return value;
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('bitcask2-memory child needs --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

async function load(engine: Engine, o: Options): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.keys) {
      const first = next;
      next = Math.min(o.keys, next + o.batch);
      const ops = [];
      for (let i = first; i < next; i++)
        ops.push({ type: 'put' as const, key: keyOf(i), value: valueOf(i, o.valueBytes) });
      await engine.write(ops, { sync: false });
      if (first % 1_000_000 < o.batch)
        process.stderr.write(`  ${engine.name}: ${first} keys loaded\n`);
    }
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, () => worker()));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function randomGets(
  engine: Engine,
  o: Options,
): Promise<{ seconds: number; missing: number }> {
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  let done = 0;
  let missing = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (done < o.gets) {
      done++;
      if ((await engine.get(keyOf(Math.floor(random() * o.keys)))) === undefined) missing++;
    }
  };
  await Promise.all(Array.from({ length: GETS_IN_FLIGHT }, () => worker()));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, missing };
}

async function runChild(choice: EngineChoice, dir: string, o: Options): Promise<void> {
  fullGc();
  const baseline = process.memoryUsage().rss;
  const engine = choice === 'bitcask' ? new BitcaskEngine(dir) : new Bitcask2Engine(dir);
  await engine.open();
  const loadSeconds = await load(engine, o);
  fullGc();
  const memory = process.memoryUsage();
  const gets = await randomGets(engine, o);
  const engineStats =
    engine instanceof Bitcask2Engine ? engine.bitcask2Stats() : engine.bitcaskStats();
  const result: MemoryResult = {
    engine: choice,
    keys: o.keys,
    loadSeconds,
    loadKeysPerSecond: o.keys / loadSeconds,
    baselineRssBytes: baseline,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
    rssBytesPerKey: (memory.rss - baseline) / o.keys,
    heapBytesPerKey: memory.heapUsed / o.keys,
    getsPerSecond: o.gets / gets.seconds,
    getsMissing: gets.missing,
    engineStats,
  };
  process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
  // Stay alive (engine open) until the parent stops this process by pid.
  await new Promise(() => undefined);
}

/** Runs one engine in a child process and stops it by pid once it has reported. */
async function measure(choice: EngineChoice, o: Options): Promise<MemoryResult> {
  const root = await mkdtemp(path.join(os.tmpdir(), `pxs-bitcask2-memory-${choice}-`));
  const args = [
    '--expose-gc',
    `--max-old-space-size=${CHILD_HEAP_MB}`,
    __filename,
    '--child',
    choice,
    '--dir',
    path.join(root, 'db'),
    '--keys',
    String(o.keys),
    '--value-bytes',
    String(o.valueBytes),
    '--batch',
    String(o.batch),
    '--gets',
    String(o.gets),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    return await new Promise<MemoryResult>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
        if (line !== undefined)
          resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as MemoryResult);
      });
      child.on('exit', (code, signal) =>
        reject(new Error(`${choice} child exited (${code ?? signal}) before reporting`)),
      );
    });
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
}

const MiB = 1024 * 1024;

export function formatResults(results: readonly MemoryResult[]): string {
  const header = [
    'engine',
    'keys',
    'load s',
    'load keys/s',
    'RSS MiB',
    'RSS-base B/key',
    'heapUsed MiB',
    'heap B/key',
    'gets/s',
  ];
  const rows = results.map((r) => [
    r.engine,
    r.keys.toLocaleString('en-US'),
    r.loadSeconds.toFixed(1),
    Math.round(r.loadKeysPerSecond).toLocaleString('en-US'),
    (r.rssBytes / MiB).toFixed(0),
    r.rssBytesPerKey.toFixed(1),
    (r.heapUsedBytes / MiB).toFixed(0),
    r.heapBytesPerKey.toFixed(1),
    Math.round(r.getsPerSecond).toLocaleString('en-US'),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

const FLAGS: BenchFlags = {
  keys: { type: 'string', help: ['N', '10000000', 'keys loaded into each engine'] },
  'value-bytes': { type: 'string', help: ['N', '100', 'value size'] },
  batch: {
    type: 'string',
    help: ['N', '1000', 'keys per write (4 writes in flight, sync: false)'],
  },
  gets: { type: 'string', help: ['N', '200000', 'random gets (64 in flight)'] },
  engines: { type: 'string', help: ['LIST', 'bitcask,bitcask2', 'engines to measure, in order'] },
  child: {
    type: 'string',
    help: ['ENGINE', '', 'internal: run one engine in this process (the parent passes it)'],
  },
  dir: { type: 'string', help: ['DIR', '', "internal: the child's directory"] },
  json: { type: 'boolean', help: ['', '', 'print the structured result too'] },
};

function optionsOf(args: ParsedBenchArgs): {
  options: Options;
  child?: EngineChoice;
  dir?: string;
} {
  const int = (name: string, fallback: number): number => {
    const n = Number(stringFlag(args, name) ?? fallback);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const engines = (stringFlag(args, 'engines') ?? 'bitcask,bitcask2').split(',');
  const isChoice = (e: string): e is EngineChoice => e === 'bitcask' || e === 'bitcask2';
  if (!engines.every(isChoice)) throw new Error('--engines takes bitcask and/or bitcask2');
  const child = stringFlag(args, 'child');
  if (child !== undefined && !isChoice(child)) throw new Error(`--child ${child}`);
  const options = {
    keys: int('keys', 10_000_000),
    valueBytes: int('value-bytes', 100),
    batch: int('batch', 1000),
    gets: int('gets', 200_000),
    engines: engines.filter(isChoice),
    json: args.values['json'] === true,
  };
  return { options, child, dir: stringFlag(args, 'dir') };
}

if (require.main === module) {
  const { options, child, dir } = parseBenchArgsOrExit(
    'bitcask2-memory',
    'bitcask2-memory [--flag value]...',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  if (child !== undefined) {
    if (dir === undefined) throw new Error('--child needs --dir');
    runChild(child, dir, options).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  } else {
    (async () => {
      const results: MemoryResult[] = [];
      for (const engine of options.engines) results.push(await measure(engine, options));
      console.log(formatResults(results));
      if (options.json) console.log(JSON.stringify(results, null, 2));
    })().catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  }
}
