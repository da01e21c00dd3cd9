/**
 * The cluster bench's split of a server's CPU by thread (bench/cluster/thread-cpu-split.ts)
 * against a real process: a child node whose worker thread does a fixed amount of work while
 * its main thread waits. The split must put that work under "workers" (the busiest non-main
 * thread), not under main or the rest; the child is stopped by pid by the test.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readThreadCpu, splitThreadCpu } from '../../bench/cluster/thread-cpu-split';

/**
 * The child: waits for a line on stdin, then runs a worker that spins a fixed loop and stays
 * alive after it (a thread that has ended is no longer in /proc, and its CPU with it).
 */
const CHILD = `
const { Worker } = require('node:worker_threads');
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
  const w = new Worker(
    "let x = 0; for (let i = 0; i < 3e8; i++) x = (x + i) | 0; require('node:worker_threads').parentPort.postMessage(x); setInterval(() => {}, 1000);",
    { eval: true },
  );
  w.once('message', () => process.stdout.write('done\\n'));
});
setInterval(() => {}, 1000);
`;

function line(child: ReturnType<typeof spawn>, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no '${text}' in ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(`${text}\n`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

test('a worker thread that does the work is "workers", not main or the rest', async (t) => {
  if (process.platform !== 'linux') {
    t.pass('per-thread CPU comes from /proc');
    return;
  }
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = child.pid;
  t.truthy(pid);
  if (pid === undefined) return;
  try {
    await line(child, 'ready', 30_000);
    const before = readThreadCpu([pid]);
    const done = line(child, 'done', 120_000);
    child.stdin?.write('go\n');
    await done;
    const after = readThreadCpu([pid]);
    const split = splitThreadCpu(before, after, 1, 1);
    // 3e8 iterations take well over 100 ms of CPU on any machine this runs on (~0.3 s here).
    t.true(split.busiest > 100_000, `workers ${split.busiest} us`);
    t.true(split.busiest > 3 * split.main, `workers ${split.busiest} vs main ${split.main}`);
    t.true(split.busiest > 3 * split.rest, `workers ${split.busiest} vs rest ${split.rest}`);
    // With busiest 0 the same work lands in the rest: the classes are not fixed by position.
    const none = splitThreadCpu(before, after, 0, 1);
    t.is(none.rest, split.busiest + split.rest);
  } finally {
    process.kill(pid, 'SIGKILL');
  }
});
