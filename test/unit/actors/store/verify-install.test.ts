/**
 * Which state a diverged key converges on, and when an install may go (actors/store/
 * verify-install.ts, docs/decisions.md 17): tables of replica states and the expected outcome.
 */
import test from 'ava';
import { planInstall, winnerOf } from '../../../../actors/store/verify-install';
import type { ChosenState } from '../../../../actors/paxos/replica-digest';
import type { ReplicaKeyState } from '../../../../actors/store/verify';

type Listed = [instance: number, version: number, digest: string] | null;

function listing(states: Listed[]): (ReplicaKeyState | null)[] {
  return states.map((s, replica) =>
    s === null ? null : { replica, instance: s[0], version: s[1], digest: s[2] },
  );
}

const winners: Array<[string, Listed[], number | undefined]> = [
  [
    'aligned: no winner',
    [
      [3, 2, 'a'],
      [3, 2, 'a'],
      [3, 2, 'a'],
    ],
    undefined,
  ],
  ['behind only: no winner', [[3, 2, 'a'], [2, 1, 'b'], null], undefined],
  [
    'the state most replicas hold',
    [
      [3, 2, 'b'],
      [3, 2, 'a'],
      [3, 2, 'a'],
    ],
    1,
  ],
  [
    'most replicas beat a higher version',
    [
      [3, 9, 'b'],
      [3, 2, 'a'],
      [3, 2, 'a'],
    ],
    1,
  ],
  [
    'a tie goes to the higher version',
    [
      [3, 1, 'a'],
      [3, 2, 'b'],
      [2, 1, 'a'],
    ],
    1,
  ],
  ['then to the lowest replica id', [null, [3, 2, 'b'], [3, 2, 'a']], 1],
  [
    'only the newest instance competes',
    [
      [4, 1, 'c'],
      [3, 5, 'a'],
      [3, 5, 'b'],
    ],
    0,
  ],
];

for (const [name, states, expected] of winners) {
  test(`winnerOf: ${name}`, (t) => {
    t.is(winnerOf(listing(states)), expected);
  });
}

function state(chosen: number, version: number, digest: string): ChosenState {
  return {
    key: 'k',
    chosen,
    chosenOrigin: 0,
    chosenSeq: 1,
    version,
    data: Buffer.from(digest),
    recent: [],
    digest,
  };
}

test('planInstall: the winner state with a version above every replica', (t) => {
  const states = [state(3, 2, 'a'), state(3, 7, 'b'), undefined];
  const plan = planInstall(states, 0);
  t.true(
    typeof plan === 'object' &&
      plan.state === states[0] &&
      plan.version === 8 &&
      plan.replica === 0,
    JSON.stringify(plan),
  );
});

test('planInstall: aligned meanwhile, or not yet at one instance', (t) => {
  t.is(planInstall([state(3, 2, 'a'), state(3, 2, 'a'), state(3, 2, 'a')], 1), 'aligned');
  t.is(
    planInstall([state(3, 2, 'a'), state(2, 1, 'b'), state(3, 2, 'c')], 0),
    'unsettled',
    'a replica behind',
  );
  t.is(
    planInstall([undefined, state(3, 2, 'b'), state(3, 2, 'c')], 0),
    'unsettled',
    'the winner has no state',
  );
});
