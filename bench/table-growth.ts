/**
 * Write cost against object size (issue 10, "a small table that is cheap to write"): grows
 * one object (a table, a queue or a set; an account's journal) through the public API
 * (3 replicas) to each target size, then times `--samples` small writes into it, one at a
 * time, and prints per write: p50 / p99 latency (hdr-histogram), process CPU, and the bytes
 * written — the records the Paxos shells handed their engines (`recordBytes`, all replicas;
 * 0 on the memory engine, which persists nothing) and the process's write() bytes from
 * /proc/self/io (`wchar`: the engines' own writes, log compaction included, when it runs).
 *
 *   node dist/bench/table-growth.js
 *   node dist/bench/table-growth.js --engines lsm,bitcask --sizes 0,1,8,18.6 --samples 200
 *   node dist/bench/table-growth.js --models table,queue,set --json
 *
 * The small write: table set(row 'w', column c<i % 16>, --cell-bytes bytes); queue push of
 * --cell-bytes; set add of a new --cell-bytes member; account add(1). Growth: table cells of
 * --fill-bytes in rows of 16; queue pushes and set adds of --fill-bytes values; account adds
 * (its journal grows by one entry per op, so its "size" is in ops: --account-ops).
 *
 * After growing, --warmup small writes run untimed: the first write after a growth pays for
 * the base the growth's last merge left; the timed writes show the steady state, and a
 * merge or fold that falls among them shows in p99 and in the mean bytes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { PaxosStore } from '../index';
import type { EngineName, PaxosStoreOptions, SyncMode } from '../index';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

const ENGINES = ['memory', 'memory-persist', 'bitcask', 'bitcask2', 'lsm'] as const;
type BenchEngine = (typeof ENGINES)[number];
const MODELS = ['table', 'queue', 'set', 'account'] as const;
type BenchModel = (typeof MODELS)[number];
const MIB = 1024 * 1024;

interface Options {
  readonly engines: readonly BenchEngine[];
  readonly models: readonly BenchModel[];
  readonly sizesMib: readonly number[];
  readonly accountOps: readonly number[];
  readonly accountWindow: number;
  readonly samples: number;
  readonly warmup: number;
  readonly cellBytes: number;
  readonly fillBytes: number;
  readonly sync: SyncMode;
  readonly json: boolean;
}

export interface Row {
  readonly engine: BenchEngine;
  readonly model: BenchModel;
  /** Bytes grown into the object before the samples (ops for an account). */
  readonly size: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerOp: number;
  readonly recordBytesPerOp: number;
  readonly wcharBytesPerOp: number;
  readonly errors: Record<string, number>;
}

const FLAGS: BenchFlags = {
  engines: { type: 'string', help: ['a,b', ENGINES.join(','), 'engines to measure'] },
  models: { type: 'string', help: ['a,b', 'table', `objects to grow: ${MODELS.join(', ')}`] },
  sizes: { type: 'string', help: ['MiB,..', '0,1,5,10,18.6', 'sizes to grow the object to'] },
  'account-ops': { type: 'string', help: ['n,..', '0,1000,10000', 'account journal sizes (ops)'] },
  'account-window': {
    type: 'string',
    help: ['N', '10000', "the account's journal window (journalEntries, up to 100000)"],
  },
  samples: { type: 'string', help: ['N', '100', 'small writes timed at each size'] },
  warmup: { type: 'string', help: ['N', '20', 'small writes before the timed ones, not timed'] },
  'cell-bytes': { type: 'string', help: ['N', '20', 'bytes of the small write'] },
  'fill-bytes': { type: 'string', help: ['N', '262144', 'bytes per write while growing'] },
  sync: { type: 'string', help: ['MODE', 'always', 'always | batch | none'] },
  json: { type: 'boolean', help: ['', '', 'print the rows as JSON too'] },
};

