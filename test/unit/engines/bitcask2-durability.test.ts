/**
 * What survives a process kill for the two-level bitcask, with a write buffer so small that
 * the index is flushed every few batches: the kill lands during writes and during flushes
 * (between page writes and the rename, or after it), and every acknowledged batch must be
 * there after reopen, the one in flight all or nothing.
 */
import * as path from 'node:path';
import test from 'ava';
import { withDir } from './fixtures/bitcask-helpers';
import { expectedAfter, markerKey } from './fixtures/bitcask-workload';
import { sortedContents, withStore2 } from './fixtures/bitcask2-helpers';
import { ChildWriter } from './fixtures/child-writer';

const WRITER = path.join(__dirname, 'fixtures', 'bitcask2-writer.js');
const ROUNDS = 5;
const OPTIONS = { fileBytesMax: 16 * 1024, bufferKeysMax: 16, keysPerBucket: 4 };

test('batches acknowledged before kill -9 survive, across rounds and index flushes', (t) =>
  withDir(async (dir) => {
    let applied = 0; // batches 0..applied-1 are in the store
    let indexLoads = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const args = [
        dir,
        String(applied),
        String(OPTIONS.fileBytesMax),
        String(OPTIONS.bufferKeysMax),
      ];
      const writer = new ChildWriter(WRITER, args);
      await writer.waitFor(() => writer.lines().includes('open'), 'open');
      // However slow the machine, every round kills only after a flush has finished.
      await writer.waitFor(() => writer.lines().includes('flushed'), 'a finished flush');
      const runMs = 50 + Math.floor(Math.random() * 300);
      await new Promise((resolve) => setTimeout(resolve, runMs));
      t.is(await writer.kill(), 'SIGKILL');
      const lastAck = writer.lastAck();
      if (lastAck === undefined) return t.fail('no ack');
      await withStore2(dir, OPTIONS, async ({ engine, store }) => {
        const inFlightLanded = (await store.get(markerKey(lastAck + 1))) !== undefined;
        applied = lastAck + 1 + (inFlightLanded ? 1 : 0);
        t.deepEqual(await sortedContents(store), expectedAfter(applied), `round ${round}`);
        const recovery = engine.bitcask2Stats().recovery;
        if (recovery?.indexLoaded === true) indexLoads++;
        t.is(recovery?.indexRejected, 0, 'an installed index is always whole');
        t.log(
          `round ${round}: ${lastAck + 1} acked, in flight landed: ${inFlightLanded}`,
          recovery,
        );
      });
    }
    t.is(indexLoads, ROUNDS, 'every reopen found an index the child had flushed');
  }));
