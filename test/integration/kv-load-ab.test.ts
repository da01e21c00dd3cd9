/**
 * bench/kv-load-ab.ts end to end in a child process: one build against itself (A/A), two pairs
 * of short slices over a small key space. It must run both rounds (each store opened first
 * once), print every pair and the summary, and exit 0; a bad flag exits 2 naming it. The child
 * is killed by pid if it outlives its timeout.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';

const BENCH = path.resolve(__dirname, '../../bench/kv-load-ab.js');
const DIST = path.resolve(__dirname, '../..');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BENCH, ...args], { timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('kv-load-ab runs a build against itself in two rounds and prints every pair', async (t) => {
  const args = ['--a', DIST, '--b', DIST, '--slices', '2', '--slice-seconds', '1'];
  const r = await run([...args, '--keys', '2000', '--clients', '32'], 120_000);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /pair 1 \(a opened first, a ran first\): a [\d,]+ ops\/s/);
  t.regex(r.stdout, /pair 2 \(b opened first, a ran first\): a [\d,]+ ops\/s/);
  t.regex(r.stdout, /write {2}a: median [\d.]+ {2}min [\d.]+ cpu us\/op/);
  t.regex(
    r.stdout,
    /write {2}b − a: -?[\d.]+ cpu us\/op \(medians -?[\d.]+ with b opened second, -?[\d.]+ with a opened second; opening bias -?[\d.]+\); b cheaper in \d of 2 pairs/,
  );
});

test('kv-load-ab refuses a bad flag with exit code 2, naming it', async (t) => {
  const r = await run(['--a', DIST, '--phase', 'scan'], 30_000);
  t.is(r.code, 2);
  t.regex(r.stderr, /--phase: write or read/);
});
