/**
 * The core's key map with its cache of recent KeyStates (actors/paxos/core/key-map.ts): a slot
 * answers only for its own key, never for a deleted one, and the map's order is kept.
 */
import test from 'ava';
import { KeyMap, RECENT_SLOTS, slotOf } from '../../../../../actors/paxos/core/key-map';
import { newKeyState } from '../../../../../actors/paxos/core/key-state';
import type { KeyState } from '../../../../../actors/paxos/core/key-state';
import { emptyRecord } from '../../../../../actors/paxos/core/key-record';

const state = (key: string): KeyState => newKeyState(key, emptyRecord());

/** Two distinct keys that share a cache slot (found by search, bounded). */
function collidingKeys(): [string, string] {
  const first = 'a0';
  for (let i = 1; i < 100 * RECENT_SLOTS; i++) {
    const other = `a${i}`;
    if (slotOf(other) === slotOf(first)) return [first, other];
  }
  throw new Error('no colliding key found');
}

test('slotOf stays in range and reads the whole of a short key', (t) => {
  for (const key of ['x', 'k1', 'k12345', 'a/very/long/key/with/a/tail-000123', '鍵']) {
    const slot = slotOf(key);
    t.true(Number.isInteger(slot) && slot >= 0 && slot < RECENT_SLOTS, key);
  }
  // Keys that differ only in their first characters may share a slot; the map still tells them apart.
  t.is(slotOf('k1'), slotOf('k1'));
});

test('keys sharing a slot: each lookup answers its own key, from the slot or the map', (t) => {
  const map = new KeyMap();
  const [a, b] = collidingKeys();
  const ka = state(a);
  const kb = state(b);
  map.set(ka);
  map.set(kb); // takes the shared slot
  t.is(map.get(a), ka, 'the map answers once the slot holds another key');
  t.is(map.get(b), kb);
  t.is(map.get(a), ka, 'from the map again, the slot held b');
  t.is(map.misses, 3);
  t.is(map.get(a), ka, 'from the slot now');
  t.is(map.hits, 1);
  t.is(map.size, 2);
});

test('a deleted key is never answered, from its slot or the map', (t) => {
  const map = new KeyMap();
  const k = state('k7');
  map.set(k);
  t.is(map.get('k7'), k);
  t.true(map.delete('k7'));
  t.is(map.get('k7'), undefined);
  t.false(map.delete('k7'));
  const again = state('k7');
  map.set(again);
  t.is(map.get('k7'), again, 'a reloaded key answers with its new state');
});

test('moveToBack keeps the key and moves it to the end of the iteration order', (t) => {
  const map = new KeyMap();
  const ks = ['a', 'b', 'c'].map(state);
  for (const k of ks) map.set(k);
  map.moveToBack(ks[0] as KeyState);
  t.deepEqual(
    [...map.values()].map((k) => k.key),
    ['b', 'c', 'a'],
  );
  t.is(map.get('a'), ks[0]);
  t.throws(() => map.moveToBack(state('zz')), undefined, 'not held');
});
