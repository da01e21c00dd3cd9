/**
 * What survives a process kill for the two-level bitcask, with a write buffer so small that
 * the index is flushed every few batches: the kill lands during writes and during flushes
 * (between page writes and the rename, or after it), and every acknowledged batch must be
 * there after reopen, the one in flight all or nothing. The second test adds merges (as
 * bitcask's kill -9 test does): the kill also lands while a merge copies, writes its index,
 * commits, installs or deletes its inputs.
 */
import { readdir, readFile } from 'node:fs/promises';
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

const MERGE_ROUNDS = 4;
const MERGE_EVERY = 60;

/** Data files an installed merge wrote (header byte 5, the kind, is 2). */
async function mergedFiles(dir: string): Promise<number> {
  let merged = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.data')) continue;
    if ((await readFile(path.join(dir, name)))[5] === 2) merged++;
  }
  return merged;
}

test('batches acknowledged before kill -9 survive, across rounds and merges', (t) =>
  withDir(async (dir) => {
    let applied = 0;
    let mergedSeen = 0; // merged data files found after a kill: merges installed in the child
    for (let round = 0; round < MERGE_ROUNDS; round++) {
      const args = [
        dir,
        String(applied),
        String(OPTIONS.fileBytesMax),
        String(OPTIONS.bufferKeysMax),
        String(MERGE_EVERY),
      ];
      const writer = new ChildWriter(WRITER, args);
      await writer.waitFor(() => writer.lines().includes('open'), 'open');
      if (round === MERGE_ROUNDS - 1) {
        // However slow the machine, the last round kills only after a merge installed.
        await writer.waitFor(() => writer.lines().includes('merged'), 'a finished merge');
      }
      // Let it write a random while; the kill lands at any point of a write or a merge.
      const runMs = 150 + Math.floor(Math.random() * 400);
      await new Promise((resolve) => setTimeout(resolve, runMs));
      await writer.waitFor(() => writer.lastAck() !== undefined, 'a first ack');
      t.is(await writer.kill(), 'SIGKILL');
      const lastAck = writer.lastAck();
      if (lastAck === undefined) return t.fail('no ack');
      await withStore2(dir, OPTIONS, async ({ engine, store }) => {
        const inFlightLanded = (await store.get(markerKey(lastAck + 1))) !== undefined;
        applied = lastAck + 1 + (inFlightLanded ? 1 : 0);
        t.deepEqual(await sortedContents(store), expectedAfter(applied), `round ${round}`);
        const recovery = engine.bitcask2Stats().recovery;
        t.is(recovery?.indexRejected, 0, 'an installed index is always whole');
        t.log(
          `round ${round}: ${lastAck + 1} acked, in flight landed: ${inFlightLanded}`,
          recovery,
        );
      });
      mergedSeen += await mergedFiles(dir);
    }
    t.true(applied > MERGE_ROUNDS, `${applied} batches applied`);
    t.true(mergedSeen > 0, 'the child merged at least once');
  }));
