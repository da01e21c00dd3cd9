/**
 * Routing from a key's two parts (actors/store/routing.ts routeOfParts):
 * a namespace's prefix and the caller's key route exactly as their concatenation does, which
 * is what every replica and the remote client compute from the whole key. A table of prefixes
 * and names, ASCII and not (the hash runs over UTF-16 units, so any split is the same).
 */
import test from 'ava';
import { groupOfKey, homeReplicaOf, routeOfParts } from '../../../../actors/store/routing';
import type { KeyRoute } from '../../../../actors/store/routing';

function route(prefix: string, name: string, groups: number, replicas: number): KeyRoute {
  const out = { group: -1, home: -1 };
  routeOfParts(prefix, name, groups, replicas, out);
  return out;
}

const PREFIXES = [
  '',
  'bench\u0001',
  'ns\u0001',
  '\u0000',
  'namespace.with-64-chars:x\u0001',
  'é\u0001',
];
const NAMES = [
  '',
  'k',
  'key-00001234',
  'a much longer key than twelve characters',
  '雪',
  '\ud83d\ude00x',
];

test('the parts of a key route as the whole key does (groups and home replica)', (t) => {
  let checked = 0;
  for (const prefix of PREFIXES) {
    for (const name of NAMES) {
      for (const groups of [1, 2, 3, 7, 64, 2 ** 32]) {
        for (const replicas of [1, 3, 5, 2 ** 32]) {
          t.deepEqual(route(prefix, name, groups, replicas), {
            group: groupOfKey(prefix + name, groups),
            home: homeReplicaOf(prefix + name, replicas),
          });
          checked++;
        }
      }
    }
  }
  t.is(checked, PREFIXES.length * NAMES.length * 24);
});

test('many random keys route the same from their parts', (t) => {
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 2000; i++) {
    const prefix = `ns${next() % 1000}\u0001`;
    const name = `key-${next().toString(16)}`;
    t.deepEqual(route(prefix, name, 2 ** 32, 2 ** 32), {
      group: groupOfKey(prefix + name, 2 ** 32),
      home: homeReplicaOf(prefix + name, 2 ** 32),
    });
  }
});
