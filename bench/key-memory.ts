/**
 * Memory per key and write rate as the key count grows (issue 10): writes N distinct keys
 * through the public API (`PaxosStore.open`, 3 replicas) and prints, at each checkpoint, the
 * process RSS, the RSS per key per replica beyond the key's and value's own bytes, the V8 heap
 * of each worker, and the write rate over the last interval.
 *
 *   node dist/bench/key-memory.js --keys 3000000
 *   node dist/bench/key-memory.js --keys 300000 --checkpoints 10000,100000,300000 --json
 *
 * Options: --keys N (1,000,000), --engine memory|lsm|bitcask|bitcask2 (memory; disk engines use
 * a fresh directory under os.tmpdir(), removed after), --value-bytes N (100), --writers N (256
 * closed-loop writers), --workers N (2), --checkpoints a,b,c (10k, 100k, 300k, 1M, 3M, 10M up to
 * --keys, and --keys itself), --settle-ms N (3000: pause before each sample, so the key cache
 * has swept and the heap is past its last allocation burst), --cached-keys N (store default),
 * --heap-growing-percent N (V8's old-generation growing factor as 1 + N/100 instead of its own
 * choice of 1.1–4: how much of the RSS is collector slack rather than live keys),
 * --rate-window N (100,000: the write rate at a checkpoint is over its last N keys, or the
 * later half of the interval if shorter), --prefill-writers N (--writers: writers for the keys of an interval
 * before its rate window, to fill faster), --v8-flags '…' (V8 flags set before the workers
 * start, e.g. '--single-threaded-gc'), --repair-interval-ms N (the background repair's
 * interval; 0 turns it off; each round is printed), --progress-seconds N (30: a line with keys, rate, cpu, RSS and load
 * average every N seconds, so a run stopped early still gives figures), --json (the rows as
 * JSON at the end).
 *
 * Each key is written once, so every key is settled once its write answers. The writers stop
 * at each checkpoint (the rate covers writing only, not the pause), and the figures are taken
 * after `--settle-ms`. "Beyond" subtracts the user key's and value's bytes from the RSS growth
 * since the store opened, per key per replica; "marginal" does the same for the growth since the
 * previous checkpoint (the cost of one more settled key, without the fixed costs: the full-key
 * cache, rings, code).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { PaxosStore } from '../index';
import { gcStats, observeGc } from '../runtime/gc-stats';
import type { GcStats } from '../runtime/gc-stats';
import type { EngineName, KvNamespace, PaxosStoreOptions, RepairRoundReport } from '../index';

interface Options {
  readonly keys: number;
  readonly engine: EngineName;
  readonly valueBytes: number;
  readonly writers: number;
  readonly workers: number;
  readonly checkpoints: readonly number[];
  readonly settleMs: number;
  readonly cachedKeys: number | undefined;
  readonly heapGrowingPercent: number | undefined;
  readonly progressSeconds: number;
  readonly rateWindow: number;
  readonly prefillWriters: number;
  readonly v8Flags: string | undefined;
  /** The background repair's interval; 0: off; undefined: the store's default. */
  readonly repairIntervalMs: number | undefined;
  readonly json: boolean;
}

export interface Checkpoint {
  readonly keys: number;
  readonly rssBytes: number;
  /** (RSS − RSS at open) / (keys × replicas) − (key bytes + value bytes). */
  readonly beyondBytesPerKeyReplica: number;
  /** RSS growth since the previous checkpoint per key per replica written since, minus key + value. */
  readonly marginalBeyondBytes: number | undefined;
  readonly heapUsedBytes: readonly number[];
  readonly heapCommittedBytes: readonly number[];
  /** The main thread's heap (client side: writers, request pipeline). */
  readonly mainHeapUsedBytes: number;
  readonly heapLimitBytes: readonly number[];
  readonly writesPerSecond: number;
  /** Process CPU (all threads) per write over the interval, in microseconds. */
  readonly cpuUsPerWrite: number;
  /** Each worker's collector pauses, then the main thread's (cumulative; p99 of the recent). */
  readonly gc: readonly GcStats[];
  readonly errors: number;
  readonly keysHeld: number;
  /** Paxos counters summed over replicas (cumulative): rounds retried, prepares, keys evicted young. */
  readonly counters: Readonly<Record<string, number>>;
  /** The machine's 1-minute load average when the sample was taken (the machine is shared). */
  readonly loadAverage: number;
}

const REPLICAS = 3;
/** Core counters printed at each checkpoint: the retries that timeouts cause, the cache's turnover. */
const COUNTERS = ['roundsRetried', 'prepareRounds', 'keysEvicted', 'keysEvictedYoung'] as const;
const KEY_WIDTH = 10;
const DEFAULT_CHECKPOINTS = [10_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000];

