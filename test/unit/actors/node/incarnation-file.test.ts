/**
 * The incarnation count that numbers a replica group's proposals (actors/node/incarnation-file.ts):
 * it only ever goes up, survives reopen, and a garbled file is refused rather than reset (a reset
 * would hand out proposal ids an earlier incarnation already used).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INCARNATIONS_MAX, takeIncarnation } from '../../../../actors/node/incarnation-file';
import { PaxosStore } from '../../../../index';

function tempDir(t: import('ava').ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-inc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('each take returns the next number, durably, starting at 1', (t) => {
  const file = path.join(tempDir(t), 'sub', 'group-0.incarnation');
  t.deepEqual(
    [1, 2, 3].map(() => takeIncarnation(file)),
    [1, 2, 3],
  );
  t.is(fs.readFileSync(file, 'utf8'), '3\n');
  t.false(fs.existsSync(`${file}.tmp`));
});

test('a garbled or exhausted count is refused, not reset', (t) => {
  const dir = tempDir(t);
  for (const text of ['', 'x', '-1', '1.5', '12abc', String(INCARNATIONS_MAX + 1)]) {
    const file = path.join(dir, `bad-${Buffer.from(text).toString('hex')}`);
    fs.writeFileSync(file, text);
    t.throws(
      () => takeIncarnation(file),
      { code: 'INVALID_ARGUMENT' } as never,
      JSON.stringify(text),
    );
    t.is(fs.readFileSync(file, 'utf8'), text, 'left as it was');
  }
  const full = path.join(dir, 'full');
  fs.writeFileSync(full, String(INCARNATIONS_MAX));
  t.throws(() => takeIncarnation(full), { code: 'INVALID_ARGUMENT' } as never);
});

test("every start of a store on disk raises each group's count", async (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 2; i++) {
    const store = await PaxosStore.open({ engine: 'lsm', dir, workers: 1, groups: 2 });
    await store.kv('n').put('k', `v${i}`);
    await store.close();
  }
  for (const r of [0, 1, 2]) {
    for (const g of [0, 1])
      t.is(
        fs.readFileSync(path.join(dir, `replica-${r}`, `group-${g}.incarnation`), 'utf8'),
        '2\n',
        `replica ${r} group ${g}`,
      );
  }
});
