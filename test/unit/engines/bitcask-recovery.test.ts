/**
 * Bitcask files and recovery: rotation, restart from data files and from hint files, torn
 * tails, damaged records, and unfinished files.
 */
import { appendFile, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { crc32 } from '../../../engines/crc32';
import { isEngineError } from '../../../engines/errors';
import { BitcaskEngine } from '../../../engines/bitcask/bitcask-engine';
import {
  contents,
  filesOf,
  findInDataFiles,
  flipBit,
  newestDataFile,
  puts,
  text,
  withDir,
  withStore,
} from './fixtures/bitcask-helpers';

const SMALL = { fileBytesMax: 2048 };

function keyRange(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

test('rotation: files stay under the limit unless one batch is larger; all values read back', (t) =>
  withDir(async (dir) => {
    const keys = keyRange('k', 120);
    await withStore(dir, SMALL, async ({ engine, store }) => {
      for (let i = 0; i < keys.length; i += 3) {
        await store.write(puts(keys.slice(i, i + 3), (key) => `${key}:${'v'.repeat(60)}`));
      }
      await store.write([{ type: 'put', key: 'big', value: new Uint8Array(5000).fill(7) }]);
      await store.write(puts(['after-big'], (key) => key));
      t.is(engine.bitcaskStats().files, (await filesOf(dir, '.data')).length);
    });
    const names = await filesOf(dir, '.data');
    t.true(names.length > 5, `${names.length} data files`);
    const oversized = [];
    for (const name of names) {
      if ((await stat(path.join(dir, name))).size > SMALL.fileBytesMax) oversized.push(name);
    }
    t.is(oversized.length, 1, 'only the file holding the one big batch');
    await withStore(dir, SMALL, async ({ store }) => {
      const values = await store.getMany([...keys, 'big', 'after-big']);
      const expected = keys.map((key) => text(`${key}:${'v'.repeat(60)}`));
      t.deepEqual(values.slice(0, keys.length), expected);
      t.deepEqual(values[keys.length], new Uint8Array(5000).fill(7));
      t.deepEqual(values[keys.length + 1], text('after-big'));
    });
  }));

/** Writes, overwrites and deletes across many files, merges, then writes a little more. */
async function buildMergedHistory(dir: string): Promise<Array<[string, string]>> {
  const model = new Map<string, string>();
  await withStore(dir, SMALL, async ({ engine, store }) => {
    for (let round = 0; round < 4; round++) {
      const keys = keyRange(`r${round % 2}-`, 30);
      await store.write(puts(keys, (key) => `${key}@${round}`));
      for (const key of keys) model.set(key, `${key}@${round}`);
      const gone = keys.filter((_, i) => i % 5 === round);
      await store.write(gone.map((key) => ({ type: 'del' as const, key })));
      for (const key of gone) model.delete(key);
    }
    await engine.merge();
    await store.write(puts(['late-1', 'late-2'], (key) => key));
    await store.write([{ type: 'del', key: 'r0-001' }]);
  });
  model.set('late-1', 'late-1').set('late-2', 'late-2').delete('r0-001');
  return [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

test('restart from hint files and from data files alone gives the same contents', (t) =>
  withDir(async (dir) => {
    const expected = await buildMergedHistory(dir);
    const hints = await filesOf(dir, '.hint');
    t.true(hints.length >= 1, 'the merge wrote hint files');
    await withStore(dir, SMALL, async ({ engine, store }) => {
      const recovery = engine.bitcaskStats().recovery;
      t.like(recovery, { hintFilesLoaded: hints.length, hintFilesRejected: 0 });
      t.deepEqual(await contents(store), expected);
    });
    for (const name of hints) await unlink(path.join(dir, name));
    await withStore(dir, SMALL, async ({ engine, store }) => {
      const data = await filesOf(dir, '.data');
      t.like(engine.bitcaskStats().recovery, { hintFilesLoaded: 0, filesScanned: data.length });
      t.deepEqual(await contents(store), expected);
    });
  }));

test('a damaged hint file is not used: its data file is scanned instead', (t) =>
  withDir(async (dir) => {
    const expected = await buildMergedHistory(dir);
    const [hint] = await filesOf(dir, '.hint');
    await flipBit(path.join(dir, hint), 30);
    await withStore(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { hintFilesRejected: 1 });
      t.deepEqual(await contents(store), expected);
    });
  }));

test('torn tail: garbage after the last batch is cut and reported; earlier data intact', (t) =>
  withDir(async (dir) => {
    await withStore(dir, undefined, async ({ store }) => {
      await store.write(
        puts(['a', 'b'], (key) => key),
        { sync: true },
      );
      await store.write(puts(['c'], (key) => key));
    });
    const file = await newestDataFile(dir);
    const intact = (await stat(file)).size;
    await appendFile(file, Buffer.from('this is not a batch frame at all, 41 bytes'.slice(0, 41)));
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { bytesTruncated: 41, batchesDropped: 1 });
      t.deepEqual(await contents(store), [
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
      ]);
      t.is((await stat(file)).size, intact, 'truncated back to the last whole batch');
      await store.write(puts(['d'], (key) => key));
    });
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { bytesTruncated: 0, batchesDropped: 0 });
      t.deepEqual(
        (await contents(store)).map(([key]) => key),
        ['a', 'b', 'c', 'd'],
      );
    });
  }));

