import test from 'ava';
import { runScenario } from './sim-runner';

test('simulation under faults, durable disks (sync always): linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 0 });
});

test('simulation under faults, durable disks, batches that linger for more records (persist-linger, sync batch, process kills)', (t) => {
  runScenario(t, { wipe: false, sync: 'batch', salt: 17, linger: true, crashKind: 'process' });
});

test('simulation under faults, durable disks, batches that linger for more records (persist-linger, sync always, power losses)', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 19, linger: true });
});

test('simulation under faults, gets in bursts of one key (reads that share a round in their turn): linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 23, readBursts: true, crashKind: 'mixed' });
});
