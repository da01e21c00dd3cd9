/**
 * The Paxos shell treats what arrives from other replicas as input (STYLE.md §2, issue 7 (6)):
 * a payload that does not decode, a message that claims another sender, or one the core
 * rejects is counted and dropped; the actor keeps serving.
 */
import test from 'ava';
import { ByteWriter } from '../../../../runtime/byte-codec';
import { PayloadKind, beginBatch, endBatch, writeMessage } from '../../../../actors/paxos/codec';
import { PaxosGroupActor } from '../../../../actors/paxos/paxos-actor';
import { actorIdOf } from '../../../../actors/paxos/placement';
import { MessageType } from '../../../../actors/paxos/core/types';
import type { PaxosMessage } from '../../../../actors/paxos/core/types';
import { KV_GET_QUERY, encodeKvOp } from '../../../../models/kv/kv';
import { ModelTag } from '../../../../models/model-tags';
import { tagged } from '../../../../models/registry';
import { SimCluster } from '../../../sim/paxos-cluster';

function payloadOf(messages: PaxosMessage[]): Uint8Array {
  const w = new ByteWriter(256);
  const at = beginBatch(w, PayloadKind.paxos);
  for (const m of messages) writeMessage(w, m);
  return endBatch(w, at, messages.length);
}

test('garbage and forged payloads from a peer are counted and dropped; the group keeps serving', (t) => {
  const cluster = new SimCluster({ seed: 7, groups: 1 });
  const placement = { replicas: 3, groups: 1 };
  const target = cluster.sim.actor(actorIdOf(0, 0, placement));
  t.true(target instanceof PaxosGroupActor);
  const actor = target as PaxosGroupActor;
  const peer = actorIdOf(1, 0, placement);
  const prepare: PaxosMessage = {
    type: MessageType.prepare,
    key: 'k',
    from: 1,
    to: 0,
    instance: 1,
    ballot: 3 * 2 ** 21 + 2,
    ok: false,
    promised: 0,
    acceptedBallot: 0,
    value: null,
    chosen: 0,
    chosenOrigin: -1,
    chosenSeq: 0,
    requestId: 0,
    purpose: 0,
    record: null,
  };
  const good = payloadOf([prepare]);
  const hostile: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(9, 1, 2, 3),
    good.subarray(0, good.length - 3), // cut short
    Uint8Array.of(...good, 0), // trailing byte
    Uint8Array.of(PayloadKind.paxos, 255, 255, 255, 255), // a count far beyond the bytes
    payloadOf([{ ...prepare, from: 2 }]), // claims another sender
    payloadOf([{ ...prepare, ballot: 1 }]), // a Prepare with a reserved ballot
    payloadOf([{ ...prepare, instance: Number.NaN }]),
  ];
  for (const payload of hostile) t.notThrows(() => actor.receive(peer, payload));
  t.is(actor.coreStats().rejectedPayloads, hostile.length);
  // The group still serves a write and a linearizable read.
  let wrote = false;
  let read = false;
  cluster.request(
    0,
    {
      kind: 'write',
      key: 'k',
      op: tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from('v') })),
    },
    (r) => (wrote = r.ok),
  );
  cluster.sim.runUntil(() => wrote, 5_000);
  cluster.request(
    0,
    {
      kind: 'read',
      key: 'k',
      query: tagged(ModelTag.kv, KV_GET_QUERY),
      consistency: 'linearizable',
    },
    (r) => (read = r.ok),
  );
  cluster.sim.runUntil(() => read, 5_000);
  t.true(wrote && read);
});
