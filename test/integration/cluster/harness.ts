/**
 * Multi-process cluster harness for the integration tests of issue 9: real `paxosstore serve`
 * processes on loopback, each started with `process.execPath dist/bin/paxosstore.js`, stopped
 * by pid (never by name) in the test's teardown even when the test fails.
 *
 * Ports (ports.ts): each is reserved machine-wide for the cluster's life, so parallel test files
 * never share one, and checked free. A stranger that takes one between the check and the node's
 * bind makes that node exit with ADDRESS_IN_USE: `startAll` then moves the nodes that lost to
 * new ports, rewrites the cluster file and starts again (a bounded number of times). Each cluster
 * has its own random secret, so a node of one cluster can never authenticate to another's.
 *
 * Every wait is bounded (ready line, exit after a signal); the bounds are generous because the
 * machine runs several test files at once. None of them is a timing assertion.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../../index';
import type { RemoteStore } from '../../../client/remote-store';
import { controlCall } from '../../../client/control-call';
import { tempDir, withTimeout } from '../helpers';
import { reservePorts } from './ports';
import type { PortPicker } from './ports';

/** dist/bin/paxosstore.js (this file runs from dist/test/integration/cluster/). */
export const PAXOSSTORE_JS = path.join(__dirname, '..', '..', '..', 'bin', 'paxosstore.js');
/** A valid cluster secret for tests that write their own cluster file (a Cluster has its own). */
export const SECRET = 'integration-secret-0123456789';
/** A node must log ready within this long (start-up of a bitcask replica on a busy machine). */
const READY_WAIT_MS = 30_000;
const EXIT_WAIT_MS = 15_000;
/** Every node's peer links must be up within this long after the last ready line. */
const LINK_WAIT_MS = 30_000;
/** Output kept per process for failure messages (bounded). */
const OUTPUT_CHARS_MAX = 64 * 1024;
/** Starts of a whole cluster before giving up on ports a stranger keeps taking (a bound). */
export const START_ATTEMPTS = 4;

export type Engine = 'memory' | 'lsm' | 'bitcask' | 'bitcask2';
export type Sync = 'always' | 'batch' | 'none';

