/**
 * Consistent hashing: determinism, balance, minimal movement, and independence from the store's
 * in-Set hashes (group and home replica). The statistical checks are run once against a bad hash
 * too (negative controls), to show they can fail.
 */
import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { groupOfKey, homeReplicaOf } from '../../../actors/store/routing';
import { HashRing, ringHash } from '../../../cluster/hash-ring';

/** Deterministic pseudo-random keys (a fixed LCG: the test is the same on every run). */
function randomKeys(count: number, seed: number): string[] {
  let x = seed >>> 0;
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const y = (Math.imul(x ^ (x >>> 15), 2246822519) >>> 0).toString(36);
    keys.push(`user:${y}:${i % 97}`);
  }
  return keys;
}

const KEYS = randomKeys(100_000, 42);
const setIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);

function countsBy(values: Iterable<number>, buckets: number): number[] {
  const counts = new Array<number>(buckets).fill(0);
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** Largest relative distance from fair share over buckets (0.35 = ±35%). */
function worstDeviation(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const fair = total / counts.length;
  return Math.max(...counts.map((c) => Math.abs(c - fair) / fair));
}

test('ringHash is SHA-1 prefix: fixed values (a change would move every key in a running cluster)', (t) => {
  // sha1('') = da39a3ee..., sha1('abc') = a9993e36...
  t.is(ringHash(''), 0xda39a3ee);
  t.is(ringHash('abc'), 0xa9993e36);
});

test('ringHash (one-shot hash) equals the first 4 bytes of createHash sha1, UTF-8 included', (t) => {
  const texts = [...KEYS.slice(0, 2000), 'ключ', 'k\u0000ey', '\u{1f600}', 'a'.repeat(5000)];
  for (const text of texts) {
    const expected = createHash('sha1').update(text, 'utf8').digest().readUInt32BE(0);
    t.is(ringHash(text), expected, text.slice(0, 40));
  }
});

test('a ring of one Set owns every key without hashing it (the node asks per request)', (t) => {
  let keyHashes = 0;
  const hash = (text: string): number => {
    if (!text.includes('#')) keyHashes++;
    return ringHash(text);
  };
  const one = new HashRing(['s0'], 64, hash);
  for (const key of KEYS.slice(0, 1000)) t.is(one.setOf(key), 's0');
  t.is(keyHashes, 0);
  // Two Sets hash every key: the count above is not zero for want of calls.
  const two = new HashRing(['s0', 's1'], 64, hash);
  for (const key of KEYS.slice(0, 1000)) two.setOf(key);
  t.is(keyHashes, 1000);
});

test('determinism: same sets and vnodes give the same owner, whatever the order the sets are listed in', (t) => {
  const a = new HashRing(['s0', 's1', 's2', 's3'], 64);
  const b = new HashRing(['s3', 's1', 's0', 's2'], 64);
  const c = new HashRing(['s0', 's1', 's2', 's3'], 64);
  for (const key of KEYS.slice(0, 5000)) {
    t.is(a.setOf(key), c.setOf(key));
    t.is(a.setOf(key), b.setOf(key));
  }
});

test('ring lookup: the first point at or after the key, wrapping past the top', (t) => {
  // A hand-made hash: set X's points at 100 and 300, Y's at 200; keys are numbers.
  const hash = (text: string): number =>
    ({ 'X#0': 100, 'X#1': 300, 'Y#0': 200, 'Y#1': 200 })[text] ?? Number(text);
  const ring = new HashRing(['X', 'Y'], 2, hash);
  const expected: [string, string][] = [
    ['0', 'X'],
    ['100', 'X'],
    ['101', 'Y'],
    ['200', 'Y'],
    ['201', 'X'],
    ['300', 'X'],
    ['301', 'X'],
    [String(0xffffffff), 'X'],
  ];
  for (const [key, set] of expected) t.is(ring.setOf(key), set, `key at ${key}`);
});

test('balance: 2..8 sets, 64 vnodes, 100k keys: every set within ±35% of fair', (t) => {
  for (let sets = 2; sets <= 8; sets++) {
    const ring = new HashRing(setIds(sets), 64);
    const deviation = worstDeviation(
      countsBy(
        KEYS.map((k) => ring.setIndexOf(k)),
        sets,
      ),
    );
    t.true(
      deviation <= 0.35,
      `${sets} sets: worst set is ${(deviation * 100).toFixed(1)}% off fair`,
    );
  }
});

test('balance check has teeth: a hash of the first characters only fails it', (t) => {
  const weak = (text: string): number =>
    ((text.charCodeAt(0) * 0x1000193) ^ text.charCodeAt(text.length - 1)) >>> 0;
  const ring = new HashRing(setIds(4), 64, weak);
  t.true(
    worstDeviation(
      countsBy(
        KEYS.map((k) => ring.setIndexOf(k)),
        4,
      ),
    ) > 0.35,
  );
});

test('minimal movement: adding a set moves keys only to the new set, about 1/(n+1) of them', (t) => {
  for (const sets of [2, 4, 7]) {
    const before = new HashRing(setIds(sets), 64);
    const after = new HashRing(setIds(sets + 1), 64);
    const newSet = `s${sets}`;
    let moved = 0;
    for (const key of KEYS) {
      const was = before.setOf(key);
      const now = after.setOf(key);
      if (was === now) continue;
      moved++;
      if (now !== newSet) t.fail(`key ${key} moved ${was} → ${now}, not to the new set ${newSet}`);
    }
    const share = moved / KEYS.length;
    const fair = 1 / (sets + 1);
    t.true(
      share > fair * 0.65 && share < fair * 1.35,
      `${sets}→${sets + 1} sets moved ${(share * 100).toFixed(1)}%`,
    );
  }
});

test('minimal movement, property: any sets, any keys, adding or removing one set', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 2, maxLength: 8 }),
      fc.array(fc.string({ maxLength: 24 }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 32 }),
      (ids, keys, vnodes) => {
        const all = new HashRing(ids, vnodes);
        const fewer = new HashRing(ids.slice(0, -1), vnodes);
        const removed = ids[ids.length - 1];
        // A key changes owner only if it belonged to the removed set.
        return keys.every((k) => all.setOf(k) === removed || all.setOf(k) === fewer.setOf(k));
      },
    ),
    { seed: 7, numRuns: 200 },
  );
  t.pass();
});

