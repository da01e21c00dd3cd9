import test from 'ava';
import { runScenario } from './sim-runner';

test('simulation under faults, durable disks (sync always): linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 0 });
});
