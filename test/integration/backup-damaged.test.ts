/**
 * Damaged or incomplete backups are refused (README "Backups"): CORRUPTED naming the file, and
 * nothing restored (the target directory is not created). Also: a non-empty target is refused,
 * and every model's keys (queues, documents, accounts, big-table rows and their index) come
 * back from a backup.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { codeOf, tempDir } from './helpers';

let backupDir = '';

test.before(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-damaged-'));
  backupDir = path.join(root, 'backup');
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir: path.join(root, 'data'),
    workers: 1,
    groups: 2,
  });
  try {
    for (let i = 0; i < 50; i++) await store.kv('ns').put(`k${i}`, `value ${i}`);
    await store.backup({ to: backupDir });
  } finally {
    await store.close();
  }
});

test.after.always(() => {
  if (backupDir !== '') fs.rmSync(path.dirname(backupDir), { recursive: true, force: true });
});

/** A copy of the good backup to damage. */
function copy(t: ExecutionContext): string {
  const dir = path.join(tempDir(t, 'pxs-copy-'), 'backup');
  fs.cpSync(backupDir, dir, { recursive: true });
  return dir;
}

async function refused(t: ExecutionContext, from: string, file: string): Promise<void> {
  const dir = path.join(tempDir(t, 'pxs-target-'), 'restored');
  const error = await PaxosStore.restore({ from, dir, workers: 1 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.is(codeOf(error), 'CORRUPTED');
  t.true((error as Error).message.includes(file), (error as Error).message);
  t.false(fs.existsSync(dir), 'nothing restored');
  t.deepEqual(fs.readdirSync(path.dirname(dir)), [], 'no staging directory left');
}

const DATA_FILE = 'group-0001.0001.data';

test('the good backup restores', async (t) => {
  const dir = path.join(tempDir(t, 'pxs-target-'), 'restored');
  const report = await PaxosStore.restore({ from: backupDir, dir, workers: 1 });
  t.is(report.keys, 50);
  const store = await PaxosStore.open({ engine: 'bitcask', dir, workers: 1, groups: 2 });
  t.teardown(() => store.close());
  t.is((await store.kv('ns').get('k7'))?.value.toString(), 'value 7');
});

test('a flipped byte in a data file', async (t) => {
  const dir = copy(t);
  const file = path.join(dir, DATA_FILE);
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x01;
  fs.writeFileSync(file, bytes);
  await refused(t, dir, DATA_FILE);
});

test('a missing data file', async (t) => {
  const dir = copy(t);
  fs.rmSync(path.join(dir, DATA_FILE));
  await refused(t, dir, DATA_FILE);
});

test('a truncated data file', async (t) => {
  const dir = copy(t);
  const file = path.join(dir, DATA_FILE);
  fs.truncateSync(file, fs.statSync(file).size - 3);
  await refused(t, dir, DATA_FILE);
});

test('a truncated manifest', async (t) => {
  const dir = copy(t);
  const file = path.join(dir, 'manifest.json');
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
  await refused(t, dir, 'manifest.json');
});

test('a missing manifest (an unfinished backup)', async (t) => {
  const dir = copy(t);
  fs.rmSync(path.join(dir, 'manifest.json'));
  await refused(t, dir, 'manifest.json');
});

test('a manifest edited into other valid JSON', async (t) => {
  const dir = copy(t);
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { groups: { keys: number }[] };
  const first = m.groups[0];
  if (first !== undefined) first.keys += 1;
  fs.writeFileSync(file, JSON.stringify(m));
  await refused(t, dir, 'manifest.json');
});

test('a non-empty target directory is refused and left alone', async (t) => {
  const dir = tempDir(t, 'pxs-target-');
  fs.writeFileSync(path.join(dir, 'keep'), 'x');
  const error = await PaxosStore.restore({ from: backupDir, dir, workers: 1 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.is(codeOf(error), 'INVALID_ARGUMENT');
  t.deepEqual(fs.readdirSync(dir), ['keep']);
});

test('every model comes back: queues, documents, accounts, big-table rows and their index', async (t) => {
  const data = tempDir(t);
  const to = path.join(tempDir(t, 'pxs-backup-'), 'b');
  const restored = path.join(tempDir(t, 'pxs-restored-'), 'r');
  const store = await PaxosStore.open({ engine: 'lsm', dir: data, workers: 1, groups: 2 });
  try {
    await store.queue('q').push('a', 'b');
    await store.doc('d').update([{ op: 'set', path: 'x.y', value: 1 }]);
    await store.account('acct', { min: 0 }).add(500, { opId: 'dep-1' });
    await store.kv('ns').put('gone', 'x');
    await store.kv('ns').delete('gone');
    const bt = store.bigtable('msgs', { indexes: ['sender'] });
    await bt.insert('m1', { sender: 'bob', text: 'hi' });
    await bt.insert('m2', { sender: 'eve', text: 'yo' });
    await store.backup({ to });
  } finally {
    await store.close();
  }
  await PaxosStore.restore({ from: to, dir: restored, workers: 1 });
  const back = await PaxosStore.open({ engine: 'lsm', dir: restored, workers: 1, groups: 2 });
  t.teardown(() => back.close());
  t.deepEqual(
    (await back.queue('q').range(0, 10)).map((b) => b.toString()),
    ['a', 'b'],
  );
  t.is(await back.doc('d').get('x.y'), 1);
  t.is((await back.account('acct', { min: 0 }).balance()).balance, 500);
  t.is(await back.kv('ns').get('gone'), undefined);
  t.is((await back.kv('ns').put('gone', 'again')).version, 3, 'a deleted key keeps its version');
  const rows = [];
  for await (const r of back.bigtable('msgs', { indexes: ['sender'] }).byIndex('sender', 'eve'))
    rows.push(r.pk);
  t.deepEqual(rows, ['m2']);
});
