/**
 * bitcask2 merges (issue 11, "Space you get back"), mirroring bitcask's merge tests: space
 * reclaimed, every live key kept, deleted keys still deleted after a restart, a merge with
 * nothing dead never grows the data, reads, writes and an iteration during a merge, merges cut
 * short (closed, failed, crashed before or after the commit point), automatic merges, and a
 * merge on the simulated disk (whose every crash state `crash-states.test.ts` checks).
 */
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { Bitcask2Engine, type Bitcask2Options } from '../../../engines/bitcask2/bitcask2-engine';
import type { IndexedMergeTask } from '../../../engines/bitcask2/merge-task';
import runIndexedMergeTask from '../../../engines/bitcask2/merge-worker';
import { CheckedEngine } from '../../../engines/checked-engine';
import { isEngineError } from '../../../engines/errors';
import type { FileSystem } from '../../../engines/fs/file-system';
import { nodeFileSystem } from '../../../engines/fs/node-fs';
import { SimFileSystem } from '../../../engines/fs/sim-fs';
import type { EngineOffload } from '../../../engines/offload';
import { OffloadPool } from '../../../runtime/offload-pool';
import { filesOf, findInDataFiles, flipBit, puts, text, withDir } from './fixtures/bitcask-helpers';
import { sortedContents, withStore2 } from './fixtures/bitcask2-helpers';

const SMALL: Bitcask2Options = {
  fileBytesMax: 4096,
  bufferKeysMax: 16,
  keysPerBucket: 4,
  autoMerge: false,
  mergeBytesPerSecondMax: 0,
};

const shared = new OffloadPool({ threadsMax: 1, queueMax: 16 });
test.after.always(() => shared.close());
const POOLS = [
  ['its own pool', SMALL],
  ['the shared pool', { ...SMALL, offload: shared }],
] as const;

function keyRange(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

/** Writes every key `rounds` times over and deletes every third; returns the live state. */
async function churn(store: CheckedEngine, rounds: number): Promise<Array<[string, string]>> {
  const keys = keyRange('key-', 60);
  for (let round = 0; round < rounds; round++) {
    await store.write(puts(keys, (key) => `${key}#${round}:${'p'.repeat(30)}`));
  }
  const deleted = keys.filter((_, i) => i % 3 === 0);
  await store.write(deleted.map((key) => ({ type: 'del' as const, key })));
  const last = rounds - 1;
  return keys
    .filter((_, i) => i % 3 !== 0)
    .map((key): [string, string] => [key, `${key}#${last}:${'p'.repeat(30)}`]);
}

/**
 * Bytes of every data file. Not the index: keys still in the write buffer are in no index file
 * until a flush, and a merge indexes every key it moves, so the index may grow by what was
 * buffered (seen once reads went inline and the buffer's flush no longer finished first).
 */
async function storedBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir)) {
    if (name.endsWith('.data')) bytes += (await stat(path.join(dir, name))).size;
  }
  return bytes;
}

for (const [pool, options] of POOLS) {
  test(`merge reclaims dead space, keeps every live key, and deleted keys stay deleted (${pool})`, (t) =>
    withDir(async (dir) => {
      let expected: Array<[string, string]> = [];
      await withStore2(dir, options, async ({ engine, store }) => {
        expected = await churn(store, 8);
        const before = engine.bitcask2Stats();
        t.true(before.deadBytes > before.dataBytes / 2, `dead ${before.deadBytes} counted`);
        const result = await engine.merge();
        const after = engine.bitcask2Stats();
        t.log(result, { before: before.dataBytes, after: after.dataBytes });
        t.true(result.outputFiles >= 1 && result.keysMoved === expected.length);
        t.true(result.bytesReclaimed > before.dataBytes / 2, `${result.bytesReclaimed} reclaimed`);
        t.true(after.dataBytes < before.dataBytes / 2, 'the data files shrank');
        t.is(after.merges, 1);
        t.is(after.deadBytes, 0, 'the merge reset the count');
        t.deepEqual(await sortedContents(store), expected);
        t.is(await store.get('key-000'), undefined, 'a deleted key stays deleted');
      });
      await withStore2(dir, options, async ({ store }) => {
        t.deepEqual(await sortedContents(store), expected, 'after a restart');
        t.is(await store.get('key-003'), undefined);
      });
    }));
}

test('merge with nothing immutable does nothing; with nothing dead it never grows the data', (t) =>
  withDir(async (dir) => {
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      const nothing = { inputFiles: 0, outputFiles: 0, keysMoved: 0, bytesReclaimed: 0 };
      t.deepEqual(await engine.merge(), nothing, 'an empty store');
      // Every key written once, many per batch: nothing dead, little framing to win back.
      for (let i = 0; i < 10; i++) {
        await store.write(puts(keyRange(`n${i}-`, 50), (key) => key.repeat(5)));
      }
      const expected = await sortedContents(store);
      const before = await storedBytes(dir);
      const result = await engine.merge();
      t.true(result.bytesReclaimed >= 0);
      t.true((await storedBytes(dir)) <= before, 'a merge never grows the data it rewrites');
      const again = await engine.merge();
      t.true(again.bytesReclaimed >= 0, 'merging twice is harmless');
      t.true((await storedBytes(dir)) <= before);
      t.deepEqual(await sortedContents(store), expected);
    });
  }));

