/**
 * Which state a diverged key converges on (actors/store/verify.ts planInstall,
 * docs/decisions.md 15): a table of replica states and the expected winner.
 */
import test from 'ava';
import { planInstall } from '../../../../actors/store/verify';
import type { ChosenState } from '../../../../actors/paxos/replica-digest';

function state(chosen: number, version: number, digest: string): ChosenState {
  return { key: 'k', chosen, chosenOrigin: 0, chosenSeq: 1, version, data: Buffer.from(digest), recent: [], digest };
}

const cases: Array<[string, (ChosenState | undefined)[], { replica: number; version: number } | undefined]> = [
  ['aligned: nothing to install', [state(3, 2, 'a'), state(3, 2, 'a'), state(3, 2, 'a')], undefined],
  ['behind only: nothing to install', [state(3, 2, 'a'), state(2, 1, 'b'), undefined], undefined],
  ['the majority state wins', [state(3, 2, 'a'), state(3, 2, 'b'), state(3, 2, 'a')], { replica: 0, version: 3 }],
  ['the majority wins over a higher version', [state(3, 9, 'b'), state(3, 2, 'a'), state(3, 2, 'a')], { replica: 1, version: 10 }],
  ['a tie goes to the higher version', [state(3, 1, 'a'), state(3, 2, 'b'), undefined], { replica: 1, version: 3 }],
  ['then to the lowest replica id', [undefined, state(3, 2, 'b'), state(3, 2, 'a')], { replica: 1, version: 3 }],
  ['only the newest instance competes', [state(4, 1, 'c'), state(3, 5, 'a'), state(3, 5, 'b')], { replica: 0, version: 6 }],
  ['a down or recovering replica has no say', [undefined, state(2, 1, 'a'), state(2, 1, 'b')], { replica: 1, version: 2 }],
];

for (const [name, states, expected] of cases) {
  test(`planInstall: ${name}`, (t) => {
    const plan = planInstall(states);
    t.deepEqual(plan === undefined ? undefined : { replica: plan.replica, version: plan.version }, expected);
    if (plan !== undefined) t.true(plan.state === states[plan.replica], "the winner's own state");
  });
}
