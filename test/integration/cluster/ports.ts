/**
 * Loopback ports for the multi-process cluster tests.
 *
 * A cluster file names every node's port before any node starts, so the harness cannot let the
 * kernel pick (port 0) at bind time. It picks at random below Linux's default ephemeral range
 * (32768–60999), so no outgoing connection of any process is given the port in between, and it
 * *reserves* each pick with a file created exclusively (`O_EXCL`) in one machine-wide directory
 * (`os.tmpdir()/pxs-test-ports/<port>`, holding the holder's pid). Test files run in parallel
 * processes (ava) and other checkouts on the same machine run the same harness: none of them can
 * pick a port another still holds, for the whole life of its cluster, restarts included. A pick
 * is also checked by listening and closing, which skips ports a stranger (a program that does
 * not reserve) holds now; a stranger that binds between that check and the node's bind is what
 * `Cluster.startAll` retries on.
 *
 * Reservations are removed in the test's teardown. A process killed before its teardown leaves
 * its files behind: a file whose holder is gone and that is older than `STALE_MS` is swept when
 * a pick lands on it (two sweepers racing can at worst let two pickers share one port, which the
 * start retry covers).
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Picks `count` distinct free ports on `host` (the harness's default reserves them). */
export type PortPicker = (count: number, host: string) => Promise<number[]>;

/** Where a reservation's release is registered (an ava ExecutionContext in the tests). */
export interface Teardown {
  teardown(fn: () => void): void;
}

export interface PortRange {
  readonly low: number;
  /** Ports low .. low + span - 1. */
  readonly span: number;
}

/** Below the ephemeral range and above the well-known and most registered service ports. */
export const TEST_PORTS: PortRange = { low: 15_000, span: 17_000 };
export const RESERVATION_DIR = path.join(os.tmpdir(), 'pxs-test-ports');
/** A leftover reservation is swept only when its holder is gone and it is at least this old. */
export const STALE_MS = 30 * 60_000;
/** Random picks per port before giving up (a bound; the range is mostly free). */
const PICK_TRIES = 256;

/** Listens on `port`, closes again; true if the bind worked (nobody holds the port now). */
export function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** Removes `file` if its holder is gone and it is old enough; true if it did. */
function sweepIfStale(file: string, nowMs: number): boolean {
  try {
    const holder = Number(fs.readFileSync(file, 'utf8').split(' ')[0]);
    if (pidAlive(holder) || nowMs - fs.statSync(file).mtimeMs < STALE_MS) return false;
    fs.unlinkSync(file);
    return true;
  } catch {
    // Gone in between (its holder released it, or another sweeper won): not ours to judge.
    return false;
  }
}

/** Creates the reservation file for `port`; the token written, or undefined if it is held. */
function tryReserve(port: number): string | undefined {
  const file = path.join(RESERVATION_DIR, String(port));
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, token, { flag: 'wx' });
      return token;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      if (attempt > 0 || !sweepIfStale(file, Date.now())) return undefined;
    }
  }
  return undefined;
}

/** Removes the reservation of `port` if it is still the one we wrote. */
function release(port: number, token: string): void {
  const file = path.join(RESERVATION_DIR, String(port));
  try {
    if (fs.readFileSync(file, 'utf8') === token) fs.unlinkSync(file);
  } catch {
    // Already gone (swept as stale after a very long test): nothing to release.
  }
}

/** One reserved port that nobody held when it was checked; released by `release`. */
async function reserveOne(host: string, range: PortRange): Promise<[number, string]> {
  for (let i = 0; i < PICK_TRIES; i++) {
    const port = range.low + Math.floor(Math.random() * range.span);
    const token = tryReserve(port);
    if (token === undefined) continue;
    if (await canListen(port, host)) return [port, token];
    release(port, token);
  }
  throw new Error(`no free port in ${range.low}..${range.low + range.span - 1} on ${host}`);
}

/**
 * `count` distinct ports on `host`, each reserved against every other user of this module on the
 * machine until the test ends, and free when checked.
 */
export async function reservePorts(
  t: Teardown,
  count: number,
  host = '127.0.0.1',
  range: PortRange = TEST_PORTS,
): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`port count ${count} < 1`);
  fs.mkdirSync(RESERVATION_DIR, { recursive: true });
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const [port, token] = await reserveOne(host, range);
    t.teardown(() => release(port, token));
    ports.push(port);
  }
  return ports;
}

/**
 * Holds a loopback port with a plain listener until the test ends and returns it. The kernel
 * picks it (port 0) and the listener holds it from that moment, so no other process can take it
 * between the pick and its use, as a pick-then-occupy could lose it.
 */
export async function occupiedPort(t: ExecutionContext): Promise<number> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('listener has no port');
  return address.port;
}
