/** Table tests for the store's worker placement (placement.ts: workerPlacement, placementLayout). */
import test from 'ava';
import { actorIdOf, placementLayout, workerPlacement } from '../../../../actors/paxos/placement';

/** Replicas of group g that worker w hosts, under `byId`. */
function hosted(byId: number[], replicas: number, groups: number, g: number, w: number): number {
  let n = 0;
  for (let r = 0; r < replicas; r++) if (byId[actorIdOf(r, g, { replicas, groups })] === w) n++;
  return n;
}

test('together: every replica of a group on one worker, the groups dealt out evenly', (t) => {
  const p = { replicas: 3, groups: 8 };
  const byId = workerPlacement(p, 2, 'together');
  t.is(byId.length, 24);
  for (let g = 0; g < 8; g++) t.is(hosted(byId, 3, 8, g, g % 2), 3, `group ${g}`);
  t.deepEqual(
    [0, 1].map((w) => byId.filter((x) => x === w).length),
    [12, 12],
  );
});

test('spread: with workers >= replicas no worker holds two replicas of a group', (t) => {
  for (const workers of [3, 4, 7]) {
    const byId = workerPlacement({ replicas: 3, groups: 8 }, workers, 'spread');
    for (let g = 0; g < 8; g++) {
      for (let w = 0; w < workers; w++)
        t.true(hosted(byId, 3, 8, g, w) <= 1, `${workers}/${g}/${w}`);
    }
  }
});

test('the layout: together when state survives a worker, or when no layout keeps a majority', (t) => {
  const table: [
    replicas: number,
    workers: number,
    survives: boolean,
    want: 'together' | 'spread',
  ][] = [
    [3, 1, false, 'together'],
    [3, 2, false, 'together'], // some worker holds 2 of 3 whatever the layout
    [3, 3, false, 'spread'],
    [3, 8, false, 'spread'],
    [5, 2, false, 'together'], // ceil(5/2) = 3 = majority
    [5, 3, false, 'spread'], // at most 2 of 5 per worker
    [3, 2, true, 'together'],
    [3, 8, true, 'together'],
  ];
  for (const [replicas, workers, survives, want] of table) {
    t.is(placementLayout(replicas, workers, survives), want, `${replicas}/${workers}/${survives}`);
  }
});
