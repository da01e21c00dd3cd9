/**
 * Issue 9: 3 node processes (bitcask, sync 'batch'), mixed KV / queue / account load from 24
 * concurrent clients while one node is stopped with SIGTERM (it must exit 0 with requests in
 * flight) and restarted on its dir.
 * What is checked: fault-run.ts.
 */
import test from 'ava';
import { runFaultScenario } from './fault-run';

test('linearizable, nothing acknowledged lost: a node stopped by SIGTERM under load and restarted, sync batch', async (t) => {
  t.timeout(90_000);
  await runFaultScenario(t, { sync: 'batch', fault: 'sigterm' });
});
