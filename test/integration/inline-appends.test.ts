/**
 * The bitcask family's appends on the worker's own thread (engines/fs/inline-writes.ts), seen
 * from the store: counted in each worker's stats (`moduleCounters.inlineAppends`), and the data
 * written that way reads back after a reopen.
 */
import test from 'ava';
import type { WorkerStats } from '../../runtime/worker-stats';
import { openStore, tempDir } from './helpers';
import { PaxosStore } from '../../index';
import { FAST } from './helpers';

for (const engine of ['bitcask', 'bitcask2'] as const) {
  test.serial(`${engine}: appends go inline, are counted per worker, and read back`, async (t) => {
    const dir = tempDir(t);
    const store = await openStore(t, { engine, dir });
    const kv = store.kv('inline');
    await Promise.all(Array.from({ length: 200 }, (_, i) => kv.put(`k${i}`, `v${i}`)));
    const workers = (await store.stats()).workers as WorkerStats[];
    const counts = workers.map((w) => w.moduleCounters?.['inlineAppends']);
    const inline = counts.reduce((n, c) => n + (c?.['inline'] ?? 0), 0);
    t.true(inline > 0, `inline appends ${JSON.stringify(counts)}`);
    t.true(
      counts.every((c) => c !== undefined && typeof c['stalls'] === 'number'),
      'every worker reports its gate',
    );
    await store.close();
    const again = await PaxosStore.open({ ...FAST, engine, dir });
    try {
      const values = await Promise.all(
        Array.from({ length: 200 }, (_, i) => again.kv('inline').get(`k${i}`)),
      );
      t.deepEqual(
        values.map((v) => (v === undefined ? undefined : Buffer.from(v.value).toString())),
        Array.from({ length: 200 }, (_, i) => `v${i}`),
      );
    } finally {
      await again.close();
    }
  });
}
