/**
 * `npm run bench:cluster` (issue 9, "Bench: side by side with etcd"): a 3-node PaxosStore
 * cluster on loopback (one `paxosstore serve` process per node) under one load process (this
 * one): a write phase (put), then a linearizable-read phase (get), `--clients` concurrent
 * closed-loop requests over `--keys` random keys with `--value-bytes` values. When an `etcd`
 * binary is on PATH, a 3-member etcd cluster gets the same load through the etcd3 client, and
 * the ratios are printed. Prints figures; never asserts timing.
 *
 *   node dist/bench/cluster-load.js --seconds 10
 *   node dist/bench/cluster-load.js --sync always --only paxosstore --cpu-prof-dir /tmp/prof
 *
 * Options (bench/cluster/cluster-load-args.ts): --seconds (10), --warmup (1), --clients (256),
 * --keys (10000), --value-bytes (100), --sync always|batch (both), --engine (bitcask),
 * --workers per node (1), --groups, --only paxosstore|etcd, --cpu-prof-dir DIR (node n1 under
 * --cpu-prof), --node-flags="FLAGS" (node options of every server), --phases all|write
 * (write: no read phase, for a profile of writes), --json.
 *
 * CPU per operation is the whole cluster's: the three server processes' user + system time
 * (/proc/<pid>/stat, every thread) plus this load process's, divided by completed operations.
 * Servers are started on free loopback ports with temp data dirs, and stopped by pid at the
 * end, on an error and on Ctrl-C.
 */
import { benchValues, prewarm, runPhase } from './cluster/closed-loop';
import type { KvTarget, LoadShape } from './cluster/closed-loop';
import { parseClusterLoadArgs, USAGE } from './cluster/cluster-load-args';
import type { ClusterLoadOptions } from './cluster/cluster-load-args';
import { compare, formatComparisons, formatRows } from './cluster/cluster-table';
import type { Comparison, SystemRun } from './cluster/cluster-table';
import { ETCD_HINT, etcdVersion, findEtcd, startEtcdCluster } from './cluster/etcd-cluster';
import { startPaxosStoreCluster } from './cluster/paxosstore-cluster';
import type { BenchCluster } from './cluster/paxosstore-cluster';
import { startOnFreshPorts } from './cluster/free-ports';
import { stopAllNow } from './cluster/process-group';

export interface ClusterLoadResult {
  readonly options: ClusterLoadOptions;
  readonly etcdVersion: string | undefined;
  readonly runs: SystemRun[];
  readonly comparisons: Comparison[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const IDLE_SAMPLE_MS = 2000;

/** The servers' CPU over a window with no requests, in % of one core (timers, ticks, links). */
async function idleCpuPercent(cluster: KvTarget): Promise<number> {
  const cpu0 = cluster.serverCpuMicros();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_MS));
  const elapsedMicros = (performance.now() - t0) * 1000;
  return ((cluster.serverCpuMicros() - cpu0) / elapsedMicros) * 100;
}

async function measure(
  system: SystemRun['system'],
  sync: string,
  cluster: BenchCluster,
  o: ClusterLoadOptions,
): Promise<SystemRun> {
  const shape: LoadShape = {
    seconds: o.seconds,
    clients: o.clients,
    keys: o.keys,
    values: benchValues(o.clients, o.valueBytes),
  };
  const written = new Uint8Array(o.keys);
  const target: KvTarget = cluster;
  const label = `${system}/${sync} (pids ${cluster.pids.join(' ')})`;
  const idleServerCpuPercent = await idleCpuPercent(cluster);
  if (o.warmupSeconds > 0) {
    log(`${label}: warm-up ${o.warmupSeconds} s`);
    await runPhase(target, { ...shape, seconds: o.warmupSeconds }, 'write', written);
  }
  log(`${label}: write ${o.seconds} s`);
  const write = await runPhase(target, shape, 'write', written);
  if (o.phases === 'write') return { system, sync, idleServerCpuPercent, write, read: undefined };
  const prewarmKeys = await prewarm(target, shape, written);
  log(`${label}: pre-warmed ${prewarmKeys} keys (unmeasured); read ${o.seconds} s`);
  const read = await runPhase(target, shape, 'read', written);
  return { system, sync, idleServerCpuPercent, write, read };
}

async function withCluster(
  start: () => Promise<BenchCluster>,
  body: (c: BenchCluster) => Promise<SystemRun>,
): Promise<SystemRun> {
  const cluster = await startOnFreshPorts(start, log);
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}

export async function runClusterLoad(o: ClusterLoadOptions): Promise<ClusterLoadResult> {
  const runs: SystemRun[] = [];
  let version: string | undefined;
  const etcd = o.systems.includes('etcd') ? findEtcd() : undefined;
  if (o.systems.includes('etcd') && etcd === undefined) log(ETCD_HINT);
  if (etcd !== undefined) {
    version = etcdVersion(etcd);
    log(`etcd ${version} (${etcd}): 3 members on loopback`);
    runs.push(
      await withCluster(
        () => startEtcdCluster(etcd),
        (c) => measure('etcd', 'fsync', c, o),
      ),
    );
  }
  if (o.systems.includes('paxosstore')) {
    for (const sync of o.syncs) {
      const spec = {
        engine: o.engine,
        sync,
        workers: o.workers,
        groups: o.groups,
        cpuProfDir: o.cpuProfDir,
        nodeFlags: o.nodeFlags,
      };
      runs.push(
        await withCluster(
          () => startPaxosStoreCluster(spec),
          (c) => measure('paxosstore', sync, c, o),
        ),
      );
    }
  }
  const etcdRun = runs.find((r) => r.system === 'etcd');
  const comparisons =
    etcdRun === undefined
      ? []
      : runs.filter((r) => r.system === 'paxosstore').map((r) => compare(r, etcdRun));
  return { options: o, etcdVersion: version, runs, comparisons };
}

export function formatClusterLoad(res: ClusterLoadResult): string {
  const o = res.options;
  const lines = [
    `cluster-load: 3 nodes on loopback, engine ${o.engine}, workers ${o.workers}/node, ${o.clients} concurrent requests, ` +
      `${o.keys.toLocaleString('en-US')} keys, ${o.valueBytes}-byte values, ${o.seconds} s per phase, reads linearizable` +
      (res.etcdVersion === undefined ? '' : `; etcd ${res.etcdVersion}, 3 members`),
    formatRows(res.runs),
    'cpu us/op: whole cluster (3 server processes + the load process) per operation; servers: the server processes only',
  ];
  if (res.comparisons.length > 0) lines.push(formatComparisons(res.comparisons));
  return lines.join('\n');
}

function main(): void {
  let o: ClusterLoadOptions;
  try {
    o = parseClusterLoadArgs(process.argv.slice(2));
  } catch (error) {
    console.error(
      `cluster-load: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`,
    );
    process.exit(2);
  }
  if (o.help) {
    console.log(USAGE);
    return;
  }
  // Ctrl-C or a crash must not leave servers behind: stop every child by pid.
  process.once('SIGINT', () => {
    log(`cluster-load: interrupted, stopped ${stopAllNow()} server process(es)`);
    process.exit(130);
  });
  process.once('exit', () => stopAllNow());
  runClusterLoad(o)
    .then((res) => {
      console.log(formatClusterLoad(res));
      if (o.json) console.log(JSON.stringify(res, null, 2));
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      stopAllNow();
      process.exit(1);
    });
}

if (require.main === module) main();
