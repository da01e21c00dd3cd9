/**
 * The shell keeps the core's logical clock on the host clock: a thread whose timer fires late
 * (a loaded machine) still times requests out within timeoutMs, as README promises, instead
 * of stretching every deadline by the ticks it missed.
 */
import test from 'ava';
import { CLIENT_ADDRESS } from '../../../../runtime/actor';
import type { ActorHost } from '../../../../runtime/actor';
import { ByteWriter } from '../../../../runtime/byte-codec';
import { PaxosGroupActor } from '../../../../actors/paxos/paxos-actor';
import { VolatileRecordPort } from '../../../../actors/paxos/volatile-record-port';
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  readResult,
  writeRequest,
} from '../../../../actors/paxos/codec';
import type { ClientResult } from '../../../../actors/paxos/core/types';
import { allModels } from '../../../../models/all-models';
import { encodeKvOp } from '../../../../models/kv/kv';
import { tagged } from '../../../../models/registry';
import { ModelTag } from '../../../../models/model-tags';

function setup(tickMs: number | undefined) {
  let now = 0;
  const results: ClientResult[] = [];
  const host: ActorHost = {
    actorId: 0,
    now: () => now,
    send: (to, payload) => {
      if (to === CLIENT_ADDRESS)
        readBatch(payload, PayloadKind.results, readResult, (r) => results.push(r));
    },
  };
  // Replica 0 of 3; the host delivers nothing to the peers, so no write can find a majority.
  const actor = new PaxosGroupActor(0, host, new VolatileRecordPort(), {
    replicas: 3,
    groups: 1,
    sync: 'batch',
    model: allModels,
    incarnation: 0,
    amnesic: false,
    limits: { requestTimeoutTicks: 100, roundTimeoutTicks: 10 },
    ...(tickMs === undefined ? {} : { tickMs }),
  });
  const w = new ByteWriter(256);
  const at = beginBatch(w, PayloadKind.requests);
  writeRequest(w, {
    kind: 'write',
    token: 7,
    key: 'k',
    op: tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from('v') })),
  });
  return { actor, results, request: endBatch(w, at, 1), advance: (ms: number) => (now += ms) };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

test('with tickMs, one late tick covers the whole stall: the request times out on wall time', async (t) => {
  const { actor, results, request, advance } = setup(10);
  actor.tick();
  actor.receive(CLIENT_ADDRESS, request);
  actor.flush();
  await settle(); // the (empty) load answers on a microtask
  actor.tick();
  t.deepEqual(results, [], 'no answer before the deadline');
  advance(1_500); // the timer was starved for 1.5 s: 150 periods of 10 ms
  actor.tick();
  t.is(results.length, 1, 'the 100-tick deadline passed within that one late tick');
  t.false(results[0]?.ok);
  await actor.close();
});

test('without tickMs (the simulator), each tick() is one logical tick', async (t) => {
  const { actor, results, request, advance } = setup(undefined);
  actor.tick();
  actor.receive(CLIENT_ADDRESS, request);
  actor.flush();
  await settle();
  advance(1_500);
  actor.tick();
  t.deepEqual(results, [], 'one tick is not the deadline');
  for (let i = 0; i < 100; i++) actor.tick();
  t.is(results.length, 1);
  await actor.close();
});
