/**
 * Operating a Set: a partition that leaves one replica behind, a crash that wipes a memory
 * replica, `store.verify()` finding what each replica lacks, `verify({ repair: true })`
 * catching them up from the majority, and `store.stats()` counters.
 *
 *   npx tsc -p . && node dist/examples/operations.js
 */
import { PaxosStore } from '../index';
import type { VerifyReport } from '../index';

function show(label: string, report: VerifyReport): void {
  const kinds: Record<string, number> = {};
  for (const m of report.mismatches) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
  const digests = report.replicas.map((r) => (r.digest === null ? 'down' : r.digest.slice(0, 8)));
  console.log(
    `${label.padEnd(34)} ok=${report.ok} aligned=${report.aligned} digests=${digests.join(',')} mismatches=${JSON.stringify(kinds)}`,
  );
}

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const keys = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    for (const k of keys) await store.kv('orders').put(k, 'new');
    // Reads through every replica make each one learn every write.
    for (let r = 0; r < 3; r++) for (const k of keys) await store.replica(r).kv('orders').get(k);
    show('after writes and reads', await store.verify());

    // Replica 2 is cut off while five orders change: the majority goes on without it.
    store.partition([[2], [0, 1]]);
    for (const k of keys.slice(0, 5)) await store.replica(0).kv('orders').put(k, 'paid');
    store.heal();
    show('after a partition', await store.verify());

    // verify({ repair: true }) reads each lagging key once through the replica that lags.
    const repaired = await store.verify({ repair: true });
    console.log(
      `repair reads                       ${repaired.repaired} done, ${repaired.repairFailed} failed`,
    );
    show('after repair', await store.verify());

    // A memory replica that crashes comes back empty and rebuilds the same way.
    await store.replica(1).crash();
    show('replica 1 down', await store.verify());
    await store.replica(1).restart();
    show('replica 1 restarted empty', await store.verify());
    await store.verify({ repair: true });
    show('after repair', await store.verify());

    const stats = await store.stats();
    console.log(
      'keys held per replica             ',
      stats.replicas.map((c) => c?.['keys'] ?? 0).join(', '),
    );
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
