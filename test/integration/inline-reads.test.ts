/**
 * Point reads on the worker's own thread (engines/inline-reads.ts), seen from the store: after
 * a reopen every key is read from the engine on its first touch, those reads are counted in
 * each worker's stats (`moduleCounters.inlineReads`), and they answer what was written.
 */
import test from 'ava';
import type { WorkerStats } from '../../runtime/worker-stats';
import { openStore, tempDir } from './helpers';
import { PaxosStore } from '../../index';
import { FAST } from './helpers';

const KEYS = 200;

function inlineReads(workers: WorkerStats[]): number {
  return workers.reduce((n, w) => n + (w.moduleCounters?.['inlineReads']?.['inline'] ?? 0), 0);
}

for (const engine of ['lsm', 'bitcask', 'bitcask2'] as const) {
  test.serial(
    `${engine}: reads after a reopen go inline, are counted, and answer the data`,
    async (t) => {
      const dir = tempDir(t);
      const store = await openStore(t, { engine, dir });
      const kv = store.kv('reads');
      await Promise.all(Array.from({ length: KEYS }, (_, i) => kv.put(`k${i}`, `v${i}`)));
      await store.close();
      const again = await PaxosStore.open({ ...FAST, engine, dir });
      try {
        const before = inlineReads((await again.stats()).workers as WorkerStats[]);
        const values = await Promise.all(
          Array.from({ length: KEYS }, (_, i) => again.kv('reads').get(`k${i}`)),
        );
        t.deepEqual(
          values.map((v) => (v === undefined ? undefined : Buffer.from(v.value).toString())),
          Array.from({ length: KEYS }, (_, i) => `v${i}`),
        );
        const workers = (await again.stats()).workers as WorkerStats[];
        t.true(inlineReads(workers) > before, JSON.stringify(workers.map((w) => w.moduleCounters)));
        t.true(
          workers.every((w) => typeof w.moduleCounters?.['inlineReads']?.['stalls'] === 'number'),
          'every worker reports its read gate',
        );
      } finally {
        await again.close();
      }
    },
  );
}
