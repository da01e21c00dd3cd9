/**
 * Damage found at open is reported until the caller says it handled it (issue 11, the known
 * issue of the repair helper): without `acknowledgeDamage` every open reports the same damage
 * again (the signal is never lost, e.g. to a crash before the caller acted on it); after it,
 * the same regions are counted (`bytesDamagedKnown`) but not reported, while new damage still
 * is, and a merge removes the damage for good.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { DAMAGE_RECORD_NAME } from '../../../engines/bitcask/damage-record';
import {
  findInDataFiles,
  flipBit,
  puts,
  text,
  withDir,
  withStore,
} from './fixtures/bitcask-helpers';

const SMALL = { fileBytesMax: 2048, autoMerge: false } as const;

/** Two victims in different (older, fsynced) files, and plenty of other keys. */
async function fill(dir: string): Promise<void> {
  await withStore(dir, SMALL, async ({ store }) => {
    await store.write([{ type: 'put', key: 'victim-1', value: text(`ONE-${'a'.repeat(200)}`) }]);
    await store.write(puts(['other-1', 'other-2'], (key) => key.repeat(200)));
    await store.write([{ type: 'put', key: 'victim-2', value: text(`TWO-${'b'.repeat(200)}`) }]);
    await store.write(puts(['other-3', 'other-4'], (key) => key.repeat(200)));
    // Overwritten: dead bytes, so a merge is never skipped for growing the data.
    await store.write(puts(['other-1', 'other-2'], (key) => key.repeat(210)));
  });
}

async function damage(dir: string, needle: string): Promise<void> {
  const { file, offset } = await findInDataFiles(dir, text(needle));
  await flipBit(file, offset + 100);
}

test('damage is reported at every open until acknowledged; then only new damage is', (t) =>
  withDir(async (dir) => {
    await fill(dir);
    await damage(dir, 'ONE-');
    for (let open = 0; open < 2; open++) {
      await withStore(dir, SMALL, async ({ engine }) => {
        t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true }, `open ${open}`);
        t.is(engine.bitcaskStats().recovery?.damageRegions.length, 1);
      });
    }
    await withStore(dir, SMALL, async ({ engine }) => {
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true });
      await engine.acknowledgeDamage();
    });
    await withStore(dir, SMALL, async ({ engine, store }) => {
      const recovery = engine.bitcaskStats().recovery;
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: false, torn: false });
      t.true((recovery?.bytesDamaged ?? 0) > 0, 'the damage is still there, and counted');
      t.is(recovery?.bytesDamagedKnown, recovery?.bytesDamaged);
      t.is(await store.get('victim-1'), undefined);
      t.deepEqual(await store.get('other-3'), text('other-3'.repeat(200)));
    });
    // New damage elsewhere: reported, while the acknowledged region stays known.
    await damage(dir, 'TWO-');
    await withStore(dir, SMALL, async ({ engine }) => {
      const recovery = engine.bitcaskStats().recovery;
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true });
      t.is(recovery?.damageRegions.length, 2);
      t.true((recovery?.bytesDamagedKnown ?? 0) > 0);
      t.true((recovery?.bytesDamaged ?? 0) > (recovery?.bytesDamagedKnown ?? 0));
    });
  }));

test('a damaged DAMAGE record is ignored: the damage is reported again', (t) =>
  withDir(async (dir) => {
    await fill(dir);
    await damage(dir, 'ONE-');
    await withStore(dir, SMALL, ({ engine }) => engine.acknowledgeDamage());
    const record = path.join(dir, DAMAGE_RECORD_NAME);
    const bytes = await readFile(record);
    bytes[bytes.length - 2] ^= 0x01;
    await writeFile(record, bytes);
    await withStore(dir, SMALL, async ({ engine }) => {
      t.like(engine.openReport(), { mayHaveDroppedAcknowledged: true });
      t.is(engine.bitcaskStats().recovery?.bytesDamagedKnown, 0);
    });
  }));

test('a merge removes acknowledged damage with its file; later opens find none', (t) =>
  withDir(async (dir) => {
    await fill(dir);
    await damage(dir, 'ONE-');
    await withStore(dir, SMALL, async ({ engine }) => {
      await engine.acknowledgeDamage();
      const result = await engine.merge();
      t.true(result.inputFiles > 0 && result.bytesReclaimed > 0, JSON.stringify(result));
      await engine.acknowledgeDamage(); // drops the regions of the removed files
    });
    await withStore(dir, SMALL, async ({ engine, store }) => {
      t.like(engine.bitcaskStats().recovery, { bytesDamaged: 0, damaged: false });
      t.deepEqual(await store.get('other-4'), text('other-4'.repeat(200)));
    });
  }));
