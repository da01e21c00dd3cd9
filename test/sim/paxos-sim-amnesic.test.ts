import test from 'ava';
import { runScenario } from './sim-runner';

test('simulation under faults, amnesic restarts (wiped disks): linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: true, sync: 'always', salt: 1 });
});
