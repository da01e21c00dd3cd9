/**
 * Big-table load bench (issue #4): loads `--rows` rows into one big table on lsm (3 replicas,
 * two indexes), then measures point gets, a full scan (linearizable and local) and index
 * lookups. Rows: { sender: 'u<i % senders>', day: i % 365, text: <text-bytes> } under the pk
 * 'r<i>' zero-padded, inserted by closed-loop clients in random order.
 *
 *   node dist/bench/bigtable-load.js --rows 1000000
 *   node dist/bench/bigtable-load.js --rows 100000 --clients 256 --gets 50000 --lookups 200
 *
 *   --rows        1000000  rows to insert
 *   --clients     256      concurrent closed-loop clients (inserts and gets)
 *   --gets        100000   linearizable point gets of random rows
 *   --lookups     200      byIndex('sender', …) lookups of random senders (rows / senders rows each)
 *   --senders     1000     distinct sender values
 *   --scan-limit  rows     rows per scan (the whole table by default)
 *   --text-bytes  64       bytes of the unindexed text column
 *   --sync        batch    always | batch | none
 *   --workers     cores    worker threads
 *   --groups      8        actors per replica
 *   --json                 print the structured result too
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PaxosStore } from '../index';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';
import type { Bigtable, SyncMode } from '../index';

interface Options {
  rows: number;
  clients: number;
  gets: number;
  lookups: number;
  senders: number;
  scanLimit: number | undefined;
  textBytes: number;
  sync: SyncMode;
  workers: number;
  groups: number;
  json: boolean;
}

interface Phase {
  name: string;
  ops: number;
  rows: number;
  seconds: number;
  opsPerSecond: number;
  rowsPerSecond: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  errors: Record<string, number>;
}

const COUNT = { type: 'string' } as const;

/** The flags (defaults as in the file comment). */
const FLAGS: BenchFlags = {
  rows: { ...COUNT, help: ['N', '1000000', 'rows to insert'] },
  clients: { ...COUNT, help: ['N', '256', 'concurrent closed-loop clients (inserts and gets)'] },
  gets: { ...COUNT, help: ['N', '100000', 'linearizable point gets of random rows'] },
  lookups: { ...COUNT, help: ['N', '200', 'byIndex(sender) lookups of random senders'] },
  senders: { ...COUNT, help: ['N', '1000', 'distinct sender values'] },
  'scan-limit': { ...COUNT, help: ['N', 'rows', 'rows per scan (the whole table by default)'] },
  'text-bytes': { ...COUNT, help: ['N', '64', 'bytes of the unindexed text column'] },
  sync: { type: 'string', help: ['MODE', 'batch', 'always | batch | none'] },
  workers: { ...COUNT, help: ['N', 'cores', 'worker threads'] },
  groups: { ...COUNT, help: ['N', '8', 'actors per replica'] },
  json: { type: 'boolean', help: ['', '', 'print the structured result too'] },
};

function optionsOf(args: ParsedBenchArgs): Options {
  const num = (name: string, fallback: number): number => {
    const value = stringFlag(args, name);
    if (value === undefined) return fallback;
    if (!(Number.isSafeInteger(Number(value)) && Number(value) >= 0))
      throw new Error(`--${name} must be a count`);
    return Number(value);
  };
  const sync = (stringFlag(args, 'sync') ?? 'batch') as SyncMode;
  if (!['always', 'batch', 'none'].includes(sync))
    throw new Error('--sync must be always, batch or none');
  return {
    rows: num('rows', 1_000_000),
    clients: Math.max(1, num('clients', 256)),
    gets: num('gets', 100_000),
    lookups: num('lookups', 200),
    senders: Math.max(1, num('senders', 1000)),
    scanLimit: stringFlag(args, 'scan-limit') !== undefined ? num('scan-limit', 0) : undefined,
    textBytes: num('text-bytes', 64),
    sync,
    workers: Math.max(1, num('workers', os.availableParallelism())),
    groups: Math.max(1, num('groups', 8)),
    json: args.values['json'] === true,
  };
}

const pkOf = (i: number, rows: number): string =>
  `r${String(i).padStart(String(rows).length, '0')}`;

