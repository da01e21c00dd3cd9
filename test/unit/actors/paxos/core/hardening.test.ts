/**
 * Protocol hardening (issue 7): paths that were safe only because the in-process transport
 * never duplicates a reply or delivers a message across a restart. Each test sets up the state,
 * steps the hostile input, and checks outputs and state (STYLE.md §5, paper tests).
 */
import test from 'ava';
import { MessageType } from '../../../../../actors/paxos/core/types';
import type { PaxosMessage } from '../../../../../actors/paxos/core/types';
import { PaxosCore } from '../../../../../actors/paxos/core/paxos-core';
import { ballotEpoch } from '../../../../../actors/paxos/core/ballot';
import { decodeKvGetResult, encodeKvOp, kvStateMachine } from '../../../../../models/kv/kv';
import { CoreNet } from './core-net';

const to = (r: number) => (m: PaxosMessage) => m.to === r;
const from = (r: number) => (m: PaxosMessage) => m.from === r;

/** Replica `r` answers message `m` as if it had been addressed to it; returns its answers. */
function answer(net: CoreNet, r: number, m: PaxosMessage): PaxosMessage[] {
  const before = net.inflight.length;
  net.core(r).step({ ...m, to: r });
  net.process();
  return net.inflight.splice(before);
}

// DESIGN.md §4, "quorums count replicas, never replies": with five replicas a read needs
// answers from two distinct peers. One stale peer's answer delivered twice is one replica.
test('a duplicated read reply does not stand in for a second replica (5 replicas)', (t) => {
  const net = new CoreNet(5);
  // A write chosen by replicas 0, 1, 2; replicas 3 and 4 never hear of it.
  net.put(0, 'k', 'new');
  net.deliver(
    (m) => m.to <= 2,
    (m) => m.to >= 3,
  );
  t.is(net.core(0).record('k')?.chosen, 1);
  // A linearizable read at replica 3 (stale). Replica 4 (stale too) answers it, twice.
  const token = net.read(3, 'k');
  const query = net.inflight.find((m) => m.type === MessageType.readQuery && m.from === 3);
  t.truthy(query);
  net.inflight = [];
  const replies = answer(net, 4, query as PaxosMessage).filter(
    (m) => m.type === MessageType.readReply,
  );
  t.is(replies.length, 1);
  const reply = replies[0] as PaxosMessage;
  net.core(3).step(reply);
  net.core(3).step({ ...reply });
  net.process();
  t.false(net.results.has(token), 'no answer from one stale peer counted twice');
  t.is(net.core(3).stats().duplicateReadReplies, 1);
  // A second replica that has the write completes the majority, and the read sees it.
  net.inflight = [];
  for (const m of answer(net, 0, query as PaxosMessage))
    if (m.type === MessageType.readReply) net.core(3).step(m);
  net.process();
  net.deliver();
  const res = net.results.get(token);
  t.true(
    res?.ok === true && decodeKvGetResult(res.result).found,
    'the read returns the acknowledged write',
  );
});

// DESIGN.md §4, "ids never repeat across incarnations": a recovery reply produced for a past
// incarnation (delayed across the restart) must not complete the next incarnation's recovery.
test('a recovery reply meant for a past incarnation does not complete the next one', (t) => {
  const net = new CoreNet(3);
  net.put(0, 'k', 'v1');
  net.deliver();
  // Replica 2 restarts amnesic and asks for k; the peers answer, but the replies are delayed.
  net.restart(2, 2, true);
  net.read(2, 'k', 'local');
  net.deliver((m) => m.type === MessageType.fetch);
  const stale = net.inflight.filter((m) => m.type === MessageType.fetchReply && m.to === 2);
  t.is(stale.length, 2);
  net.inflight = [];
  // Meanwhile a new write is chosen by replicas 0 and 1 (2 is busy recovering and drops it).
  net.put(0, 'k', 'v2');
  net.deliver(to(1), to(2));
  net.deliver();
  t.is(net.core(1).record('k')?.chosen, 2);
  // Replica 2 restarts again (amnesic) and asks again; the old replies arrive now.
  const again = net.restart(2, 3, true);
  const token = net.read(2, 'k', 'local');
  net.inflight = net.inflight.filter((m) => m.type !== MessageType.fetch);
  for (const m of stale) again.step(m);
  net.process();
  t.false(net.results.has(token), 'the stale replies completed nothing');
  t.is(again.record('k')?.chosen ?? 0, 0);
});

// Decision 15: ballots carry the incarnation. An amnesic incarnation that recovered a key from
// peers who never saw its past self's Prepare must not make that same ballot again: the past
// self's Accept, still on the wire, would then count for (or be counted as) the new one.
test('a new incarnation never makes a ballot its past self used, even after amnesia', (t) => {
  const net = new CoreNet(3);
  // Instance 1 chosen; replica 0 then prepares instance 2 and crashes with its Prepares on the
  // wire (no peer saw them).
  net.put(1, 'k', 'a');
  net.deliver();
  net.put(0, 'k', 'lost');
  const old = net.inflight.filter((m) => m.type === MessageType.prepare && m.from === 0);
  t.is(old.length, 2);
  net.inflight = [];
  // It comes back without its disk, recovers k from 1 and 2, and proposes again.
  const reborn = net.restart(0, 2, true);
  net.put(0, 'k', 'b');
  net.deliver((m) => m.type === MessageType.fetch || m.type === MessageType.fetchReply);
  const fresh = net.inflight.filter((m) => m.type === MessageType.prepare && m.from === 0);
  t.is(fresh.length, 2);
  const oldBallot = (old[0] as PaxosMessage).ballot;
  const newBallot = (fresh[0] as PaxosMessage).ballot;
  t.not(newBallot, oldBallot, 'a ballot of the past incarnation is never made again');
  t.is(ballotEpoch(newBallot, 3), 2);
  // Deliver the past self's Prepares late, interleaved with the new round: one value per instance.
  net.inflight.push(...old);
  net.deliver();
  const chosen = [0, 1, 2].map((r) => net.core(r).record('k'));
  t.is(reborn.record('k')?.chosen, 2);
  t.true(
    chosen.every((rec) => rec?.chosen === 2 && rec.chosenSeq === chosen[0]?.chosenSeq),
    'agreement',
  );
});

