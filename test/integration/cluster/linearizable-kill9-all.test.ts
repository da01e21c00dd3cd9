/**
 * Issue 9: 3 node processes (bitcask, sync 'batch'), mixed KV / queue / account load from 24
 * concurrent clients while every node is killed with SIGKILL at once and all are restarted on
 * their dirs: under 'batch' a process crash loses nothing acknowledged (the OS has the bytes),
 * so the whole Set must come back with every acknowledged write.
 * What is checked: fault-run.ts.
 */
import test from 'ava';
import { runFaultScenario } from './fault-run';

test('linearizable, nothing acknowledged lost: every node kill -9ed at once, sync batch', async (t) => {
  t.timeout(90_000);
  await runFaultScenario(t, { sync: 'batch', fault: 'kill9-all' });
});
