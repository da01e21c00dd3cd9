/**
 * Issue 9: 2 Sets × 3 node processes.
 *   - The ring spreads the test's keys over both Sets (RouteTable from the same cluster file).
 *   - A request entering through a node of the other Set is forwarded and succeeds: keys of s0
 *     written only through s1's nodes land on s0's replicas (status `keys`), not on s1's.
 *   - With one node of each Set killed (SIGKILL), every key can still be written and read,
 *     through the routing client, through every surviving node, and by a client that connects
 *     after the kills.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { loadClusterConfig } from '../../../cluster/cluster-config';
import { RouteTable } from '../../../cluster/route-table';
import { NAMESPACE_SEPARATOR } from '../../../actors/store/kv';
import type { RemoteStore } from '../../../client/remote-store';
import { Cluster } from './harness';

const NS = 'two';
const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`);

async function keysOn(cluster: Cluster, node: string): Promise<number> {
  const s = (await cluster.control(node, 'status')) as { keys?: unknown };
  if (typeof s.keys !== 'number') throw new Error(`status of ${node} has no keys count`);
  return s.keys;
}

/** Writes then reads back every key through `via`; returns the failures. */
async function roundTrip(
  store: RemoteStore,
  keys: readonly string[],
  tag: string,
): Promise<string[]> {
  const failures: string[] = [];

  const kv = store.kv(NS);
  for (const key of keys) {
    try {
      const { version } = await kv.put(key, `${tag}-${key}`);
      const got = await kv.get(key);
      if (got?.value.toString() !== `${tag}-${key}` || got.version !== version)
        failures.push(`${tag} ${key}: read ${JSON.stringify(got)}`);
    } catch (error) {
      failures.push(
        `${tag} ${key}: ${String((error as { code?: unknown }).code)} ${(error as Error).message}`,
      );
    }
  }
  return failures;
}

function keysBySet(cluster: Cluster): Map<string, string[]> {
  const routes = RouteTable.fromConfig(loadClusterConfig(cluster.configPath));
  const bySet = new Map<string, string[]>();
  for (const key of KEYS) {
    const set = routes.setOfKey(`${NS}${NAMESPACE_SEPARATOR}${key}`).id;
    bySet.set(set, [...(bySet.get(set) ?? []), key]);
  }
  return bySet;
}

async function forwardedWritesLandInTheirSet(
  t: ExecutionContext,
  cluster: Cluster,
  store: RemoteStore,
  s0Keys: string[],
): Promise<void> {
  for (const via of ['n4', 'n5', 'n6']) {
    t.deepEqual(
      await roundTrip(store.node(via), s0Keys, `via-${via}`),
      [],
      `s0 keys through ${via} (a node of s1) are forwarded`,
    );
  }
  for (const name of ['n1', 'n2', 'n3'])
    t.true((await keysOn(cluster, name)) >= s0Keys.length, `${name} (s0) holds the forwarded keys`);
  for (const name of ['n4', 'n5', 'n6'])
    t.is(await keysOn(cluster, name), 0, `${name} (s1) stored none of s0's keys`);
}

test('two Sets: keys spread by the ring, forwarding, one node of each Set lost', async (t) => {
  t.timeout(120_000);
  const cluster = await Cluster.start(t, { sets: 2, engine: 'bitcask', sync: 'batch' });
  const bySet = keysBySet(cluster);
  const s0Keys = bySet.get('s0') ?? [];
  const s1Keys = bySet.get('s1') ?? [];
  t.true(
    s0Keys.length > 0 && s1Keys.length > 0,
    `the ring spreads the keys over both Sets: ${JSON.stringify(Object.fromEntries(bySet))}`,
  );
  const store = await cluster.connect();
  t.deepEqual(
    store.routes.sets.map((s) => s.id),
    ['s0', 's1'],
    'the client learnt both Sets from the nodes',
  );

  await forwardedWritesLandInTheirSet(t, cluster, store, s0Keys);
  for (const via of ['n1', 'n4']) {
    t.deepEqual(
      await roundTrip(store.node(via), KEYS, `all-${via}`),
      [],
      `every key through ${via}`,
    );
  }

  await cluster.node('n1').kill9();
  await cluster.node('n4').kill9();
  t.deepEqual(
    await roundTrip(store, KEYS, 'routed-after-kill'),
    [],
    'every key is available through the routing client',
  );
  for (const via of ['n2', 'n3', 'n5', 'n6']) {
    t.deepEqual(
      await roundTrip(store.node(via), KEYS, `after-kill-${via}`),
      [],
      `every key is available through ${via}`,
    );
  }
  // A client that connects now (its first seed, n1, is dead) learns the table from another
  // seed and serves every key too.
  const late = await cluster.connect();
  t.deepEqual(
    late.stats().nodesUp.sort(),
    ['n2', 'n3', 'n5', 'n6'],
    'the late client reaches the four live nodes',
  );
  t.deepEqual(
    await roundTrip(late, KEYS, 'late-client'),
    [],
    'every key is available to a client connected after the kills',
  );
  const exits = await cluster.stopAll();
  t.deepEqual(
    exits.map((e) => e.code),
    [0, 0, 0, 0],
    'the surviving nodes stop cleanly',
  );
});