/** Keys of each set spread over the store's groups and home replicas (bucket = f(key)). */
function worstSpreadWithinSets(
  ring: HashRing,
  sets: number,
  buckets: number,
  bucketOf: (key: string) => number,
): number {
  const perSet = Array.from({ length: sets }, () => [] as number[]);
  for (const key of KEYS) perSet[ring.setIndexOf(key)]?.push(bucketOf(key));
  return Math.max(...perSet.map((values) => worstDeviation(countsBy(values, buckets))));
}

test('independence: the keys of one set spread over all groups and all home replicas', (t) => {
  for (const [sets, groups] of [
    [2, 8],
    [4, 8],
    [4, 16],
    [8, 4],
    [3, 2],
  ] as const) {
    const ring = new HashRing(setIds(sets), 64);
    const groupDeviation = worstSpreadWithinSets(ring, sets, groups, (k) => groupOfKey(k, groups));
    t.true(
      groupDeviation <= 0.35,
      `${sets} sets, ${groups} groups: a group is ${(groupDeviation * 100).toFixed(1)}% off fair`,
    );
    const homeDeviation = worstSpreadWithinSets(ring, sets, 3, (k) => homeReplicaOf(k, 3));
    t.true(
      homeDeviation <= 0.35,
      `${sets} sets: a home replica is ${(homeDeviation * 100).toFixed(1)}% off fair`,
    );
  }
});

test('independence check has teeth: a ring keyed on the group hash crowds each set into few groups', (t) => {
  // The bad design: position = the group hash with its low bits moved to the top, so the arc a
  // key falls on (its set) follows its group.
  const dependent = (text: string): number => {
    const g = groupOfKey(text, 0x100000000 / 2) >>> 0;
    return ((g << 29) | (g >>> 3)) >>> 0;
  };
  const ring = new HashRing(setIds(4), 64, dependent);
  t.true(worstSpreadWithinSets(ring, 4, 8, (k) => groupOfKey(k, 8)) > 0.35);
});