function keyOf(i: number): string {
  return `k${i.toString().padStart(KEY_WIDTH, '0')}`;
}

function positive(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      keys: { type: 'string' },
      engine: { type: 'string' },
      'value-bytes': { type: 'string' },
      writers: { type: 'string' },
      workers: { type: 'string' },
      checkpoints: { type: 'string' },
      'settle-ms': { type: 'string' },
      'cached-keys': { type: 'string' },
      'heap-growing-percent': { type: 'string' },
      'progress-seconds': { type: 'string' },
      'rate-window': { type: 'string' },
      'prefill-writers': { type: 'string' },
      'v8-flags': { type: 'string' },
      'repair-interval-ms': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const keys = positive('keys', values.keys, 1_000_000);
  const listed =
    values.checkpoints?.split(',').map((c) => positive('checkpoints', c, 1)) ?? DEFAULT_CHECKPOINTS;
  const checkpoints = [...new Set([...listed.filter((c) => c < keys), keys])].sort((a, b) => a - b);
  const engine = (values.engine ?? 'memory') as EngineName;
  const writers = positive('writers', values.writers, 256);
  if (!['memory', 'lsm', 'bitcask', 'bitcask2'].includes(engine))
    throw new Error(`--engine ${engine}`);
  return {
    keys,
    engine,
    valueBytes: positive('value-bytes', values['value-bytes'], 100),
    writers,
    workers: positive('workers', values.workers, 2),
    checkpoints,
    settleMs: values['settle-ms'] === undefined ? 3000 : Number(values['settle-ms']),
    cachedKeys:
      values['cached-keys'] === undefined
        ? undefined
        : positive('cached-keys', values['cached-keys'], 1),
    heapGrowingPercent:
      values['heap-growing-percent'] === undefined
        ? undefined
        : positive('heap-growing-percent', values['heap-growing-percent'], 1),
    progressSeconds: positive('progress-seconds', values['progress-seconds'], 30),
    rateWindow: positive('rate-window', values['rate-window'], 100_000),
    prefillWriters: positive('prefill-writers', values['prefill-writers'], writers),
    v8Flags: values['v8-flags'],
    repairIntervalMs:
      values['repair-interval-ms'] === undefined ? undefined : Number(values['repair-interval-ms']),
    json: values.json === true,
  };
}

/** Writes keys [from, to) with `writers` closed-loop writers; counts the errors by code. */
async function writeRange(
  kv: KvNamespace,
  range: { readonly from: number; readonly to: number; readonly writers: number },
  valueBytes: number,
  errors: Map<string, number>,
  written: { count: number },
): Promise<void> {
  let next = range.from;
  const value = new Uint8Array(valueBytes).fill(7);
  const writer = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= range.to) return;
      try {
        await kv.put(keyOf(i), value);
        written.count += 1;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        const name = typeof code === 'string' ? code : 'ERROR';
        errors.set(name, (errors.get(name) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: range.writers }, writer));
}

/**
 * Writes the keys up to `checkpoint`: those before its last `rateWindow` keys (at most half of
 * the interval) with `prefillWriters` writers (pre-fill), then the window with `writers`,
 * timed: the rate at a checkpoint is the rate just before it, not an average over the whole
 * interval.
 */
async function writeInterval(
  kv: KvNamespace,
  o: Options,
  done: number,
  checkpoint: number,
  errors: Map<string, number>,
  written: { count: number },
): Promise<Interval> {
  // At most half the interval: the first checkpoint's rate then leaves out the start-up (JIT
  // warm-up, the first slabs and pools), which is not a cost of the key count.
  const windowKeys = Math.min(o.rateWindow, Math.ceil((checkpoint - done) / 2));
  const windowFrom = checkpoint - windowKeys;
  const fill = { from: done, to: windowFrom, writers: o.prefillWriters };
  if (fill.to > fill.from) await writeRange(kv, fill, o.valueBytes, errors, written);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const window = { from: windowFrom, to: checkpoint, writers: o.writers };
  await writeRange(kv, window, o.valueBytes, errors, written);
  const cpu = process.cpuUsage(cpu0);
  const keys = checkpoint - windowFrom;
  return {
    rate: (keys * 1000) / (performance.now() - t0),
    cpuUsPerWrite: (cpu.user + cpu.system) / keys,
  };
}

const NO_GC: GcStats = {
  count: 0,
  totalMs: 0,
  maxMs: 0,
  p99Ms: 0,
  majorCount: 0,
  majorTotalMs: 0,
};

/** One writing interval: writes per second and process CPU per write. */
interface Interval {
  readonly rate: number;
  readonly cpuUsPerWrite: number;
}

interface Previous {
  readonly keys: number;
  readonly rssBytes: number;
}

