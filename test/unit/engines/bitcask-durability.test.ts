/**
 * What survives a process kill, and the directory lock, for the bitcask engine.
 */
import * as path from 'node:path';
import test from 'ava';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import { isEngineError } from '../../../engines/errors';
import { CheckedEngine } from '../../../engines/checked-engine';
import { contents, withDir, withStore } from './fixtures/bitcask-helpers';
import { ChildWriter } from './fixtures/child-writer';
import { expectedAfter, markerKey } from './fixtures/bitcask-workload';

const WRITER = path.join(__dirname, 'fixtures', 'bitcask-writer.js');
const ROUNDS = 4;
const FILE_BYTES_MAX = 16 * 1024;
const MERGE_EVERY = 60;

/** A child running the writer fixture. */
class Writer extends ChildWriter {
  constructor(dir: string, start: number) {
    super(WRITER, [dir, String(start), String(FILE_BYTES_MAX), String(MERGE_EVERY)]);
  }
}

test('sync:false batches acknowledged before kill -9 survive, across rounds and merges', (t) =>
  withDir(async (dir) => {
    let applied = 0; // batches 0..applied-1 are in the store
    let hintsLoaded = 0; // merged files found at open: merges ran in the child
    for (let round = 0; round < ROUNDS; round++) {
      const writer = new Writer(dir, applied);
      await writer.waitFor(() => writer.lines().includes('open'), 'open');
      if (round === ROUNDS - 1) {
        // However slow the machine, the last round kills only after a merge finished.
        await writer.waitFor(() => writer.lines().includes('merged'), 'a finished merge');
      }
      // Let it write a random while; the kill lands at any point of a write or a merge.
      const runMs = 150 + Math.floor(Math.random() * 400);
      await new Promise((resolve) => setTimeout(resolve, runMs));
      await writer.waitFor(() => writer.lastAck() !== undefined, 'a first ack');
      t.is(await writer.kill(), 'SIGKILL');
      const lastAck = writer.lastAck();
      if (lastAck === undefined) return t.fail('no ack');
      await withStore(dir, { fileBytesMax: FILE_BYTES_MAX }, async ({ engine, store }) => {
        // Every acknowledged batch is in; the one in flight at the kill is all in or all out.
        const inFlightLanded = (await store.get(markerKey(lastAck + 1))) !== undefined;
        applied = lastAck + 1 + (inFlightLanded ? 1 : 0);
        t.deepEqual(await contents(store), expectedAfter(applied), `round ${round}`);
        const recovery = engine.bitcaskStats().recovery;
        hintsLoaded += recovery?.hintFilesLoaded ?? 0;
        t.log(`round ${round}: ${lastAck + 1} acked, in flight landed: ${inFlightLanded}`);
        t.log(recovery);
      });
    }
    t.true(applied > ROUNDS, `${applied} batches applied`);
    t.true(hintsLoaded > 0, 'the child merged at least once');
  }));

test('two opens at once: exactly one gets the lock', (t) =>
  withDir(async (dir) => {
    const engines = [new BitcaskEngine(dir), new BitcaskEngine(dir)];
    const results = await Promise.allSettled(engines.map((engine) => engine.open()));
    const locked = results.filter(
      (r) => r.status === 'rejected' && isEngineError(r.reason, 'LOCKED'),
    );
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.is(locked.length, 1);
    await Promise.all(engines.map((engine) => engine.close()));
  }));

test('a live process holding the directory: LOCKED; once killed, its lock is taken', (t) =>
  withDir(async (dir) => {
    const writer = new Writer(dir, 0);
    await writer.waitFor(() => writer.lastAck() !== undefined, 'a first ack');
    const err = await t.throwsAsync(() => new BitcaskEngine(dir).open());
    t.true(isEngineError(err, 'LOCKED'), String(err));
    t.is(await writer.kill(), 'SIGKILL');
    await withStore(dir, undefined, async ({ store }) => {
      t.truthy(await store.get(markerKey(0)));
    });
  }));
