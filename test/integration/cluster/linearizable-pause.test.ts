/**
 * Issue 9: 3 node processes (bitcask, sync 'batch'), mixed KV / queue / account load from 24
 * concurrent clients while one node is paused (SIGSTOP) past the peers' dead-peer timeout, then resumed (SIGCONT).
 * What is checked: fault-run.ts.
 */
import test from 'ava';
import { runFaultScenario } from './fault-run';

test('linearizable, nothing acknowledged lost: pause, sync batch', async (t) => {
  t.timeout(90_000);
  await runFaultScenario(t, { sync: 'batch', fault: 'pause' });
});
