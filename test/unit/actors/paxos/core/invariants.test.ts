/**
 * The core's invariants() (STYLE.md §2) catch a replica whose record breaks the acceptor's
 * promises. Each test builds a real state with CoreNet, then changes the live record the way a
 * bug would (heldRecords hands out the live objects), and checks that the next input to that
 * key stops the core with an assertion instead of carrying on.
 */
import test from 'ava';
import type { PaxosCore } from '../../../../../actors/paxos/core/paxos-core';
import type { KeyRecord, PaxosMessage } from '../../../../../actors/paxos/core/types';
import { MessageType } from '../../../../../actors/paxos/core/types';
import { CoreNet } from './core-net';

function live(core: PaxosCore, key: string): KeyRecord {
  for (const held of core.heldRecords()) if (held.key === key) return held.rec;
  throw new Error(`${key} is not held`);
}

const phase1 = (m: PaxosMessage): boolean =>
  m.type === MessageType.prepare || m.type === MessageType.promise;

/** Replica 1 writes 'k' after replica 0 did: it prepares, and with `accept` also accepts locally. */
function secondWriter(accept: boolean): { net: CoreNet; rec: KeyRecord } {
  const net = new CoreNet();
  net.put(0, 'k', 'a');
  net.deliver();
  net.put(1, 'k', 'b');
  if (accept) net.deliver(phase1);
  return { net, rec: live(net.core(1), 'k') };
}

// Paper rule (Paxos, acceptor): a promise is never taken back at the same instance.
test('a promised ballot that goes down at the same instance is caught', (t) => {
  const { net, rec } = secondWriter(false);
  t.true(rec.promised > 0, 'the setup made a promise');
  t.is(rec.acceptedBallot, 0);
  net.read(1, 'k', 'local');
  rec.promised -= 1;
  t.throws(() => net.read(1, 'k', 'local'), { message: /promise went down/ });
});

// Paper rule (Paxos, safety): once a value is chosen at an instance, it never changes.
test('a chosen value that changes is caught', (t) => {
  const { net } = secondWriter(false);
  const rec = live(net.core(2), 'k');
  t.is(rec.chosen, 1);
  net.read(2, 'k', 'local');
  rec.chosenSeq += 1;
  t.throws(() => net.read(2, 'k', 'local'), { message: /value chosen at 1 changed/ });
});

test('a chosen instance that goes back is caught', (t) => {
  const { net } = secondWriter(false);
  const rec = live(net.core(2), 'k');
  net.read(2, 'k', 'local');
  rec.chosen = 0;
  rec.chosenOrigin = -1;
  rec.chosenSeq = 0;
  t.throws(() => net.read(2, 'k', 'local'), { message: /chosen went back from 1 to 0/ });
});

// Paper rule (Paxos, acceptor): accepted ballots only grow, and one ballot carries one value.
test('an accepted ballot that goes down, or a value replaced at the same ballot, is caught', (t) => {
  const { net, rec } = secondWriter(true);
  const ballot = rec.acceptedBallot;
  const value = rec.accepted;
  t.true(ballot > 0 && value !== null, 'the setup accepted a value');
  t.is(rec.chosen, 1, 'at instance 2');
  rec.acceptedBallot = ballot - 1;
  t.throws(() => net.read(1, 'k', 'local'), { message: /accepted ballot went down/ });

  const again = secondWriter(true);
  const accepted = again.rec.accepted;
  t.true(accepted !== null);
  if (accepted === null) return;
  again.rec.accepted = { ...accepted, seq: accepted.seq + 1 };
  t.throws(() => again.net.read(1, 'k', 'local'), {
    message: /value accepted at ballot \d+ changed/,
  });
});

test('untouched records pass the same inputs', (t) => {
  const { net } = secondWriter(true);
  t.notThrows(() => net.read(1, 'k', 'local'));
  t.notThrows(() => net.read(2, 'k', 'local'));
  t.notThrows(() => net.deliver());
});
