/**
 * kill -9 durability (DESIGN §7): with sync 'always' or 'batch', no acknowledged write is lost
 * when the process is killed and the store reopened.
 *
 * A child (fixtures/kill9-writer.js) opens an lsm, bitcask, bitcask2 or memory-persist store on one dir and writes continuously,
 * printing `ack <key> <version> <value>` after each acknowledged write. The driver SIGKILLs it
 * by pid after a random number of acks (or a random short delay, sometimes during open), then
 * starts the next child on the same dir. Each child first reads every key and prints what it
 * found (`start ...`): every key must be there with at least its last acknowledged version
 * (and the acknowledged value at that version). Every few cycles and after the last, the test
 * process opens the store itself and checks the same with linearizable reads. Later acks must
 * carry versions above every earlier ack of the key.
 *
 * Reproduce a run with KILL9_SEED=<seed> (logged).
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { SyncMode } from '../../index';
import { killByPid, mulberry32, tempDir, withTimeout } from './helpers';

const WRITER_JS = path.join(__dirname, 'fixtures', 'kill9-writer.js');
const CYCLES = 20;
const VERIFY_EVERY = 5;
const PUT_KEYS = 48;
const INCR_KEYS = 16;
const IN_FLIGHT = 32;
/** The child stops by itself after this long (a bound; the driver kills it much sooner). */
const CHILD_MAX_SECONDS = 30;
/** Bounds on the waits (never assertions): acks wanted, child exit after SIGKILL. */
const ACK_WAIT_MS = 8_000;
const EXIT_WAIT_MS = 10_000;

interface Acked {
  version: number;
  value: string;
}

interface Child {
  proc: ChildProcess;
  acks: number;
  ready: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  /** Resolves when acks >= n or the child is gone. */
  waitAcks: (n: number) => Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startChild(t: ExecutionContext, args: string[], onLine: (line: string) => void): Child {
  const proc = spawn(process.execPath, [WRITER_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => killByPid(proc));
  let buffered = '';
  let stderr = '';
  let gone = false;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const child: Child = {
    proc,
    acks: 0,
    ready: false,
    exited: new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal }))),
    stderr: () => stderr,
    waitAcks: (n) =>
      new Promise<void>((resolve) => {
        if (gone || child.acks >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
  const wake = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter !== undefined && (gone || child.acks >= waiter.n)) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };
  if (proc.stdout === null || proc.stderr === null)
    throw new Error('the child was spawned without pipes');
  proc.stdout.setEncoding('utf8').on('data', (s: string) => {
    buffered += s;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('ack ')) child.acks++;
      if (line === 'ready') child.ready = true;
      onLine(line);
    }
    wake();
  });
  proc.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 20_000) stderr += s;
  });
  proc.on('close', () => {
    gone = true;
    wake();
  });
  return child;
}

type Kill9Engine = 'lsm' | 'bitcask' | 'bitcask2' | 'memory-persist';

/** One run's facts: what was acknowledged, what went wrong, and counts for the log. */
interface Kill9Run {
  readonly engine: Kill9Engine;
  readonly sync: SyncMode;
  readonly seed: number;
  readonly dir: string;
  readonly acked: Map<string, Acked>;
  readonly problems: string[];
  ackTotal: number;
  killedBeforeReady: number;
  verifications: number;
  checkedAtVerify: number;
  startChecks: number;
}

function where(run: Kill9Run, cycle: number): string {
  return `engine=${run.engine} sync=${run.sync} seed=${run.seed} cycle=${cycle}`;
}

/** A key read back (by a child at start, or by the verifier) against its last ack. */
function checkRead(
  run: Kill9Run,
  cycle: number,
  who: string,
  key: string,
  got: Acked | undefined,
): void {
  const want = run.acked.get(key);
  if (want === undefined) return;
  const at = where(run, cycle);
  if (got === undefined) {
    run.problems.push(
      `${at} ${who}: ${key} missing, last ack version ${want.version} value ${want.value}`,
    );
  } else if (got.version < want.version) {
    run.problems.push(`${at} ${who}: ${key} at version ${got.version} < acked ${want.version}`);
  } else if (got.version === want.version && got.value !== want.value) {
    run.problems.push(
      `${at} ${who}: ${key} version ${got.version} value ${got.value} != acked ${want.value}`,
    );
  } else if (Number(got.value) < Number(want.value)) {
    run.problems.push(`${at} ${who}: ${key} value ${got.value} went below acked ${want.value}`);
  }
}

/** Reopens the directory in this process and reads every acknowledged key back. */
async function verify(run: Kill9Run, cycle: number): Promise<void> {
  run.verifications++;
  let store: PaxosStore | undefined;
  try {
    const engineOptions =
      run.engine === 'memory-persist'
        ? ({ engine: 'memory', persist: true } as const)
        : { engine: run.engine };
    store = await PaxosStore.open({
      ...engineOptions,
      dir: run.dir,
      sync: run.sync,
      workers: 2,
      groups: 4,
      timeoutMs: 15_000,
    });
    const kv = store.kv('kill9');
    const keys = [...run.acked.keys()];
    const reads = await Promise.all(keys.map((k) => kv.get(k, { consistency: 'linearizable' })));
    keys.forEach((k, i) => {
      const e = reads[i];
      checkRead(
        run,
        cycle,
        'verifier',
        k,
        e === undefined ? undefined : { version: e.version, value: e.value.toString('utf8') },
      );
    });
    run.checkedAtVerify += keys.length;
  } catch (error) {
    run.problems.push(`${where(run, cycle)} verifier: reopen/read failed: ${String(error)}`);
  } finally {
    await store?.close();
  }
}