function percentile(sorted: Float64Array, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function codeOf(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'ERROR';
}

/** Runs `total` operations from `clients` closed-loop clients; latencies per op. */
async function closedLoop(
  name: string,
  total: number,
  clients: number,
  op: (n: number) => Promise<number>,
): Promise<Phase> {
  const latencies = new Float64Array(total);
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let rows = 0;
  const start = performance.now();
  let reported = start;
  const client = async (): Promise<void> => {
    for (let n = next++; n < total; n = next++) {
      const t0 = performance.now();
      try {
        const got = await op(n); // not `rows += await …`: that reads rows before the await
        rows += got;
        latencies[done++] = performance.now() - t0;
      } catch (error) {
        errors[codeOf(error)] = (errors[codeOf(error)] ?? 0) + 1;
      }
      if (t0 - reported > 2000) {
        reported = t0;
        console.error(`  ${name}: ${done.toLocaleString()} / ${total.toLocaleString()}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, Math.max(1, total)) }, client));
  const seconds = (performance.now() - start) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  return {
    name,
    ops: done,
    rows,
    seconds,
    opsPerSecond: done / seconds,
    rowsPerSecond: rows / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    errors,
  };
}

async function scanPhase(name: string, bt: Bigtable, o: Options, local: boolean): Promise<Phase> {
  const start = performance.now();
  let rows = 0;
  let last = '';
  let reported = start;
  for await (const { pk } of bt.scan({
    limit: o.scanLimit,
    pageSize: 1024,
    consistency: local ? 'local' : 'linearizable',
  })) {
    if (pk <= last) throw new Error(`scan out of order at ${pk}`);
    last = pk;
    rows += 1;
    if (rows % 10_000 === 0 && performance.now() - reported > 2000) {
      reported = performance.now();
      console.error(`  ${name}: ${rows.toLocaleString()} rows`);
    }
  }
  const expected = Math.min(o.rows, o.scanLimit ?? o.rows);
  if (rows !== expected) throw new Error(`${name} returned ${rows} rows, expected ${expected}`);
  const seconds = (performance.now() - start) / 1000;
  return {
    name,
    ops: 1,
    rows,
    seconds,
    opsPerSecond: 1 / seconds,
    rowsPerSecond: rows / seconds,
    p50Ms: undefined,
    p99Ms: undefined,
    errors: {},
  };
}

/** A permutation of 0..n-1 (deterministic, so runs compare): inserts arrive in random pk order. */
function shuffled(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    const tmp = out[i] as number;
    out[i] = out[j] as number;
    out[j] = tmp;
  }
  return out;
}

async function run(o: Options, store: PaxosStore): Promise<Phase[]> {
  const bt = store.bigtable('bench', { indexes: ['sender', 'day'] });
  const text = 'x'.repeat(o.textBytes);
  const order = shuffled(o.rows);
  const phases: Phase[] = [];
  phases.push(
    await closedLoop('insert', o.rows, o.clients, async (n) => {
      const i = order[n] as number;
      await bt.insert(pkOf(i, o.rows), { sender: `u${i % o.senders}`, day: i % 365, text });
      return 1;
    }),
  );
  phases.push(
    await closedLoop('get', o.gets, o.clients, async (n) => {
      const i = order[n % o.rows] as number;
      if ((await bt.get(pkOf(i, o.rows))) === undefined)
        throw Object.assign(new Error('missing'), { code: 'MISSING_ROW' });
      return 1;
    }),
  );
  phases.push(await scanPhase('scan (linearizable)', bt, o, false));
  phases.push(await scanPhase('scan (local)', bt, o, true));
  const perSender = Math.floor(o.rows / o.senders);
  phases.push(
    await closedLoop('byIndex', o.lookups, 8, async (n) => {
      const sender = `u${(n * 7919) % o.senders}`;
      let rows = 0;
      for await (const { row } of bt.byIndex('sender', sender, { pageSize: 1024 })) {
        if (row.sender !== sender) throw new Error('byIndex returned a row that does not match');
        rows += 1;
      }
      if (rows < perSender)
        throw Object.assign(new Error(`lookup of ${sender}: ${rows} rows`), {
          code: 'SHORT_LOOKUP',
        });
      return rows;
    }),
  );
  return phases;
}

function format(o: Options, phases: Phase[]): string {
  const lines = [
    `big table on lsm/${o.sync}: ${o.rows.toLocaleString()} rows, 3 replicas, workers ${o.workers}, groups ${o.groups}, clients ${o.clients}`,
  ];
  lines.push(
    'phase                     ops        rows     seconds       ops/s      rows/s   p50 ms   p99 ms  errors',
  );
  for (const p of phases) {
    const ms = (x: number | undefined): string =>
      (x === undefined ? '-' : x.toFixed(1)).padStart(8);
    lines.push(
      `${p.name.padEnd(20)}${p.ops.toLocaleString().padStart(9)}${p.rows.toLocaleString().padStart(12)}${p.seconds.toFixed(1).padStart(12)}` +
        `${Math.round(p.opsPerSecond).toLocaleString().padStart(12)}${Math.round(p.rowsPerSecond).toLocaleString().padStart(12)}${ms(p.p50Ms)}${ms(p.p99Ms)}  ${JSON.stringify(p.errors)}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = parseBenchArgsOrExit(
    'bigtable-load',
    'bigtable-load [--flag value]...',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-bench-bigtable-'));
  const store = await PaxosStore.open({
    replicas: 3,
    engine: 'lsm',
    dir,
    sync: o.sync,
    workers: o.workers,
    groups: o.groups,
    timeoutMs: 30_000,
  });
  try {
    const phases = await run(o, store);
    console.log(format(o, phases));
    if (o.json) console.log(JSON.stringify({ options: o, phases }, null, 2));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
