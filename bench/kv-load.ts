/**
 * KV load test on the embedded Set: N closed-loop clients over random keys, a write phase
 * (put) then a read phase (linearizable get), each for a fixed duration, per worker count.
 *
 *   node dist/bench/kv-load.js --seconds 3 --clients 256 --engine memory --workers 1,2
 *   node dist/bench/kv-load.js --engine lsm --sync batch --workers 2
 *
 * Options (CLI flag / env var / default):
 *   --seconds  KV_SECONDS  5        duration of each measured phase
 *   --warmup   KV_WARMUP   1        unmeasured writes before the write phase (JIT, queues)
 *   --clients  KV_CLIENTS  256      concurrent closed-loop clients
 *   --keys     KV_KEYS     100000   keyspace size
 *   --value-bytes KV_VALUE_BYTES 100
 *   --engine   KV_ENGINE   memory   memory | lsm | bitcask | bitcask2 (disk engines: fresh dir under os.tmpdir(), removed after)
 *   --persist  KV_PERSIST=1  off    memory only: `persist: true` (append log in a fresh temp dir)
 *   --journal  KV_JOURNAL=1  off    `journal: true` (README "Journal subscription"; durable engines)
 *   --sync     KV_SYNC     batch    always | batch | none
 *   --workers  KV_WORKERS  1,<cores>  comma list; every entry is a separate store and run
 *   --groups   KV_GROUPS   store default (one per worker, at least 2)
 *   --route    KV_ROUTE    home     home: store.kv(ns) (each key's home replica);
 *                                   rr: client i uses store.replica(i % replicas).kv(ns)
 *   --phases   KV_PHASES   all      all | write | read (read pre-warms every key first)
 *   --json                          print the structured result as JSON at the end
 *
 * A library caller uses `runKvLoad(opts)`, which returns the structured results.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { assert } from '../runtime/assert';
import { parseBenchArgs, parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';
import { PaxosStore } from '../index';
import type { EngineName, KvNamespace, SyncMode } from '../index';
import { clientHeapBytes, formatPerOp, perOp, takeTotals } from './kv-load-counts';
import type { PerOpCounts } from './kv-load-counts';

export type Route = 'home' | 'rr';
export type Phases = 'all' | 'write' | 'read';

export interface KvLoadOptions {
  seconds?: number;
  warmupSeconds?: number;
  clients?: number;
  keys?: number;
  valueBytes?: number;
  engine?: EngineName;
  /** memory engine: `persist: true` (an append log in a fresh temp dir). Default false. */
  persist?: boolean;
  /** `journal: true` (README "Journal subscription"): the journal's cost. Default false. */
  journal?: boolean;
  sync?: SyncMode;
  /** One run per entry (a fresh store each). Default [1, availableParallelism()]. */
  workers?: number[];
  groups?: number;
  /** Each worker's young generation in MiB (`workerYoungMb`); the store default when absent. */
  workerYoungMb?: number;
  /** The adaptive group commit's linger (`groupCommitLingerMs`); the store default when absent. */
  lingerMs?: number;
  route?: Route;
  /** Which measured phases to run. 'read' pre-warms every key first. Default 'all'. */
  phases?: Phases;
  /** Live progress on stderr (\r line on a TTY, periodic lines otherwise). Default true. */
  progress?: boolean;
  /** Print each run's table when it finishes. Default true. */
  print?: boolean;
}

export interface PhaseResult {
  phase: 'write' | 'read';
  ops: number;
  errors: Record<string, number>;
  errorCount: number;
  seconds: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  /**
   * CPU time of the whole process (every thread: client, workers, engine threads) per
   * completed operation, in microseconds. Unlike ops/s it hardly moves when other programs
   * share the machine, so it is the figure to compare optimisations by.
   */
  cpuMicrosPerOp: number;
  /** read phase only: gets that found no value (should be 0 after the pre-warm). */
  notFound?: number;
  /** Messages, payloads, ring records and wake-ups per completed operation. */
  perOp?: PerOpCounts;
}

export interface RunResult {
  engine: EngineName;
  sync: SyncMode;
  workers: number;
  groups: number;
  replicas: number;
  clients: number;
  keys: number;
  valueBytes: number;
  route: Route;
  persist: boolean;
  write?: PhaseResult;
  prewarm?: { keys: number; seconds: number; errors: Record<string, number> };
  read?: PhaseResult;
}

