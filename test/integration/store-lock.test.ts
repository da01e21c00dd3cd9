/**
 * One open store per directory (issue 12, item 7): a second PaxosStore.open of a directory an
 * open store holds rejects LOCKED at open() and changes nothing, whether the holder is in this
 * process or another. A holder that died (kill -9) leaves a stale lock, which the next open takes.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions } from '../../index';
import { FAST, INDEX_JS, engineOptions, openRejectionCode } from './helpers';

/** Every file under `dir` with its size, to show that a refused open changed nothing. */
function snapshot(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return `${path.relative(dir, file)}:${fs.statSync(file).size}`;
    })
    .sort();
}

for (const engine of ['bitcask', 'bitcask2', 'memory-persist', 'lsm'] as const) {
  test(`${engine}: a second open in this process rejects LOCKED and changes nothing; the first keeps serving`, async (t) => {
    const options: PaxosStoreOptions = { ...FAST, ...engineOptions(t, engine), sync: 'always' };
    const dir = options.dir;
    if (dir === undefined) return t.fail('no dir');
    const first = await PaxosStore.open(options);
    t.teardown(() => first.close());
    for (let i = 0; i < 20; i++) await first.kv('ns').put(`k${i}`, `v${i}`);
    const before = snapshot(dir);
    t.is(await openRejectionCode(t, options, 'second open'), 'LOCKED');
    t.is(
      await openRejectionCode(t, { ...options, sync: 'none' }, 'second open, sync none'),
      'LOCKED',
    );
    // The first store keeps writing (a replica that acknowledged late persists its accepts), so
    // files may grow meanwhile; a refused open must not add, remove or shorten any file.
    const after = snapshot(dir);
    const names = (list: string[]): string[] => list.map((e) => e.slice(0, e.lastIndexOf(':')));
    const sizeOf = (list: string[], name: string): number =>
      Number(
        list
          .find((e) => e.startsWith(`${name}:`))
          ?.split(':')
          .pop(),
      );
    t.deepEqual(names(after), names(before), 'the refused opens added or removed no file');
    for (const name of names(before))
      t.true(sizeOf(after, name) >= sizeOf(before, name), `${name} not shortened`);
    for (let i = 0; i < 20; i++)
      t.is((await first.kv('ns').get(`k${i}`))?.value.toString(), `v${i}`);
    await first.close();
    const again = await PaxosStore.open(options);
    t.teardown(() => again.close());
    for (let i = 0; i < 20; i++)
      t.is((await again.kv('ns').get(`k${i}`))?.value.toString(), `v${i}`, `k${i} after reopen`);
  });
}

test('bitcask: a store open in another process: LOCKED; once that process is killed, its lock is stale', async (t) => {
  const options: PaxosStoreOptions = { ...FAST, ...engineOptions(t, 'bitcask'), sync: 'always' };
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    (async () => {
      const store = await PaxosStore.open(${JSON.stringify(options)});
      await store.kv('ns').put('from-child', 'yes');
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    })().catch((e) => { console.error(e); process.exit(2); });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  const kill = (): void => {
    if (pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(pid, 'SIGKILL');
  };
  t.teardown(kill);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = await new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('ready')) resolve(true);
    });
    child.on('exit', () => resolve(false));
  });
  t.true(ready, stderr);
  t.is(await openRejectionCode(t, options, 'open while the child holds it'), 'LOCKED');
  kill();
  await exited;
  const store = await PaxosStore.open(options);
  t.teardown(() => store.close());
  t.is((await store.kv('ns').get('from-child'))?.value.toString(), 'yes');
});
