/**
 * BitcaskEngine against the shared engine conformance suite, twice: with the default file
 * size, and with tiny files so that nearly every batch rotates (and the 1 MiB value of the
 * suite is larger than a whole file).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { isEngineError } from '../../../engines/errors';
import { assert } from '../../../runtime/assert';
import { runEngineSuite } from '../../conformance/engine-suite';
import { puts, text, withDir } from './fixtures/bitcask-helpers';

const TINY_FILE_BYTES = 1024;

for (const [name, fileBytesMax] of [
  ['bitcask', undefined],
  ['bitcask (tiny files)', TINY_FILE_BYTES],
] as const) {
  runEngineSuite({
    name,
    capabilities: { persistent: true, ordered: true },
    factory: async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-bitcask-'));
      return {
        // A nested path: the engine must create its directory recursively.
        engine: new BitcaskEngine(path.join(root, 'nested', 'db'), { fileBytesMax }),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
    reopen: (previous) => {
      assert(previous instanceof BitcaskEngine, 'bitcask suite: reopen of another engine');
      return new BitcaskEngine(previous.dir, { fileBytesMax });
    },
  });
}

test('bad options are INVALID_ARGUMENT', (t) => {
  for (const make of [
    () => new BitcaskEngine(''),
    () => new BitcaskEngine('db', { fileBytesMax: 10 }),
    () => new BitcaskEngine('db', { fileBytesMax: 1.5e3 + 0.5 }),
    () => new BitcaskEngine('db', { offload: {} as never }),
  ]) {
    t.true(isEngineError(t.throws(make), 'INVALID_ARGUMENT'));
  }
});

test('the directory is resolved to an absolute path', (t) => {
  t.true(path.isAbsolute(new BitcaskEngine('relative/db').dir));
});

test('the engine’s own getMany lines up with its keys and counts one read per key', (t) =>
  withDir(async (dir) => {
    const engine = new BitcaskEngine(dir, { fileBytesMax: TINY_FILE_BYTES });
    await engine.open();
    try {
      const keys = Array.from({ length: 70 }, (_, i) => `k${i}`);
      await engine.write(
        puts(keys, (key) => key.repeat(5)),
        { sync: false },
      );
      const asked = [...keys, 'missing', 'k3'];
      const values = await engine.getMany(asked);
      const expected = asked.map((key) => (key === 'missing' ? undefined : text(key.repeat(5))));
      t.deepEqual(values, expected);
      t.is(engine.stats().reads, asked.length);
    } finally {
      await engine.close();
    }
    const err = await t.throwsAsync(() => engine.getMany(['k1']));
    t.true(isEngineError(err, 'NOT_OPEN'));
  }));

test('bitcaskStats: keys, files and bytes while open; the latest recovery after close', (t) =>
  withDir(async (dir) => {
    const engine = new BitcaskEngine(dir);
    t.is(engine.bitcaskStats().recovery, undefined);
    await engine.open();
    await engine.write(
      puts(['a', 'b'], (key) => key),
      { sync: true },
    );
    await engine.write([{ type: 'del', key: 'a' }], { sync: false });
    const stats = engine.bitcaskStats();
    t.like(stats, { keys: 1, files: 1, batches: 2, syncs: 1, merges: 0 });
    t.true(stats.dataBytes > stats.liveBytes && stats.liveBytes > 0);
    await engine.close();
    t.like(engine.bitcaskStats(), { keys: 0, files: 0, recovery: { bytesTruncated: 0 } });
  }));

// writer.ts appendNow: an idle writer under sync false finishes the batch inside writeNow, with
// its frame built in the engine's scratch buffer; a sync write, or any write while one is
// queued, takes the queue. Every batch must read back as written, in call order, after reopen.
test('writeNow: inline when idle, queued behind a sync or a queued write, in order either way', (t) =>
  withDir(async (dir) => {
    const NO_SYNC = { sync: false };
    const engine = new BitcaskEngine(dir);
    await engine.open();
    try {
      t.is(
        engine.writeNow(
          puts(['a', 'b'], (k) => `${k}1`),
          NO_SYNC,
        ),
        true,
      );
      // The scratch buffer is built over by the next frame: the first must be on disk already.
      t.is(
        engine.writeNow(
          puts(['a', 'c'], (k) => `${k}2`.repeat(40)),
          NO_SYNC,
        ),
        true,
      );
      t.is(text2(await engine.get('a')), 'a2'.repeat(40));
      const synced = engine.writeNow(
        puts(['b'], () => 'b3'),
        { sync: true },
      );
      t.true(synced instanceof Promise);
      // The sync write is queued: later writes queue behind it, and keep call order.
      const behind = engine.writeNow(
        puts(['b', 'd'], (k) => `${k}4`),
        NO_SYNC,
      );
      t.true(behind instanceof Promise);
      await Promise.all([synced, behind]);
      t.is(
        engine.writeNow(
          puts(['e'], () => 'e5'),
          NO_SYNC,
        ),
        true,
      );
      t.is(engine.stats().batches, 5);
    } finally {
      await engine.close();
    }
    const again = new BitcaskEngine(dir);
    await again.open();
    try {
      const values = await again.getMany(['a', 'b', 'c', 'd', 'e']);
      t.deepEqual(values.map(text2), ['a2'.repeat(40), 'b4', 'c2'.repeat(40), 'd4', 'e5']);
    } finally {
      await again.close();
    }
  }));

function text2(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value).toString('latin1');
}
