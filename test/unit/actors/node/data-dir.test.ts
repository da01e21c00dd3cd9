/**
 * The placement record of a data dir (actors/node/data-dir.ts) when the caller left `groups`
 * to the default: a dir that holds a store keeps the groups it was created with (from
 * paxosstore.json, or from its replica-*\/group-* layout when it predates the record), and
 * an explicit different `groups` still rejects INVALID_ARGUMENT.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DATA_DIR_FILE, checkDataDir } from '../../../../actors/node/data-dir';

function tempDir(t: import('ava').ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-dd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const record = (dir: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(dir, DATA_DIR_FILE), 'utf8'));

test('a new dir records the groups it is given, adopted or not', async (t) => {
  for (const adopt of [false, true]) {
    const dir = tempDir(t);
    const p = await checkDataDir(dir, { replicas: 3, groups: 2, engine: 'lsm' }, adopt);
    t.deepEqual(p, { replicas: 3, groups: 2, engine: 'lsm' });
    t.deepEqual(record(dir), { format: 1, replicas: 3, groups: 2, engine: 'lsm' });
  }
});

test('with groups unset, a recorded dir keeps its groups; a named other groups rejects', async (t) => {
  const dir = tempDir(t);
  await checkDataDir(dir, { replicas: 3, groups: 8, engine: 'bitcask' });
  const adopted = await checkDataDir(dir, { replicas: 3, groups: 2, engine: 'bitcask' }, true);
  t.is(adopted.groups, 8);
  t.deepEqual(record(dir), { format: 1, replicas: 3, groups: 8, engine: 'bitcask' });
  const error = await t.throwsAsync(
    checkDataDir(dir, { replicas: 3, groups: 2, engine: 'bitcask' }, false),
  );
  t.is((error as { code?: unknown } | undefined)?.code, 'INVALID_ARGUMENT');
  t.regex(error?.message ?? '', /groups: 8/);
  // Adoption is for groups only: replicas and engine are still checked.
  for (const other of [
    { replicas: 5, groups: 2, engine: 'bitcask' },
    { replicas: 3, groups: 2, engine: 'lsm' },
  ]) {
    const e = await t.throwsAsync(checkDataDir(dir, other, true));
    t.is((e as { code?: unknown } | undefined)?.code, 'INVALID_ARGUMENT', JSON.stringify(other));
  }
});

test('with groups unset, a dir from before the record keeps the groups of its layout', async (t) => {
  const dir = tempDir(t);
  for (let r = 0; r < 3; r++)
    for (let g = 0; g < 8; g++)
      fs.mkdirSync(path.join(dir, `replica-${r}`, `group-${g}`), { recursive: true });
  const adopted = await checkDataDir(dir, { replicas: 3, groups: 2, engine: 'lsm' }, true);
  t.is(adopted.groups, 8);
  t.deepEqual(record(dir), { format: 1, replicas: 3, groups: 8, engine: 'lsm' });
});

test('without adoption, a legacy layout with other groups rejects and writes no record', async (t) => {
  const dir = tempDir(t);
  for (let r = 0; r < 3; r++)
    for (let g = 0; g < 8; g++)
      fs.mkdirSync(path.join(dir, `replica-${r}`, `group-${g}`), { recursive: true });
  const e = await t.throwsAsync(checkDataDir(dir, { replicas: 3, groups: 2, engine: 'lsm' }));
  t.is((e as { code?: unknown } | undefined)?.code, 'INVALID_ARGUMENT');
  t.false(fs.existsSync(path.join(dir, DATA_DIR_FILE)));
});
