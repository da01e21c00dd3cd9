/**
 * A linearizable read asks a majority's worth of peers; it asks those heard from recently
 * first, so a replica that is down (silent) does not stall half of the reads for a round.
 */
import test from 'ava';
import { MessageType } from '../../../../../actors/paxos/core/types';
import { CoreNet } from './core-net';

test('reads ask the peer that has been talking, not the silent one, whatever the rotation', (t) => {
  const net = new CoreNet(3);
  // Replica 2 is down: everything to it is lost. Writes through replica 0 make replica 1 heard.
  for (let i = 0; i < 4; i++) {
    net.put(0, `k${i}`, 'v');
    net.deliver(
      () => true,
      (m) => m.to === 2 || m.from === 2,
    );
  }
  const asked: number[] = [];
  for (let i = 0; i < 8; i++) {
    net.read(0, `k${i % 4}`);
    for (const m of net.inflight)
      if (m.type === MessageType.readQuery && m.from === 0) asked.push(m.to);
    net.deliver(
      () => true,
      (m) => m.to === 2 || m.from === 2,
    );
  }
  t.true(asked.length >= 4, `read rounds asked ${asked.length} peers`);
  t.deepEqual([...new Set(asked)], [1], 'never the silent replica');
  let answered = 0;
  for (const res of net.results.values()) if (res.ok) answered++;
  t.true(answered >= 12, `${answered} writes and reads answered without a round timeout`);
});

test('with no news from anyone, reads rotate over the peers as before', (t) => {
  const net = new CoreNet(3);
  const asked = new Set<number>();
  for (let i = 0; i < 6; i++) {
    net.read(0, `fresh${i}`);
    for (const m of net.inflight) if (m.type === MessageType.readQuery) asked.add(m.to);
    net.inflight = [];
  }
  t.deepEqual([...asked].sort(), [1, 2]);
});
