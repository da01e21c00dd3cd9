import test from 'ava';
import {
  EPOCH_SPAN,
  ballotEpoch,
  ballotOf,
  ballotOwner,
  ballotRound,
  isPreauthorized,
  nextBallot,
  preauthorizedBallot,
  quorumSize,
} from '../../../../../actors/paxos/core/ballot';

// Paper rule (DESIGN.md §4): the proposer is recoverable from the ballot and ballots 1..N are
// reserved; decision 15: ballot = (round × EPOCH_SPAN + epoch) × N + id + 1.
const table: Array<[round: number, id: number, n: number, epoch: number, ballot: number]> = [
  [0, 0, 3, 0, 1],
  [0, 2, 3, 0, 3],
  [1, 0, 3, 0, 3 * EPOCH_SPAN + 1],
  [1, 2, 3, 5, (EPOCH_SPAN + 5) * 3 + 3],
  [0, 4, 5, 0, 5],
  [2, 0, 5, 7, (2 * EPOCH_SPAN + 7) * 5 + 1],
];
for (const [round, id, n, epoch, ballot] of table) {
  test(`ballotOf(${round}, ${id}, ${n}, epoch ${epoch}) = ${ballot}, owner ${id}`, (t) => {
    t.is(ballotOf(round, id, n, epoch), ballot);
    t.is(ballotOwner(ballot, n), id);
    t.is(ballotRound(ballot, n), round);
    t.is(ballotEpoch(ballot, n), epoch);
    t.is(isPreauthorized(ballot, n), round === 0 && epoch === 0);
  });
}

test('nextBallot is above its argument, owned by the caller and its epoch, never reserved', (t) => {
  for (let n = 1; n <= 7; n += 2) {
    for (let id = 0; id < n; id++) {
      for (const epoch of [0, 1, 6, EPOCH_SPAN - 1]) {
        for (const above of [
          0,
          1,
          n,
          n + 1,
          3 * EPOCH_SPAN * n,
          ballotOf(4, (id + 1) % n, n, epoch),
          ballotOf(9, id, n, EPOCH_SPAN - 1),
        ]) {
          const b = nextBallot(above, id, n, epoch);
          t.true(b > above && b > n, `n=${n} id=${id} epoch=${epoch} above=${above} → ${b}`);
          t.is(ballotOwner(b, n), id);
          t.is(ballotEpoch(b, n), epoch);
          t.true(
            ballotRound(b, n) <= Math.max(1, above === 0 ? 1 : ballotRound(above, n) + 1),
            `not needlessly high: ${b} for ${above}`,
          );
        }
      }
    }
  }
});

// Decision 15: two incarnations of one replica never make the same ballot, whatever they were
// told to exceed — the fact that makes a past incarnation's messages harmless after amnesia.
test('ballots of two epochs of one replica never coincide', (t) => {
  const seen = new Map<number, number>();
  for (const epoch of [1, 2, 3]) {
    for (let above = 0; above < 20 * 3 * EPOCH_SPAN; above += 3 * EPOCH_SPAN - 1) {
      const b = nextBallot(above, 1, 3, epoch);
      t.true(
        seen.get(b) === undefined || seen.get(b) === epoch,
        `ballot ${b} made by epochs ${seen.get(b)} and ${epoch}`,
      );
      seen.set(b, epoch);
    }
  }
});

test('quorum sizes and reserved ballots', (t) => {
  t.deepEqual([1, 3, 5, 7].map(quorumSize), [1, 2, 3, 4]);
  t.is(preauthorizedBallot(2, 3), 3);
  t.throws(() => ballotOf(0, 3, 3));
  t.throws(() => ballotOf(1, 0, 3, EPOCH_SPAN));
});
