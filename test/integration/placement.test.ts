/**
 * Where the store places its group actors (docs/decisions.md "Replicas of a group on one
 * worker"): a group's replicas share a worker unless their state dies with it and enough
 * workers let a spread layout keep every group's majority through one worker's death.
 */
import test from 'ava';
import type { PaxosStore } from '../../index';
import { engineOptions, openStore } from './helpers';

const GROUPS = 4;

function workersOf(store: PaxosStore, group: number): number[] {
  return [0, 1, 2].map((replica) => store.workerOfGroup(replica, group));
}

test('memory engine, 2 workers: a group on one worker, the groups dealt out evenly', async (t) => {
  const store = await openStore(t, { engine: 'memory', workers: 2, groups: GROUPS });
  for (let g = 0; g < GROUPS; g++) t.deepEqual(workersOf(store, g), [g % 2, g % 2, g % 2]);
  const kv = store.kv('p');
  await kv.put('a', 'x');
  t.is((await kv.get('a'))?.value.toString(), 'x');
  // Replicas on one thread message each other as objects (decision "Same-thread messages as
  // objects"): every Paxos delivery of the write and the read was one.
  const traffic = (await store.stats()).traffic;
  t.true(traffic.paxosMessages >= 4, `${traffic.paxosMessages} Paxos messages`);
  t.true(traffic.localObjects > 0, `${traffic.localObjects} object deliveries`);
  t.is(traffic.localObjects, traffic.peerPayloads, 'every peer payload was an object batch');
});

test('memory engine, 3 workers: no worker holds two replicas of a group', async (t) => {
  const store = await openStore(t, { engine: 'memory', workers: 3, groups: GROUPS });
  for (let g = 0; g < GROUPS; g++) t.is(new Set(workersOf(store, g)).size, 3, `group ${g}`);
  // Replicas on different threads: the peers refuse objects, so messages go as bytes on rings.
  const kv = store.kv('p');
  await kv.put('a', 'x');
  t.is((await kv.get('a'))?.value.toString(), 'x');
  const traffic = (await store.stats()).traffic;
  t.true(traffic.peerPayloads > 0, `${traffic.peerPayloads} peer payloads`);
  t.is(traffic.localObjects, 0, 'no object crossed a thread');
});

test('memory + persist, 3 workers: state survives a worker, so a group is together', async (t) => {
  const store = await openStore(t, {
    ...engineOptions(t, 'memory-persist'),
    sync: 'batch',
    workers: 3,
    groups: GROUPS,
  });
  for (let g = 0; g < GROUPS; g++) t.deepEqual(workersOf(store, g), [g % 3, g % 3, g % 3]);
});
