/** "Groups behind" (server/groups-behind.ts): a table of digests per replica, one verdict each. */
import test from 'ava';
import { GroupsBehind, isGroupBehind } from '../../../server/groups-behind';

const A = ['a1', 'a2'];
const B = ['b1', 'a2'];
const C = ['c1', 'c2'];

test('behind when fewer than a majority of all replicas hold this replica digests', (t) => {
  const rows: [(readonly string[] | undefined)[], number, boolean | undefined][] = [
    [[A, A, A], 0, false],
    [[A, A, B], 2, true], // the odd one out
    [[A, A, B], 0, false],
    [[A, B, C], 1, true], // no majority anywhere: everyone counts it
    [[A, undefined, A], 0, false], // a peer down: two of three still agree
    [[A, undefined, B], 0, true], // a peer down, the other differs: no majority with us
    [[undefined, A, A], 0, undefined], // we did not answer: unknown
    [[A], 0, false], // a Set of one
    [[A, A, B, B, A], 3, true],
    [[A, A, B, B, A], 4, false],
    [[A, ['a1'], A], 1, true], // another bucket count never matches
  ];
  for (const [digests, local, expected] of rows)
    t.is(isGroupBehind(digests, local), expected, JSON.stringify([digests, local]));
  t.throws(() => isGroupBehind([A], 1));
});

test('the count covers the groups with a verdict; the lag is the oldest verdict once all have one', (t) => {
  const g = new GroupsBehind(3);
  t.is(g.behind(), undefined);
  t.deepEqual(g.known(), { groups: 0, oldestAt: undefined });
  g.record(0, true, 100);
  t.is(g.behind(), 1);
  g.record(1, false, 200);
  g.record(2, undefined, 300);
  t.deepEqual(g.known(), { groups: 2, oldestAt: undefined });
  g.record(2, true, 300);
  t.is(g.behind(), 2);
  t.deepEqual(g.known(), { groups: 3, oldestAt: 100 });
  g.record(0, false, 400);
  t.is(g.behind(), 1);
  t.deepEqual(g.known(), { groups: 3, oldestAt: 200 });
  t.throws(() => g.record(3, true, 1));
});
