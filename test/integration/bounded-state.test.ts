/**
 * Issue 13 (2): callers cannot grow the store's memory without bound by reading keys that were
 * never written. Such a read needs per-key Paxos state while it runs; once the key is idle and
 * still holds nothing, the state goes (on every engine, memory included).
 */
import test from 'ava';
import { openStore } from './helpers';

async function settled(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

for (const consistency of ['linearizable', 'local'] as const) {
  test(`memory: ${consistency} reads of 4,000 keys never written leave no lasting per-key state`, async (t) => {
    const store = await openStore(t, { engine: 'memory' });
    const kv = store.kv('n');
    await kv.put('real', 'value');
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => kv.get(`missing-${batch}-${i}`, { consistency })),
      );
    }
    const keysHeld = async (): Promise<number> => {
      const stats = await store.stats();
      return Math.max(...stats.replicas.map((r) => r?.keys ?? 0));
    };
    t.true(
      await settled(async () => (await keysHeld()) <= 10),
      `keys held per replica: ${await keysHeld()}`,
    );
    t.is((await kv.get('real'))?.value.toString(), 'value', 'a written key stays');
  });
}