export interface KvLoadResult {
  runs: RunResult[];
  /** Last run vs first run (e.g. workers N vs 1), when there are at least two runs. */
  /** NaN for a phase that was skipped. */
  scaling?: { from: number; to: number; write: number; read: number };
}

function cores(): number {
  return typeof os.availableParallelism === 'function'
    ? os.availableParallelism()
    : os.cpus().length;
}

export const NAMESPACE = 'bench';

function keyOf(i: number): string {
  return `key-${i.toString().padStart(8, '0')}`;
}

/**
 * Key names are built per op from the key's digits (String.fromCharCode: no table, no load from
 * memory the workers may have evicted): the same names as keyOf, for keys below 10^8 (more are
 * built by keyOf). Not picked from an array of every name built before the phases (the seventh
 * session's choice, against toString + padStart + a template per op): a name picked at random
 * from 100,000 of them was a cache miss on the client thread, whose core's caches the workers'
 * state keeps evicting, ~0.35 us per op of the client's figure (perf: the first load from the
 * key string, in validateKey); a 4-digit string table missed too (bench/README "Issue 10,
 * twelfth session (wt/client)"). Each call still hands the store a key it must validate,
 * route and encode.
 */
const KEY_NAMES_BUILT_MAX = 100_000_000;
const CHAR_0 = 48;

function digit(k: number, unit: number): number {
  return CHAR_0 + (Math.floor(k / unit) % 10);
}

function keyBuilt(k: number): string {
  // 'key-' and eight digits.
  return String.fromCharCode(
    107,
    101,
    121,
    45,
    digit(k, 1e7),
    digit(k, 1e6),
    digit(k, 1e5),
    digit(k, 1e4),
    digit(k, 1e3),
    digit(k, 100),
    digit(k, 10),
    digit(k, 1),
  );
}

function keyNames(keys: number): (k: number) => string {
  if (keys > KEY_NAMES_BUILT_MAX) return keyOf;
  for (const k of [0, 1, 9_999, 10_000, 12_345_678, keys - 1]) {
    assert(keyBuilt(k) === keyOf(k), `key name ${k}: ${keyBuilt(k)} against ${keyOf(k)}`);
  }
  return keyBuilt;
}

/** Each client's value, bytes of its own (as before: a pattern per client). */
function clientValues(clients: number, valueBytes: number): Buffer[] {
  return Array.from({ length: clients }, (_, c) => {
    const v = Buffer.alloc(valueBytes);
    for (let i = 0; i < v.length; i++) v[i] = (c * 31 + i * 7) & 0xff;
    return v;
  });
}

