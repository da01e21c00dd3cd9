/**
 * MemoryLogEngine (the store's `engine: 'memory', persist: true`) against the shared engine
 * conformance suite, with reopen: with the default sizes, and with tiny files and a tiny
 * compaction bound so that batches rotate and compactions run in the pool during the suite.
 * Then its own behaviour: reload, torn tail, a damaged record never served, compaction.
 */
import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { isEngineError } from '../../../engines/errors';
import {
  COMPACT_DEAD_BYTES_DEFAULT,
  checkMemoryLogOptions,
} from '../../../engines/memory-log/options';
import {
  MemoryLogEngine,
  type MemoryLogOptions,
} from '../../../engines/memory-log/memory-log-engine';
import { CheckedEngine } from '../../../engines/checked-engine';
import { assert } from '../../../runtime/assert';
import { OffloadPool } from '../../../runtime/offload-pool';
import { runEngineSuite } from '../../conformance/engine-suite';
import {
  contents,
  findInDataFiles,
  flipBit,
  newestDataFile,
  puts,
  text,
  withDir,
} from './fixtures/bitcask-helpers';

const TINY: MemoryLogOptions = { fileBytesMax: 1024, compactDeadBytes: 2048 };
/** One pool for every engine of this file, as a worker shares one among its actors' engines. */
const shared = new OffloadPool({ threadsMax: 1, queueMax: 16 });
test.after.always(() => shared.close());

for (const [name, options] of [
  ['memory-log', undefined],
  ['memory-log (tiny files, eager compaction)', TINY],
  ['memory-log (tiny files, eager compaction, shared pool)', { ...TINY, offload: shared }],
  // The Paxos store's form (kept-record-port.ts): the log alone, reads from its files.
  ['memory-log (records not held)', { ...TINY, holdRecords: false }],
] as const) {
  runEngineSuite({
    name,
    capabilities: { persistent: true, ordered: true },
    factory: async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-memlog-'));
      return {
        engine: new MemoryLogEngine(path.join(root, 'nested', 'db'), options),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
    reopen: (previous) => {
      assert(previous instanceof MemoryLogEngine, 'memory-log suite: reopen of another engine');
      return new MemoryLogEngine(previous.dir, options);
    },
  });
}

interface Opened {
  readonly engine: MemoryLogEngine;
  readonly store: CheckedEngine;
}

async function withLog(
  dir: string,
  options: MemoryLogOptions | undefined,
  body: (opened: Opened) => Promise<void>,
): Promise<void> {
  const engine = new MemoryLogEngine(dir, options);
  const store = new CheckedEngine(engine);
  await store.open();
  try {
    await body({ engine, store });
  } finally {
    await store.close();
  }
}

test('bad options are INVALID_ARGUMENT', (t) => {
  for (const make of [
    () => new MemoryLogEngine(''),
    () => new MemoryLogEngine('db', { fileBytesMax: 10 }),
    () => new MemoryLogEngine('db', { compactDeadBytes: 0 }),
    () => new MemoryLogEngine('db', { compactDeadBytes: 1.5 }),
    () => new MemoryLogEngine('db', { compactDeadBytes: '1' as never }),
    () => new MemoryLogEngine('db', { holdRecords: 'no' as never }),
  ]) {
    t.true(isEngineError(t.throws(make), 'INVALID_ARGUMENT'));
  }
});

test('the compaction bound: 16 MiB holding records, bitcask merge bound for the log alone', (t) => {
  t.is(checkMemoryLogOptions(undefined).compactDeadBytes, COMPACT_DEAD_BYTES_DEFAULT);
  t.is(checkMemoryLogOptions({ holdRecords: false }).compactDeadBytes, 64 * 1024 * 1024);
  t.is(checkMemoryLogOptions({ holdRecords: false, compactDeadBytes: 5 }).compactDeadBytes, 5);
});

test('a new instance reloads every live record from the log, deletes included', (t) =>
  withDir(async (dir) => {
    await withLog(dir, undefined, async ({ store }) => {
      await store.write(
        puts(['a', 'b', 'c'], (key) => `${key}1`),
        { sync: true },
      );
      await store.write(puts(['b'], (key) => `${key}2`));
      await store.write([{ type: 'del', key: 'c' }]);
    });
    await withLog(dir, undefined, async ({ engine, store }) => {
      t.deepEqual(await contents(store), [
        ['a', 'a1'],
        ['b', 'b2'],
      ]);
      t.like(engine.memoryLogStats(), { recordsLoaded: 2, recordsCorruptedAtLoad: 0, keys: 2 });
    });
  }));

test('torn tail: garbage after the last batch is cut and reported; earlier batches reload', (t) =>
  withDir(async (dir) => {
    await withLog(dir, undefined, async ({ store }) => {
      await store.write(
        puts(['a', 'b'], (key) => key),
        { sync: true },
      );
      await store.write(puts(['c'], (key) => key));
    });
    const file = await newestDataFile(dir);
    const intact = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(33, 0x5a));
    await withLog(dir, undefined, async ({ engine, store }) => {
      t.like(engine.memoryLogStats().recovery, { bytesTruncated: 33, batchesDropped: 1 });
      t.deepEqual(await contents(store), [
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
      ]);
      t.is((await stat(file)).size, intact, 'truncated back to the last whole batch');
    });
  }));

