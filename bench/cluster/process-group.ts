/**
 * The server processes of one bench run (PaxosStore nodes or etcd members): spawned with their
 * output in a log file (a pipe nobody drains would fill and stall a node that logs
 * synchronously), waited for, measured through /proc/<pid>/stat, and stopped by pid.
 *
 * Every live child of every group is also in one module-wide registry, so an error or Ctrl-C
 * anywhere in the bench stops them all (`stopAllNow`) and no server outlives the bench.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { assert } from '../../runtime/assert';

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  exited: boolean;
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
}

const live = new Set<ServerProcess>();
/** Temp dirs of running groups: removed by `stopAllNow` too, since an interrupt skips `finally`. */
const tempDirs = new Set<string>();
const POLL_MS = 50;
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_BYTES = 2000;

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this bench runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export function spawnServer(spec: SpawnSpec): ServerProcess {
  const fd = fs.openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], { stdio: ['ignore', fd, fd] });
    assert(child.pid !== undefined, `spawn ${spec.command} for ${spec.name} gave no pid`);
    const p: ServerProcess = {
      name: spec.name,
      pid: child.pid,
      logFile: spec.logFile,
      child,
      exited: false,
    };
    live.add(p);
    child.once('exit', () => {
      p.exited = true;
      live.delete(p);
    });
    return p;
  } finally {
    fs.closeSync(fd);
  }
}

export function logTail(p: ServerProcess): string {
  try {
    const text = fs.readFileSync(p.logFile, 'utf8');
    return text.slice(-LOG_TAIL_BYTES);
  } catch {
    return '(no log)';
  }
}

/** Resolves once `p`'s log contains `needle`; rejects when it exits or `timeoutMs` passes. */
export async function waitForLog(
  p: ServerProcess,
  needle: string,
  timeoutMs: number,
): Promise<void> {
  assert(timeoutMs > 0, `timeoutMs ${timeoutMs} <= 0`);
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / POLL_MS) + 1; i++) {
    const text = fs.existsSync(p.logFile) ? fs.readFileSync(p.logFile, 'utf8') : '';
    if (text.includes(needle)) return;
    if (p.exited)
      throw new Error(`${p.name} (pid ${p.pid}) exited before "${needle}":\n${logTail(p)}`);
    if (performance.now() > deadline) break;
    await sleep(POLL_MS);
  }
  throw new Error(
    `${p.name} (pid ${p.pid}) did not log "${needle}" within ${timeoutMs} ms:\n${logTail(p)}`,
  );
}

/** CPU time (user + system, all threads) of a live process in microseconds, from /proc. */
export function processCpuMicros(pid: number): number {
  assert(os.platform() === 'linux', 'per-process CPU comes from /proc (Linux only)');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  assert(
    Number.isFinite(utime) && Number.isFinite(stime),
    `bad /proc/${pid}/stat: ${stat.slice(0, 200)}`,
  );
  return ((utime + stime) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

export function groupCpuMicros(group: readonly ServerProcess[]): number {
  let sum = 0;
  for (const p of group) {
    assert(!p.exited, `${p.name} (pid ${p.pid}) exited during the bench:\n${logTail(p)}`);
    sum += processCpuMicros(p.pid);
  }
  return sum;
}

/** SIGTERM each process by pid, wait for it (a profile is written on a clean exit), SIGKILL stragglers. */
export async function stopGroup(group: readonly ServerProcess[]): Promise<void> {
  for (const p of group) if (!p.exited) signal(p, 'SIGTERM');
  const deadline = performance.now() + STOP_GRACE_MS;
  for (let i = 0; i < STOP_GRACE_MS / POLL_MS && group.some((p) => !p.exited); i++) {
    if (performance.now() > deadline) break;
    await sleep(POLL_MS);
  }
  for (const p of group) if (!p.exited) signal(p, 'SIGKILL');
  for (let i = 0; i < 40 && group.some((p) => !p.exited); i++) await sleep(POLL_MS);
}

/** Marks `dir` for removal by `stopAllNow`; `forgetTempDir` once the owner removed it itself. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/**
 * Synchronous last resort (error, SIGINT, exit): SIGKILL every live child by pid, then remove
 * the tracked temp dirs. Returns how many processes it signalled.
 */
export function stopAllNow(): number {
  let n = 0;
  for (const p of live) {
    signal(p, 'SIGKILL');
    n += 1;
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
  return n;
}

function signal(p: ServerProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(p.pid, sig);
  } catch {
    // Already gone (ESRCH): nothing to stop.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
