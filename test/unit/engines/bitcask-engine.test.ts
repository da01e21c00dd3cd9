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
