import test from 'ava';
import { runScenario } from './sim-runner';

// The key cache bound (actors/paxos/core/key-cache.ts): evicting a key must be as safe as a
// restart for that key. With a cache of one key per group, every idle key is evicted on every
// tick and loads again from the simulated disk, under the same faults as the other scenarios.
test('simulation under faults, durable disks, every idle key evicted each tick: linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 5, evict: true });
});

test("simulation under faults, sync 'none', every idle key evicted each tick: linearizable, agreement, liveness", (t) => {
  runScenario(t, { wipe: false, sync: 'none', salt: 6, evict: true });
});

// The memory engine (decision 27): the key cache evicts settled keys into VolatileRecordPort's
// compact form (the live record, sealed) and loads them back from there; every restart is
// amnesic, since memory is all there is.
test('simulation under faults, memory engine, every idle key evicted each tick into its compact form: linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: false, sync: 'always', salt: 7, evict: true, volatile: true });
});
