/**
 * `paxosstore backup` and `paxosstore restore` (bin/backup-command.ts) as child processes:
 * JSON-line progress off a terminal, exit codes 0 / 1 (CORRUPTED, LOCKED) / 2 (usage).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { runNode, tempDir } from './helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'paxosstore.js');

test.serial(
  'backup then restore through the CLI; a damaged backup exits 1 with CORRUPTED',
  async (t) => {
    const data = tempDir(t);
    const backup = path.join(tempDir(t, 'pxs-backup-'), 'b');
    const restored = path.join(tempDir(t, 'pxs-restored-'), 'r');
    const store = await PaxosStore.open({ engine: 'bitcask', dir: data, workers: 1, groups: 2 });
    for (let i = 0; i < 20; i++) await store.kv('ns').put(`k${i}`, `v${i}`);
    // Open elsewhere: the CLI cannot take the dir (LOCKED, exit 1).
    const locked = await runNode(t, [CLI, 'backup', '--dir', data, '--to', backup], 60_000);
    t.is(locked.code, 1);
    t.regex(locked.stderr, /^LOCKED: /);
    await store.close();

    const made = await runNode(
      t,
      [CLI, 'backup', '--dir', data, '--to', backup, '--rate', '1000000'],
      60_000,
    );
    t.is(made.code, 0, made.stderr);
    const lines = made.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; keys: number });
    t.true(lines.length >= 2);
    t.true(lines.slice(0, -1).every((l) => l.event === 'progress'));
    t.like(lines[lines.length - 1], { event: 'done', keys: 20 });

    const ok = await runNode(
      t,
      [CLI, 'restore', '--from', backup, '--dir', restored, '--workers', '1'],
      60_000,
    );
    t.is(ok.code, 0, ok.stderr);
    const got = await runNode(t, [CLI, 'get', 'ns', 'k3', '--dir', restored], 60_000);
    t.deepEqual(JSON.parse(got.stdout), { value: 'v3', version: 1 });

    const data0 = path.join(backup, 'group-0000.0001.data');
    const bytes = fs.readFileSync(data0);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x10;
    fs.writeFileSync(data0, bytes);
    const again = path.join(tempDir(t, 'pxs-restored-'), 'r');
    const bad = await runNode(t, [CLI, 'restore', '--from', backup, '--dir', again], 60_000);
    t.is(bad.code, 1);
    t.regex(bad.stderr, /^CORRUPTED: .*group-0000\.0001\.data/m);
    t.false(fs.existsSync(again));
  },
);

test.serial('bad usage exits 2', async (t) => {
  const noTarget = await runNode(t, [CLI, 'backup', '--dir', tempDir(t)], 60_000);
  t.is(noTarget.code, 2);
  t.regex(noTarget.stderr, /paxosstore backup --dir DATA --to BACKUP/);
  const badRate = await runNode(
    t,
    [CLI, 'backup', '--dir', tempDir(t), '--to', tempDir(t), '--rate', 'fast'],
    60_000,
  );
  t.is(badRate.code, 2);
  const noFrom = await runNode(t, [CLI, 'restore', '--dir', tempDir(t)], 60_000);
  t.is(noFrom.code, 2);
  const notAStore = await runNode(
    t,
    [CLI, 'backup', '--dir', tempDir(t), '--to', path.join(tempDir(t), 'b')],
    60_000,
  );
  t.is(notAStore.code, 1);
  t.regex(notAStore.stderr, /^INVALID_ARGUMENT: /);
});
