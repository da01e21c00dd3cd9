/**
 * Bitcask2Engine against the shared engine conformance suite: with the defaults; with tiny
 * files, a tiny write buffer and tiny buckets, so that nearly every batch rotates and flushes
 * the index (and the table grows many times); and the same with eager automatic merges, in
 * the engine's own pool and in a shared one, so merges run beside every operation of the suite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { Bitcask2Engine, type Bitcask2Options } from '../../../engines/bitcask2/bitcask2-engine';
import { isEngineError } from '../../../engines/errors';
import { OffloadPool } from '../../../runtime/offload-pool';
import { assert } from '../../../runtime/assert';
import { runEngineSuite } from '../../conformance/engine-suite';

const TINY: Bitcask2Options = { fileBytesMax: 1024, bufferKeysMax: 3, keysPerBucket: 2 };
const EAGER: Bitcask2Options = { ...TINY, autoMerge: { deadBytesMin: 0, deadRatio: 0.01 } };
const shared = new OffloadPool({ threadsMax: 1, queueMax: 64 });
test.after.always(() => shared.close());

for (const [name, options] of [
  ['bitcask2', {}],
  ['bitcask2 (tiny files, buffer and buckets)', TINY],
  ['bitcask2 (tiny, eager merges)', EAGER],
  ['bitcask2 (tiny, eager merges, shared pool)', { ...EAGER, offload: shared }],
] as const) {
  runEngineSuite({
    name,
    capabilities: { persistent: true, ordered: false },
    factory: async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-bitcask2-'));
      return {
        engine: new Bitcask2Engine(path.join(root, 'nested', 'db'), options),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
    reopen: (previous) => {
      assert(previous instanceof Bitcask2Engine, 'bitcask2 suite: reopen of another engine');
      return new Bitcask2Engine(previous.dir, options);
    },
  });
}

test('bad options are INVALID_ARGUMENT', (t) => {
  for (const make of [
    () => new Bitcask2Engine(''),
    () => new Bitcask2Engine('db', { fileBytesMax: 10 }),
    () => new Bitcask2Engine('db', { bufferKeysMax: 0 }),
    () => new Bitcask2Engine('db', { bufferKeysMax: 1.5 }),
    () => new Bitcask2Engine('db', { keysPerBucket: -1 }),
    () => new Bitcask2Engine('db', { mergeBytesPerSecondMax: -1 }),
    () => new Bitcask2Engine('db', { autoMerge: { deadRatio: 0 } }),
    () => new Bitcask2Engine('db', { autoMerge: true as never }),
    () => new Bitcask2Engine('db', { offload: {} as never }),
    () => new Bitcask2Engine('db', 'x' as never),
  ]) {
    t.true(isEngineError(t.throws(make), 'INVALID_ARGUMENT'));
  }
});
