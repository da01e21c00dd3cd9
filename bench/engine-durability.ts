/**
 * Engine durability benchmarks (issue #3), each printed beside its baseline from the same run:
 *
 * 1. group commit: batches of small records appended and fdatasync'ed once per batch —
 *    the raw device (fs append + fdatasync, no engine) vs the bitcask and lsm engines with
 *    `write(batch, { sync: true })`. The raw rate is what any engine could reach at best.
 * 2. restart: a bitcask directory of N keys opened with hint files (after a merge) and
 *    without (every data file scanned).
 * 3. bytes per acknowledged write: a PaxosStore on bitcask / lsm, `sync: 'batch'`, puts of
 *    100-byte values; bytes handed to write(2) by the whole process (/proc/self/io wchar) and,
 *    for bitcask, growth of the data files, divided by the writes acknowledged.
 *
 *   node dist/bench/engine-durability.js [--seconds 3] [--batch 100] [--restart-keys 1000000]
 *                                        [--store-writes 20000] [--only commit,restart,bytes]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BitcaskEngine } from '../engines/bitcask/bitcask-engine';
import { LsmEngine } from '../engines/lsm-engine';
import type { BatchOp, Engine } from '../engines/engine';
import { PaxosStore } from '../index';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';
import type { EngineName } from '../index';

interface Options {
  seconds: number;
  batch: number;
  valueBytes: number;
  restartKeys: number;
  storeWrites: number;
  only: Set<string>;
}

const FLAGS: BenchFlags = {
  seconds: { type: 'string', help: ['N', '3', 'length of each timed part'] },
  batch: { type: 'string', help: ['N', '100', 'records per batch (group commit bench)'] },
  'value-bytes': { type: 'string', help: ['N', '100', 'value size'] },
  'restart-keys': {
    type: 'string',
    help: ['N', '1000000', 'keys written before the restart bench reopens'],
  },
  'store-writes': {
    type: 'string',
    help: ['N', '20000', 'writes through a 3-replica store (bytes bench)'],
  },
  only: { type: 'string', help: ['LIST', 'commit,restart,bytes', 'which parts to run'] },
};

function optionsOf(args: ParsedBenchArgs): Options {
  const num = (flag: string, fallback: number): number => {
    const n = Number(stringFlag(args, flag) ?? fallback);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number`);
    return n;
  };
  return {
    seconds: num('seconds', 3),
    batch: Math.floor(num('batch', 100)),
    valueBytes: Math.floor(num('value-bytes', 100)),
    restartKeys: Math.floor(num('restart-keys', 1_000_000)),
    storeWrites: Math.floor(num('store-writes', 20_000)),
    only: new Set((stringFlag(args, 'only') ?? 'commit,restart,bytes').split(',')),
  };
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function keyOf(i: number): string {
  return `key-${i.toString().padStart(9, '0')}`;
}

function batchOf(start: number, size: number, value: Uint8Array): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let i = 0; i < size; i++) ops.push({ type: 'put', key: keyOf(start + i), value });
  return ops;
}

interface Rate {
  batches: number;
  seconds: number;
  batchesPerSecond: number;
  recordsPerSecond: number;
}

/** The raw device: one append of the batch's bytes and one fdatasync per batch. */
function rawGroupCommit(o: Options): Rate {
  const dir = tempDir('pxs-raw-');
  const file = path.join(dir, 'raw.log');
  const fd = fs.openSync(file, 'a');
  // The same payload a batch frame would carry: key, value and a small header per record.
  const record = 8 + keyOf(0).length + o.valueBytes;
  const buffer = Buffer.alloc(record * o.batch, 7);
  let batches = 0;
  const start = performance.now();
  const end = start + o.seconds * 1000;
  try {
    while (performance.now() < end) {
      fs.writeSync(fd, buffer);
      fs.fdatasyncSync(fd);
      batches++;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    batches,
    seconds,
    batchesPerSecond: batches / seconds,
    recordsPerSecond: (batches * o.batch) / seconds,
  };
}

async function engineGroupCommit(o: Options, make: (dir: string) => Engine): Promise<Rate> {
  const dir = tempDir('pxs-eng-');
  const engine = make(dir);
  await engine.open();
  const value = new Uint8Array(o.valueBytes).fill(7);
  let batches = 0;
  const start = performance.now();
  const end = start + o.seconds * 1000;
  try {
    while (performance.now() < end) {
      await engine.write(batchOf((batches * o.batch) % 1_000_000, o.batch, value), { sync: true });
      batches++;
    }
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    batches,
    seconds,
    batchesPerSecond: batches / seconds,
    recordsPerSecond: (batches * o.batch) / seconds,
  };
}

async function commitBench(o: Options): Promise<void> {
  console.log(
    `\n== group commit: batches of ${o.batch} records (${o.valueBytes}-byte values), one fdatasync per batch, ${o.seconds} s each`,
  );
  const raw = rawGroupCommit(o);
  const bitcask = await engineGroupCommit(o, (dir) => new BitcaskEngine(dir));
  const lsm = await engineGroupCommit(o, (dir) => new LsmEngine(dir));
  console.log('what            batches/s    records/s   vs raw');
  for (const [name, r] of [
    ['raw device', raw],
    ['bitcask', bitcask],
    ['lsm', lsm],
  ] as const) {
    console.log(
      `${name.padEnd(14)} ${fmt(r.batchesPerSecond).padStart(10)} ${fmt(r.recordsPerSecond).padStart(12)}   ${(r.batchesPerSecond / raw.batchesPerSecond).toFixed(2)}x`,
    );
  }
}

/** Loads N keys into a bitcask dir, merges (hint files), and times opens with and without hints. */
async function restartBench(o: Options): Promise<void> {
  console.log(
    `\n== restart: bitcask with ${fmt(o.restartKeys)} keys (${o.valueBytes}-byte values)`,
  );
  const dir = tempDir('pxs-restart-');
  try {
    const value = new Uint8Array(o.valueBytes).fill(3);
    const loader = new BitcaskEngine(dir, { fileBytesMax: 32 * 1024 * 1024 });
    await loader.open();
    const loadStart = performance.now();
    for (let i = 0; i < o.restartKeys; i += 1000) {
      await loader.write(batchOf(i, Math.min(1000, o.restartKeys - i), value), { sync: false });
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const merged = await loader.merge();
    await loader.close();
    console.log(
      `loaded in ${loadSeconds.toFixed(1)} s (${fmt(o.restartKeys / loadSeconds)} keys/s); merge: ${JSON.stringify(merged)}`,
    );
    const withHints = await timeOpen(dir);
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.hint')) fs.rmSync(path.join(dir, f));
    const withoutHints = await timeOpen(dir);
    console.log('open                 ms   keys        hint files   files scanned');
    for (const [name, r] of [
      ['with hints', withHints],
      ['without hints', withoutHints],
    ] as const) {
      console.log(
        `${name.padEnd(14)} ${fmt(r.ms).padStart(8)} ${fmt(r.keys).padStart(10)} ${String(r.hints).padStart(12)} ${String(r.scanned).padStart(15)}`,
      );
    }
    console.log(`ratio without/with hints: ${(withoutHints.ms / withHints.ms).toFixed(2)}x`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function timeOpen(
  dir: string,
): Promise<{ ms: number; keys: number; hints: number; scanned: number }> {
  const engine = new BitcaskEngine(dir);
  const start = performance.now();
  await engine.open();
  const ms = performance.now() - start;
  const stats = engine.bitcaskStats();
  await engine.close();
  return {
    ms,
    keys: stats.keys,
    hints: stats.recovery?.hintFilesLoaded ?? 0,
    scanned: stats.recovery?.filesScanned ?? 0,
  };
}

function wcharOfProcess(): number {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  const match = /wchar:\s*(\d+)/.exec(io);
  return match === null ? NaN : Number(match[1]);
}

function dataFileBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.data'))
      total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

/** Puts of distinct keys through a 3-replica store; bytes written per acknowledged write. */
async function bytesBench(o: Options): Promise<void> {
  console.log(
    `\n== bytes written per acknowledged write: ${fmt(o.storeWrites)} puts of ${o.valueBytes}-byte values, 3 replicas, sync 'batch'`,
  );
  console.log('engine     writes/s   wchar B/write   data-file B/write   (per replica)');
  for (const engine of ['bitcask', 'lsm'] as EngineName[]) {
    const dir = tempDir('pxs-bytes-');
    const store = await PaxosStore.open({ engine, dir, sync: 'batch', timeoutMs: 30_000 });
    try {
      const kv = store.kv('bench');
      const value = Buffer.alloc(o.valueBytes, 5);
      const before = wcharOfProcess();
      const filesBefore = engine === 'bitcask' ? dataFileBytes(dir) : 0;
      const start = performance.now();
      let next = 0;
      const client = async (): Promise<void> => {
        while (next < o.storeWrites) await kv.put(keyOf(next++), value);
      };
      await Promise.all(Array.from({ length: 128 }, client));
      const seconds = (performance.now() - start) / 1000;
      const wchar = (wcharOfProcess() - before) / o.storeWrites;
      const files = engine === 'bitcask' ? (dataFileBytes(dir) - filesBefore) / o.storeWrites : NaN;
      const perReplica = engine === 'bitcask' ? `${fmt(files / 3)}` : '—';
      console.log(
        `${engine.padEnd(9)} ${fmt(o.storeWrites / seconds).padStart(9)} ${fmt(wchar).padStart(15)} ${(Number.isNaN(files) ? '—' : fmt(files)).padStart(19)}   ${perReplica}`,
      );
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(
    `(a value is ${o.valueBytes} B and its key ~${keyOf(0).length + 5} B; one Paxos record per replica per write, data and log in one record)`,
  );
}

async function main(): Promise<void> {
  const o = parseBenchArgsOrExit(
    'engine-durability',
    'engine-durability [--flag value]...',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  if (o.only.has('commit')) await commitBench(o);
  if (o.only.has('restart')) await restartBench(o);
  if (o.only.has('bytes')) await bytesBench(o);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
