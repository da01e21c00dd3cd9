/**
 * fold-stall (issue 10, "no head-of-line blocking"): fills one table, queue or set towards its
 * limit with big writes while other writers put small KV values in the same worker (3
 * replicas, 1 worker, 1 group by default: the other keys share the big object's batches,
 * mailbox and thread; `--groups N` spreads them as a store does), and prints the big writes' latencies (the worst one is a merge or fold) beside the
 * small writes' p50 / p99 / max: what a fold costs the keys that are not being folded.
 *
 *   node dist/bench/fold-stall.js --engines memory,bitcask,lsm
 *   node dist/bench/fold-stall.js --models queue,set --engines lsm
 *
 * Table: 200 KiB cells in rows of 16 until TABLE_TOO_LARGE, then --tail one-cell writes (a
 * table near its limit merging its change section every main / 8). Queue: 256 KiB pushes and
 * pops alternating after it is full (dead-prefix folds). Set: 256 KiB members until the limit,
 * then 20-byte adds (change-section folds). Also printed: process CPU per big write (the
 * small writes' included), the record bytes the shells handed their engines (all replicas)
 * and how many of those records were whole bases (the rest are change entries).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { PaxosStore } from '../index';
import type { EngineName, PaxosStoreOptions } from '../index';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

const ENGINES = ['memory', 'bitcask', 'bitcask2', 'lsm'] as const;
type BenchEngine = (typeof ENGINES)[number];
const MODELS = ['table', 'queue', 'set'] as const;
const MIB = 1024 * 1024;
type BenchModel = (typeof MODELS)[number];

interface Options {
  readonly engines: readonly BenchEngine[];
  readonly models: readonly BenchModel[];
  readonly writers: number;
  readonly tail: number;
  readonly groups: number;
  readonly workers: number;
}

const FLAGS: BenchFlags = {
  engines: { type: 'string', help: ['a,b', 'memory,bitcask,lsm', 'engines to measure'] },
  models: { type: 'string', help: ['a,b', 'table', `objects to fill: ${MODELS.join(', ')}`] },
  writers: { type: 'string', help: ['N', '4', 'concurrent small writers on other keys'] },
  tail: { type: 'string', help: ['N', '400', 'writes after the object is full'] },
  groups: {
    type: 'string',
    help: ['N', '1', 'key groups per replica (1: every key shares a batch)'],
  },
  workers: { type: 'string', help: ['N', '1', 'worker threads'] },
};

function optionsOf(args: ParsedBenchArgs): Options {
  const list = <T extends string>(raw: string | undefined, all: readonly T[], d: T[]): T[] => {
    const out = raw === undefined ? d : (raw.split(',') as T[]);
    for (const s of out) if (!all.includes(s)) throw new TypeError(`unknown ${s}`);
    return out;
  };
  const count = (name: string, d: number): number => {
    const n = Number(stringFlag(args, name) ?? d);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`--${name}`);
    return n;
  };
  return {
    engines: list(stringFlag(args, 'engines'), ENGINES, ['memory', 'bitcask', 'lsm']),
    models: list(stringFlag(args, 'models'), MODELS, ['table']),
    writers: count('writers', 4),
    tail: count('tail', 400),
    groups: Math.max(1, count('groups', 1)),
    workers: Math.max(1, count('workers', 1)),
  };
}

function storeOptions(engine: BenchEngine, dir: string, o: Options): PaxosStoreOptions {
  const base = { replicas: 3, groups: o.groups, workers: o.workers, timeoutMs: 30_000 } as const;
  if (engine === 'memory') return { ...base, engine: 'memory' };
  return { ...base, engine: engine as EngineName, dir, valueBytesMax: 1024 * 1024 };
}

function codeOf(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'ERROR';
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000 });
}

/** The i-th big write of the fill; answers false once the object is full and the tail done. */
function filler(store: PaxosStore, model: BenchModel, o: Options) {
  const big = (i: number): Uint8Array => {
    const v = new Uint8Array(model === 'table' ? 200 * 1024 : 256 * 1024).fill(7);
    new DataView(v.buffer).setFloat64(0, i);
    return v;
  };
  let full = -1;
  const step = async (i: number): Promise<void> => {
    const inTail = full >= 0;
    if (model === 'table') {
      const t = store.table('big');
      if (inTail) await t.set('w', `c${i % 4096}`, `v${i}`.padEnd(20, '.'));
      else await t.set(`r${Math.floor(i / 16)}`, `c${i % 16}`, big(i));
    } else if (model === 'queue') {
      const q = store.queue('big');
      if (inTail && i % 2 === 0) await q.pop();
      else await q.push(big(i));
    } else {
      const s = store.set('big');
      if (inTail) await s.add(`m${i}`.padEnd(20, '.'));
      else await s.add(big(i));
    }
  };
  return async (i: number): Promise<{ ok: boolean; code: string }> => {
    if (full >= 0 && i - full > o.tail) return { ok: false, code: 'done' };
    try {
      await step(i);
      return { ok: true, code: 'ok' };
    } catch (error) {
      const code = codeOf(error);
      const limit = code === 'TABLE_TOO_LARGE' || code === 'TOO_LARGE';
      if (limit && full < 0) full = i;
      return { ok: limit, code };
    }
  };
}

