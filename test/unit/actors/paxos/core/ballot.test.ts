import test from 'ava';
import { ballotOf, ballotOwner, isPreauthorized, nextBallot, preauthorizedBallot, quorumSize } from '../../../../../actors/paxos/core/ballot';

// Paper rule (DESIGN.md §4): ballot = round * N + id + 1; ballots 1..N are reserved.
const table: Array<[round: number, id: number, n: number, ballot: number]> = [
  [0, 0, 3, 1], [0, 2, 3, 3], [1, 0, 3, 4], [1, 2, 3, 6], [5, 1, 3, 17], [0, 4, 5, 5], [2, 0, 5, 11],
];
for (const [round, id, n, ballot] of table) {
  test(`ballotOf(${round}, ${id}, ${n}) = ${ballot}, owner ${id}`, (t) => {
    t.is(ballotOf(round, id, n), ballot);
    t.is(ballotOwner(ballot, n), id);
    t.is(isPreauthorized(ballot, n), round === 0);
  });
}

test('nextBallot is above its argument, owned by the caller, never reserved', (t) => {
  for (let n = 1; n <= 7; n += 2) {
    for (let id = 0; id < n; id++) {
      for (let above = 0; above < 60; above++) {
        const b = nextBallot(above, id, n);
        t.true(b > above && b > n, `n=${n} id=${id} above=${above} → ${b}`);
        t.is(ballotOwner(b, n), id);
        t.true(b - above <= 2 * n, `not needlessly high: ${b} for ${above}`);
      }
    }
  }
});

test('quorum sizes and reserved ballots', (t) => {
  t.deepEqual([1, 3, 5, 7].map(quorumSize), [1, 2, 3, 4]);
  t.is(preauthorizedBallot(2, 3), 3);
  t.throws(() => ballotOf(0, 3, 3));
});
