/**
 * A merge never grows the data it rewrites (issue 11, "Space you get back"): the bytes of the
 * files it replaces are at least the bytes of the files it writes, hint files included, for
 * inputs with nothing dead (where hints used to add 22 bytes plus the key per record), for
 * mixed inputs, and for a merge of files an earlier merge wrote. Every live key survives and
 * reopening finds the same store, with or without hints.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { dataFileName } from '../../../engines/bitcask/format';
import type { CheckedEngine } from '../../../engines/checked-engine';
import { contents, filesOf, puts, withDir, withStore } from './fixtures/bitcask-helpers';

const OPTIONS = { fileBytesMax: 64 * 1024, autoMerge: false } as const;

/** Bytes of every data and hint file, but `except` (the new, empty active file after a merge). */
async function directoryBytes(dir: string, except?: string): Promise<number> {
  const names = [...(await filesOf(dir, '.data')), ...(await filesOf(dir, '.hint'))];
  let bytes = 0;
  for (const name of names) {
    if (name !== except) bytes += (await stat(path.join(dir, name))).size;
  }
  return bytes;
}

/** Writes keys `from..from+count` in batches of `perBatch` (each key once). */
async function load(store: CheckedEngine, from: number, count: number, perBatch: number) {
  for (let start = from; start < from + count; start += perBatch) {
    const end = Math.min(start + perBatch, from + count);
    const keys = Array.from({ length: end - start }, (_, i) => `key-${start + i}`);
    await store.write(puts(keys, (key) => `${key}:${'v'.repeat(40)}`));
  }
}

/** Merges and checks the rule: bytes after <= bytes before, nothing lost. */
async function mergeWithin(
  t: ExecutionContext,
  dir: string,
  engine: BitcaskEngine,
  store: CheckedEngine,
): Promise<{ before: number; after: number }> {
  const live = await contents(store);
  // Every file is an input: the merge rotates first, so the active file is one too.
  const before = await directoryBytes(dir);
  const result = await engine.merge();
  const active = engine.bitcaskStats().activeFileId;
  t.true((await stat(path.join(dir, dataFileName(active)))).size <= 24, 'the new active is empty');
  const after = await directoryBytes(dir, dataFileName(active));
  t.log(`before ${before} B, after ${after} B, reclaimed ${result.bytesReclaimed} B`);
  t.true(after <= before, `after ${after} > before ${before}`);
  t.true(result.bytesReclaimed >= 0, `reclaimed ${result.bytesReclaimed}`);
  t.deepEqual(await contents(store), live, 'contents changed');
  return { before, after };
}

for (const perBatch of [1, 100]) {
  test(`a merge of inputs with nothing dead writes no more than it reads (${perBatch} per batch)`, (t) =>
    withDir(async (dir) => {
      let expected: Array<[string, string]> = [];
      await withStore(dir, OPTIONS, async ({ engine, store }) => {
        await load(store, 0, 3000, perBatch);
        await mergeWithin(t, dir, engine, store);
        // Again: now the inputs are merged files (with or without hints), still nothing dead.
        await mergeWithin(t, dir, engine, store);
        expected = await contents(store);
      });
      await withStore(dir, OPTIONS, async ({ store }) => {
        t.deepEqual(await contents(store), expected);
      });
    }));
}

test('a merge of mixed inputs writes no more than it reads; hints only where the dead bytes pay', (t) =>
  withDir(async (dir) => {
    let expected: Array<[string, string]> = [];
    await withStore(dir, OPTIONS, async ({ engine, store }) => {
      await load(store, 0, 3000, 100);
      // A few overwritten and deleted keys: some dead bytes, far fewer than hints would cost.
      await store.write(puts(['key-1', 'key-2', 'key-3'], (key) => `${key}:new`));
      await store.write([{ type: 'del', key: 'key-4' }]);
      const few = await mergeWithin(t, dir, engine, store);
      t.true(few.after <= few.before);
      // Most keys overwritten: plenty of dead bytes, so the outputs get their hints back.
      await load(store, 0, 2500, 100);
      await mergeWithin(t, dir, engine, store);
      t.true((await filesOf(dir, '.hint')).length > 0, 'a merge with dead bytes writes hints');
      expected = await contents(store);
    });
    await withStore(dir, OPTIONS, async ({ engine, store }) => {
      t.deepEqual(await contents(store), expected);
      t.true((engine.bitcaskStats().recovery?.hintFilesLoaded ?? 0) > 0, 'hints used at open');
    });
  }));

test('without the budget, a merge of nothing dead writes no hint at all', (t) =>
  withDir(async (dir) => {
    await withStore(dir, OPTIONS, async ({ engine, store }) => {
      await load(store, 0, 2000, 200);
      await engine.merge();
      t.deepEqual(await filesOf(dir, '.hint'), [], 'hints would have grown the data');
      t.true((await filesOf(dir, '.data')).length >= 2, 'the merge did run');
    });
  }));