async function measure(engine: BenchEngine, model: BenchModel, o: Options): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-stall-'));
  const store = await PaxosStore.open(storeOptions(engine, dir, o));
  const bigH = histogram();
  const smallH = histogram();
  const codes: Record<string, number> = {};
  let filling = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bigWrites = 0;
  let written = { record: 0, bases: 0, base: 0 };
  try {
    const next = filler(store, model, o);
    const fill = (async () => {
      for (let i = 0; i < 100_000; i++) {
        const s = performance.now();
        const r = await next(i);
        if (r.code === 'done') break;
        bigWrites++;
        bigH.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        codes[`big ${r.code}`] = (codes[`big ${r.code}`] ?? 0) + 1;
        if (!r.ok) break;
      }
      filling = false;
    })();
    const kv = store.kv('other');
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; filling && i < 1_000_000; i++) {
        const s = performance.now();
        let code = 'ok';
        await kv.put(`k${w}-${i % 64}`, `v${i}`).catch((e: unknown) => (code = codeOf(e)));
        smallH.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        codes[`small ${code}`] = (codes[`small ${code}`] ?? 0) + 1;
      }
    };
    await Promise.all([fill, ...Array.from({ length: o.writers }, (_, w) => writer(w))]);
    const stats = await store.stats();
    const sum = (name: string): number => stats.replicas.reduce((n, r) => n + (r?.[name] ?? 0), 0);
    written = {
      record: sum('recordBytes'),
      bases: sum('sectionBases'),
      base: sum('sectionBaseBytes'),
    };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const ms = (h: hdr.Histogram, q: number): string => (h.getValueAtPercentile(q) / 1000).toFixed(1);
  const outcome = Object.entries(codes)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `| ${engine} | ${model} | ${bigWrites} | ${ms(bigH, 50)} | ${ms(bigH, 99)} | ${ms(bigH, 100)} | ` +
    `${smallH.totalCount} | ${ms(smallH, 50)} | ${ms(smallH, 99)} | ${ms(smallH, 100)} | ` +
    `${secs.toFixed(1)} | ${Math.round((c.user + c.system) / 1000 / bigWrites)} | ` +
    `${(written.record / MIB).toFixed(0)} | ${written.bases} | ${outcome} |`
  );
}

async function main(): Promise<void> {
  const o = parseBenchArgsOrExit(
    'fold-stall',
    'node dist/bench/fold-stall.js [options]',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  console.log(
    '| engine | model | big writes | big p50 ms | big p99 ms | big max ms | small writes | ' +
      'small p50 ms | small p99 ms | small max ms | s | cpu ms/big | record MiB | bases | outcomes |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const model of o.models)
    for (const engine of o.engines) console.log(await measure(engine, model, o));
}

void main();