// Issue 7 (3): proposal seqs stay inside the incarnation's range. The core asks for a new
// incarnation before the range runs out, and mints nothing past its end if none comes.
test('proposal ids never leave the incarnation range: renewed before they run out', (t) => {
  const span = 8;
  const run = (renew: boolean): { ok: number; unavailable: number; seqs: number[] } => {
    const core = new PaxosCore({
      replicaId: 0,
      replicas: 1,
      model: kvStateMachine,
      incarnation: 3,
      amnesic: false,
      idSpan: span,
    });
    let next = 3;
    const seqs: number[] = [];
    let ok = 0;
    let unavailable = 0;
    for (let i = 0; i < 20; i++) {
      core.request({
        kind: 'write',
        token: i,
        key: `k${i}`,
        op: encodeKvOp({ type: 'put', value: Buffer.from('v') }),
      });
      for (let round = 0; round < 10 && core.hasReady(); round++) {
        const ready = core.ready();
        if (ready.renewIds && renew) core.renewIds((next += 1));
        for (const key of ready.load) core.loaded(key, undefined);
        for (const r of ready.deliver)
          r.ok ? (ok += 1) : r.code === 'UNAVAILABLE' && (unavailable += 1);
      }
      const rec = core.record(`k${i}`);
      if (rec !== undefined && rec.chosen > 0) seqs.push(rec.chosenSeq);
    }
    return { ok, unavailable, seqs };
  };
  const renewed = run(true);
  t.is(renewed.ok, 20);
  t.is(new Set(renewed.seqs).size, 20, 'every id distinct');
  t.true(
    renewed.seqs.every((s) => Math.floor(s / span) >= 3 && Math.floor(s / span) <= 6),
    `seqs in the ranges handed out: ${renewed.seqs}`,
  );
  const stuck = run(false);
  t.is(stuck.ok, span, 'the first range serves its ids');
  t.is(
    stuck.unavailable,
    20 - span,
    'then writes fail UNAVAILABLE instead of using ids of another incarnation',
  );
  t.true(stuck.seqs.every((s) => s >= 3 * span && s < 4 * span));
});

// STYLE.md §2: a message from another replica is input. Malformed ones are rejected and
// counted; the core goes on (an assertion here would stop the whole group).
test('malformed peer messages are rejected and counted, never asserted', (t) => {
  const net = new CoreNet(3);
  const base: PaxosMessage = {
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
  const bad: PaxosMessage[] = [
    { ...base, from: 0 },
    { ...base, from: 7 },
    { ...base, to: 2 },
    { ...base, ballot: 2 }, // a reserved ballot in a Prepare
    { ...base, type: MessageType.accept, ballot: 2 }, // an Accept without a value
    { ...base, type: MessageType.fetchReply }, // without a record
    { ...base, instance: Number.NaN },
    { ...base, type: 99 as never },
    { ...base, key: '' },
    { ...base, chosen: 3, chosenOrigin: 9 },
    { ...base, type: MessageType.accept, value: { origin: 5, seq: 1, op: new Uint8Array(1) } },
    {
      ...base,
      type: MessageType.fetchReply,
      purpose: 1,
      record: {
        chosen: 0,
        chosenOrigin: -1,
        chosenSeq: 0,
        data: null,
        version: 0,
        promised: 1,
        acceptedBallot: 5,
        accepted: null,
        recentIds: [],
        recentResults: [],
        requests: [],
      },
    },
  ];
  const core = net.core(0);
  for (const m of bad)
    t.is(typeof core.step(m), 'string', JSON.stringify({ ...m, record: null, value: null }));
  t.is(core.stats().rejectedMessages, bad.length);
  t.is(core.stats().keys ?? 0, 0, 'no key state made by rejected input');
  // The core still works.
  const token = net.put(0, 'k', 'v');
  net.deliver();
  t.true(net.results.get(token)?.ok);
});

// STYLE.md §2: a record read from disk that decodes but breaks the record's rules is damage:
// the key recovers from its peers like a corrupted one, and the core does not stop.
test('a stored record that breaks the record rules is treated as corrupted', (t) => {
  const net = new CoreNet(3);
  net.put(0, 'k', 'x');
  net.deliver();
  const fresh = net.restart(1, 2, false);
  fresh.request({
    kind: 'read',
    token: 900,
    key: 'k',
    query: Uint8Array.of(1),
    consistency: 'local',
  });
  t.deepEqual(fresh.ready().load, ['k']);
  fresh.loaded('k', {
    chosen: 1,
    chosenOrigin: 7,
    chosenSeq: 0,
    data: null,
    version: 0,
    promised: 0,
    acceptedBallot: 0,
    accepted: null,
    recentIds: [],
    recentResults: [],
    requests: [],
  });
  net.process();
  t.is(fresh.stats().corruptedRecords, 1);
  net.deliver(from(1), () => false);
  net.deliver();
  t.true(net.results.get(900)?.ok, 'answered after recovering the key');
});
