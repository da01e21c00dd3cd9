/**
 * A 3-member etcd cluster on loopback for the side-by-side bench: an `etcd` binary from PATH,
 * one temp data dir per member, a client through the `etcd3` npm package (gRPC). Gets are
 * linearizable (etcd's default, `serializable: false`); every put is fsynced by a majority
 * before etcd acknowledges it, which is what PaxosStore's `sync: 'always'` promises.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { assert } from '../../runtime/assert';
import type { BenchCluster } from './paxosstore-cluster';
import { freePorts } from './free-ports';
import {
  forgetTempDir,
  groupCpuMicros,
  logTail,
  sleep,
  spawnServer,
  stopGroup,
  trackTempDir,
} from './process-group';
import type { ServerProcess } from './process-group';

const MEMBERS = ['m1', 'm2', 'm3'] as const;
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;
const PATH_DIRS_MAX = 256;

export const ETCD_HINT =
  'etcd not on PATH: run PaxosStore only. For the side-by-side rows: apt-get install etcd-server (Debian/Ubuntu), or put an etcd binary on PATH.';

/** The etcd binary on PATH, or undefined. */
export function findEtcd(envPath: string = process.env.PATH ?? ''): string | undefined {
  const dirs = envPath
    .split(path.delimiter)
    .filter((d) => d.length > 0)
    .slice(0, PATH_DIRS_MAX);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'etcd');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** `3.4.23` from `etcd --version`, or the first line of its output. */
export function etcdVersion(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /etcd Version:\s*(\S+)/.exec(out);
  return m?.[1] ?? out.split('\n')[0] ?? 'unknown';
}

function memberArgs(
  name: string,
  dir: string,
  clientPort: number,
  peerPort: number,
  initialCluster: string,
  token: string,
): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    `--name=${name}`,
    `--data-dir=${dir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-level=warn',
  ];
}

export async function startEtcdCluster(binary: string): Promise<BenchCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paxosstore-bench-etcd-'));
  trackTempDir(dir);
  const ports = await freePorts(MEMBERS.length * 2);
  const clientPort = (i: number): number => ports[2 * i] ?? 0;
  const peerPort = (i: number): number => ports[2 * i + 1] ?? 0;
  const initialCluster = MEMBERS.map((m, i) => `${m}=http://127.0.0.1:${peerPort(i)}`).join(',');
  const token = `bench-${path.basename(dir)}`;
  const group: ServerProcess[] = [];
  let client: Etcd3 | undefined;
  try {
    MEMBERS.forEach((m, i) => {
      const args = memberArgs(
        m,
        path.join(dir, m),
        clientPort(i),
        peerPort(i),
        initialCluster,
        token,
      );
      group.push(
        spawnServer({
          name: `etcd ${m}`,
          command: binary,
          args,
          logFile: path.join(dir, `${m}.log`),
        }),
      );
    });
    const etcd = new Etcd3({ hosts: MEMBERS.map((_, i) => `http://127.0.0.1:${clientPort(i)}`) });
    client = etcd;
    await waitWritable(etcd, group);
    return etcdTarget(etcd, group, dir, async () => {
      etcd.close();
      await stopGroup(group);
      await rm(dir, { recursive: true, force: true });
      forgetTempDir(dir);
    });
  } catch (error) {
    client?.close();
    await stopGroup(group);
    await rm(dir, { recursive: true, force: true });
    forgetTempDir(dir);
    throw error;
  }
}

/** The cluster serves once a put (which needs a leader and a majority) succeeds. */
async function waitWritable(etcd: Etcd3, group: readonly ServerProcess[]): Promise<void> {
  let last: unknown;
  for (let i = 0; i < READY_TIMEOUT_MS / READY_POLL_MS; i++) {
    const dead = group.find((p) => p.exited);
    if (dead !== undefined)
      throw new Error(`${dead.name} (pid ${dead.pid}) exited while starting:\n${logTail(dead)}`);
    try {
      await etcd.put('bench-ready').value('1');
      return;
    } catch (error) {
      last = error;
      await sleep(READY_POLL_MS);
    }
  }
  throw new Error(`etcd did not accept a put within ${READY_TIMEOUT_MS} ms: ${String(last)}`);
}

function etcdTarget(
  etcd: Etcd3,
  group: readonly ServerProcess[],
  dir: string,
  close: () => Promise<void>,
): BenchCluster {
  assert(
    group.length === MEMBERS.length,
    `expected ${MEMBERS.length} members, got ${group.length}`,
  );
  return {
    pids: group.map((p) => p.pid),
    dir,
    put: async (key, value) => {
      await etcd.put(key).value(value);
    },
    // Range without `serializable`: a linearizable read through the leader's ReadIndex.
    get: async (key) => (await etcd.get(key).buffer()) !== null,
    serverCpuMicros: () => groupCpuMicros(group),
    close,
  };
}
