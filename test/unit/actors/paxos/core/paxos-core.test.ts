import test from 'ava';
import { MessageType } from '../../../../../actors/paxos/core/types';
import type { PaxosMessage } from '../../../../../actors/paxos/core/types';
import { CoreNet } from './core-net';
import { PaxosCore } from '../../../../../actors/paxos/core/paxos-core';
import { kvStateMachine } from '../../../../../models/kv/kv';
import { ballotEpoch } from '../../../../../actors/paxos/core/ballot';
import { originAt } from '../../../../../actors/paxos/core/recent-window';

const isType = (type: number) => (m: PaxosMessage) => m.type === type;

test('a write on a healthy Set is chosen, applied on all replicas, and answered once', (t) => {
  const net = new CoreNet();
  const token = net.put(0, 'k', 'v1');
  net.deliver();
  const res = net.results.get(token);
  t.true(res?.ok);
  for (let r = 0; r < 3; r++) t.is(net.core(r).record('k')?.chosen, 1, `replica ${r}`);
});

// Paper rule (DESIGN.md §4, durability): a promise or accept is persisted before it is
// answered, so it must never be in the immediate `send` list.
test('promises and accepts are only sent after persist', (t) => {
  const net = new CoreNet();
  net.put(0, 'k', 'a');
  net.deliver();
  net.put(1, 'k', 'b');
  net.deliver();
  const early = net.immediate.filter(
    (m) => (m.type === MessageType.promise || m.type === MessageType.accepted) && m.ok,
  );
  t.deepEqual(early, []);
  t.true(net.immediate.length > 0, 'some messages do go at once (chosen notices)');
});

// Paper rule (DESIGN.md §4, pre-authorization): the originator of the value chosen at i skips
// Prepare for i+1; after that first round, its next write is one round trip (Accept only).
test('the originator of the previous value proposes the next instance without Prepare', (t) => {
  const net = new CoreNet();
  net.put(0, 'k', 'a'); // instance 1: only the key's home (replica 2 for 'k') may skip Prepare
  t.true(net.inflight.some(isType(MessageType.prepare)));
  net.deliver();
  net.put(0, 'k', 'b'); // instance 2: replica 0 originated instance 1's value
  t.false(net.inflight.some(isType(MessageType.prepare)));
  const accepts = net.inflight.filter(isType(MessageType.accept));
  t.is(accepts.length, 2);
  t.true(accepts.every((m) => m.ballot === 1 && m.instance === 2));
  net.deliver();
  t.is(net.core(1).record('k')?.chosen, 2);
});

// Paper rule (DESIGN.md §4): the same value can be chosen at instance i under two ballots. Only
// the replica named in the value's request id (the originator) may skip Prepare for i+1, not
// the replica whose ballot happened to carry the value.
test('a value re-proposed under another ballot does not pre-authorize the re-proposer', (t) => {
  const net = new CoreNet();
  // Replica 0 proposes A at instance 1; replica 1 accepts; replica 0 never hears back.
  net.put(0, 'k', 'A');
  net.deliver((m) => m.type === MessageType.prepare || m.type === MessageType.promise);
  net.deliver(
    (m) => m.type === MessageType.accept && m.to === 1,
    (m) => m.type === MessageType.accept && m.to === 2,
  );
  net.inflight = net.inflight.filter((m) => m.type !== MessageType.accepted);
  t.is(net.core(1).record('k')?.accepted?.origin, 0);
  // Replica 2 writes B: its Prepare finds A at replica 1 and must re-propose A at instance 1.
  const tokenB = net.put(2, 'k', 'B');
  net.deliver(
    (m) => m.from === 2 || m.to === 2,
    (m) => m.from === 0 || m.to === 0,
  );
  const rec2 = net.core(2).record('k');
  t.is(rec2?.chosen, 2, "A chosen at 1 (under replica 2's ballot), then B at 2");
  t.is(
    rec2 === undefined ? undefined : originAt(rec2, 0),
    0,
    "instance 1 carries replica 0's value",
  );
  t.true(net.results.get(tokenB)?.ok);
  // Instance 2's value came from replica 2, so replica 2 is pre-authorized for instance 3...
  net.put(2, 'k', 'C');
  t.false(net.inflight.some((m) => m.type === MessageType.prepare && m.from === 2));
  net.deliver(
    (m) => m.from === 2 || m.to === 2,
    (m) => m.from === 0 || m.to === 0,
  );
  // ...and an acceptor refuses a reserved ballot from a replica that did not originate the
  // previous value.
  const forged: PaxosMessage = {
    type: MessageType.accept,
    key: 'k',
    from: 1,
    to: 2,
    instance: 4,
    ballot: 2,
    ok: false,
    promised: 0,
    acceptedBallot: 0,
    value: { origin: 1, seq: 99, op: new Uint8Array([2]) },
    chosen: 3,
    chosenOrigin: 2,
    chosenSeq: net.core(2).record('k')?.chosenSeq ?? 0,
    requestId: 0,
    purpose: 0,
    record: null,
  };
  net.core(2).step(forged);
  net.process();
  const reply = net.inflight.find(
    (m) => m.type === MessageType.accepted && m.to === 1 && m.instance === 4,
  );
  t.is(reply?.ok, false);
  t.is(net.core(2).record('k')?.acceptedBallot, 0);
});

