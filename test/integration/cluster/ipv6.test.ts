/**
 * IPv6 literals in the cluster file (`[::1]:port`): nodes listen and dial on the IPv6 loopback,
 * a client connects through `[::1]:port` seeds, and `paxosstore status` reaches every node.
 * Skipped only when this machine has no IPv6 loopback (the parsing is unit-tested either way,
 * test/unit/cluster/cluster-config.test.ts).
 */
import test from 'ava';
import * as net from 'node:net';
import { Cluster, runPaxosstore } from './harness';

function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('a cluster on [::1]: connect, write, read, status', async (t) => {
  t.timeout(120_000);
  if (!(await hasIpv6Loopback())) {
    t.log('no IPv6 loopback on this machine: skipped');
    t.pass();
    return;
  }
  const cluster = await Cluster.start(t, { engine: 'memory', groups: 2, ipv6: true });
  t.true(cluster.addresses().every((a) => a.startsWith('[::1]:')));
  const store = await cluster.connect();
  t.deepEqual(store.stats().nodesUp.sort(), ['n1', 'n2', 'n3']);
  await store.kv('v6').put('k', 'v');
  t.is((await store.kv('v6').get('k'))?.value.toString(), 'v');
  const status = await runPaxosstore(t, ['status', '--config', cluster.configPath, '--json']);
  t.is(status.code, 0, status.stderr);
  const rows = JSON.parse(status.stdout) as { node: string; up: boolean }[];
  t.deepEqual(
    rows.map((r) => [r.node, r.up]),
    [
      ['n1', true],
      ['n2', true],
      ['n3', true],
    ],
  );
});
