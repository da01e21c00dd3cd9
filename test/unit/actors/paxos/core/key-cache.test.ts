/**
 * The key cache bound (actors/paxos/core/key-cache.ts): which keys a sweep may evict, CLOCK
 * order, and the bound on the work of one sweep.
 */
import test from 'ava';
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
