/**
 * LSM-specific behaviour the shared suite cannot express: what survives a process kill, the
 * directory lock, and how open failures are reported.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { isEngineError } from '../../../engines/errors';
import { LsmEngine } from '../../../engines/lsm-engine';
import { CheckedEngine } from '../../../engines/checked-engine';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-dur-'));
  try {
    await body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('sync:false writes survive kill -9 of the writing process', (t) =>
  withDir(async (root) => {
    const dir = path.join(root, 'db');
    const count = 200;
    const child = fork(path.join(__dirname, 'fixtures', 'lsm-writer.js'), [dir, String(count)], {
      stdio: 'inherit',
    });
    const [message] = (await once(child, 'message')) as [unknown];
    t.is(message, 'written');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    t.is(signal, 'SIGKILL');
    const store = new CheckedEngine(new LsmEngine(dir));
    await store.open();
    try {
      const keys = Array.from({ length: count }, (_, i) => `key-${i}`);
      const values = await store.getMany(keys);
      const missing = keys.filter((_, i) => values[i] === undefined);
      t.deepEqual(missing, []);
      t.deepEqual(values[count - 1], new TextEncoder().encode(`value-${count - 1}`));
    } finally {
      await store.close();
    }
  }));

test('opening where a file stands is IO_ERROR', (t) =>
  withDir(async (root) => {
    const file = path.join(root, 'file');
    await writeFile(file, 'not a directory');
    const err = await t.throwsAsync(() => new LsmEngine(path.join(file, 'db')).open());
    t.true(isEngineError(err, 'IO_ERROR'), String(err));
  }));

test('an empty directory path is INVALID_ARGUMENT', (t) => {
  const err = t.throws(() => new LsmEngine(''));
  t.true(isEngineError(err, 'INVALID_ARGUMENT'));
});

test('the directory is resolved to an absolute path', (t) => {
  t.true(path.isAbsolute(new LsmEngine('relative/db').dir));
});

test('close is idempotent on the engine itself', (t) =>
  withDir(async (root) => {
    const engine = new LsmEngine(root);
    await engine.close();
    await engine.open();
    await engine.open();
    await Promise.all([engine.close(), engine.close()]);
    const err = await t.throwsAsync(() => engine.get('a'));
    t.true(isEngineError(err, 'NOT_OPEN'));
  }));
