/**
 * The main simulation with wider Sets: 5 and 7 replicas. Majorities of more than two replicas
 * are where a quorum counted by replies instead of replicas goes wrong (a duplicated reply
 * stands in for a second replica), and where several replicas can be down or amnesic at once.
 */
import test from 'ava';
import { runScenario } from './sim-runner';

test('5 replicas under faults, durable disks and damaged tails: linearizable, agreement, liveness', (t) => {
  runScenario(t, { replicas: 5, wipe: false, sync: 'always', salt: 7 });
});

test('5 replicas under faults, wiped disks: linearizable, agreement, liveness', (t) => {
  runScenario(t, { replicas: 5, wipe: true, sync: 'always', salt: 8 });
});

test("7 replicas under faults, sync 'none': linearizable, agreement, liveness", (t) => {
  runScenario(t, { replicas: 7, wipe: false, sync: 'none', salt: 9 });
});