async function sample(
  store: PaxosStore,
  o: Options,
  keys: number,
  rssAtOpen: number,
  interval: Interval,
  errors: number,
  previous: Previous | undefined,
): Promise<Checkpoint> {
  await new Promise((resolve) => setTimeout(resolve, o.settleMs));
  const stats = await store.stats();
  const workers = stats.workers as ReadonlyArray<{
    heapUsedBytes?: number;
    heapCommittedBytes?: number;
    heapLimitBytes?: number;
    gc?: GcStats;
  }>;
  const rss = process.memoryUsage.rss();
  const keyBytes = KEY_WIDTH + 1;
  const beyond = (rss - rssAtOpen) / (keys * REPLICAS) - (keyBytes + o.valueBytes);
  const marginal =
    previous === undefined
      ? undefined
      : (rss - previous.rssBytes) / ((keys - previous.keys) * REPLICAS) - (keyBytes + o.valueBytes);
  const keysHeld = stats.replicas.reduce((n, r) => n + (r?.keys ?? 0), 0);
  return {
    keys,
    rssBytes: rss,
    beyondBytesPerKeyReplica: Math.round(beyond),
    marginalBeyondBytes: marginal === undefined ? undefined : Math.round(marginal),
    heapUsedBytes: workers.map((w) => w.heapUsedBytes ?? 0),
    heapLimitBytes: workers.map((w) => w.heapLimitBytes ?? 0),
    heapCommittedBytes: workers.map((w) => w.heapCommittedBytes ?? 0),
    mainHeapUsedBytes: process.memoryUsage().heapUsed,
    writesPerSecond: Math.round(interval.rate),
    cpuUsPerWrite: Math.round(interval.cpuUsPerWrite * 10) / 10,
    gc: [...workers.map((w) => w.gc ?? NO_GC), gcStats()],
    errors,
    keysHeld,
    counters: Object.fromEntries(
      COUNTERS.map((name) => [name, stats.replicas.reduce((n, r) => n + (r?.[name] ?? 0), 0)]),
    ),
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

const MB = 1024 * 1024;

function printRow(c: Checkpoint): void {
  const mb = (n: number | undefined): string => ((n ?? 0) / MB).toFixed(0);
  const heaps = c.heapUsedBytes
    .map((h, i) => `${mb(h)}/${mb(c.heapCommittedBytes[i])}/${mb(c.heapLimitBytes[i])}`)
    .join(' ');
  console.log(
    `${String(c.keys).padStart(10)} keys  rss ${(c.rssBytes / MB).toFixed(0).padStart(6)} MiB  ` +
      `beyond ${String(c.beyondBytesPerKeyReplica).padStart(5)} B/key/replica ` +
      `(marginal ${c.marginalBeyondBytes === undefined ? '-' : String(c.marginalBeyondBytes)})  ` +
      `worker heaps MiB used/committed/limit [${heaps}] main ${mb(c.mainHeapUsedBytes)}  ${String(c.writesPerSecond).padStart(6)} writes/s  ` +
      `full keys held ${c.keysHeld}  errors ${c.errors}  load ${c.loadAverage.toFixed(1)}`,
  );
  const gc = c.gc
    .map(
      (g) =>
        `${g.count} pauses ${(g.totalMs / 1000).toFixed(1)} s (major ${g.majorCount}, ` +
        `${(g.majorTotalMs / 1000).toFixed(1)} s) p99 ${g.p99Ms.toFixed(1)} max ${g.maxMs.toFixed(0)} ms`,
    )
    .join(' | ');
  console.log(`${''.padStart(16)}cpu ${c.cpuUsPerWrite} us/write  gc [workers…, main]: ${gc}`);
  const counters = Object.entries(c.counters)
    .map(([name, n]) => `${name} ${n}`)
    .join('  ');
  console.log(`${''.padStart(16)}${counters}`);
}

/**
 * Prints a line every `progressSeconds` while writing: keys done, the write rate and process
 * cpu per write since the last line, RSS and the load average, so that a run stopped early
 * still gives figures between checkpoints. Returns the function that stops it.
 */
function startProgress(
  o: Options,
  done: () => number,
  errors: () => number,
  repairRunning: () => Promise<boolean>,
): () => void {
  let last = { at: performance.now(), keys: done(), cpu: process.cpuUsage(), repairing: false };
  const timer = setInterval(() => {
    void repairRunning().then((repairing) => {
      const now = { at: performance.now(), keys: done(), cpu: process.cpuUsage(), repairing };
      const keys = now.keys - last.keys;
      const cpuUs = now.cpu.user + now.cpu.system - last.cpu.user - last.cpu.system;
      const rate = (keys * 1000) / (now.at - last.at);
      // 'round': a repair round ran at both ends of the line's interval; 'between': at neither.
      const phase =
        last.repairing && repairing ? 'round' : !last.repairing && !repairing ? 'between' : 'mixed';
      console.log(
        `  … ${String(now.keys).padStart(10)} keys  ${rate.toFixed(0).padStart(6)} writes/s  ` +
          `cpu ${keys > 0 ? (cpuUs / keys).toFixed(0) : '-'} us/write  ` +
          `rss ${(process.memoryUsage.rss() / MB).toFixed(0)} MiB  errors ${errors()}  ` +
          `load ${(os.loadavg()[0] ?? 0).toFixed(1)}  repair ${phase}`,
      );
      last = now;
    });
  }, o.progressSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function run(o: Options): Promise<Checkpoint[]> {
  const dir =
    o.engine === 'memory' ? undefined : await mkdtemp(path.join(os.tmpdir(), 'pxs-key-memory-'));
  const opts: PaxosStoreOptions = {
    engine: o.engine,
    workers: o.workers,
    replicas: REPLICAS,
    ...(dir === undefined ? {} : { dir }),
  };
  if (o.cachedKeys !== undefined) opts.cachedKeysMax = o.cachedKeys;
  // Each background repair round is printed: a round digests every key of every replica.
  const onRound = (r: RepairRoundReport): void =>
    console.log(
      `  repair round ${r.outcome} in ${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s ` +
        `(${new Date(r.startedAt).toISOString().slice(11, 19)}–` +
        `${new Date(r.endedAt).toISOString().slice(11, 19)}): ` +
        `${r.keysChecked} keys checked, ${r.behind} behind, ${r.diverged} diverged, ` +
        `${r.repaired} repaired, truncated ${r.truncated}, groups scanned ${r.groupsScanned}, ` +
        `failed ${r.groupsFailed}`,
    );
  opts.repair =
    o.repairIntervalMs === 0
      ? { enabled: false }
      : {
          onRound,
          ...(o.repairIntervalMs === undefined ? {} : { intervalMs: o.repairIntervalMs }),
        };
  const store = await PaxosStore.open(opts);
  const rows: Checkpoint[] = [];
  try {
    const kv = store.kv('mem');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAtOpen = process.memoryUsage.rss();
    console.log(
      `engine ${o.engine}, workers ${o.workers}, ${o.writers} writers, ${o.valueBytes}-byte values; rss at open ${(rssAtOpen / MB).toFixed(0)} MiB`,
    );
    const errors = new Map<string, number>();
    const written = { count: 0 };
    const errorTotal = (): number => [...errors.values()].reduce((a, b) => a + b, 0);
    const repairRunning = async (): Promise<boolean> => (await store.stats()).repair.running;
    const stopProgress = startProgress(o, () => written.count, errorTotal, repairRunning);
    let done = 0;
    for (const checkpoint of o.checkpoints) {
      const interval = await writeInterval(kv, o, done, checkpoint, errors, written);
      done = checkpoint;
      const errorCount = errorTotal();
      const row = await sample(
        store,
        o,
        checkpoint,
        rssAtOpen,
        interval,
        errorCount,
        rows[rows.length - 1],
      );
      rows.push(row);
      printRow(row);
    }
    stopProgress();
    if (errors.size > 0) console.log(`errors: ${JSON.stringify(Object.fromEntries(errors))}`);
  } finally {
    await store.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

const USAGE = `usage: node dist/bench/key-memory.js [--flag value]...
  --keys N                   1000000   distinct keys written, once each
  --engine NAME              memory    memory | lsm | bitcask | bitcask2 (disk: a temp dir)
  --value-bytes N            100       value size
  --writers N                256       closed-loop writers
  --workers N                2         worker threads
  --checkpoints a,b,c        10k,100k,300k,1M,3M,10M (up to --keys, and --keys)
  --settle-ms N              3000      pause before each sample
  --cached-keys N            (store default) cachedKeysMax
  --heap-growing-percent N   (V8's)    old generation growing factor 1 + N/100
  --rate-window N            100000    the rate at a checkpoint covers its last N keys
  --prefill-writers N        (--writers) writers before the rate window
  --v8-flags '...'           V8 flags set before the workers start
  --repair-interval-ms N     (store default) background repair interval; 0 = off
  --progress-seconds N       30        a progress line every N seconds
  --json                     also print the rows as JSON
  --help                     print this and exit`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (err) {
    console.error(`key-memory: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  observeGc();
  // V8 flags are process-wide: set before the workers start, it applies to their heaps too.
  if (o.heapGrowingPercent !== undefined)
    setFlagsFromString(`--heap-growing-percent=${o.heapGrowingPercent}`);
  for (const flag of o.v8Flags?.split(' ').filter((f) => f !== '') ?? []) setFlagsFromString(flag);
  const rows = await run(o);
  if (o.json) console.log(JSON.stringify({ options: o, rows }));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