function histogram(): hdr.Histogram {
  // microseconds, 1 us .. 120 s, 3 significant digits
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function errorCode(e: unknown): string {
  if (e !== null && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'UNKNOWN';
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Live ops/s on stderr: a \r-updated line every 500 ms on a TTY, a plain line every 1 s otherwise. */
class Progress {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private lastAt = 0;
  private ticks = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly count: () => { ops: number; errors: number },
    private readonly enabled: boolean,
  ) {}

  start(): void {
    if (!this.enabled) return;
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.tick(), 500);
  }

  private tick(): void {
    const now = performance.now();
    const { ops, errors } = this.count();
    this.ticks += 1;
    if (!this.tty && this.ticks % 2 !== 0) return;
    const rate = ((ops - this.last) * 1000) / (now - this.lastAt);
    this.last = ops;
    this.lastAt = now;
    const line = `${this.label}: ${Math.round(rate).toLocaleString('en-US')} ops/s, ${ops.toLocaleString('en-US')} ops, ${errors} errors`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }
}

export interface PhaseSpec {
  phase: 'write' | 'read' | 'warmup';
  seconds: number;
  clients: number;
  keys: number;
  namespaces: KvNamespace[];
  values: Buffer[];
  /** Key k's name (keyNames). */
  keyName: (k: number) => string;
  written: Uint8Array;
  progress: boolean;
  label: string;
}

/**
 * The phases of one store's run: its clients' values and the keys written so far are shared by
 * every phase it makes (`written` tells the read phase's pre-warm what is left).
 */
export function phaseSpecs(
  namespaces: KvNamespace[],
  o: { clients: number; keys: number; valueBytes: number; progress: boolean },
  tag: string,
): (phase: PhaseSpec['phase'], seconds: number) => PhaseSpec {
  const values = clientValues(o.clients, o.valueBytes);
  const written = new Uint8Array(o.keys);
  const keyName = keyNames(o.keys);
  return (phase, seconds) => ({
    phase,
    seconds,
    clients: o.clients,
    keys: o.keys,
    namespaces,
    values,
    keyName,
    written,
    progress: o.progress,
    label: `${tag} ${phase}`,
  });
}

export async function runPhase(s: PhaseSpec): Promise<PhaseResult> {
  const h = histogram();
  const errors: Record<string, number> = {};
  let ops = 0;
  let errorCount = 0;
  let notFound = 0;
  let stop = false;
  const progress = new Progress(s.label, () => ({ ops, errors: errorCount }), s.progress);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const end = start + s.seconds * 1000;

  const client = async (c: number): Promise<void> => {
    const kv = s.namespaces[c % s.namespaces.length];
    const value = s.values[c];
    assert(kv !== undefined && value !== undefined, `client ${c} has no namespace or value`);
    // One clock read per op: the end of one op is the start of the next (the key's choice
    // between them, tens of nanoseconds, counts in the next op's latency; the histogram's unit
    // is a microsecond). A clock read is ~45 ns of the client thread.
    let t0 = performance.now();
    while (!stop && t0 < end) {
      const k = Math.floor(Math.random() * s.keys);
      try {
        if (s.phase === 'read') {
          const got = await kv.get(s.keyName(k));
          if (got === undefined) notFound += 1;
        } else {
          await kv.put(s.keyName(k), value);
          s.written[k] = 1;
        }
        const t1 = performance.now();
        h.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
        ops += 1;
        t0 = t1;
      } catch (e) {
        const code = errorCode(e);
        errors[code] = (errors[code] ?? 0) + 1;
        errorCount += 1;
        if (code === 'CLOSED') {
          stop = true;
          break;
        }
        // An immediate rejection (e.g. UNAVAILABLE, replica down) must not spin the microtask queue.
        await yieldTurn();
        t0 = performance.now();
      }
    }
  };

  progress.start();
  try {
    await Promise.all(Array.from({ length: s.clients }, (_, c) => client(c)));
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const ms = (us: number) => us / 1000;
  const r: PhaseResult = {
    phase: s.phase === 'read' ? 'read' : 'write',
    ops,
    errors,
    errorCount,
    seconds,
    opsPerSecond: ops / seconds,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
    cpuMicrosPerOp: ops > 0 ? (cpu.user + cpu.system) / ops : NaN,
  };
  if (s.phase === 'read') r.notFound = notFound;
  h.destroy();
  return r;
}

/** A phase with the store's message counters per operation (kv-load-counts.ts). */
export async function countedPhase(store: PaxosStore, s: PhaseSpec): Promise<PhaseResult> {
  const before = await takeTotals(store);
  const heap = clientHeapBytes();
  const r = await runPhase(s);
  const heapBytes = heap.stop();
  r.perOp = perOp(before, await takeTotals(store), r.ops);
  r.perOp.clientHeapBytesPerOp = r.ops > 0 ? heapBytes / r.ops : NaN;
  return r;
}

/** Writes every key not written yet, `clients` at a time, so the read phase finds all keys. */
export async function prewarm(s: PhaseSpec): Promise<RunResult['prewarm']> {
  const start = performance.now();
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const missing: number[] = [];
  for (let k = 0; k < s.keys; k++) if (s.written[k] === 0) missing.push(k);
  const progress = new Progress(
    `${s.label} (${missing.length} keys)`,
    () => ({ ops: done, errors: 0 }),
    s.progress,
  );
  const client = async (c: number): Promise<void> => {
    const kv = s.namespaces[c % s.namespaces.length];
    const value = s.values[c];
    assert(kv !== undefined && value !== undefined, `client ${c} has no namespace or value`);
    while (next < missing.length) {
      const k = missing[next++];
      assert(k !== undefined, 'next stays below missing.length');
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await kv.put(s.keyName(k), value);
          s.written[k] = 1;
          break;
        } catch (e) {
          const code = errorCode(e);
          errors[code] = (errors[code] ?? 0) + 1;
          if (code === 'CLOSED') return;
          await yieldTurn();
        }
      }
      done += 1;
    }
  };
  progress.start();
  try {
    await Promise.all(Array.from({ length: s.clients }, (_, c) => client(c)));
  } finally {
    progress.stop();
  }
  return { keys: missing.length, seconds: (performance.now() - start) / 1000, errors };
}

