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
});

test('memory engine, 3 workers: no worker holds two replicas of a group', async (t) => {
  const store = await openStore(t, { engine: 'memory', workers: 3, groups: GROUPS });
  for (let g = 0; g < GROUPS; g++) t.is(new Set(workersOf(store, g)).size, 3, `group ${g}`);
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
