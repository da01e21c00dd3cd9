/**
 * The command-line tool (bin/paxosstore.ts) as a child process on a temp dir: KV commands,
 * verify and stats, and its exit codes.
 */
import test from 'ava';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { runNode, tempDir } from './helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'paxosstore.js');

test.serial('put, get, incr, delete, verify and stats on one directory', async (t) => {
  const dir = tempDir(t);
  const run = async (...args: string[]) => runNode(t, [CLI, '--dir', dir, ...args], 60_000);
  const put = await run('put', 'users', 'alice', 'hello');
  t.is(put.code, 0, put.stderr);
  t.deepEqual(JSON.parse(put.stdout), { version: 1 });
  const got = await run('get', 'users', 'alice');
  t.deepEqual(JSON.parse(got.stdout), { value: 'hello', version: 1 });
  t.deepEqual(JSON.parse((await run('incr', 'users', 'n', '5')).stdout), { value: 5, version: 1 });
  t.deepEqual(JSON.parse((await run('delete', 'users', 'alice')).stdout), { version: 2 });
  t.is((await run('get', 'users', 'alice')).stdout.trim(), '(absent)');
  const verify = await run('verify', '--repair');
  t.is(verify.code, 0, verify.stderr);
  const report = JSON.parse(verify.stdout) as { ok: boolean; replicas: { keys: number }[] };
  t.true(report.ok);
  t.is(report.replicas.length, 3);
  const stats = await run('stats');
  t.is(stats.code, 0, stats.stderr);
  t.is((JSON.parse(stats.stdout) as unknown[]).length, 3);
});

test.serial('bad usage exits 2; an error exits 1 with its code', async (t) => {
  const dir = tempDir(t);
  const usage = await runNode(t, [CLI, '--dir', dir, 'get', 'users'], 60_000);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /usage:/);
  const bad = await runNode(t, [CLI, '--dir', dir, 'put', 'bad namespace!', 'k', 'v'], 60_000);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^INVALID_ARGUMENT: /);
});

// Issue 8: the CLI opens a directory the library made with other groups than the CLI's own
// default (8: the library's default before one per worker, and what such dirs hold) or another
// engine, reading the placement from paxosstore.json, with the command before the options.
for (const engine of ['bitcask', 'lsm'] as const) {
  test.serial(
    `verify on a ${engine} directory made by PaxosStore.open with the old default groups`,
    async (t) => {
      const dir = tempDir(t);
      const store = await PaxosStore.open({ engine, dir, workers: 1, groups: 8 });
      await store.kv('users').put('alice', 'hello');
      await store.close();
      const verify = await runNode(t, [CLI, 'verify', '--dir', dir], 60_000);
      t.is(verify.code, 0, verify.stderr);
      t.true((JSON.parse(verify.stdout) as { ok: boolean }).ok);
      const got = await runNode(t, [CLI, 'get', 'users', 'alice', '--dir', dir], 60_000);
      t.deepEqual(JSON.parse(got.stdout), { value: 'hello', version: 1 });
    },
  );
}
