/**
 * The key cache bound (actors/paxos/core/key-cache.ts): which keys a sweep may evict, CLOCK
 * order, the bound on the work of one sweep, and the probation segment of new keys (its bound,
 * FIFO order, busy keys, keys used again going to the main cache).
 */
import test from 'ava';
import { probationMax } from '../../../../../actors/paxos/core/key-cache';
import { CoreNet } from './core-net';

function writeKeys(net: CoreNet, replica: number, keys: string[]): void {
  for (const k of keys) net.put(replica, k, `v-${k}`);
  net.deliver();
}

test('a sweep evicts untouched idle keys down to 90% of the bound, never more', (t) => {
  const net = new CoreNet();
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
  writeKeys(net, 0, keys);
  const core = net.core(1);
  core.tick(); // idle keys leave the active set on a tick
  t.is(core.stats()['keys'], 100);
  // Every key was just used: the hand gives each a second chance, then evicts on its next pass.
  t.is(
    core.evictIdle(50, () => true),
    55,
  );
  t.is(core.stats()['keys'], 45);
  t.is(core.stats()['keysEvicted'], 55);
  t.is(
    core.evictIdle(50, () => true),
    0,
    'under the bound: nothing to do',
  );
});

test('keys used since the last sweep stay; keys the shell is still writing stay', (t) => {
  const net = new CoreNet();
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  writeKeys(net, 0, keys);
  const core = net.core(1);
  core.tick();
  core.evictIdle(10, () => false); // clears every touched bit; the shell vetoes every key
  t.is(core.stats()['keys'], 20, 'the shell vetoed every eviction');
  writeKeys(net, 0, ['k0', 'k1']); // touched again
  core.tick();
  core.evictIdle(10, (key) => key !== 'k2');
  t.truthy(core.record('k0'), 'recently used');
  t.truthy(core.record('k1'), 'recently used');
  t.truthy(core.record('k2'), 'being written');
  t.is(core.stats()['keys'], 9);
});

test('a key with work in progress is never evicted, and its write completes', (t) => {
  const net = new CoreNet();
  writeKeys(net, 0, ['a', 'b', 'c']);
  const core = net.core(0);
  core.tick();
  net.put(0, 'a', 'pending'); // a proposal in flight, not delivered
  core.tick();
  t.is(
    core.evictIdle(1, () => true),
    2,
  );
  t.truthy(core.record('a'), 'a has a pending write');
  t.is(core.record('b'), undefined);
  t.is(core.record('c'), undefined);
  net.deliver();
  t.is(core.record('a')?.chosen, 2, 'the write still completes');
});

test('a key that is not settled (loading) is never evicted', (t) => {
  const net = new CoreNet();
  const core = net.core(0);
  core.request({ kind: 'write', token: 1, key: 'x', op: new Uint8Array(0) });
  t.deepEqual(core.ready().load, ['x']); // the load is not answered
  core.tick();
  t.is(
    core.evictIdle(1, () => true),
    0,
  );
  t.is(core.stats()['keys'], 1);
});

test('probationMax: an eighth of the bound, at least one key', (t) => {
  const cases: Array<[number, number]> = [
    [1, 1],
    [8, 1],
    [15, 1],
    [16, 2],
    [100, 12],
    [16_384, 2048],
  ];
  for (const [keysMax, want] of cases) t.is(probationMax(keysMax), want, `keysMax ${keysMax}`);
  t.throws(() => probationMax(0));
  t.throws(() => probationMax(1.5));
});

/**
 * A core whose cache has been over its bound (two seed keys over a bound of one: both evicted,
 * kept in `net.kept[1]`), which turns its probation segment on; then `n` new keys written
 * through replica 0.
 */
function probationNet(n: number): CoreNet {
  const net = new CoreNet();
  writeKeys(net, 0, ['seed0', 'seed1']);
  net.core(1).tick();
  net.evict(1, 1);
  net.evict(1, 1);
  if (net.core(1).stats()['keys'] !== 0) throw new Error('seed keys not evicted');
  writeKeys(
    net,
    0,
    Array.from({ length: n }, (_, i) => `n${i}`),
  );
  net.core(1).tick();
  return net;
}

test('new keys past the probation bound go oldest first, touched or not (2Q A1in)', (t) => {
  const net = probationNet(30);
  const core = net.core(1);
  // keysMax 80: probation bound 10, trimmed to 9; the main bound (80) is not reached.
  t.is(net.evict(1, 80), 21);
  t.is(core.stats()['keys'], 9);
  t.is(core.stats()['keysEvictedYoung'], 21);
  t.is(core.stats()['keysEvicted'], 23, 'and the two seeds');
  for (let i = 0; i < 21; i++) t.is(core.record(`n${i}`), undefined, `n${i} was oldest`);
  for (let i = 21; i < 30; i++) t.truthy(core.record(`n${i}`), `n${i} is younger`);
  t.is(net.kept[1]?.size, 23, 'every evicted record was handed over (seeds too)');
  t.is(net.evict(1, 80), 0, 'within the bound: nothing to do');
});