export interface ClusterSpec {
  /** Sets of three nodes each (default 1). */
  readonly sets?: number;
  readonly engine?: Engine;
  readonly sync?: Sync;
  readonly groups?: number;
  /** More `serve` options for every node (e.g. the repair scan's interval). */
  readonly serveArgs?: readonly string[];
  /** Nodes on the IPv6 loopback ([::1]:port) instead of 127.0.0.1. */
  readonly ipv6?: boolean;
  /** More `serve` options for single nodes, by name. */
  readonly nodeArgs?: Readonly<Record<string, readonly string[]>>;
  /** Where the nodes' ports come from (default: `reservePorts`); tests of the harness inject. */
  readonly ports?: PortPicker;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { withTimeout };

/** Kills a child by its pid; a process already gone is fine. */
export function signalPid(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(proc.pid, signal);
  } catch {
    // Already gone.
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One spawned `paxosstore` process with its output and exit. */
export class Proc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  /** Resolves once the process exited and its output pipes are closed (all output read). */
  readonly closed: Promise<void>;
  private readyWaiters: (() => void)[] = [];
  ready = false;

  constructor(
    t: ExecutionContext,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
    // SIGCONT before SIGKILL so a stopped process is not left behind; the wait (bounded) keeps
    // the temp dir's removal, an earlier teardown that runs later, from racing its last writes.
    t.teardown(async () => {
      signalPid(child, 'SIGCONT');
      signalPid(child, 'SIGKILL');
      if (child.exitCode === null && child.signalCode === null)
        await withTimeout(this.exited, EXIT_WAIT_MS);
    });
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.onStdout(s));
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (s: string) => (this.stderr = (this.stderr + s).slice(-OUTPUT_CHARS_MAX)));
    void this.exited.then(() => this.wake());
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('process has no pid');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onStdout(s: string): void {
    this.stdout = (this.stdout + s).slice(-OUTPUT_CHARS_MAX);
    if (!this.ready && /"msg":"ready"/.test(this.stdout)) {
      this.ready = true;
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves true at the ready line, false if the process exits or the bound passes first. */
  async waitReady(ms = READY_WAIT_MS): Promise<boolean> {
    if (this.ready) return true;
    if (!this.running) return false;
    const woken = new Promise<void>((r) => this.readyWaiters.push(r));
    await withTimeout(woken, ms);
    return this.ready;
  }

  describe(): string {
    return `pid ${this.child.pid} exit ${this.child.exitCode}/${this.child.signalCode}\nstderr: ${this.stderr}\nstdout tail: ${this.stdout.slice(-2000)}`;
  }
}

/** Runs `paxosstore <args>` (dist/bin/paxosstore.js) as a child killed in teardown. */
export function spawnPaxosstore(t: ExecutionContext, args: readonly string[]): Proc {
  const child = spawn(process.execPath, [PAXOSSTORE_JS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(t, child);
}

/** Runs a short `paxosstore` command to its exit (bounded; killed by pid past the bound). */
export async function runPaxosstore(
  t: ExecutionContext,
  args: readonly string[],
  ms = 30_000,
): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnPaxosstore(t, args);
  const exit = await withTimeout(proc.exited, ms);
  if (exit === 'timeout') {
    signalPid(proc.child, 'SIGKILL');
    throw new Error(`paxosstore ${args.join(' ')} did not exit within ${ms} ms`);
  }
  return { ...exit, stdout: proc.stdout, stderr: proc.stderr };
}

export interface NodeInfo {
  readonly name: string;
  /** The Set's id (s0, s1, ...). */
  readonly set: string;
  readonly port: number;
  readonly address: string;
  readonly dir: string;
}

/** One node of the cluster: its current process, restartable on the same dir. */
export class ClusterNodeProc {
  proc: Proc | undefined;

  constructor(
    private readonly t: ExecutionContext,
    /** Replaced only by `Cluster.startAll` when it moves the node to a new port. */
    public info: NodeInfo,
    private readonly serveArgs: readonly string[],
  ) {}

  get name(): string {
    return this.info.name;
  }

  /**
   * True if the last start failed because another process held the node's port (`serve` exits 1
   * with an `ADDRESS_IN_USE:` line, before it writes anything in its dir).
   */
  async lostPort(): Promise<boolean> {
    const proc = this.proc;
    if (proc === undefined || proc.running) return false;
    await withTimeout(proc.closed, EXIT_WAIT_MS);
    // The line may follow other stderr output (a Node warning), so look for it at any line start.
    return /^ADDRESS_IN_USE:/m.test(proc.stderr);
  }

  /** Starts the process and waits for its ready line (throws with its output if none). */
  async start(): Promise<void> {
    if (this.proc?.running === true) throw new Error(`${this.name} is already running`);
    const proc = spawnPaxosstore(this.t, this.serveArgs);
    this.proc = proc;
    if (!(await proc.waitReady())) {
      signalPid(proc.child, 'SIGKILL');
      throw new Error(`${this.name} did not get ready:\n${proc.describe()}`);
    }
  }

  private current(): Proc {
    if (this.proc === undefined) throw new Error(`${this.name} was never started`);
    return this.proc;
  }

  /** kill -9 by pid; resolves once the process is gone. */
  async kill9(): Promise<Exit> {
    const proc = this.current();
    signalPid(proc.child, 'SIGCONT');
    signalPid(proc.child, 'SIGKILL');
    return this.awaitExit(proc);
  }

  sigstop(): void {
    signalPid(this.current().child, 'SIGSTOP');
  }

  sigcont(): void {
    signalPid(this.current().child, 'SIGCONT');
  }

  /** SIGTERM and wait for the exit (bounded; SIGKILL past the bound, then throws). */
  async stop(): Promise<Exit> {
    const proc = this.current();
    signalPid(proc.child, 'SIGTERM');
    return this.awaitExit(proc);
  }

  /**
   * A new process on the same dir and port (after kill9 or stop). The port stays reserved for
   * the cluster (ports.ts), so no other test file takes it meanwhile; a stranger could, and then
   * this start fails with ADDRESS_IN_USE (a restart cannot move: its peers know the address).
   */
  async restart(): Promise<void> {
    const proc = this.current();
    if (proc.running) throw new Error(`${this.name} is still running (pid ${proc.pid})`);
    await this.start();
  }

  private async awaitExit(proc: Proc): Promise<Exit> {
    const exit = await withTimeout(proc.exited, EXIT_WAIT_MS);
    if (exit !== 'timeout') return exit;
    signalPid(proc.child, 'SIGKILL');
    throw new Error(`${this.name} did not exit within ${EXIT_WAIT_MS} ms:\n${proc.describe()}`);
  }
}

function addressOf(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface ClusterFile {
  secret: string;
  groups?: number;
  sets: { id: string; replicas: { node: string; address: string; zone?: string }[] }[];
}

export class Cluster {
  readonly nodes: ClusterNodeProc[] = [];
  /** Whole-cluster starts the last `startAll` took (more than 1 only if a port was lost). */
  startAttempts = 0;

  private constructor(
    private readonly t: ExecutionContext,
    readonly root: string,
    readonly configPath: string,
    readonly file: ClusterFile,
    private readonly host: string,
    private readonly pickPorts: PortPicker,
  ) {}

  /** This cluster's own secret (random: no node of another cluster can authenticate to it). */
  get secret(): string {
    return this.file.secret;
  }

  /**
   * Writes the cluster file (Sets s0, s1, ... of nodes n1, n2, ...) in a temp dir removed at
   * teardown, and starts every node (`--workers 1`, few groups, to spare the 2-core machine).
   */
  static async start(t: ExecutionContext, spec: ClusterSpec = {}): Promise<Cluster> {
    const cluster = await Cluster.create(t, spec);
    await cluster.startAll();
    await cluster.whenLinked();
    return cluster;
  }

  /**
   * Starts every node and waits for its ready line. If a node could not bind its port because
   * another process took it after the pick (ADDRESS_IN_USE), every node started is killed (by
   * pid), the nodes that lost their port get new ones, the cluster file is rewritten and the
   * whole cluster starts again, at most START_ATTEMPTS times. A node dir that did not exist
   * before is removed before the next attempt: a memory replica killed and started again would
   * be in recovery (the amnesia rule), and two of three so would leave no majority. A dir that
   * existed (a restored backup) stays. Any other failure throws at once. A start that throws
   * leaves no node running.
   */
  async startAll(): Promise<void> {
    const fresh = this.nodes.filter((n) => !fs.existsSync(n.info.dir)).map((n) => n.info.dir);
    for (let attempt = 1; ; attempt++) {
      this.startAttempts = attempt;
      const results = await Promise.allSettled(this.nodes.map((n) => n.start()));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure === undefined) return;
      const lost: ClusterNodeProc[] = [];
      for (const n of this.nodes) if (await n.lostPort()) lost.push(n);
      await Promise.all(this.nodes.filter((n) => n.proc?.running === true).map((n) => n.kill9()));
      if (lost.length === 0 || attempt >= START_ATTEMPTS) {
        const tail = lost.length === 0 ? '' : ` (a port lost on all ${attempt} attempts)`;
        throw new Error(`cluster did not start${tail}: ${String(failure.reason)}`);
      }
      for (const dir of fresh) fs.rmSync(dir, { recursive: true, force: true });
      await this.movePorts(lost);
    }
  }

  /** New ports for `lost`, in their infos and in the cluster file (rewritten). */
  private async movePorts(lost: readonly ClusterNodeProc[]): Promise<void> {
    const ports = await this.pickPorts(lost.length, this.host);
    if (ports.length !== lost.length) throw new Error(`picker gave ${ports.length} ports`);
    lost.forEach((n, i) => {
      const port = ports[i] as number;
      n.info = { ...n.info, port, address: addressOf(this.host, port) };
      for (const set of this.file.sets)
        for (const r of set.replicas) if (r.node === n.name) r.address = n.info.address;
    });
    fs.writeFileSync(this.configPath, JSON.stringify(this.file, null, 2));
  }

  /**
   * Waits (bounded) until every running node has a connection up to each other node of its Set.
   * A node logs ready before its peer links are up: a link whose first dials found a peer not
   * yet listening waits out its backoff (up to seconds on a busy machine). A write in that window
   * is chosen without the unlinked replica, which learns it only when the key is next used on it
   * or repaired; a test that reads one replica's view (a journal, a local scan) needs the links.
   */
  async whenLinked(timeoutMs = LINK_WAIT_MS): Promise<void> {
    const running = this.nodes.filter((n) => n.proc?.running === true);
    const deadline = Date.now() + timeoutMs;
    let missing: string[] = [];
    while (Date.now() < deadline) {
      missing = [];
      for (const n of running) {
        const peers = this.setNodes(n.info.set).filter((p) => p !== n && p.proc?.running === true);
        const status = (await this.control(n.name, 'status')) as { peersUp: readonly string[] };
        for (const p of peers)
          if (!status.peersUp.includes(p.name)) missing.push(`${n.name}→${p.name}`);
      }
      if (missing.length === 0) return;
      await sleep(50);
    }
    throw new Error(`peer links not up within ${timeoutMs} ms: ${missing.join(', ')}`);
  }

  /** The cluster file and node handles, no process started. */
  static async create(t: ExecutionContext, spec: ClusterSpec = {}): Promise<Cluster> {
    const sets = spec.sets ?? 1;
    const root = tempDir(t, 'pxs-cluster-');
    const host = spec.ipv6 === true ? '::1' : '127.0.0.1';
    const pickPorts = spec.ports ?? ((count, h) => reservePorts(t, count, h));
    const ports = await pickPorts(sets * 3, host);
    const secret = `pxs-it-${randomBytes(16).toString('hex')}`;
    const file: ClusterFile = { secret, groups: spec.groups ?? 4, sets: [] };
    const infos: NodeInfo[] = [];
    for (let s = 0; s < sets; s++) {
      const replicas = [0, 1, 2].map((r) => {
        const i = s * 3 + r;
        const port = ports[i] as number;
        const info: NodeInfo = {
          name: `n${i + 1}`,
          set: `s${s}`,
          port,
          address: addressOf(host, port),
          dir: path.join(root, `n${i + 1}`),
        };
        infos.push(info);
        return { node: info.name, address: info.address, zone: String.fromCharCode(97 + r) };
      });
      file.sets.push({ id: `s${s}`, replicas });
    }
    const configPath = path.join(root, 'cluster.json');
    fs.writeFileSync(configPath, JSON.stringify(file, null, 2));
    const cluster = new Cluster(t, root, configPath, file, host, pickPorts);
    for (const info of infos) {
      const args = [
        'serve',
        '--config',
        configPath,
        '--node',
        info.name,
        '--dir',
        info.dir,
        '--engine',
        spec.engine ?? 'bitcask',
        '--sync',
        spec.sync ?? 'batch',
        '--workers',
        '1',
        '--groups',
        String(file.groups ?? 4),
        ...(spec.serveArgs ?? []),
        ...(spec.nodeArgs?.[info.name] ?? []),
      ];
      cluster.nodes.push(new ClusterNodeProc(t, info, args));
    }
    return cluster;
  }

  node(name: string): ClusterNodeProc {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** The nodes of one Set. */
  setNodes(set: string): ClusterNodeProc[] {
    return this.nodes.filter((n) => n.info.set === set);
  }

  addresses(): string[] {
    return this.nodes.map((n) => n.info.address);
  }

  /** A client of the cluster, closed at teardown. */
  async connect(timeoutMs = 4_000): Promise<RemoteStore> {
    const store = await PaxosStore.connect({
      nodes: this.addresses(),
      secret: this.secret,
      timeoutMs,
      connectTimeoutMs: 5_000,
    });
    this.t.teardown(() => store.close());
    return store;
  }

  /** A control call (status, routes, partition, heal) to one node. */
  control(
    name: string,
    op: 'status' | 'routes' | 'partition' | 'heal',
    args?: unknown,
  ): Promise<unknown> {
    const { port, address } = this.node(name).info;
    const host = address.startsWith('[') ? '::1' : '127.0.0.1';
    return controlCall({ host, port, secret: this.secret, timeoutMs: 5_000 }, op, args);
  }

  /** Stops every running node with SIGTERM (bounded); returns each exit. */
  async stopAll(): Promise<Exit[]> {
    return Promise.all(this.nodes.filter((n) => n.proc?.running === true).map((n) => n.stop()));
  }
}

/** Attempts per put in putSure (a bound; each attempt has the client's own deadline). */
const PUT_ATTEMPTS = 10;

/**
 * A put of setup data that must land: retried on UNKNOWN_OUTCOME and UNAVAILABLE (the machine is
 * shared and slow at times). Putting the same value again is harmless for setup data.
 */
export async function putSure(
  kv: { put(key: string, value: string): Promise<unknown> },
  key: string,
  value: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kv.put(key, value);
      return;
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      const retry = code === 'UNKNOWN_OUTCOME' || code === 'UNAVAILABLE';
      if (!retry || attempt >= PUT_ATTEMPTS) throw error;
    }
  }
}
