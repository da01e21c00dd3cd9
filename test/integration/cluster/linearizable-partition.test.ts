/**
 * Issue 9: 3 node processes (bitcask, sync 'batch'), mixed KV / queue / account load from 24
 * concurrent clients while one node is partitioned from the two others (control op partition), then healed.
 * What is checked: fault-run.ts.
 */
import test from 'ava';
import { runFaultScenario } from './fault-run';

test('linearizable, nothing acknowledged lost: partition, sync batch', async (t) => {
  t.timeout(90_000);
  await runFaultScenario(t, { sync: 'batch', fault: 'partition' });
});