function resolve(opts: KvLoadOptions) {
  const o = {
    seconds: opts.seconds ?? 5,
    warmupSeconds: opts.warmupSeconds ?? 1,
    clients: opts.clients ?? 256,
    keys: opts.keys ?? 100_000,
    valueBytes: opts.valueBytes ?? 100,
    engine: opts.engine ?? 'memory',
    persist: opts.persist ?? false,
    journal: opts.journal ?? false,
    sync: opts.sync ?? 'batch',
    workers: opts.workers ?? [...new Set([1, cores()])],
    groups: opts.groups,
    workerYoungMb: opts.workerYoungMb,
    lingerMs: opts.lingerMs,
    route: opts.route ?? 'home',
    phases: opts.phases ?? 'all',
    progress: opts.progress ?? true,
    print: opts.print ?? true,
  };
  if (!(o.seconds > 0)) throw new Error(`seconds must be > 0, got ${o.seconds}`);
  if (!(o.warmupSeconds >= 0)) throw new Error(`warmup must be >= 0, got ${o.warmupSeconds}`);
  for (const [name, v] of [
    ['clients', o.clients],
    ['keys', o.keys],
    ['valueBytes', o.valueBytes],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  if (o.workers.length === 0 || o.workers.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`workers must be a list of positive integers, got ${o.workers.join(',')}`);
  }
  if (
    o.engine !== 'memory' &&
    o.engine !== 'lsm' &&
    o.engine !== 'bitcask' &&
    o.engine !== 'bitcask2'
  ) {
    throw new Error(`engine must be memory, lsm, bitcask or bitcask2`);
  }
  if (o.persist && o.engine !== 'memory')
    throw new Error(`--persist is for the memory engine only`);
  if (o.route !== 'home' && o.route !== 'rr') throw new Error(`route must be home or rr`);
  if (o.phases !== 'all' && o.phases !== 'write' && o.phases !== 'read')
    throw new Error(`phases must be all, write or read`);
  return o;
}

/** `memory+persist` for the memory engine with its append log, else the engine name. */
function engineTag(o: { engine: EngineName; persist: boolean }): string {
  return o.engine === 'memory' && o.persist ? 'memory+persist' : o.engine;
}

/** A fresh temp dir for the engines that keep data in one. */
async function dataDirFor(o: ReturnType<typeof resolve>): Promise<string | undefined> {
  if (o.engine === 'memory' && !o.persist) return undefined;
  return mkdtemp(path.join(os.tmpdir(), 'paxosstore-kv-load-'));
}

async function runOne(o: ReturnType<typeof resolve>, workers: number): Promise<RunResult> {
  const dir = await dataDirFor(o);
  try {
    const store = await PaxosStore.open({
      engine: o.engine,
      ...(o.persist ? { persist: true } : {}),
      journal: o.journal,
      workers,
      sync: o.sync,
      ...(dir === undefined ? {} : { dir }),
      ...(o.groups === undefined ? {} : { groups: o.groups }),
      ...(o.workerYoungMb === undefined ? {} : { workerYoungMb: o.workerYoungMb }),
      ...(o.lingerMs === undefined ? {} : { groupCommitLingerMs: o.lingerMs }),
    });
    try {
      const replicas = store.options.replicas;
      const namespaces =
        o.route === 'home'
          ? [store.kv(NAMESPACE)]
          : Array.from({ length: replicas }, (_, i) => store.replica(i).kv(NAMESPACE));
      const tag = `${engineTag(o)}/${o.sync} w=${workers}`;
      const spec = phaseSpecs(namespaces, o, tag);
      if (o.warmupSeconds > 0) await runPhase(spec('warmup', o.warmupSeconds));
      const write =
        o.phases === 'read' ? undefined : await countedPhase(store, spec('write', o.seconds));
      const pre =
        o.phases === 'write'
          ? undefined
          : await prewarm({ ...spec('write', 0), label: `${tag} pre-warm` });
      const read =
        o.phases === 'write' ? undefined : await countedPhase(store, spec('read', o.seconds));
      const r: RunResult = {
        engine: o.engine,
        sync: o.sync,
        workers,
        groups: store.options.groups,
        replicas,
        clients: o.clients,
        keys: o.keys,
        valueBytes: o.valueBytes,
        route: o.route,
        persist: o.persist,
      };
      if (write) r.write = write;
      if (pre) r.prewarm = pre;
      if (read) r.read = read;
      return r;
    } finally {
      await store.close();
    }
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

export async function runKvLoad(opts: KvLoadOptions = {}): Promise<KvLoadResult> {
  const o = resolve(opts);
  const runs: RunResult[] = [];
  for (const w of o.workers) {
    const r = await runOne(o, w);
    runs.push(r);
    if (o.print) console.log(formatRuns([r]));
  }
  const result: KvLoadResult = { runs };
  const a = runs[0];
  const b = runs[runs.length - 1];
  if (runs.length >= 2 && a !== undefined && b !== undefined) {
    const ratio = (x?: PhaseResult, y?: PhaseResult) =>
      x && y ? y.opsPerSecond / x.opsPerSecond : NaN;
    result.scaling = {
      from: a.workers,
      to: b.workers,
      write: ratio(a.write, b.write),
      read: ratio(a.read, b.read),
    };
  }
  return result;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => n.toFixed(n < 10 ? 2 : 1);

function fmtErrors(e: Record<string, number>): string {
  const parts = Object.entries(e).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? '0' : parts.join(' ');
}

export function formatRuns(runs: RunResult[]): string {
  const header = [
    'engine/sync',
    'workers',
    'phase',
    'ops/s',
    'ops',
    'p50 ms',
    'p99 ms',
    'p999 ms',
    'max ms',
    'cpu us/op',
    'errors',
  ];
  const widths = [21, 7, 5, 10, 10, 7, 7, 8, 8, 9, 0];
  const row = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === 0 || i === 2 || i === cells.length - 1
          ? c.padEnd(widths[i] ?? 0)
          : c.padStart(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const lines = [row(header)];
  for (const r of runs) {
    for (const p of [r.write, r.read]) {
      if (p === undefined) continue;
      const errs = fmtErrors(p.errors) + (p.notFound ? ` notFound=${p.notFound}` : '');
      lines.push(
        row([
          `${engineTag(r)}/${r.sync}`,
          String(r.workers),
          p.phase,
          fmtInt(p.opsPerSecond),
          fmtInt(p.ops),
          fmtMs(p.p50Ms),
          fmtMs(p.p99Ms),
          fmtMs(p.p999Ms),
          fmtMs(p.maxMs),
          p.cpuMicrosPerOp.toFixed(1),
          errs,
        ]),
      );
    }
  }
  for (const r of runs) {
    for (const p of [r.write, r.read]) {
      if (p?.perOp !== undefined)
        lines.push(formatPerOp(`${engineTag(r)}/${r.sync} w=${r.workers} ${p.phase}`, p.perOp));
    }
  }
  return lines.join('\n');
}

export function formatResult(res: KvLoadResult): string {
  const r0 = res.runs[0];
  const lines: string[] = [];
  if (r0 !== undefined) {
    lines.push(
      `kv-load: ${r0.replicas} replicas, ${r0.groups} groups, ${r0.clients} clients, ${fmtInt(r0.keys)} keys, ` +
        `${r0.valueBytes}-byte values, route=${r0.route}, reads linearizable`,
    );
  }
  lines.push(formatRuns(res.runs));
  for (const r of res.runs) {
    if (r.prewarm && r.prewarm.keys > 0)
      lines.push(
        `pre-warm w=${r.workers}: ${fmtInt(r.prewarm.keys)} keys in ${r.prewarm.seconds.toFixed(1)} s, errors ${fmtErrors(r.prewarm.errors)}`,
      );
  }
  if (res.scaling) {
    const x = (n: number) => (Number.isNaN(n) ? 'n/a' : `x${n.toFixed(2)}`);
    lines.push(
      `workers ${res.scaling.to} vs ${res.scaling.from}: writes ${x(res.scaling.write)}, reads ${x(res.scaling.read)}`,
    );
  }
  return lines.join('\n');
}

/** kv-load's flags (run-all takes the same and ignores --engine and --workers). */
export const KV_LOAD_FLAGS: BenchFlags = {
  seconds: { type: 'string', help: ['N', 'KV_SECONDS', '5', 'length of each measured phase'] },
  warmup: {
    type: 'string',
    help: ['N', 'KV_WARMUP', '1', 'unmeasured writes first (JIT, queues)'],
  },
  clients: { type: 'string', help: ['N', 'KV_CLIENTS', '256', 'concurrent closed-loop clients'] },
  keys: { type: 'string', help: ['N', 'KV_KEYS', '100000', 'keyspace size'] },
  'value-bytes': { type: 'string', help: ['N', 'KV_VALUE_BYTES', '100', 'value size'] },
  engine: {
    type: 'string',
    help: ['NAME', 'KV_ENGINE', 'memory', 'memory | lsm | bitcask | bitcask2'],
  },
  persist: {
    type: 'boolean',
    help: ['', 'KV_PERSIST=1', 'off', 'memory only: persist: true (append log in a temp dir)'],
  },
  journal: {
    type: 'boolean',
    help: ['', 'KV_JOURNAL=1', 'off', 'journal: true (durable engines)'],
  },
  sync: { type: 'string', help: ['MODE', 'KV_SYNC', 'batch', 'always | batch | none'] },
  workers: {
    type: 'string',
    help: ['LIST', 'KV_WORKERS', '1,<cores>', 'comma list; one store and run per entry'],
  },
  groups: {
    type: 'string',
    help: ['N', 'KV_GROUPS', '(workers, >=2)', 'actors per replica (the store default)'],
  },
  'worker-young-mb': {
    type: 'string',
    help: ['MIB', 'KV_WORKER_YOUNG_MB', '(48)', "each worker's young generation (workerYoungMb)"],
  },
  'linger-ms': {
    type: 'string',
    help: [
      'MS',
      'KV_LINGER_MS',
      '(1)',
      'durable groups: group commit linger (groupCommitLingerMs)',
    ],
  },
  route: {
    type: 'string',
    help: ['home|rr', 'KV_ROUTE', 'home', 'rr: client i writes through replica i % 3'],
  },
  phases: { type: 'string', help: ['WHICH', 'KV_PHASES', 'all', 'all | write | read'] },
  json: { type: 'boolean', help: ['', '', '', 'also print the structured result'] },
};

export const KV_LOAD_USAGE = 'kv-load [--flag value]... (flag, env var, default)';

/**
 * Parses kv-load's flags (`--flag value` or `--flag=value`, node:util parseArgs, strict) over
 * the KV_* env vars. Throws on an unknown option or a value that is not a number where one is
 * needed; `--help` is the caller's (parseBenchArgsOrExit).
 */
export function parseKvLoadArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): KvLoadOptions & { json: boolean } {
  return kvLoadOptionsOf(parseBenchArgs(argv, KV_LOAD_FLAGS), env);
}

export function kvLoadOptionsOf(
  args: ParsedBenchArgs,
  env: NodeJS.ProcessEnv = process.env,
): KvLoadOptions & { json: boolean } {
  const get = (flag: string, envName: string) => stringFlag(args, flag) ?? env[envName];
  const num = (flag: string, envName: string) => {
    const v = get(flag, envName);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got ${v}`);
    return n;
  };
  const workers = get('workers', 'KV_WORKERS');
  const opts: KvLoadOptions = {};
  const set = <K extends keyof KvLoadOptions>(k: K, v: KvLoadOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('seconds', num('seconds', 'KV_SECONDS'));
  set('warmupSeconds', num('warmup', 'KV_WARMUP'));
  set('clients', num('clients', 'KV_CLIENTS'));
  set('keys', num('keys', 'KV_KEYS'));
  set('valueBytes', num('value-bytes', 'KV_VALUE_BYTES'));
  set('groups', num('groups', 'KV_GROUPS'));
  set('workerYoungMb', num('worker-young-mb', 'KV_WORKER_YOUNG_MB'));
  set('lingerMs', num('linger-ms', 'KV_LINGER_MS'));
  set('engine', get('engine', 'KV_ENGINE') as EngineName | undefined);
  if (args.values['persist'] === true || env['KV_PERSIST'] === '1') set('persist', true);
  if (args.values['journal'] === true || env['KV_JOURNAL'] === '1') set('journal', true);
  set('sync', get('sync', 'KV_SYNC') as SyncMode | undefined);
  set('route', get('route', 'KV_ROUTE') as Route | undefined);
  set('phases', get('phases', 'KV_PHASES') as Phases | undefined);
  if (workers !== undefined)
    set(
      'workers',
      workers
        .split(',')
        .filter((s) => s.length > 0)
        .map(Number),
    );
  return { ...opts, json: args.values['json'] === true };
}

if (require.main === module) {
  const args = parseBenchArgsOrExit(
    'kv-load',
    KV_LOAD_USAGE,
    KV_LOAD_FLAGS,
    process.argv.slice(2),
    (parsed) => kvLoadOptionsOf(parsed),
  );
  const { json, ...opts } = args;
  (async () => {
    const res = await runKvLoad({ ...opts, print: false });
    console.log(formatResult(res));
    if (json) console.log(JSON.stringify(res, null, 2));
  })()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
