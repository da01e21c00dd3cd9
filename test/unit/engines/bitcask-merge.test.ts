/**
 * Bitcask merges: space reclaimed, every live key kept, tombstones still hiding deleted keys
 * after a merge and a restart, writes and reads during a merge, and merges that are cut
 * short (closed, failed, or crashed before or after their commit point).
 */
import * as path from 'node:path';
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { writeMergeCommit } from '../../../engines/bitcask/merge-commit';
import type { MergeTask, MergeTaskResult } from '../../../engines/bitcask/merge-task';
import runMergeTask from '../../../engines/bitcask/merge-worker';
import { isEngineError } from '../../../engines/errors';
import { nodeFileSystem } from '../../../engines/fs/node-fs';
import type { EngineOffload } from '../../../engines/offload';
import type { CheckedEngine } from '../../../engines/checked-engine';
import { OffloadPool } from '../../../runtime/offload-pool';
import {
  contents,
  filesOf,
  findInDataFiles,
  flipBit,
  openStore,
  puts,
  text,
  withDir,
  withStore,
} from './fixtures/bitcask-helpers';

const SMALL = { fileBytesMax: 4096 };

/** One pool for every engine of this file, as a worker shares one among its actors' engines. */
const shared = new OffloadPool({ threadsMax: 1, queueMax: 16 });
test.after.always(() => shared.close());
/** Merge tests run twice: with the engine's own pool (standalone) and with the shared one. */
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

// Tombstones must still hide deleted keys after the merge and after a restart.
for (const [pool, options] of POOLS) {
  test(`merge reclaims dead space, keeps every live key, and deleted keys stay deleted (${pool})`, (t) =>
    withDir(async (dir) => {
      let expected: Array<[string, string]> = [];
      await withStore(dir, options, async ({ engine, store }) => {
        expected = await churn(store, 6);
        const before = engine.bitcaskStats();
        const result = await engine.merge();
        const after = engine.bitcaskStats();
        t.true(result.inputFiles > 3 && result.outputFiles >= 1, JSON.stringify(result));
        const reclaimed = `${result.bytesReclaimed} of ${before.dataBytes}`;
        t.true(result.bytesReclaimed > before.dataBytes / 2, reclaimed);
        t.true(after.dataBytes < before.dataBytes / 2);
        t.is(after.liveBytes, before.liveBytes, 'the live records moved, none was lost');
        t.is(result.keysMoved, expected.length);
        t.deepEqual(await contents(store), expected);
        t.is(await store.get('key-000'), undefined);
        t.like(after, { merges: 1, keys: expected.length });
      });
      await withStore(dir, options, async ({ engine, store }) => {
        t.deepEqual(await contents(store), expected, 'after a restart');
        t.is(await store.get('key-003'), undefined, 'a deleted key stays deleted');
        t.true((engine.bitcaskStats().recovery?.hintFilesLoaded ?? 0) >= 1);
        // A second merge over merged files changes nothing visible.
        await engine.merge();
        t.deepEqual(await contents(store), expected);
      });
    }));
}

test('merge with nothing immutable does nothing; merging twice is harmless', (t) =>
  withDir(async (dir) => {
    await withStore(dir, SMALL, async ({ engine, store }) => {
      const nothing = { inputFiles: 0, outputFiles: 0, keysMoved: 0, bytesReclaimed: 0 };
      t.deepEqual(await engine.merge(), nothing);
      await store.write(puts(['a', 'b'], (key) => key));
      await Promise.all([engine.merge(), engine.merge()]);
      t.deepEqual(await contents(store), [
        ['a', 'a'],
        ['b', 'b'],
      ]);
    });
  }));

test('a merge of only dead records leaves no output file', (t) =>
  withDir(async (dir) => {
    await withStore(dir, SMALL, async ({ engine, store }) => {
      await store.write(puts(keyRange('d', 40), (key) => key.repeat(20)));
      await store.write(keyRange('d', 40).map((key) => ({ type: 'del' as const, key })));
      const result = await engine.merge();
      t.is(result.outputFiles, 0);
      t.deepEqual(await filesOf(dir, '.hint'), []);
      t.deepEqual(await contents(store), []);
    });
    await withStore(dir, SMALL, async ({ store }) => {
      t.deepEqual(await contents(store), []);
    });
  }));

test('writes, reads and an iteration go on during a merge and see a consistent store', (t) =>
  withDir(async (dir) => {
    await withStore(dir, SMALL, async ({ engine, store }) => {
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
      }
      await merging;
      const expected = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      t.deepEqual(await contents(store), expected);
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
      t.deepEqual(await contents(store), expected, 'after a restart');
    });
  }));

// The shared pool only moves where the work runs: the merged files are the same bytes.
test('a merge in the shared pool writes the same files as one in the engine’s own pool', (t) =>
  withDir((ownDir) =>
    withDir(async (sharedDir) => {
      const ran = shared.stats().tasksRun;
      for (const [dir, options] of [
        [ownDir, SMALL],
        [sharedDir, { ...SMALL, offload: shared }],
      ] as const) {
        await withStore(dir, options, async ({ engine, store }) => {
          await churn(store, 3);
          await engine.merge();
        });
      }
      t.true(shared.stats().tasksRun > ran, 'the shared pool ran the merge');
      const own = await filesOf(ownDir, '');
      t.deepEqual(await filesOf(sharedDir, ''), own);
      t.true(
        own.some((name) => name.endsWith('.hint')),
        'the merge wrote hint files',
      );
      for (const name of own.filter((n) => n.endsWith('.data') || n.endsWith('.hint'))) {
        const same = Buffer.compare(
          await readFile(path.join(ownDir, name)),
          await readFile(path.join(sharedDir, name)),
        );
        t.is(same, 0, name);
      }
    }),
  ));