test('a merge of only dead records leaves no output file', (t) =>
  withDir(async (dir) => {
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      await store.write(puts(keyRange('d', 40), (key) => key.repeat(20)));
      await store.write(keyRange('d', 40).map((key) => ({ type: 'del' as const, key })));
      const result = await engine.merge();
      t.is(result.outputFiles, 0);
      t.true(result.inputFiles >= 1);
      t.deepEqual(await sortedContents(store), []);
    });
    await withStore2(dir, SMALL, async ({ store }) => {
      t.deepEqual(await sortedContents(store), []);
    });
  }));

test('writes, reads and an iteration go on during a merge and see a consistent store', (t) =>
  withDir(async (dir) => {
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      const model = new Map(await churn(store, 4));
      const iterator = store.iterate()[Symbol.asyncIterator]();
      const first = await iterator.next();
      const merging = engine.merge();
      for (let i = 0; i < 40; i++) {
        const key = `key-${String((i * 7) % 60).padStart(3, '0')}`;
        if (i % 4 === 0) {
          await store.write([{ type: 'del', key }]);
          model.delete(key);
        } else {
          await store.write(puts([key], (k) => `${k}~${i}`));
          model.set(key, `${key}~${i}`);
        }
        const read = await store.get(key);
        t.is(read === undefined ? undefined : Buffer.from(read).toString(), model.get(key));
        // A key nobody writes reads the same before, during and after the install.
        t.deepEqual(await store.get('key-001'), text(`key-001#3:${'p'.repeat(30)}`));
      }
      const result = await merging;
      t.true(result.outputFiles >= 1, 'the merge installed');
      const expected = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      t.deepEqual(await sortedContents(store), expected);
      // The iteration started before the merge still reads its snapshot from retired files.
      let seen = first.done === true ? 0 : 1;
      for (let step = 0; step < 100; step++) {
        const next = await iterator.next();
        if (next.done === true) break;
        seen++;
      }
      t.is(seen, 40, 'the snapshot holds the 40 keys live when it was taken');
      await store.close();
      await store.open();
      t.deepEqual(await sortedContents(store), expected, 'after a restart');
    });
  }));

for (const [pool, options] of POOLS) {
  test(`close during a merge aborts it; the store reopens intact without its files (${pool})`, (t) =>
    withDir(async (dir) => {
      const engine = new Bitcask2Engine(dir, options);
      const store = new CheckedEngine(engine);
      await store.open();
      const expected = await churn(store, 5);
      const merging = engine.merge();
      await store.close();
      // Usually aborted; a merge that was already installing finishes first.
      const outcome = await merging.then(
        () => 'merged',
        (err: unknown) => err,
      );
      t.true(outcome === 'merged' || isEngineError(outcome, 'NOT_OPEN'), String(outcome));
      await withStore2(dir, SMALL, async ({ store: reopened }) => {
        t.deepEqual(await sortedContents(reopened), expected);
      });
      t.deepEqual(await filesOf(dir, '.merging'), []);
    }));
}

test('a damaged record fails the merge with CORRUPTED and leaves the files as they were', (t) =>
  withDir(async (dir) => {
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      const victim = text(`VICTIM-${'v'.repeat(100)}`);
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(keyRange('n', 40), (key) => key.repeat(10)));
      const { file, offset } = await findInDataFiles(dir, victim);
      await flipBit(file, offset + 50);
      const before = await filesOf(dir, '.data');
      const err = await t.throwsAsync(() => engine.merge());
      t.true(isEngineError(err, 'CORRUPTED'), String(err));
      const after = await filesOf(dir, '.data');
      t.deepEqual(after.slice(0, before.length), before, 'no input was removed');
      t.deepEqual(await filesOf(dir, '.merging'), [], 'the partial outputs were removed');
      t.deepEqual(await store.get('n007'), text('n007'.repeat(10)));
      await store.write(puts(['still-writable'], (key) => key));
    });
  }));

/** A stand-in pool: runs the real worker in this thread, then "crashes" before the install. */
const crashingPool: EngineOffload = {
  run: async (_task: unknown, input: unknown) => {
    const result = await runIndexedMergeTask(input as IndexedMergeTask);
    if (!result.ok) return result;
    // Thrown, as a worker that dies would: the engine leaves its files for open to sort out.
    throw new Error('simulated crash');
  },
};