for (const [name, keep] of [
  ['inside its values', (size: number) => size - 10],
  ['inside its header', () => 7],
] as const) {
  test(`torn tail: a last batch cut ${name} is dropped whole, the one before is kept`, (t) =>
    withDir(async (dir) => {
      let before = 0;
      let after = 0;
      const file = () => newestDataFile(dir);
      await withStore(dir, undefined, async ({ store }) => {
        await store.write(puts(['a1', 'a2'], (key) => key));
        before = (await stat(await file())).size;
        await store.write(puts(['b1', 'b2', 'b3'], (key) => key.repeat(100)));
        after = (await stat(await file())).size;
      });
      const lastBatch = after - before;
      await truncate(await file(), before + keep(lastBatch));
      await withStore(dir, undefined, async ({ engine, store }) => {
        const dropped = keep(lastBatch);
        t.like(engine.bitcaskStats().recovery, { bytesTruncated: dropped, batchesDropped: 1 });
        t.deepEqual(await contents(store), [
          ['a1', 'a1'],
          ['a2', 'a2'],
        ]);
      });
    }));
}

test('a bit flip in a stored value is CORRUPTED on every read path, never returned', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'z'.repeat(200)}`);
    await withStore(dir, SMALL, async ({ store }) => {
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      for (let i = 0; i < 20; i++) await store.write(puts([`other-${i}`], (key) => key.repeat(20)));
      const { file, offset } = await findInDataFiles(dir, victim);
      await flipBit(file, offset + 100);
      for (const read of [
        () => store.get('victim'),
        () => store.engine.getMany?.(['other-1', 'victim']) ?? Promise.resolve(),
        () => contents(store),
      ]) {
        t.true(isEngineError(await t.throwsAsync(read), 'CORRUPTED'));
      }
      t.deepEqual(await store.get('other-3'), text('other-3'.repeat(20)), 'other keys still read');
    });
    // The damaged file is not the newest one, so open does not take it for a torn tail: it
    // skips the damaged batch, keeps the rest, and reports records that may have been acknowledged.
    await withStore(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { damaged: true, bytesTruncated: 0 });
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true, torn: false });
      t.is(await store.get('victim'), undefined, 'the damaged batch is not applied');
      t.deepEqual(await store.get('other-3'), text('other-3'.repeat(20)), 'other keys still read');
    });
  }));

test('a damaged batch before valid ones in the newest file, before its sync mark: damage, skipped, not cut', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'q'.repeat(50)}`);
    await withStore(dir, undefined, async ({ store }) => {
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(['later-1', 'later-2'], (key) => key));
    });
    const { file, offset } = await findInDataFiles(dir, victim);
    const size = (await stat(file)).size;
    await flipBit(file, offset + 20);
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, {
        damaged: true,
        bytesTruncated: 0,
        batchesDropped: 0,
      });
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true, torn: false });
      t.is(await store.get('victim'), undefined);
      t.deepEqual(await store.get('later-1'), text('later-1'));
    });
    t.true((await stat(file)).size >= size, 'nothing was cut');
  }));

