/**
 * Two-level bitcask files and recovery: reopen after many index flushes, a crash before or
 * after an index rename, a damaged index (rebuilt from the data), torn tails after the
 * checkpoint, bit flips in values and in index pages (CORRUPTED, never served), and the
 * write buffer bound.
 */
import { copyFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { Bitcask2Engine } from '../../../engines/bitcask2/bitcask2-engine';
import { isEngineError } from '../../../engines/errors';
import {
  filesOf,
  findInDataFiles,
  flipBit,
  newestDataFile,
  puts,
  text,
  withDir,
  withStore,
} from './fixtures/bitcask-helpers';
import { sortedContents, withStore2 } from './fixtures/bitcask2-helpers';

const SMALL = { fileBytesMax: 4096, bufferKeysMax: 8, keysPerBucket: 4 };

/** Writes, overwrites and deletes in many small batches; returns the expected contents. */
async function buildHistory(dir: string, rounds: number): Promise<Array<[string, string]>> {
  const model = new Map<string, string>();
  await withStore2(dir, SMALL, async ({ store }) => {
    for (let round = 0; round < rounds; round++) {
      const keys = Array.from({ length: 10 }, (_, i) => `k${(round * 7 + i) % 60}`);
      await store.write(
        puts(keys, (key) => `${key}@${round}`),
        { sync: round % 5 === 0 },
      );
      for (const key of keys) model.set(key, `${key}@${round}`);
      const gone = `k${(round * 11) % 60}`;
      await store.write([{ type: 'del', key: gone }]);
      model.delete(gone);
    }
  });
  return [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

test('reopen after many index flushes: same contents, one index file, the table grew', (t) =>
  withDir(async (dir) => {
    const expected = await buildHistory(dir, 40);
    t.deepEqual(await filesOf(dir, '.index.tmp'), []);
    t.is((await filesOf(dir, '.index')).length, 1);
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      const stats = engine.bitcask2Stats();
      t.like(stats.recovery, { indexLoaded: true, indexRejected: 0, bytesTruncated: 0 });
      t.true(stats.indexGeneration > 20, `generation ${stats.indexGeneration}`);
      t.true(stats.buckets >= 8, `${stats.buckets} buckets`);
      t.deepEqual(await sortedContents(store), expected);
      const [key, value] = expected[3];
      t.deepEqual(await store.get(key), text(value));
      t.is(await store.get('k-never'), undefined);
    });
  }));

test('a crash between writing an index and its rename: the old index and the data rule', (t) =>
  withDir(async (dir) => {
    const expected = await buildHistory(dir, 12);
    const [index] = await filesOf(dir, '.index');
    // What a crash mid-flush leaves: the next generation, partly written, under its temp name.
    const next = path.join(dir, '999999.index.tmp');
    await copyFile(path.join(dir, index), next);
    await truncate(next, 100);
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcask2Stats().recovery, { indexLoaded: true, unfinishedFilesRemoved: 1 });
      t.deepEqual(await sortedContents(store), expected);
    });
    t.deepEqual(await filesOf(dir, '.tmp'), []);
  }));

test('a crash after the rename, before the old index was removed: the newer one is used', (t) =>
  withDir(async (dir) => {
    await buildHistory(dir, 6);
    const [older] = await filesOf(dir, '.index');
    const olderBytes = await readFile(path.join(dir, older));
    const expected = await buildHistory(dir, 12);
    const [newer] = await filesOf(dir, '.index');
    t.not(newer, older);
    await writeFile(path.join(dir, older), olderBytes);
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      t.is(engine.bitcask2Stats().recovery?.indexLoaded, true);
      t.deepEqual(await sortedContents(store), expected);
    });
    t.is((await filesOf(dir, '.index')).length, 1);
    t.false((await filesOf(dir, '.index')).includes(older), 'the older generation is removed');
  }));

test('a damaged index footer: the index is rejected and rebuilt from the data files', (t) =>
  withDir(async (dir) => {
    const expected = await buildHistory(dir, 20);
    const [index] = await filesOf(dir, '.index');
    const file = path.join(dir, index);
    await flipBit(file, (await stat(file)).size - 3);
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      const recovery = engine.bitcask2Stats().recovery;
      t.like(recovery, { indexLoaded: false, indexRejected: 1 });
      t.true((recovery?.flushes ?? 0) > 0, 'the replay flushed a new index as it went');
      t.deepEqual(await sortedContents(store), expected);
    });
  }));

test('a bit flip in an index page is CORRUPTED on read, never taken for a location', (t) =>
  withDir(async (dir) => {
    const options = { ...SMALL, keysPerBucket: 1024 };
    await withStore2(dir, options, async ({ store }) => {
      await store.write(puts(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], (key) => key));
    });
    const [index] = await filesOf(dir, '.index');
    await withStore2(dir, options, async ({ engine }) => {
      t.is(engine.bitcask2Stats().buckets, 1, 'one page holds every key');
    });
    await flipBit(path.join(dir, index), 40); // inside the one page, after its header
    await withStore2(dir, options, async ({ store }) => {
      for (const read of [
        () => store.get('a'),
        () => store.getMany(['b']),
        () => sortedContents(store),
      ]) {
        t.true(isEngineError(await t.throwsAsync(read), 'CORRUPTED'));
      }
    });
  }));

