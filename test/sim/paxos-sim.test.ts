import test from 'ava';
import { checkHistory } from './linearizability';
import { kvModel } from './kv-model';
import { SimCluster } from './paxos-cluster';
import { runKvWorkload } from './kv-workload';

test('one seed: a healthy cluster serves a KV workload linearizably', (t) => {
  const cluster = new SimCluster({ seed: 1 });
  const r = runKvWorkload(cluster, {
    keys: ['a', 'b'],
    clients: 4,
    opsPerClient: 20,
    faultPhaseMs: 500,
    clientTimeoutMs: 3000,
    crashes: false,
    wipeOnRestart: false,
    partitions: false,
    livenessMs: 10_000,
  });
  t.true(r.finishedInTime);
  t.is(r.unknown, 0);
  t.is(r.failed, 0);
  t.is(r.completed, 80);
  const check = checkHistory(r.history, kvModel);
  t.deepEqual(check, { ok: true });
});