test('a bit flip in a merged file with a hint: open succeeds, the read is CORRUPTED', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'m'.repeat(80)}`);
    await withStore(dir, SMALL, async ({ engine, store }) => {
      // Dead records first: a merge writes hints only where the bytes it frees pay for them.
      await store.write(puts(keyRange('x', 30), (key) => key.repeat(20)));
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(keyRange('x', 30), (key) => key.repeat(10)));
      await engine.merge();
    });
    t.true((await filesOf(dir, '.hint')).length > 0, 'the merged file has a hint');
    const { file, offset } = await findInDataFiles(dir, victim);
    await flipBit(file, offset + 40);
    await withStore(dir, SMALL, async ({ store }) => {
      t.true(isEngineError(await t.throwsAsync(() => store.get('victim')), 'CORRUPTED'));
      t.deepEqual(await store.get('x005'), text('x005'.repeat(10)));
    });
  }));

test('files a crash left unfinished are removed at open', (t) =>
  withDir(async (dir) => {
    await withStore(dir, undefined, async ({ store }) => {
      await store.write(puts(['k'], (key) => key));
    });
    const leftovers = [
      '000777.data.merging',
      '000777.hint.merging',
      '000778.data.tmp',
      'MERGE.tmp',
    ];
    for (const name of leftovers) {
      await writeFile(path.join(dir, name), 'partial');
    }
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { unfinishedFilesRemoved: 4, mergeRedone: false });
      t.deepEqual(await contents(store), [['k', 'k']]);
    });
    const names = await filesOf(dir, '');
    t.deepEqual(
      names.filter((name) => name.endsWith('.merging') || name.endsWith('.tmp')),
      [],
    );
  }));

test('closing an engine that wrote nothing leaves no empty data file behind', (t) =>
  withDir(async (dir) => {
    await withStore(dir, undefined, async () => undefined);
    t.deepEqual(await filesOf(dir, '.data'), []);
    await withStore(dir, undefined, async ({ store }) => store.write(puts(['k'], (key) => key)));
    await withStore(dir, undefined, async () => undefined);
    t.is((await filesOf(dir, '.data')).length, 1, 'the written file is reused, no new one');
  }));

test('a data file renamed to another id is CORRUPTED at open', (t) =>
  withDir(async (dir) => {
    await withStore(dir, undefined, async ({ store }) => store.write(puts(['k'], (key) => key)));
    const [name] = await filesOf(dir, '.data');
    await writeFile(path.join(dir, '000042.data'), await readFile(path.join(dir, name)));
    const err = await t.throwsAsync(() => new BitcaskEngine(dir).open());
    t.true(isEngineError(err, 'CORRUPTED'), String(err));
  }));

// Power loss (issue 12): states a kill -9 never leaves.

test('power loss: zeros after the end of the newest file (size durable, data not) are a tear, not damage', (t) =>
  withDir(async (dir) => {
    await withStore(dir, undefined, async ({ store }) => {
      await store.write(
        puts(['a', 'b'], (key) => key),
        { sync: true },
      );
      await store.write(
        puts(['c'], (key) => key),
        { sync: true },
      );
    });
    const file = await newestDataFile(dir);
    const intact = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(4096));
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { bytesTruncated: 4096, damaged: false });
      t.deepEqual(engine.openReport(), {
        bytesDropped: 4096,
        torn: true,
        mayHaveDroppedAcknowledged: false,
      });
      t.deepEqual(await contents(store), [
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
      ]);
      t.is((await stat(file)).size, intact);
    });
  }));

test('power loss: a hole in a group commit that was never fdatasynced, later pages intact, is a tear', (t) =>
  withDir(async (dir) => {
    const big = (key: string): string => key.repeat(4000 / key.length);
    let groupStart = 0;
    let beforeClose = 0;
    await withStore(dir, undefined, async ({ store }) => {
      await store.write(
        puts(['a'], (key) => key),
        { sync: true },
      );
      // The first write goes out alone; the next three queue behind it and form one group:
      // one write(2) spanning several pages, then one fdatasync.
      const first = store.write(puts(['g0'], big), { sync: true });
      groupStart = (await stat(await newestDataFile(dir))).size;
      await Promise.all([
        first,
        ...['g1', 'g2', 'g3'].map((key) => store.write(puts([key], big), { sync: true })),
      ]);
      beforeClose = (await stat(await newestDataFile(dir))).size;
    });
    const file = await newestDataFile(dir);
    // What a crash between that write(2) and its fdatasync can leave: the size and the last
    // pages reached the disk, a page in the middle did not (zeros); no close mark either.
    const bytes = await readFile(file);
    const torn = Buffer.from(bytes.subarray(0, beforeClose));
    const holeAt = torn.lastIndexOf(Buffer.from('g1g1g1'), torn.length - 9000);
    t.true(holeAt > groupStart, `hole at ${holeAt}, the group starts at ${groupStart}`);
    torn.fill(0, holeAt, holeAt + 2000);
    await writeFile(file, torn);
    await withStore(dir, undefined, async ({ engine, store }) => {
      const recovery = engine.bitcaskStats().recovery;
      t.like(recovery, { damaged: false });
      t.true((recovery?.batchesDropped ?? 0) >= 2, `${recovery?.batchesDropped} batches dropped`);
      t.like(engine.openReport(), { torn: true, mayHaveDroppedAcknowledged: false });
      const keys = (await contents(store)).map(([key]) => key);
      t.true(keys.includes('a') && keys.includes('g0'), keys.join(','));
      t.false(
        keys.includes('g1') || keys.includes('g2') || keys.includes('g3'),
        'nothing after the hole is kept',
      );
    });
  }));

test('power loss: damage before the last sync mark makes the open report records that may have been acknowledged', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'v'.repeat(60)}`);
    await withStore(dir, undefined, async ({ store }) => {
      await store.write([{ type: 'put', key: 'victim', value: victim }], { sync: true });
      await store.write(
        puts(['after'], (key) => key),
        { sync: true },
      );
      await store.write(
        puts(['last'], (key) => key),
        { sync: true },
      );
    });
    const { file, offset } = await findInDataFiles(dir, victim);
    // Eight bytes in the middle of a durable record, not just one bit.
    const bytes = await readFile(file);
    bytes.fill(0x5a, offset + 20, offset + 28);
    await writeFile(file, bytes);
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.openReport(), { torn: false, mayHaveDroppedAcknowledged: true });
      t.deepEqual(
        (await contents(store)).map(([key]) => key),
        ['after', 'last'],
      );
    });
  }));

test('a version 1 file without sync marks (older writer): a bad frame followed by valid ones is damage, never cut', (t) =>
  withDir(async (dir) => {
    const victim = text(`VICTIM-${'w'.repeat(60)}`);
    let beforeClose = 0;
    await withStore(dir, undefined, async ({ store }) => {
      // sync: false writes no marks; the close mark is cut off below.
      await store.write([{ type: 'put', key: 'victim', value: victim }]);
      await store.write(puts(['after'], (key) => key));
      beforeClose = (await stat(await newestDataFile(dir))).size;
    });
    const file = await newestDataFile(dir);
    const bytes = Buffer.from((await readFile(file)).subarray(0, beforeClose));
    bytes[4] = 1; // the version byte
    bytes.writeUInt32BE(crc32(bytes.subarray(0, 20)), 20);
    const at = bytes.indexOf(Buffer.from(victim));
    bytes[at + 10] ^= 0x01;
    await writeFile(file, bytes);
    await withStore(dir, undefined, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { bytesTruncated: 0, damaged: true });
      t.deepEqual(
        (await contents(store)).map(([key]) => key),
        ['after'],
      );
    });
  }));
