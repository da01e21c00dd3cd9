/**
 * The harness's answer to a port lost between its pick and the node's bind (a CI flake): the
 * node exits with ADDRESS_IN_USE, `Cluster.startAll` moves it to a new port, rewrites the
 * cluster file and starts the cluster again, a bounded number of times; any other start failure
 * is not retried. The loss is forced by an injected picker that hands out a port a listener of
 * this test holds.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import { Cluster, START_ATTEMPTS, putSure } from './harness';
import type { ClusterFile } from './harness';
import { occupiedPort, reservePorts } from './ports';
import type { PortPicker } from './ports';

/** Reserves ports as the harness does, but hands out `taken` first on the first `losses` calls. */
function losingPicker(t: ExecutionContext, taken: number, losses: number, calls: number[]) {
  const picker: PortPicker = async (count, host) => {
    calls.push(count);
    const ports = await reservePorts(t, count, host);
    if (calls.length <= losses) ports[0] = taken;
    return ports;
  };
  return picker;
}

test('a node whose port was taken before it bound is moved to a new port and the cluster starts', async (t) => {
  t.timeout(180_000);
  const taken = await occupiedPort(t);
  const calls: number[] = [];
  const ports = losingPicker(t, taken, 1, calls);
  const cluster = await Cluster.start(t, { engine: 'memory', groups: 2, ports });
  t.is(cluster.startAttempts, 2, 'one failed start, one good');
  t.deepEqual(calls, [3, 1], 'three ports at first, then one for the node that lost its port');
  const n1 = cluster.node('n1');
  t.not(n1.info.port, taken);
  t.is(n1.info.address, `127.0.0.1:${n1.info.port}`);
  const file = JSON.parse(fs.readFileSync(cluster.configPath, 'utf8')) as ClusterFile;
  t.is(file.sets[0]?.replicas[0]?.address, n1.info.address, 'the cluster file was rewritten');
  const store = await cluster.connect(15_000);
  const kv = store.kv('ports');
  await putSure(kv, 'k', 'v');
  t.is((await kv.get('k'))?.value.toString(), 'v');
  // A restart reads the rewritten file: on the old port it would fail with ADDRESS_IN_USE.
  await n1.kill9();
  await n1.restart();
  t.true(n1.proc?.running, 'n1 restarted on its new port');
});

test('a stranger that takes every new port too is given up on after START_ATTEMPTS starts', async (t) => {
  t.timeout(240_000);
  const taken = await occupiedPort(t);
  const calls: number[] = [];
  const ports = losingPicker(t, taken, START_ATTEMPTS + 1, calls);
  const cluster = await Cluster.create(t, { engine: 'memory', groups: 2, ports });
  await t.throwsAsync(cluster.startAll(), { message: /ADDRESS_IN_USE/ });
  t.is(cluster.startAttempts, START_ATTEMPTS);
  t.is(calls.length, START_ATTEMPTS, 'a new pick after every failed start but the last');
  t.false(
    cluster.nodes.some((n) => n.proc?.running === true),
    'no node is left running',
  );
});

test('a start failure other than a lost port is not retried', async (t) => {
  t.timeout(120_000);
  const cluster = await Cluster.create(t, {
    engine: 'memory',
    groups: 2,
    nodeArgs: { n2: ['--no-such-option'] },
  });
  await t.throwsAsync(cluster.startAll(), { message: /INVALID_CONFIG/ });
  t.is(cluster.startAttempts, 1);
});
