/**
 * The cluster harness's port reservations (ports.ts): two pickers never share a port, a port
 * reserved by a live process is never picked, and a leftover of a dead one is swept only when
 * it is old. Each check works on a range of one or a few ports, so the outcome is forced.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESERVATION_DIR, STALE_MS, TEST_PORTS, reservePorts } from './ports';
import type { PortRange, Teardown } from './ports';

/** A teardown registrar the test runs itself, to check what release does. */
function registrar(): Teardown & { run(): void } {
  const fns: (() => void)[] = [];
  return {
    teardown: (fn) => fns.push(fn),
    run: () => {
      for (const fn of fns.splice(0)) fn();
    },
  };
}

/** A pid no process has (above any Linux pid_max). */
const DEAD_PID = 2_147_483_000;

function fileOf(port: number): string {
  return path.join(RESERVATION_DIR, String(port));
}

/** One port reserved by this test (teardown releases it), as a range of one. */
async function onePort(t: Parameters<typeof reservePorts>[0]): Promise<PortRange> {
  const [port] = await reservePorts(t, 1);
  if (port === undefined) throw new Error('no port');
  return { low: port, span: 1 };
}

test('two pickers over the same small range get disjoint ports, released at teardown', async (t) => {
  const low = TEST_PORTS.low + Math.floor(Math.random() * (TEST_PORTS.span - 64));
  const range: PortRange = { low, span: 32 };
  const a = registrar();
  const b = registrar();
  const fromA = await reservePorts(a, 8, '127.0.0.1', range);
  const fromB = await reservePorts(b, 8, '127.0.0.1', range);
  t.is(new Set([...fromA, ...fromB]).size, 16, `A ${fromA.join(',')} B ${fromB.join(',')}`);
  for (const port of [...fromA, ...fromB]) {
    t.true(port >= low && port < low + 32);
    t.true(fs.readFileSync(fileOf(port), 'utf8').startsWith(`${process.pid} `));
  }
  a.run();
  b.run();
  for (const port of [...fromA, ...fromB]) t.false(fs.existsSync(fileOf(port)), `${port} released`);
});

test('a port another live process holds a reservation for is never picked', async (t) => {
  const range = await onePort(t);
  const other = registrar();
  await t.throwsAsync(reservePorts(other, 1, '127.0.0.1', range), { message: /no free port/ });
  other.run();
  t.true(fs.existsSync(fileOf(range.low)), "the holder's reservation is left alone");
});

test("a dead holder's reservation is swept only once it is old", async (t) => {
  const range = await onePort(t);
  const file = fileOf(range.low);
  fs.writeFileSync(file, `${DEAD_PID} leftover`);
  const young = registrar();
  await t.throwsAsync(reservePorts(young, 1, '127.0.0.1', range), { message: /no free port/ });
  const old = (Date.now() - STALE_MS - 60_000) / 1000;
  fs.utimesSync(file, old, old);
  const later = registrar();
  t.deepEqual(await reservePorts(later, 1, '127.0.0.1', range), [range.low]);
  t.true(fs.readFileSync(file, 'utf8').startsWith(`${process.pid} `), 'now ours');
  later.run();
  t.false(fs.existsSync(file));
});
