/**
 * Issue 7 (4): a replica whose directory is lost while the store lives on (deleted, or its disk
 * replaced) must come up amnesic — it recovers each key from a majority of the others before it
 * takes part — and must not reuse ids of its past incarnations. It stays amnesic on later
 * starts too, since the keys it has not recovered are missing, not absent.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { FAST, tempDir } from './helpers';

const KEYS = Array.from({ length: 12 }, (_, i) => `key-${i}`);

test.serial(
  'a lost replica directory comes up amnesic, with new incarnations, and stays so',
  async (t) => {
    const dir = tempDir(t, 'pxs-lost-');
    const options = { ...FAST, engine: 'lsm' as const, dir, sync: 'always' as const };
    let store = await PaxosStore.open(options);
    for (const key of KEYS) await store.replica(0).kv('n').put(key, `v-${key}`);
    await store.close();
    const before = fs
      .readFileSync(path.join(dir, 'replica-1', 'group-0.incarnation'), 'utf8')
      .trim();
    t.is(before, '1');

    fs.rmSync(path.join(dir, 'replica-1'), { recursive: true, force: true });
    store = await PaxosStore.open(options);
    try {
      // Replica 1 takes part in a key only after recovering it from its peers, never from its
      // empty directory; its answers are the acknowledged writes.
      for (const key of KEYS)
        t.is((await store.replica(1).kv('n').get(key))?.value.toString(), `v-${key}`, key);
      const stats = await store.stats();
      t.true((stats.replicas[1]?.recoveries ?? 0) >= KEYS.length, 'replica 1 recovered its keys');
      t.is(stats.replicas[0]?.recoveries ?? 0, 0, 'replica 0 kept its state');
      for (let g = 0; g < 4; g++) {
        t.is(
          fs.readFileSync(path.join(dir, 'replica-1', `group-${g}.incarnation`), 'utf8').trim(),
          '2',
          'the root copy keeps counting',
        );
        t.true(fs.existsSync(path.join(dir, 'replica-1', `group-${g}.amnesic`)), 'marked amnesic');
      }
      await store.replica(1).kv('n').put('after', 'loss');
    } finally {
      await store.close();
    }

    // A later start does not trust the directory either: keys it has not recovered since may be
    // missing, so every key recovers again (until a full rebuild clears the marker).
    store = await PaxosStore.open(options);
    try {
      for (const key of KEYS)
        t.is((await store.replica(1).kv('n').get(key))?.value.toString(), `v-${key}`);
      const stats = await store.stats();
      t.true(
        (stats.replicas[1]?.recoveries ?? 0) >= KEYS.length,
        'still amnesic on the next start',
      );
      t.is(stats.replicas[2]?.recoveries ?? 0, 0, 'the others are not');
    } finally {
      await store.close();
    }
  },
);
