/**
 * The probation segment's FIFO, linked through the KeyStates (actors/paxos/core/probation-list.ts):
 * order, removal from the middle and both ends, and a key in the list at most once.
 */
import test from 'ava';
import { ProbationList } from '../../../../../actors/paxos/core/probation-list';
import { newKeyState } from '../../../../../actors/paxos/core/key-state';
import type { KeyState } from '../../../../../actors/paxos/core/key-state';
import { emptyRecord } from '../../../../../actors/paxos/core/key-record';

function drain(list: ProbationList): string[] {
  const out: string[] = [];
  for (let ks = list.shift(); ks !== undefined; ks = list.shift()) out.push(ks.key);
  return out;
}

function keys(n: number): KeyState[] {
  return Array.from({ length: n }, (_, i) => newKeyState(`k${i}`, emptyRecord()));
}

test('keys leave oldest first, and a key added again goes to the back', (t) => {
  const list = new ProbationList();
  const [a, b, c] = keys(3) as [KeyState, KeyState, KeyState];
  list.add(a);
  list.add(b);
  list.add(c);
  t.is(list.size, 3);
  t.is(list.shift(), a);
  list.add(a);
  t.deepEqual(drain(list), ['k1', 'k2', 'k0']);
  t.is(list.size, 0);
  t.is(list.shift(), undefined);
});

test('delete unlinks a key from the head, the middle or the tail; a second delete is false', (t) => {
  for (const gone of [0, 2, 4]) {
    const list = new ProbationList();
    const ks = keys(5);
    for (const k of ks) list.add(k);
    const victim = ks[gone] as KeyState;
    t.true(list.delete(victim));
    t.false(list.delete(victim), 'not in the list any more');
    t.false(list.has(victim));
    t.is(list.size, 4);
    const want = ks.filter((k) => k !== victim).map((k) => k.key);
    t.deepEqual(drain(list), want, `without k${gone}`);
  }
});

test('a key is in the list at most once', (t) => {
  const list = new ProbationList();
  const [a] = keys(1) as [KeyState];
  list.add(a);
  t.true(list.has(a));
  t.throws(() => list.add(a));
  t.is(list.size, 1);
});