test('a bit flip in a stored value is CORRUPTED on every read path, never returned', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'z'.repeat(200)}`);
    await withStore2(dir, SMALL, async ({ store }) => {
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      for (let i = 0; i < 30; i++) await store.write(puts([`other-${i}`], (key) => key.repeat(20)));
    });
    const { file, offset } = await findInDataFiles(dir, victim);
    t.not(file, await newestDataFile(dir), 'the victim is before the checkpoint, in an old file');
    await flipBit(file, offset + 100);
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      t.is(engine.bitcask2Stats().recovery?.indexLoaded, true);
      for (const read of [
        () => store.get('victim'),
        () => store.getMany(['other-1', 'victim']),
        () => sortedContents(store),
      ]) {
        t.true(isEngineError(await t.throwsAsync(read), 'CORRUPTED'));
      }
      t.deepEqual(await store.get('other-3'), text('other-3'.repeat(20)), 'other keys still read');
    });
  }));

test('torn tail after the checkpoint: the last batch is cut whole, everything before kept', (t) =>
  withDir(async (dir) => {
    const options = { ...SMALL, bufferKeysMax: 4 };
    let before = 0;
    let after = 0;
    await withStore2(dir, options, async ({ store }) => {
      for (let i = 0; i < 6; i++) await store.write(puts([`a${i}`], (key) => key));
      before = (await stat(await newestDataFile(dir))).size;
      await store.write(puts(['b1', 'b2', 'b3'], (key) => key.repeat(50)));
      // Measured before close, which ends the file with a sync mark.
      after = (await stat(await newestDataFile(dir))).size;
    });
    const file = await newestDataFile(dir);
    await truncate(file, after - 10);
    await withStore2(dir, options, async ({ engine, store }) => {
      const recovery = engine.bitcask2Stats().recovery;
      t.like(recovery, {
        indexLoaded: true,
        batchesDropped: 1,
        bytesTruncated: after - 10 - before,
      });
      const keys = (await sortedContents(store)).map(([key]) => key);
      t.deepEqual(keys, ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
      await store.write(puts(['c'], (key) => key));
      t.deepEqual(await store.get('c'), text('c'));
    });
  }));

test('a damaged batch in the replayed tail, before valid ones: open skips it and reports damage, not a tear', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'q'.repeat(50)}`);
    await withStore2(dir, undefined, async ({ store }) => {
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(['later-1', 'later-2'], (key) => key));
    });
    const { file, offset } = await findInDataFiles(dir, victim);
    const size = (await stat(file)).size;
    await flipBit(file, offset + 20);
    // The close synced the file and marked it: the flipped batch was durable, so it is damage.
    await withStore2(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcask2Stats().recovery, { damaged: true, bytesTruncated: 0 });
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true, torn: false });
      t.is(await store.get('victim'), undefined, 'the damaged batch is not applied');
      t.deepEqual(await store.get('later-2'), text('later-2'), 'batches after the damage are kept');
    });
    t.true((await stat(file)).size >= size, 'nothing was cut');
  }));

test('waves of concurrent writes through many flushes: every key reads back, the buffer stays bounded', (t) =>
  withDir(async (dir) => {
    const options = { fileBytesMax: 64 * 1024, bufferKeysMax: 2, keysPerBucket: 2 };
    const wave = 10;
    const keys = Array.from({ length: 200 }, (_, i) => `w${i}`);
    await withStore2(dir, options, async ({ engine, store }) => {
      for (let start = 0; start < keys.length; start += wave) {
        const batch = keys.slice(start, start + wave);
        // Reads race the writes and the flushes they start: each must find its key.
        const reads = batch.map((key) =>
          store.write(puts([key], (k) => k)).then(() => store.get(key)),
        );
        t.deepEqual(
          await Promise.all(reads),
          batch.map((key) => text(key)),
        );
        // A write waits while the active buffer is full during a flush; only writes already
        // past that gate can add to it: at most two buffers of (bound + one wave).
        const buffered = engine.bitcask2Stats().bufferedKeys;
        t.true(buffered <= 2 * (options.bufferKeysMax + wave), `${buffered} buffered`);
      }
      t.deepEqual(
        await store.getMany(keys),
        keys.map((key) => text(key)),
      );
    });
    await withStore2(dir, options, async ({ engine, store }) => {
      const stats = engine.bitcask2Stats();
      t.true(stats.indexKeys + stats.bufferedKeys >= keys.length, JSON.stringify(stats));
      t.true(stats.indexGeneration > 1, 'flushed more than once');
      t.deepEqual((await sortedContents(store)).length, keys.length);
    });
  }));

test('a bitcask directory with merged files is refused; one without merges opens', (t) =>
  withDir(async (dir) => {
    await withStore(dir, { fileBytesMax: 2048 }, async ({ engine, store }) => {
      // Written twice: the merge frees enough to write hint files (see bitcask's README).
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 20; i++) await store.write(puts([`m${i}`], (key) => key.repeat(30)));
      }
      await engine.merge();
    });
    const err = await t.throwsAsync(() => new Bitcask2Engine(dir).open());
    t.true(isEngineError(err, 'INVALID_ARGUMENT'), String(err));
  }).then(() =>
    withDir(async (dir) => {
      await withStore(dir, undefined, async ({ store }) =>
        store.write(puts(['x', 'y'], (key) => key)),
      );
      await withStore2(dir, SMALL, async ({ store }) => {
        t.deepEqual(await sortedContents(store), [
          ['x', 'x'],
          ['y', 'y'],
        ]);
      });
    }),
  ));
