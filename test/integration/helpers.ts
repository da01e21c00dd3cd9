/**
 * Helpers shared by the integration tests: open a store that is always closed in teardown,
 * temp dirs that are always removed, and error-code extraction.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions, StoreJournalEntry, Subscription } from '../../index';

/**
 * Small and fast: two worker threads, four groups per replica. The request timeout is generous
 * because these tests check semantics, not speed: a CI machine running several test files at
 * once starved an lsm store past the 2 s default and turned correct writes into UNKNOWN_OUTCOME.
 * Tests of timeouts and unavailability set their own short `timeoutMs`.
 */
export const FAST: PaxosStoreOptions = { workers: 2, groups: 4, timeoutMs: 15_000 };

export async function openStore(
  t: ExecutionContext,
  options: PaxosStoreOptions = {},
): Promise<PaxosStore> {
  const store = await PaxosStore.open({ ...FAST, ...options });
  t.teardown(() => store.close());
  return store;
}

/** A fresh directory under os.tmpdir(), removed when the test ends. */
export function tempDir(t: ExecutionContext, prefix = 'pxs-it-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Options for a store on the given engine (disk engines get their own temp dir). */
export function engineOptions(
  t: ExecutionContext,
  engine: 'memory' | 'lsm' | 'bitcask' | 'bitcask2' | 'memory-persist',
): PaxosStoreOptions {
  if (engine === 'memory-persist') return { engine: 'memory', persist: true, dir: tempDir(t) };
  return engine === 'memory' ? { engine: 'memory' } : { engine, dir: tempDir(t) };
}

export function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/** The rejection code of a promise, or 'RESOLVED' when it did not reject. */
/**
 * Opens a store that must be refused; returns the rejection's code (a store that opened anyway
 * is closed at teardown and fails the test).
 */
export async function openRejectionCode(
  t: ExecutionContext,
  options: PaxosStoreOptions,
  what: string,
): Promise<unknown> {
  const result = await PaxosStore.open(options).then(
    (store) => store,
    (error: unknown) => error,
  );
  if (result instanceof PaxosStore) {
    t.teardown(() => result.close());
    t.fail(`${what}: open resolved`);
    return undefined;
  }
  return codeOf(result);
}

export async function settleCode(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'RESOLVED';
  } catch (error) {
    return codeOf(error);
  }
}

/** Poll `probe` until it returns true; a bounded loop, not a timing assertion. */
export async function eventually(
  probe: () => Promise<boolean>,
  attempts = 500,
  pauseMs = 10,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return false;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Run `node <args>` (process.execPath) as a child; killed by pid at `timeoutMs` and in the
 * test's teardown if it is still running.
 */
export function runNode(
  t: ExecutionContext,
  args: string[],
  timeoutMs: number,
  cwd?: string,
): Promise<ChildResult> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const kill = (): void => {
    if (!exited && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  t.teardown(kill);
  child.on('exit', () => (exited = true));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Absolute path of the compiled public API (dist/index.js), for child scripts. */
export const INDEX_JS = path.join(__dirname, '..', '..', 'index.js');

/** A small seeded PRNG (mulberry32), so a failing run's seed can be logged and replayed. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** `p`, or 'timeout' after `ms` (a bound on a wait, never an assertion). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** SIGKILL a child the test started, by its pid, unless it has already exited. */
export function killByPid(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(proc.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Takes `n` entries from a subscription (they exist: bounded by the test's own timeout). */
export async function take(sub: Subscription, n: number): Promise<StoreJournalEntry[]> {
  const out: StoreJournalEntry[] = [];
  if (n === 0) return out;
  for await (const e of sub) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}