test('a damaged record is CORRUPTED on every read path, never returned; other keys read', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'m'.repeat(80)}`);
    const options: MemoryLogOptions = { fileBytesMax: 1024 };
    await withLog(dir, options, async ({ engine, store }) => {
      // A dead record first: a merge writes hints only when the bytes it frees pay for them.
      await store.write([{ type: 'put', key: 'victim', value: text('old'.repeat(100)) }]);
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(['x1', 'x2', 'x3'], (key) => key.repeat(10)));
      // Merged files load from their hints at recovery, so only the load into RAM reads them.
      await engine.merge();
    });
    const { file, offset } = await findInDataFiles(dir, victim);
    await flipBit(file, offset + 40);
    await withLog(dir, options, async ({ engine, store }) => {
      t.is(engine.memoryLogStats().recordsCorruptedAtLoad, 1);
      for (const read of [
        () => store.get('victim'),
        () => store.getMany(['x1', 'victim']),
        () => contents(store),
      ]) {
        t.true(isEngineError(await t.throwsAsync(read), 'CORRUPTED'));
      }
      t.deepEqual(await store.get('x2'), text('x2'.repeat(10)), 'other keys still read');
      // Overwriting the key replaces the bad record (as the Paxos shell does after recovery).
      await store.write([{ type: 'put', key: 'victim', value: text('fresh') }], { sync: true });
      t.deepEqual(await store.get('victim'), text('fresh'));
    });
  }));

for (const [pool, offload] of [
  ['its own pool', undefined],
  ['the shared pool', shared],
] as const) {
  test(`the log is compacted once dead bytes pass the bound, and stays within it (${pool})`, (t) =>
    withDir(async (dir) => {
      const options = { fileBytesMax: 4096, compactDeadBytes: 8192, offload };
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      let writtenBytes = 0;
      await withLog(dir, options, async ({ engine, store }) => {
        for (let round = 0; round < 200; round++) {
          await store.write(puts(keys, (key) => `${key}-${round}-${'v'.repeat(40)}`));
          // The write does not wait for the compaction it starts; waiting here makes the test
          // independent of how fast the pool runs: each compaction ends before the next write.
          await engine.compactionIdle();
          const stats = engine.memoryLogStats();
          const deadBytes = stats.dataBytes - stats.liveBytes;
          // Checked after every batch: the dead bytes never pass the bound by more than one batch.
          if (deadBytes >= options.compactDeadBytes + options.fileBytesMax) {
            return t.fail(`round ${round}: ${deadBytes} dead bytes`);
          }
          writtenBytes = stats.bytesWritten;
        }
        const stats = engine.memoryLogStats();
        t.log(`${stats.compactions} compactions, log ${stats.dataBytes} of ${writtenBytes} B`);
        t.true(stats.compactions >= 10, `compactions ${stats.compactions}`);
        t.is(stats.compactionFailures, 0);
        t.true(stats.dataBytes < writtenBytes / 4, `log of ${stats.dataBytes} bytes`);
      });
      await withLog(dir, options, async ({ store }) => {
        const expected = keys.map((key): [string, string] => [key, `${key}-199-${'v'.repeat(40)}`]);
        t.deepEqual(await contents(store), expected);
      });
    }));
}

test('in a worker thread (as in the store): compaction runs in a nested pool; the thread exits', (t) =>
  withDir(async (dir) => {
    const file = path.join(__dirname, 'fixtures', 'memory-log-worker.js');
    const worker = new Worker(file, { workerData: { dir } });
    const report = new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    // A thread kept alive by a pool that close did not destroy would never exit: bounded here.
    const timer = setTimeout(() => void worker.terminate(), 60_000);
    try {
      t.like(await report, { compactionFailures: 0, keys: 4 });
      const { compactions } = (await report) as { compactions: number };
      t.true(compactions > 0, 'compacted at least once');
      t.is(await exited, 0, 'the thread exited by itself');
    } finally {
      clearTimeout(timer);
    }
    await withLog(dir, undefined, async ({ store }) => {
      t.deepEqual(
        (await contents(store)).map(([key]) => key),
        ['a', 'b', 'c', 'last'],
      );
      t.deepEqual(await store.get('last'), text('done'));
    });
  }));