function listOf<T extends string>(raw: string | undefined, all: readonly T[], dflt: T[]): T[] {
  if (raw === undefined) return dflt;
  const out = raw.split(',').map((s) => s.trim());
  for (const s of out)
    if (!all.includes(s as T)) throw new Error(`unknown ${s}: ${all.join(', ')}`);
  return out as T[];
}

function numbers(raw: string | undefined, dflt: number[], name: string): number[] {
  if (raw === undefined) return dflt;
  const out = raw.split(',').map(Number);
  if (out.some((n) => !Number.isFinite(n) || n < 0)) throw new Error(`--${name}: numbers >= 0`);
  return out;
}

function optionsOf(args: ParsedBenchArgs): Options {
  const count = (name: string, dflt: number): number => {
    const n = numbers(stringFlag(args, name), [dflt], name)[0] as number;
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive count`);
    return n;
  };
  const sync = (stringFlag(args, 'sync') ?? 'always') as SyncMode;
  if (!['always', 'batch', 'none'].includes(sync)) throw new Error('--sync: always|batch|none');
  return {
    engines: listOf(stringFlag(args, 'engines'), ENGINES, [...ENGINES]),
    models: listOf(stringFlag(args, 'models'), MODELS, ['table']),
    sizesMib: numbers(stringFlag(args, 'sizes'), [0, 1, 5, 10, 18.6], 'sizes'),
    accountOps: numbers(stringFlag(args, 'account-ops'), [0, 1000, 10_000], 'account-ops'),
    accountWindow: count('account-window', 10_000),
    samples: count('samples', 100),
    warmup: numbers(stringFlag(args, 'warmup'), [20], 'warmup')[0] as number,
    cellBytes: count('cell-bytes', 20),
    fillBytes: count('fill-bytes', 256 * 1024),
    sync,
    json: args.values['json'] === true,
  };
}

function storeOptions(engine: BenchEngine, dir: string, sync: SyncMode): PaxosStoreOptions {
  const base = { replicas: 3, groups: 1, workers: 1, sync, timeoutMs: 30_000 };
  if (engine === 'memory') return { ...base, engine: 'memory' };
  if (engine === 'memory-persist') return { ...base, engine: 'memory', persist: true, dir };
  return { ...base, engine: engine as EngineName, dir, valueBytesMax: 1024 * 1024 };
}

/** The process's bytes through write() so far (0 where /proc is missing). */
function wchar(): number {
  try {
    const m = /wchar:\s+(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

async function recordBytes(store: PaxosStore): Promise<number> {
  const stats = await store.stats();
  return stats.replicas.reduce((sum, r) => sum + (r?.['recordBytes'] ?? 0), 0);
}

interface Subject {
  /** Grows the object by about `bytes` (or ops, for an account). */
  grow(amount: number): Promise<void>;
  small(i: number): Promise<unknown>;
}

function subjectOf(store: PaxosStore, model: BenchModel, o: Options): Subject {
  const cell = new Uint8Array(o.cellBytes).fill(7);
  const fill = new Uint8Array(o.fillBytes).fill(9);
  const unique = (i: number, bytes: number): Uint8Array => {
    const v = new Uint8Array(bytes);
    new DataView(v.buffer).setFloat64(0, i);
    return v;
  };
  let filled = 0;
  if (model === 'table') {
    const t = store.table('growth');
    return {
      grow: async (bytes) => {
        for (let done = 0; done < bytes; done += o.fillBytes, filled++)
          await t.set(`r${Math.floor(filled / 16)}`, `c${filled % 16}`, fill);
      },
      small: (i) => t.set('w', `c${i % 16}`, cell),
    };
  }
  if (model === 'queue') {
    const q = store.queue('growth');
    return {
      grow: async (bytes) => {
        for (let done = 0; done < bytes; done += o.fillBytes) await q.push(fill);
      },
      small: () => q.push(cell),
    };
  }
  if (model === 'set') {
    const s = store.set('growth');
    return {
      grow: async (bytes) => {
        for (let done = 0; done < bytes; done += o.fillBytes)
          await s.add(unique(filled++, o.fillBytes));
      },
      small: (i) => s.add(unique(1e9 + i, Math.max(8, o.cellBytes))),
    };
  }
  const a = store.account('growth', { journalEntries: o.accountWindow });
  return {
    // Growing is not timed: 32 adds in flight at a time (distinct opIds, one key).
    grow: async (ops) => {
      for (let n = 0; n < ops; n += 32) {
        const batch = Array.from({ length: Math.min(32, ops - n) }, () => `g${filled++}`);
        await Promise.all(batch.map((opId) => a.add(1, { opId })));
      }
    },
    small: (i) => a.add(1, { opId: `s${i}-${filled}` }),
  };
}

function histogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function codeOf(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'ERROR';
}

async function sample(store: PaxosStore, subject: Subject, o: Options, round: number) {
  const h = histogram();
  const errors: Record<string, number> = {};
  const bytesBefore = await recordBytes(store);
  const wcharBefore = wchar();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now();
    try {
      await subject.small(round * o.samples + i);
      h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    } catch (error) {
      errors[codeOf(error)] = (errors[codeOf(error)] ?? 0) + 1;
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const wcharBytes = wchar() - wcharBefore;
  const bytes = (await recordBytes(store)) - bytesBefore;
  return {
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    cpuUsPerOp: (cpu.user + cpu.system) / o.samples,
    recordBytesPerOp: bytes / o.samples,
    wcharBytesPerOp: wcharBytes / o.samples,
    errors,
  };
}

async function measure(engine: BenchEngine, model: BenchModel, o: Options): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-growth-'));
  const store = await PaxosStore.open(storeOptions(engine, dir, o.sync));
  const rows: Row[] = [];
  try {
    const subject = subjectOf(store, model, o);
    const targets = model === 'account' ? o.accountOps : o.sizesMib.map((m) => Math.round(m * MIB));
    let grown = 0;
    for (const [round, target] of targets.entries()) {
      if (target > grown) {
        const failed = await subject.grow(target - grown).then(
          () => undefined,
          (error: unknown) => codeOf(error),
        );
        if (failed !== undefined) {
          // The object could not grow (a write timed out): that is the finding for this size.
          const none = { p50Ms: NaN, p99Ms: NaN, cpuUsPerOp: NaN };
          const bytes = { recordBytesPerOp: NaN, wcharBytesPerOp: NaN };
          rows.push({
            engine,
            model,
            size: target,
            ...none,
            ...bytes,
            errors: { [`grow ${failed}`]: 1 },
          });
          console.error(`  ${engine} ${model} ${target}: growing failed with ${failed}`);
          break;
        }
      }
      grown = Math.max(grown, target);
      // The first writes after growing pay for what the growth left (a merge's base): not timed.
      for (let i = 0; i < o.warmup; i++) await subject.small(-1 - round * o.warmup - i);
      const r = await sample(store, subject, o, round);
      rows.push({ engine, model, size: target, ...r });
      console.error(`  ${engine} ${model} ${target}: p50 ${r.p50Ms.toFixed(2)} ms`);
    }
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function printRows(rows: readonly Row[]): void {
  console.log(
    '| engine | model | size | p50 ms | p99 ms | cpu us/op | record B/op | wchar B/op | errors |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const size = r.model === 'account' ? `${r.size} ops` : `${(r.size / MIB).toFixed(1)} MiB`;
    const errors = Object.entries(r.errors)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    console.log(
      `| ${r.engine} | ${r.model} | ${size} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ` +
        `${Math.round(r.cpuUsPerOp)} | ${Math.round(r.recordBytesPerOp)} | ${Math.round(r.wcharBytesPerOp)} | ${errors} |`,
    );
  }
}

async function main(): Promise<void> {
  const o = parseBenchArgsOrExit(
    'table-growth',
    'node dist/bench/table-growth.js [options]',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  const rows: Row[] = [];
  for (const model of o.models)
    for (const engine of o.engines) rows.push(...(await measure(engine, model, o)));
  printRows(rows);
  if (o.json) console.log(JSON.stringify(rows));
}

void main();
