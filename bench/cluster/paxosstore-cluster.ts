/**
 * A 3-node PaxosStore cluster on loopback for the bench: a cluster file and one data dir per
 * node in a fresh temp dir, `paxosstore serve` per node (dist/bin/paxosstore.js), a client
 * through PaxosStore.connect. `close()` stops the nodes by pid and removes the temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PaxosStore } from '../../index';
import type { KvNamespace } from '../../index';
import { assert } from '../../runtime/assert';
import type { KvTarget } from './closed-loop';
import { freePorts } from './free-ports';
import { readThreadCpu } from './thread-cpu-split';
import {
  forgetTempDir,
  groupCpuMicros,
  spawnServer,
  stopGroup,
  trackTempDir,
  waitForLog,
} from './process-group';
import type { ServerProcess } from './process-group';

export interface PaxosStoreClusterSpec {
  readonly engine: string;
  readonly sync: string;
  readonly workers: number;
  readonly groups: number | undefined;
  /** Node n1 runs under `--cpu-prof` into this dir when set. */
  readonly cpuProfDir: string | undefined;
  /** Node options of every server process (before the script). */
  readonly nodeFlags: readonly string[];
}

export interface BenchCluster extends KvTarget {
  readonly pids: readonly number[];
  readonly dir: string;
  close(): Promise<void>;
}

const NODES = ['n1', 'n2', 'n3'] as const;
const READY_TIMEOUT_MS = 60_000;
const NAMESPACE = 'bench';

function nodeArgs(
  spec: PaxosStoreClusterSpec,
  configFile: string,
  node: string,
  dir: string,
): string[] {
  const bin = path.resolve(__dirname, '../../bin/paxosstore.js');
  const prof =
    spec.cpuProfDir !== undefined && node === 'n1'
      ? ['--cpu-prof', `--cpu-prof-dir=${spec.cpuProfDir}`]
      : [];
  const args = [
    ...spec.nodeFlags,
    ...prof,
    bin,
    'serve',
    '--config',
    configFile,
    '--node',
    node,
    '--dir',
    dir,
  ];
  args.push('--engine', spec.engine, '--sync', spec.sync, '--workers', String(spec.workers));
  if (spec.groups !== undefined) args.push('--groups', String(spec.groups));
  return args;
}

export async function startPaxosStoreCluster(spec: PaxosStoreClusterSpec): Promise<BenchCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paxosstore-bench-cluster-'));
  trackTempDir(dir);
  const ports = await freePorts(NODES.length);
  const secret = randomBytes(24).toString('hex');
  const replicas = NODES.map((node, i) => ({
    node,
    address: `127.0.0.1:${ports[i] ?? 0}`,
    zone: `z${i}`,
  }));
  const configFile = path.join(dir, 'cluster.json');
  await writeFile(configFile, JSON.stringify({ secret, sets: [{ id: 's0', replicas }] }, null, 2));
  const group: ServerProcess[] = [];
  try {
    for (const node of NODES) {
      const args = nodeArgs(spec, configFile, node, path.join(dir, node));
      group.push(
        spawnServer({
          name: `paxosstore ${node}`,
          command: process.execPath,
          args,
          logFile: path.join(dir, `${node}.log`),
        }),
      );
    }
    await Promise.all(group.map((p) => waitForLog(p, '"msg":"ready"', READY_TIMEOUT_MS)));
    const store = await PaxosStore.connect({ nodes: replicas.map((r) => r.address), secret });
    const kv = store.kv(NAMESPACE);
    return clusterTarget(kv, group, dir, spec.workers, async () => {
      await store.close();
      await stopGroup(group);
      await rm(dir, { recursive: true, force: true });
      forgetTempDir(dir);
    });
  } catch (error) {
    await stopGroup(group);
    await rm(dir, { recursive: true, force: true });
    forgetTempDir(dir);
    throw error;
  }
}

function clusterTarget(
  kv: KvNamespace,
  group: readonly ServerProcess[],
  dir: string,
  workers: number,
  close: () => Promise<void>,
): BenchCluster {
  assert(group.length === NODES.length, `expected ${NODES.length} nodes, got ${group.length}`);
  return {
    pids: group.map((p) => p.pid),
    dir,
    put: async (key, value) => {
      await kv.put(key, value);
    },
    get: async (key) => (await kv.get(key)) !== undefined,
    serverCpuMicros: () => groupCpuMicros(group),
    serverThreads: { read: () => readThreadCpu(group.map((p) => p.pid)), workers },
    close,
  };
}