for (const [pool, options] of POOLS) {
  test(`close during a merge aborts it; the store reopens intact without its files (${pool})`, (t) =>
    withDir(async (dir) => {
      const { engine, store } = await openStore(dir, options);
      const expected = await churn(store, 5);
      const merging = engine.merge();
      await store.close();
      // Usually aborted; a merge that was already installing finishes first.
      const outcome = await merging.then(
        () => 'merged',
        (err: unknown) => err,
      );
      t.true(outcome === 'merged' || isEngineError(outcome, 'NOT_OPEN'), String(outcome));
      await withStore(dir, SMALL, async ({ store: reopened }) => {
        t.deepEqual(await contents(reopened), expected);
      });
      t.deepEqual(
        (await filesOf(dir, '')).filter((name) => name.endsWith('.merging')),
        [],
      );
    }));
}

test('a damaged record fails the merge with CORRUPTED and leaves the files as they were', (t) =>
  withDir(async (dir) => {
    await withStore(dir, SMALL, async ({ engine, store }) => {
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
      t.deepEqual(await filesOf(dir, '.hint'), [], 'no output was installed');
      t.deepEqual(await filesOf(dir, '.merging'), [], 'the partial outputs were removed');
      t.deepEqual(await store.get('n007'), text('n007'.repeat(10)));
      await store.write(puts(['still-writable'], (key) => key));
    });
  }));

/** A stand-in pool: runs the real worker in this thread, then "crashes" before install. */
function crashingPool(commit: boolean): EngineOffload {
  const run = async (_task: unknown, input: unknown): Promise<MergeTaskResult> => {
    const task = input as MergeTask;
    const result = await runMergeTask(task);
    if (!result.ok) return result;
    if (commit) {
      const inputs = [...new Set(task.fileIds)];
      await writeMergeCommit(nodeFileSystem, task.dir, {
        inputs,
        outputs: task.outputs.map((o) => o.id),
      });
    }
    // Thrown, as a worker that dies would: the engine leaves its files for open to sort out.
    throw new Error('simulated crash');
  };
  return { run };
}

for (const committed of [false, true]) {
  const title = committed
    ? 'a merge cut short after its commit point: open finishes it'
    : 'a merge cut short before its commit point: open discards it';
  test(title, (t) =>
    withDir(async (dir) => {
      let expected: Array<[string, string]> = [];
      const options = { ...SMALL, offload: crashingPool(committed) };
      await withStore(dir, options, async ({ engine, store }) => {
        // Only live records go to merged files: each input holds at least one.
        expected = await churn(store, 1);
        await t.throwsAsync(() => engine.merge(), { message: 'simulated crash' });
      });
      const merging = (await filesOf(dir, '')).filter((name) => name.endsWith('.merging'));
      t.true(merging.length >= 2, 'the worker wrote its outputs');
      await withStore(dir, SMALL, async ({ engine, store }) => {
        t.like(engine.bitcaskStats().recovery, {
          mergeRedone: committed,
          unfinishedFilesRemoved: committed ? 0 : merging.length,
          hintFilesLoaded: committed ? merging.length / 2 : 0,
        });
        t.deepEqual(await contents(store), expected);
      });
      const left = await filesOf(dir, '');
      t.deepEqual(
        left.filter((name) => name === 'MERGE' || name.endsWith('.merging')),
        [],
      );
      t.is(path.basename(dir), 'db');
    }),
  );
}

// Automatic merges: without them a store that overwrites keys grows without bound.
for (const [pool, options] of POOLS) {
  test(`automatic merges start once dead bytes pass the policy, and keep every live key (${pool})`, (t) =>
    withDir(async (dir) => {
      await withStore(
        dir,
        { ...options, autoMerge: { deadRatio: 0.5, deadBytesMin: 0 } },
        async ({ engine, store }) => {
          const live = await churn(store, 40);
          // A merge runs in the background; give it a bounded number of writes and turns.
          for (let i = 0; i < 200 && engine.bitcaskStats().merges === 0; i++) {
            await store.write(puts(['tick'], () => `t${i}`));
            await new Promise((r) => setTimeout(r, 10));
          }
          const stats = engine.bitcaskStats();
          t.true(stats.merges >= 1, 'merged on its own');
          t.is(stats.autoMergeFailures, 0);
          const after = (await contents(store)).filter(([k]) => k !== 'tick');
          t.deepEqual(after, live);
        },
      );
    }));
}

test('autoMerge false never merges on its own; a bad policy is INVALID_ARGUMENT', (t) =>
  withDir(async (dir) => {
    await withStore(dir, { ...SMALL, autoMerge: false }, async ({ engine, store }) => {
      await churn(store, 40);
      await new Promise((r) => setTimeout(r, 50));
      t.is(engine.bitcaskStats().merges, 0);
      t.true(
        engine.bitcaskStats().dataBytes > 2 * engine.bitcaskStats().liveBytes,
        'there was dead space to reclaim',
      );
    });
    for (const autoMerge of [
      { deadRatio: 0 },
      { deadRatio: 1.5 },
      { deadBytesMin: -1 },
      { deadBytesMin: 0.5 },
      'yes',
      null,
    ]) {
      const error = t.throws(() => new BitcaskEngine(dir, { autoMerge: autoMerge as never }));
      t.true(isEngineError(error, 'INVALID_ARGUMENT'), JSON.stringify(autoMerge));
    }
  }));