/** The handler of one child's output lines; `readyChecked` tells whether it reached ready. */
function childLines(
  run: Kill9Run,
  cycle: number,
): { onLine: (line: string) => void; readyChecked: () => boolean } {
  const seen = new Set<string>();
  let readyChecked = false;
  const onLine = (line: string): void => {
    const [kind, key, v, value] = line.split(' ');
    if (kind === 'start' && key !== undefined && value !== undefined) {
      seen.add(key);
      run.startChecks++;
      checkRead(run, cycle, 'child start', key, { version: Number(v), value });
    } else if (kind === 'ready') {
      readyChecked = true;
      for (const key of run.acked.keys())
        if (!seen.has(key)) checkRead(run, cycle, 'child start', key, undefined);
    } else if (kind === 'ack' && key !== undefined && value !== undefined) {
      const version = Number(v);
      const prev = run.acked.get(key);
      if (prev !== undefined && version <= prev.version) {
        run.problems.push(
          `${where(run, cycle)}: ${key} acked version ${version} <= earlier ack ${prev.version}`,
        );
      }
      run.ackTotal++;
      if (prev === undefined || version > prev.version) run.acked.set(key, { version, value });
    }
  };
  return { onLine, readyChecked: () => readyChecked };
}

/** One cycle: start a writer child, let it write (or not), kill -9 it. False: stop the run. */
async function killCycle(
  t: ExecutionContext,
  run: Kill9Run,
  random: () => number,
  cycle: number,
): Promise<boolean> {
  const lines = childLines(run, cycle);
  const child = startChild(
    t,
    [
      run.dir,
      run.sync,
      String(Math.floor(random() * 2 ** 31)),
      String(PUT_KEYS),
      String(INCR_KEYS),
      String(IN_FLIGHT),
      String(CHILD_MAX_SECONDS),
      run.engine,
    ],
    lines.onLine,
  );
  if (random() < 0.2) {
    // Sometimes during open or recovery reads, sometimes early in the writes.
    await sleep(Math.floor(random() * 600));
  } else {
    await withTimeout(child.waitAcks(1 + Math.floor(random() * 400)), ACK_WAIT_MS);
  }
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
    run.problems.push(
      `${where(run, cycle)}: child exited by itself (code ${child.proc.exitCode}): ${child.stderr().slice(0, 2000)}`,
    );
  }
  if (!lines.readyChecked()) run.killedBeforeReady++;
  killByPid(child.proc);
  const exit = await withTimeout(child.exited, EXIT_WAIT_MS);
  if (exit === 'timeout') {
    run.problems.push(
      `${where(run, cycle)}: child ${child.proc.pid} did not exit within ${EXIT_WAIT_MS} ms of SIGKILL`,
    );
    return false;
  }
  if (child.stderr().includes('failed'))
    t.log(`${where(run, cycle)} child stderr: ${child.stderr().slice(0, 1000)}`);
  return true;
}

async function runMode(t: ExecutionContext, engine: Kill9Engine, sync: SyncMode): Promise<void> {
  const seed =
    process.env['KILL9_SEED'] !== undefined
      ? Number(process.env['KILL9_SEED'])
      : Math.floor(Math.random() * 2 ** 31);
  const random = mulberry32(seed);
  const dir = tempDir(t, `pxs-kill9-${engine}-${sync}-`);
  const run: Kill9Run = {
    engine,
    sync,
    seed,
    dir,
    acked: new Map(),
    problems: [],
    ackTotal: 0,
    killedBeforeReady: 0,
    verifications: 0,
    checkedAtVerify: 0,
    startChecks: 0,
  };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    if (!(await killCycle(t, run, random, cycle))) break;
    if ((cycle + 1) % VERIFY_EVERY === 0 || cycle === CYCLES - 1) await verify(run, cycle);
  }
  t.log(
    `sync=${sync} seed=${seed}: ${CYCLES} cycles (${run.killedBeforeReady} killed before ready), ${run.ackTotal} acknowledged writes on ${run.acked.size} keys, ` +
      `${run.startChecks} start reads checked by children, ${run.verifications} verifications (${run.checkedAtVerify} key reads), ` +
      `lost or wrong: ${run.problems.length}`,
  );
  for (const p of run.problems.slice(0, 50)) t.log(p);
  t.true(run.ackTotal > 0, 'some writes were acknowledged');
  t.deepEqual(run.problems, []);
}

for (const engine of ['lsm', 'bitcask', 'bitcask2', 'memory-persist'] as const)
  for (const sync of ['always', 'batch'] as const) {
    test.serial(`kill -9: no acknowledged write is lost (${engine}, sync '${sync}')`, (t) =>
      runMode(t, engine, sync),
    );
  }