test('a merge cut short before its commit point: open discards it', (t) =>
  withDir(async (dir) => {
    let expected: Array<[string, string]> = [];
    await withStore2(dir, { ...SMALL, offload: crashingPool }, async ({ engine, store }) => {
      expected = await churn(store, 3);
      await t.throwsAsync(() => engine.merge(), { message: 'simulated crash' });
    });
    const merging = await filesOf(dir, '.merging');
    t.true(merging.length >= 1, 'the worker wrote its outputs');
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcask2Stats().recovery, {
        mergeRedone: false,
        unfinishedFilesRemoved: merging.length,
      });
      t.deepEqual(await sortedContents(store), expected);
    });
    t.deepEqual(await filesOf(dir, '.merging'), []);
  }));

/** The real file system, except that deleting a data file fails once `armed` is set. */
function failingDeletes(state: { armed: boolean }): FileSystem {
  return {
    ...nodeFileSystem,
    unlink: async (file: string) => {
      if (state.armed && file.endsWith('.data'))
        throw Object.assign(new Error('EIO'), { code: 'EIO' });
      return nodeFileSystem.unlink(file);
    },
  };
}

test('a merge cut short after its commit point: the engine stops writing; open finishes it', (t) =>
  withDir(async (dir) => {
    let expected: Array<[string, string]> = [];
    const state = { armed: false };
    await withStore2(dir, { ...SMALL, fs: failingDeletes(state) }, async ({ engine, store }) => {
      expected = await churn(store, 3);
      state.armed = true; // the inputs cannot be deleted: step 4, after MERGE is durable
      const err = await t.throwsAsync(() => engine.merge());
      t.true(isEngineError(err, 'IO_ERROR'), String(err));
      t.deepEqual(await sortedContents(store), expected, 'reads go on');
      const refused = await t.throwsAsync(() => store.write(puts(['x'], (key) => key)));
      t.true(isEngineError(refused, 'IO_ERROR'), 'writes wait for a reopen');
      state.armed = false;
    });
    t.true((await readdir(dir)).includes('MERGE'), 'the commit record is left for open');
    await withStore2(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcask2Stats().recovery, { mergeRedone: true, indexLoaded: true });
      t.deepEqual(await sortedContents(store), expected);
      await store.write(puts(['x'], (key) => key));
    });
    t.false((await readdir(dir)).includes('MERGE'));
  }));

for (const [pool, options] of POOLS) {
  test(`automatic merges start once counted dead bytes pass the policy (${pool})`, (t) =>
    withDir(async (dir) => {
      const policy = { ...options, autoMerge: { deadRatio: 0.5, deadBytesMin: 0 } };
      await withStore2(dir, policy, async ({ engine, store }) => {
        const live = await churn(store, 40);
        // A merge runs in the background; give it a bounded number of writes and turns.
        for (let i = 0; i < 200 && engine.bitcask2Stats().merges === 0; i++) {
          await store.write(puts(['tick'], () => `t${i}`));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const stats = engine.bitcask2Stats();
        t.true(stats.merges >= 1, 'merged on its own');
        t.is(stats.autoMergeFailures, 0);
        const after = (await sortedContents(store)).filter(([key]) => key !== 'tick');
        t.deepEqual(after, live);
        t.true(stats.mergeBytesReclaimed > 0, `${stats.mergeBytesReclaimed} bytes reclaimed`);
      });
    }));
}

test('a merge on the simulated disk installs, and a reopen on the same disk reads it', async (t) => {
  const fs = new SimFileSystem();
  const options = { ...SMALL, fs };
  let expected: Array<[string, string]> = [];
  await withStore2('/sim/db', options, async ({ engine, store }) => {
    expected = await churn(store, 4);
    const result = await engine.merge();
    t.true(result.outputFiles >= 1 && result.bytesReclaimed > 0, JSON.stringify(result));
  });
  await withStore2('/sim/db', options, async ({ engine, store }) => {
    t.deepEqual(await sortedContents(store), expected);
    t.is(engine.bitcask2Stats().recovery?.mergeRedone, false);
  });
});

// Found with eager merges: flushes started back to back (a tiny buffer under steady writes)
// kept a merge from ever taking the flush slot, so it could only install once writes stopped.
test('a merge waiting for the flush slot is not starved by back-to-back flushes', async (t) => {
  const fs = new SimFileSystem();
  const options: Bitcask2Options = {
    fs,
    fileBytesMax: 1024,
    bufferKeysMax: 3,
    keysPerBucket: 2,
    autoMerge: { deadBytesMin: 0, deadRatio: 0.01 },
  };
  await withStore2('/sim/starve', options, async ({ engine, store }) => {
    const model = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const key = `k${i % 7}`;
      await store.write(puts([key], () => `v${i}`));
      model.set(key, `v${i}`);
    }
    const stats = engine.bitcask2Stats();
    t.true(stats.merges >= 2, `${stats.merges} merges installed while the writes ran`);
    t.is(stats.autoMergeFailures, 0);
    const expected = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    t.deepEqual(await sortedContents(store), expected);
  });
});
