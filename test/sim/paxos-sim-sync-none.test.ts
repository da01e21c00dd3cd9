import test from 'ava';
import { runScenario } from './sim-runner';

test("simulation under faults, sync 'none' (every restart is amnesic): linearizable, agreement, liveness", (t) => {
  runScenario(t, { wipe: false, sync: 'none', salt: 2 });
});