test('a busy new key stays in probation and goes once it is idle', (t) => {
  const net = probationNet(12);
  const core = net.core(1);
  // Bound 10, trimmed to 9. n0's store write is still staged: the shell vetoes it, so it moves
  // to the back of the segment and n1..n3 go instead.
  t.is(
    net.evict(1, 80, (key) => key !== 'n0'),
    3,
  );
  t.truthy(core.record('n0'), 'vetoed, so kept');
  for (let i = 1; i <= 3; i++) t.is(core.record(`n${i}`), undefined, `n${i}`);
  // Segment: n4..n11, n0. Three more new keys: the three oldest (n4..n6) go, not n0.
  writeKeys(net, 0, ['m0', 'm1', 'm2']);
  core.tick();
  t.is(net.evict(1, 80), 3);
  for (let i = 4; i <= 6; i++) t.is(core.record(`n${i}`), undefined, `n${i} older than n0`);
  t.truthy(core.record('n0'), 'n0 went to the back of the segment');
  // Segment: n7..n11, n0, m0..m2. Six more: n7..n11 and then n0, idle now, go.
  writeKeys(
    net,
    0,
    Array.from({ length: 6 }, (_, i) => `q${i}`),
  );
  core.tick();
  t.is(net.evict(1, 80), 6);
  t.is(core.record('n0'), undefined, 'idle now: evicted in its turn');
  t.truthy(core.record('m0'));
});

test('a key used again after eviction loads its record and is held by the main cache', (t) => {
  const net = probationNet(20);
  const core = net.core(1);
  t.is(net.evict(1, 8), 20, 'bound 1, trimmed to 0: every new key goes');
  const back = Array.from({ length: 10 }, (_, i) => `n${i}`);
  for (const key of back) net.read(1, key, 'local'); // loads its kept record: not a new key
  t.is(core.record('n0')?.chosen, 1, 'the kept record came back');
  writeKeys(
    net,
    0,
    Array.from({ length: 8 }, (_, i) => `p${i}`),
  );
  core.tick();
  // keysMax 16: the probation bound is 2 (trimmed to 1), the main bound is not reached.
  t.is(net.evict(1, 16), 7);
  for (const key of back) t.truthy(core.record(key), `${key} is held by the main cache`);
  t.truthy(core.record('p7'), 'the youngest new key');
  // keysMax 8: 11 keys, main sweep down to 7. Every key was used since: CLOCK clears all 11
  // bits first, then evicts the oldest four.
  t.is(net.evict(1, 8), 4);
  for (let i = 0; i < 4; i++) t.is(core.record(`n${i}`), undefined, `n${i}`);
  for (let i = 4; i < 10; i++) t.truthy(core.record(`n${i}`), `n${i}`);
  t.is(core.stats()['keys'], 7);
});

test('a new key evicted while still empty (a read of a missing key) hands nothing over', (t) => {
  const net = probationNet(0);
  for (let i = 0; i < 12; i++) net.read(1, `x${i}`, 'local');
  const core = net.core(1);
  core.tick();
  t.is(net.evict(1, 80), 3);
  t.is(net.kept[1]?.size, 2, 'an empty record is forgotten, not kept (the seeds are)');
});

test('a cache that was never over its bound keeps its new keys (no probation)', (t) => {
  // A working set that fits the cache stays whole: the segment turns on only under pressure.
  const net = new CoreNet();
  writeKeys(
    net,
    0,
    Array.from({ length: 30 }, (_, i) => `n${i}`),
  );
  const core = net.core(1);
  core.tick();
  t.is(net.evict(1, 80), 0, 'probation bound 10, but 30 keys fit a cache of 80');
  t.is(core.stats()['keys'], 30);
  t.is(core.stats()['keysEvictedYoung'] ?? 0, 0);
});

test('new keys met before the cache was first over its bound are trimmed from probation once it is', (t) => {
  // A stream of new keys: the first cache-full of them must not stay for good in the main cache.
  const net = new CoreNet();
  net.evict(1, 80); // the shell bounds the cache: new keys are tracked from now on
  writeKeys(
    net,
    0,
    Array.from({ length: 100 }, (_, i) => `n${i}`),
  );
  const core = net.core(1);
  core.tick();
  t.is(net.evict(1, 80), 91, 'over the bound: the segment (all 100) is trimmed to 9');
  t.is(core.stats()['keysEvictedYoung'], 91);
  t.is(core.record('n90'), undefined);
  t.truthy(core.record('n91'));
});

test('warming a batch reads keys without loading one or keeping one in the cache', (t) => {
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  // Two identical cores; the second warms, before its sweep, exactly the keys the first evicts.
  const sweep = (warmed: readonly string[]): string[] => {
    const net = new CoreNet();
    writeKeys(net, 0, keys);
    const core = net.core(1);
    core.tick();
    core.evictIdle(10, () => false); // clears every touched bit; the shell vetoes every key
    for (const k of warmed)
      t.true(core.warm([{ key: k }]) >= 1, 'a written key reads its chosen instance');
    t.is(core.warm([{ key: 'never-written' }]), 0);
    t.deepEqual(core.ready().load, [], 'an unknown key is not loaded');
    core.tick();
    core.evictIdle(10, () => true);
    return keys.filter((k) => core.record(k) === undefined);
  };
  const evicted = sweep([]);
  t.is(evicted.length, 11);
  t.deepEqual(sweep(evicted), evicted, 'a warmed key is not marked used');
});
