/**
 * `paxosstore backup --follow` and `paxosstore restore --at` as child processes (README
 * "Backups"): the follow reports `{"event":"follow"}` lines, stops on SIGTERM after a final
 * flush (exit 0, a `done` line with the follow's report), and the backup restores at the time
 * it reached. A bad `--at`, and `--flush-ms` without `--follow`, are refused.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { runNode, tempDir } from './helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'paxosstore.js');

interface Line {
  event: string;
  through?: string | null;
  follow?: { through: string | null; entries: number };
}

test.serial('backup --follow stops on SIGTERM after a final flush; restore --at', async (t) => {
  const data = tempDir(t);
  const backup = path.join(tempDir(t, 'pxs-backup-'), 'b');
  const store = await PaxosStore.open({ engine: 'bitcask', dir: data, workers: 1, groups: 2 });
  for (let i = 0; i < 20; i++) await store.kv('ns').put(`k${i}`, `v${i}`);
  await store.close();

  const child = spawn(
    process.execPath,
    [CLI, 'backup', '--dir', data, '--to', backup, '--follow', '--flush-ms', '100'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let exited = false;
  t.teardown(() => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  // Bounded: the follow's point moves within a few seconds of the full copy.
  for (let i = 0; i < 600 && !/"event":"follow","through":"/.test(stdout) && !exited; i++)
    await new Promise((r) => setTimeout(r, 50));
  t.regex(stdout, /"event":"follow","through":"/, stderr);
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  t.is(await exit, 0, stderr);
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const done = lines[lines.length - 1];
  t.is(done?.event, 'done');
  const through = done?.follow?.through;
  t.true(typeof through === 'string');

  const restored = path.join(tempDir(t, 'pxs-restored-'), 'r');
  const ok = await runNode(
    t,
    [CLI, 'restore', '--from', backup, '--dir', restored, '--at', String(through)],
    60_000,
  );
  t.is(ok.code, 0, ok.stderr);
  const got = await runNode(t, [CLI, 'get', 'ns', 'k3', '--dir', restored], 60_000);
  t.deepEqual(JSON.parse(got.stdout), { value: 'v3', version: 1 });

  const bad = await runNode(
    t,
    [CLI, 'restore', '--from', backup, '--dir', path.join(tempDir(t), 'x'), '--at', 'soon'],
    60_000,
  );
  t.is(bad.code, 2);
  // --flush-ms goes with --follow, for a cluster too (its follow: test/integration/cluster/).
  const cluster = await runNode(
    t,
    [
      CLI,
      'backup',
      '--config',
      path.join(data, 'none.json'),
      '--to',
      tempDir(t),
      '--flush-ms',
      '5',
    ],
    60_000,
  );
  t.is(cluster.code, 2);
});

/** Starts `paxosstore` with `args`; its stdout so far, and its exit. Killed at teardown. */
function startCli(t: import('ava').ExecutionContext, args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', exited: false };
  t.teardown(() => {
    if (!out.exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out.stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out.stderr += s));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      out.exited = true;
      resolve(code);
    }),
  );
  return { child, out, exit };
}

/** Bounded: waits until the child printed a line matching `pattern` (or exited). */
async function waitFor(out: { stdout: string; exited: boolean }, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 600 && !pattern.test(out.stdout) && !out.exited; i++)
    await new Promise((r) => setTimeout(r, 50));
}

async function write(data: string, from: number, to: number, journal = true): Promise<void> {
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir: data,
    workers: 1,
    groups: 2,
    journal,
  });
  try {
    // The default routing: keys homed on replicas 1 and 2 are proposed there, and replica 0,
    // whose journal the backup follows, learns them from chosen notices. close() lets it learn
    // and journal them before it stops the actors (README "Journal subscription").
    for (let i = from; i < to; i++) await store.kv('ns').put(`k${i}`, `v${i}`);
  } finally {
    await store.close();
  }
}

test.serial('backup --resume goes on after SIGTERM (paused) and after kill -9', async (t) => {
  const data = tempDir(t);
  const backup = path.join(tempDir(t, 'pxs-backup-'), 'b');
  await write(data, 0, 10, false);
  const follow = async (mode: '--follow' | '--resume', signal: NodeJS.Signals) => {
    const run = startCli(t, ['backup', '--dir', data, '--to', backup, mode, '--flush-ms', '50']);
    await waitFor(run.out, /"event":"follow","through":"/);
    if (run.child.pid !== undefined) process.kill(run.child.pid, signal);
    return { code: await run.exit, ...run.out };
  };
  const first = await follow('--follow', 'SIGTERM');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /"paused":true/);
  await write(data, 10, 20);
  // Resumed, then killed with SIGKILL mid-follow: no final flush, its cursor stays.
  const second = await follow('--resume', 'SIGKILL');
  t.regex(second.stdout, /"event":"resumed"/, second.stderr);
  await write(data, 20, 30);
  const third = await follow('--resume', 'SIGTERM');
  t.is(third.code, 0, third.stderr);

  const restored = path.join(tempDir(t, 'pxs-restored-'), 'r');
  const ok = await runNode(t, [CLI, 'restore', '--from', backup, '--dir', restored], 60_000);
  t.is(ok.code, 0, ok.stderr);
  const store = await PaxosStore.open({ engine: 'bitcask', dir: restored, workers: 1, groups: 2 });
  try {
    const missing: string[] = [];
    for (let i = 0; i < 30; i++) {
      const got = await store.kv('ns').get(`k${i}`);
      if (got?.value.toString() !== `v${i}`) missing.push(`k${i}`);
    }
    t.deepEqual(missing, [], 'every write, before and between the runs, is in the backup');
  } finally {
    await store.close();
  }
  // Writes made with the journal off are a gap no resume may skip silently.
  await write(data, 30, 35, false);
  const gap = await runNode(t, [CLI, 'backup', '--dir', data, '--to', backup, '--resume'], 60_000);
  t.is(gap.code, 1);
  t.regex(gap.stderr, /^SUBSCRIPTION_EXPIRED: /);
});
