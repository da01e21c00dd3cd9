/**
 * Chosen notices ride on the next message about the key to a peer in the same turn, or leave
 * with the turn's Ready (decisions.md "Chosen notices ride on the next message"). The timing,
 * scripted in the simulator: when the home answers its client, a peer that accepted the value
 * lags one instance until the notice or the key's next message arrives. These
 * tests open that window on purpose: the peer crashes in it (the notice reaches its next
 * incarnation late, or is lost), or is cut off in it (the notice is dropped). Whatever happens
 * to the notice, a linearizable read through the lagging peer returns the acknowledged value,
 * and the cluster's invariants (agreement, after every instant) hold.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { homeReplicaOf } from '../../actors/paxos/core/key-hash';
import type { ClientResult } from '../../actors/paxos/core/types';
import { KV_GET_QUERY, decodeKvGetResult, encodeKvOp } from '../../models/kv/kv';
import { ModelTag } from '../../models/model-tags';
import { tagged } from '../../models/registry';
import { SimCluster } from './paxos-cluster';
import type { RequestBody } from './paxos-cluster';

const KEY = 'lazy';
const NO_FAULTS = {
  dropRate: 0,
  duplicateRate: 0,
  delayMinMs: 0.1,
  delayMaxMs: 3,
  lateDeliveryRate: 1,
  lateDelayMaxMs: 50,
};

function put(value: string): RequestBody {
  return {
    kind: 'write',
    key: KEY,
    op: tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) })),
  };
}

const GET: RequestBody = {
  kind: 'read',
  key: KEY,
  query: tagged(ModelTag.kv, KV_GET_QUERY),
  consistency: 'linearizable',
};

/** Sends a request and runs the simulation until it is answered (bounded). */
function call(cluster: SimCluster, replica: number, body: RequestBody): ClientResult {
  let result: ClientResult | undefined;
  cluster.request(replica, body, (r) => (result = r));
  cluster.sim.runUntil(() => result !== undefined, 5_000);
  if (result === undefined) throw new Error(`no answer from replica ${replica}`);
  return result;
}

function readValue(t: ExecutionContext, cluster: SimCluster, replica: number): string {
  const res = call(cluster, replica, GET);
  if (!res.ok) {
    t.fail(`read through replica ${replica}: ${res.code}`);
    return '';
  }
  const got = decodeKvGetResult(res.result);
  return got.found ? Buffer.from(got.value).toString() : '(none)';
}

/**
 * Writes through the key's home and stops at the instant the write is acknowledged. Returns
 * the peer that still lags there (accepted, not chosen), or undefined when, with this seed,
 * every notice already left.
 */
function writeAndFindLaggingPeer(cluster: SimCluster, value: string): number | undefined {
  const home = homeReplicaOf(KEY, cluster.replicas);
  const res = call(cluster, home, put(value));
  if (!res.ok) throw new Error(`write failed: ${res.code}`);
  for (let r = 0; r < cluster.replicas; r++) {
    if (r === home) continue;
    const rec = cluster.record(r, KEY);
    if (rec !== undefined && rec.chosen === 0 && rec.accepted !== null) return r;
  }
  return undefined;
}

const SEEDS = 40;

test('a peer that crashes while a chosen notice is owed to it serves the value after restart', (t) => {
  let windows = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const cluster = new SimCluster({ seed, faults: NO_FAULTS });
    const peer = writeAndFindLaggingPeer(cluster, 'v1');
    if (peer === undefined) continue;
    windows++;
    // The notice is on its way to a replica that crashes: it reaches the next incarnation late
    // (lateDeliveryRate 1) or not at all, by the timing of the restart.
    cluster.crash(peer);
    cluster.sim.runFor(seed % 2 === 0 ? 5 : 40);
    cluster.restart(peer, false);
    t.is(readValue(t, cluster, peer), 'v1', `seed ${seed}: read through restarted ${peer}`);
    t.is(cluster.record(peer, KEY)?.chosen, 1, `seed ${seed}: the peer settled instance 1`);
  }
  t.log(`${windows} of ${SEEDS} seeds stopped inside the window`);
  t.true(windows > 0, `the window between acknowledgement and notice was hit (${windows})`);
});

test('a peer cut off while a chosen notice is owed to it (the notice is dropped) serves the value', (t) => {
  let windows = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const cluster = new SimCluster({ seed, faults: NO_FAULTS });
    const peer = writeAndFindLaggingPeer(cluster, 'v1');
    if (peer === undefined) continue;
    windows++;
    const others = [0, 1, 2].filter((r) => r !== peer);
    cluster.sim.partition([others, [peer]]);
    // The notice in flight is lost in the partition.
    cluster.sim.runFor(50);
    t.is(cluster.record(peer, KEY)?.chosen, 0, `seed ${seed}: the notice did not get through`);
    cluster.sim.heal();
    t.is(readValue(t, cluster, peer), 'v1', `seed ${seed}: read through ${peer}`);
    // A write through the lagging peer (not pre-authorised: it prepares) sees the first one.
    const second = call(cluster, peer, put('v2'));
    t.true(second.ok, `seed ${seed}: write through ${peer}`);
    t.is(readValue(t, cluster, (peer + 1) % 3), 'v2', `seed ${seed}: read after it`);
  }
  t.log(`${windows} of ${SEEDS} seeds stopped inside the window`);
  t.true(windows > 0, `the window between acknowledgement and notice was hit (${windows})`);
});

test('a notice owed rides on the next accept for the key, and the rest leave with the Ready', (t) => {
  const cluster = new SimCluster({ seed: 7, faults: NO_FAULTS });
  const home = homeReplicaOf(KEY, cluster.replicas);
  const results: ClientResult[] = [];
  // Two writes at once: the second waits for the first, and its accepts carry the notice.
  cluster.request(home, put('a'), (r) => results.push(r));
  cluster.request(home, put('b'), (r) => results.push(r));
  cluster.sim.runUntil(() => results.length === 2, 5_000);
  t.true(results.every((r) => r.ok));
  t.true(cluster.coreCounter('chosenNoticesCarried') >= 2, 'the accepts carried two notices');
  // The notices for instance 2 had no accept to ride on: they left on their own, and every
  // replica settles both instances.
  cluster.sim.runFor(30);
  t.true(cluster.coreCounter('chosenNoticesSent') >= 2);
  for (let r = 0; r < cluster.replicas; r++) t.is(cluster.record(r, KEY)?.chosen, 2, `${r}`);
});
