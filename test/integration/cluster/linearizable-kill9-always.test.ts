/**
 * Issue 9: 3 node processes (bitcask, sync 'always'), mixed KV / queue / account load from 24
 * concurrent clients while one node is killed with SIGKILL and restarted on its dir.
 * What is checked: fault-run.ts.
 */
import test from 'ava';
import { runFaultScenario } from './fault-run';

test('linearizable, nothing acknowledged lost: kill9, sync always', async (t) => {
  t.timeout(90_000);
  await runFaultScenario(t, { sync: 'always', fault: 'kill9' });
});
