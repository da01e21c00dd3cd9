/**
 * The route table: built from the config, keys to Sets and to nodes (home replica first, as the
 * embedded store picks it), a content-derived version, and a validated JSON round trip.
 */
import test from 'ava';
import { homeReplicaOf } from '../../../actors/store/routing';
import { parseClusterConfig } from '../../../cluster/cluster-config';
import type { ClusterConfig } from '../../../cluster/cluster-config';
import { RouteTableError } from '../../../cluster/cluster-error';
import { HashRing } from '../../../cluster/hash-ring';
import { RouteTable } from '../../../cluster/route-table';

interface FileShape {
  secret: string;
  vnodes?: number;
  sets: { id: string; replicas: { node: string; address: string; zone?: string }[] }[];
}

function config(change: (c: FileShape) => void = () => {}): ClusterConfig {
  const c = {
    secret: '0123456789abcdef',
    sets: [0, 1, 2].map((s) => ({
      id: `s${s}`,
      replicas: [1, 2, 3].map((r) => ({
        node: `n${s * 3 + r}`,
        address: `10.0.${s}.${r}:7100`,
        zone: `z${r}`,
      })),
    })),
  };
  change(c);
  return parseClusterConfig(JSON.stringify(c), '/');
}

const KEYS = Array.from({ length: 3000 }, (_, i) => `key-${i}`);

test('fromConfig: the sets, replicas and vnodes of the file, no secret', (t) => {
  const table = RouteTable.fromConfig(config());
  t.is(table.sets.length, 3);
  t.deepEqual(table.sets[1]?.replicas[0], { node: 'n4', address: '10.0.1.1:7100', zone: 'z1' });
  t.is(table.vnodes, 128);
  t.false(table.encode().includes('0123456789abcdef'));
});

test('setOfKey agrees with a hash ring over the set ids', (t) => {
  const table = RouteTable.fromConfig(config());
  const ring = new HashRing(['s0', 's1', 's2'], 128);
  for (const key of KEYS) t.is(table.setOfKey(key).id, ring.setOf(key));
});

test('nodesForKey: all of the set, starting at the home replica the embedded store uses, then in order', (t) => {
  const table = RouteTable.fromConfig(config());
  const homes = new Set<number>();
  for (const key of KEYS) {
    const set = table.setOfKey(key);
    const nodes = table.nodesForKey(key);
    const home = homeReplicaOf(key, 3);
    homes.add(home);
    t.is(nodes.length, 3);
    t.deepEqual(
      nodes,
      [0, 1, 2].map((i) => set.replicas[(home + i) % 3]),
    );
  }
  t.deepEqual([...homes].sort(), [0, 1, 2], 'every slot is some key home');
});

test('version: derived from the content, the same for equal content, different when the content changes (set order included)', (t) => {
  const a = RouteTable.fromConfig(config());
  t.regex(a.version, /^[0-9a-f]{16}$/);
  t.is(RouteTable.fromConfig(config()).version, a.version);
  // The secret and groups do not route keys: they do not change the version.
  t.is(RouteTable.fromConfig(config((c) => (c.secret = 'another-secret-0123'))).version, a.version);
  const changes: ((c: FileShape) => void)[] = [
    (c) => (c.vnodes = 64),
    (c) => c.sets.reverse(),
    (c) => c.sets[0]?.replicas.reverse(),
    (c) => c.sets.pop(),
    (c) => Object.assign(c.sets[2]?.replicas[1] ?? {}, { address: '10.9.9.9:7100' }),
    (c) => Object.assign(c.sets[2]?.replicas[1] ?? {}, { node: 'n99' }),
    (c) => Object.assign(c.sets[2]?.replicas[1] ?? {}, { zone: 'z9' }),
    (c) => delete c.sets[2]?.replicas[1]?.zone,
    (c) => Object.assign(c.sets[2] ?? {}, { id: 's9' }),
  ];
  const versions = new Set([
    a.version,
    ...changes.map((change) => RouteTable.fromConfig(config(change)).version),
  ]);
  t.is(versions.size, changes.length + 1);
});

test('encode/decode round trip keeps the table and its routing', (t) => {
  const table = RouteTable.fromConfig(config((c) => delete c.sets[0]?.replicas[2]?.zone));
  const decoded = RouteTable.decode(table.encode());
  t.deepEqual(decoded.toData(), table.toData());
  t.is(decoded.encode(), table.encode());
  for (const key of KEYS.slice(0, 500))
    t.deepEqual(decoded.nodesForKey(key), table.nodesForKey(key));
});

function tampered(
  change: (
    o: {
      version: string;
      vnodes: unknown;
      sets: { id: string; replicas: Record<string, unknown>[] }[];
    } & Record<string, unknown>,
  ) => void,
): string {
  const o = JSON.parse(RouteTable.fromConfig(config()).encode()) as Parameters<typeof change>[0];
  change(o);
  return JSON.stringify(o);
}

test('decode refuses what is not a valid table, with INVALID_ROUTE_TABLE', (t) => {
  const bad: [string, string][] = [
    ['{', 'not valid JSON'],
    ['[]', 'must be an object'],
    [tampered((o) => (o.extra = 1)), 'unknown field extra'],
    [tampered((o) => (o.version = 'v1')), 'version must be 16 hex digits'],
    [tampered((o) => (o.version = '0000000000000000')), 'does not match its content'],
    [tampered((o) => (o.vnodes = 0)), 'vnodes must be an integer'],
    [tampered((o) => (o.vnodes = 64)), 'does not match its content'],
    [tampered((o) => (o.sets[1] = o.sets[0] ?? o.sets[1])), 'set id s0 is already used'],
    [tampered((o) => o.sets[1]?.replicas.pop()), 'odd count'],
    [
      tampered((o) => ((o.sets[1]?.replicas[0] ?? {}).address = 'nowhere')),
      'sets[1].replicas[0].address',
    ],
    [
      tampered((o) => ((o.sets[1]?.replicas[0] ?? {}).secret = 'x')),
      'unknown field sets[1].replicas[0].secret',
    ],
    ['x'.repeat(4 * 1024 * 1024 + 1), 'larger than'],
  ];
  for (const [text, fragment] of bad) {
    const err = t.throws(() => RouteTable.decode(text), { instanceOf: RouteTableError }, fragment);
    t.is(err?.code, 'INVALID_ROUTE_TABLE');
    t.true(err?.message.includes(fragment), `${JSON.stringify(err?.message)} names ${fragment}`);
  }
});