// Paper rule (DESIGN.md §4, the amnesia rule): a replica restarted without state takes no
// part until a majority of the others answered, then adopts the highest promise.
test('an amnesic replica ignores Prepare until it recovered from a majority of the others', (t) => {
  const net = new CoreNet(3, [false, false, true]);
  const prepare: PaxosMessage = {
    type: MessageType.prepare,
    key: 'k',
    from: 0,
    to: 2,
    instance: 1,
    ballot: 4,
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
  net.core(2).step(prepare);
  net.process();
  t.false(
    net.inflight.some((m) => m.type === MessageType.promise),
    'no promise while recovering',
  );
  // Replica 1 has promised ballot 7 meanwhile; recovery must adopt it.
  net.core(1).step({ ...prepare, to: 1, ballot: 7 });
  net.process();
  net.inflight = net.inflight.filter((m) => m.type !== MessageType.promise);
  // Deliver only replica 0's answer: one peer is not a majority of the Set.
  net.deliver((m) => m.type === MessageType.fetch && m.to === 0);
  net.deliver((m) => m.type === MessageType.fetchReply && m.from === 0);
  t.is(net.core(2).record('k')?.promised, 0);
  net.deliver((m) => m.type === MessageType.fetch || m.type === MessageType.fetchReply);
  t.is(net.core(2).record('k')?.promised, 7, 'adopted the highest promise among the others');
  net.core(2).step({ ...prepare, ballot: 5 });
  net.process();
  const reply = net.inflight.find(
    (m) => m.type === MessageType.promise && m.from === 2 && m.ballot === 5,
  );
  t.is(reply?.ok, false, 'a ballot below the adopted promise is refused');
});

// Instance 1 has no originator; the key's home is the one replica pre-authorized for it.
test('the home replica writes instance 1 without Prepare; others prepare', (t) => {
  const net = new CoreNet();
  net.put(0, 'c', 'x'); // home of 'c' is replica 0
  t.false(net.inflight.some(isType(MessageType.prepare)));
  t.true(net.inflight.filter(isType(MessageType.accept)).every((m) => m.ballot === 1));
  net.deliver();
  t.is(net.core(1).record('c')?.chosen, 1);
  net.put(1, 'e', 'y'); // home of 'e' is replica 0, not 1
  t.true(net.inflight.some(isType(MessageType.prepare)));
});

// An amnesic incarnation forgot which reserved-ballot messages its past self sent (some may
// still be on the wire), so it never skips Prepare for values of a past incarnation, and its
// Prepare ballots carry its own epoch (decision 15), so none equals a past incarnation's.
test('an amnesic incarnation prepares with ballots of its own epoch and does not reuse pre-authorization', (t) => {
  const net = new CoreNet();
  net.put(0, 'c', 'x');
  net.deliver();
  const reborn = new PaxosCore({
    replicaId: 0,
    replicas: 3,
    model: kvStateMachine,
    incarnation: 7,
    amnesic: true,
  });
  net.cores[0] = reborn;
  net.put(0, 'c', 'y');
  net.deliver((m) => m.type === MessageType.fetch || m.type === MessageType.fetchReply);
  t.is(reborn.record('c')?.chosen, 1, 'recovered instance 1');
  const prepares = net.inflight.filter((m) => m.type === MessageType.prepare && m.from === 0);
  t.is(prepares.length, 2, 'the recovered originator still prepares');
  t.true(
    prepares.every((m) => ballotEpoch(m.ballot, 3) === 7),
    `ballots of epoch 7: ${prepares.map((m) => m.ballot)}`,
  );
  net.deliver();
  t.is(net.core(1).record('c')?.chosen, 2);
});

// Integrity (DESIGN.md §6): a replica holds no vote for state it cannot read. A record that
// fails its checksum is treated like amnesia for that key: no promise or answer until the key
// is recovered from a majority of the others.
test('a corrupted record is recovered from the other replicas before the key takes part', (t) => {
  const net = new CoreNet();
  net.put(0, 'c', 'x');
  net.deliver();
  const fresh = new PaxosCore({
    replicaId: 1,
    replicas: 3,
    model: kvStateMachine,
    incarnation: 9,
    amnesic: false,
  });
  net.cores[1] = fresh;
  fresh.request({
    kind: 'read',
    token: 99,
    key: 'c',
    query: Uint8Array.of(1),
    consistency: 'local',
  });
  const ready = fresh.ready();
  t.deepEqual(ready.load, ['c']);
  fresh.loaded('c', 'corrupted');
  net.process();
  t.false(net.results.has(99), 'no answer from a corrupted key');
  t.is(
    net.inflight.filter((m) => m.type === MessageType.fetch && m.from === 1).length,
    2,
    'asks both peers',
  );
  net.deliver((m) => m.type === MessageType.fetch || m.type === MessageType.fetchReply);
  t.is(fresh.record('c')?.chosen, 1, 'recovered the chosen state');
  t.true(net.results.get(99)?.ok, 'then answers');
  t.is(fresh.stats().corruptedRecords, 1);
});

// Amnesia rule (DESIGN.md §4): storage that dropped records at open (a torn tail cut off) may
// have dropped acknowledged promises or accepts, so the incarnation must recover every key
// from a majority of the others before it takes part, exactly like a replica that lost its disk.
test('a core told storage lost records at open recovers each key before it promises', (t) => {
  const prepare: PaxosMessage = {
    type: MessageType.prepare,
    key: 'k',
    from: 0,
    to: 2,
    instance: 1,
    ballot: 4,
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
  const answerOf = (lost: boolean): PaxosMessage[] => {
    const core = new PaxosCore({
      replicaId: 2,
      replicas: 3,
      model: kvStateMachine,
      incarnation: 1,
      amnesic: false,
    });
    core.step(prepare);
    t.deepEqual(core.ready().load, ['k']);
    if (lost) core.becomeAmnesic();
    core.loaded('k', undefined);
    const ready = core.ready();
    return [...ready.send, ...ready.sendAfterPersist];
  };
  t.true(
    answerOf(false).some((m) => m.type === MessageType.promise && m.ok),
    'control: a whole disk promises at once',
  );
  const lost = answerOf(true);
  t.false(
    lost.some((m) => m.type === MessageType.promise),
    'no promise from a replica that may have forgotten one',
  );
  t.deepEqual(
    lost
      .filter((m) => m.type === MessageType.fetch)
      .map((m) => m.to)
      .sort(),
    [0, 1],
    'it asks the others',
  );
});

test('becomeAmnesic after a key has loaded is a programmer error', (t) => {
  const core = new PaxosCore({
    replicaId: 2,
    replicas: 3,
    model: kvStateMachine,
    incarnation: 1,
    amnesic: false,
  });
  core.step({
    type: MessageType.prepare,
    key: 'k',
    from: 0,
    to: 2,
    instance: 1,
    ballot: 4,
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
  });
  core.ready();
  core.loaded('k', undefined);
  t.throws(() => core.becomeAmnesic(), { message: /after k loaded/ });
});
