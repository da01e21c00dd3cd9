/**
 * A key's data written in place (decision "A key's data written in place"): with `reuseData`,
 * a kv put of the state's length writes into the state the key holds alone instead of
 * allocating one, and a state lent out (a snapshot, a scan, a fetch reply) is never written
 * into again. The cores run the registry of every model, as the actors do, so puts take kv's
 * tagged fast path.
 */
import test from 'ava';
import { PaxosCore } from '../../../../../actors/paxos/core/paxos-core';
import { FetchPurpose, MessageType } from '../../../../../actors/paxos/core/types';
import { allModels } from '../../../../../models/all-models';
import { encodeKvOp } from '../../../../../models/kv/kv';
import { ModelTag } from '../../../../../models/model-tags';
import { tagged } from '../../../../../models/registry';
import { CoreNet } from './core-net';

/** A CoreNet whose cores apply through the model registry, `reuseData` as given. */
function netOf(reuseData: boolean): CoreNet {
  const net = new CoreNet();
  for (let r = 0; r < net.replicas; r++) net.cores[r] = coreOf(r, 1, reuseData);
  return net;
}

function coreOf(replicaId: number, incarnation: number, reuseData: boolean): PaxosCore {
  return new PaxosCore({
    replicaId,
    replicas: 3,
    model: allModels,
    incarnation,
    amnesic: false,
    reuseData,
  });
}

let token = 1000;

/** A tagged kv put of `value` proposed at `replica` (not delivered). */
function put(net: CoreNet, replica: number, key: string, value: string): number {
  const t = token++;
  const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) }));
  net.core(replica).request({ kind: 'write', token: t, key, op });
  net.process();
  return t;
}

/** The value in a kv state ([tag][value]). */
function valueOf(data: Uint8Array | null | undefined): string | undefined {
  return data == null ? undefined : Buffer.from(data.subarray(1)).toString();
}

/** The live data array replica r holds for `key` (read without lending it). */
function liveData(net: CoreNet, r: number, key: string): Uint8Array | null | undefined {
  for (const h of net.core(r).heldRecords(false)) if (h.key === key) return h.rec.data;
  return undefined;
}

test('a put of the state length writes into the state in place on every replica', (t) => {
  const net = netOf(true);
  put(net, 0, 'k', 'aaaa');
  net.deliver();
  const first = [0, 1, 2].map((r) => liveData(net, r, 'k'));
  put(net, 0, 'k', 'bbbb');
  net.deliver();
  for (let r = 0; r < 3; r++) {
    t.is(liveData(net, r, 'k'), first[r], `replica ${r} kept its array`);
    t.is(valueOf(liveData(net, r, 'k')), 'bbbb', `replica ${r} holds the new value`);
    t.is(net.core(r).stats().dataWrittenInPlace, 1, `replica ${r} counted it`);
  }
  // Another length: a new array, which the key then owns in turn.
  put(net, 0, 'k', 'cc');
  net.deliver();
  for (let r = 0; r < 3; r++) t.not(liveData(net, r, 'k'), first[r]);
  t.is(valueOf(liveData(net, 1, 'k')), 'cc');
});

test('without reuseData every put makes a new state', (t) => {
  const net = netOf(false);
  put(net, 0, 'k', 'aaaa');
  net.deliver();
  const first = liveData(net, 1, 'k');
  put(net, 0, 'k', 'bbbb');
  net.deliver();
  t.not(liveData(net, 1, 'k'), first);
  t.is(valueOf(first), 'aaaa', 'the old state is unchanged');
  t.false('dataWrittenInPlace' in net.core(1).stats());
});

test('a snapshot or a scan lends the state: later puts leave the lent bytes as they were', (t) => {
  const net = netOf(true);
  put(net, 0, 'k', 'aaaa');
  net.deliver();
  const snapshot = net.core(1).record('k');
  put(net, 0, 'k', 'bbbb');
  net.deliver();
  t.is(valueOf(snapshot?.data), 'aaaa', 'record() lent it');
  t.is(valueOf(liveData(net, 1, 'k')), 'bbbb');
  // heldRecords() (digests, backups, scans) lends every key it yields.
  const scanned = [...net.core(2).heldRecords()].find((h) => h.key === 'k')?.rec.data;
  put(net, 0, 'k', 'cccc');
  net.deliver();
  t.is(valueOf(scanned), 'bbbb', 'heldRecords() lent it');
  // The next put made a fresh state, which the key owns again.
  put(net, 0, 'k', 'dddd');
  net.deliver();
  t.is(net.core(2).stats().dataWrittenInPlace, 2, 'in place before the scan and after the put');
});

// The core hands a fetch reply to the shell with the record's data by reference; the reply
// may wait for a persist and is encoded later. A put applied meanwhile must not show through.
test('a fetch reply keeps the state it was answered with while later puts apply', (t) => {
  const net = netOf(true);
  put(net, 0, 'c', 'xxxx');
  net.deliver();
  // Replica 1 restarts with a damaged record for 'c': it recovers it from both peers.
  const fresh = coreOf(1, 9, true);
  net.cores[1] = fresh;
  fresh.request({
    kind: 'read',
    token: 99,
    key: 'c',
    query: tagged(ModelTag.kv, Uint8Array.of(1)),
    consistency: 'local',
  });
  t.deepEqual(fresh.ready().load, ['c']);
  fresh.loaded('c', 'corrupted');
  net.process();
  net.deliver((m) => m.type === MessageType.fetch);
  const replies = net.inflight.filter((m) => m.type === MessageType.fetchReply);
  t.is(replies.length, 2);
  t.true(replies.every((m) => m.purpose === FetchPurpose.recover));
  // Replicas 0 and 2 choose and apply a put of the same length before the replies arrive.
  put(net, 0, 'c', 'yyyy');
  net.deliver((m) => m.to !== 1);
  t.is(valueOf(liveData(net, 0, 'c')), 'yyyy');
  for (const m of replies) t.is(valueOf(m.record?.data), 'xxxx', `reply from ${m.from}`);
  net.deliver((m) => m.type === MessageType.fetchReply);
  t.is(fresh.record('c')?.chosen, 1);
  t.is(valueOf(fresh.record('c')?.data), 'xxxx', 'replica 1 recovered instance 1 as chosen');
});
