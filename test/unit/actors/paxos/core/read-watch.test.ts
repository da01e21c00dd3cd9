/**
 * A linearizable read does not make its key active (read-watch.ts): the tick looks at its
 * round only once the round may have stalled, and then retries it exactly as before.
 */
import test from 'ava';
import { DEFAULT_LIMITS } from '../../../../../actors/paxos/core/paxos-core';
import { MessageType } from '../../../../../actors/paxos/core/types';
import { decodeKvGetResult } from '../../../../../models/kv/kv';
import { CoreNet } from './core-net';

const TIMEOUT = DEFAULT_LIMITS.roundTimeoutTicks;

test('an answered read leaves its key out of the active keys and the tick finds nothing to do', (t) => {
  const net = new CoreNet(3);
  const write = net.put(0, 'k', 'v');
  net.deliver();
  t.true(net.results.get(write)?.ok);
  for (let i = 0; i <= 2 * TIMEOUT; i++) net.core(0).tick();
  t.is(net.core(0).stats()['activeKeys'], 0, 'the write left the key idle');
  const read = net.read(0, 'k');
  t.is(net.core(0).stats()['activeKeys'], 0, 'a read round out does not make its key active');
  net.deliver();
  t.true(net.results.get(read)?.ok);
  for (let i = 0; i <= 2 * TIMEOUT; i++) net.core(0).tick();
  net.process();
  t.is(net.inflight.length, 0, 'no retry of an answered round');
  t.is(net.core(0).stats()['readRoundsRetried'] ?? 0, 0);
});

test('a read whose query is lost is retried at the round timeout, asking every peer', (t) => {
  const net = new CoreNet(3);
  const write = net.put(0, 'k', 'v');
  net.deliver();
  t.true(net.results.get(write)?.ok);
  const read = net.read(0, 'k');
  t.is(net.inflight.filter((m) => m.type === MessageType.readQuery).length, 1);
  net.inflight = []; // the query is lost
  for (let i = 0; i < TIMEOUT - 1; i++) net.core(0).tick();
  net.process();
  t.is(net.inflight.length, 0, 'no retry before the round timeout');
  net.core(0).tick();
  net.process();
  const retried = net.inflight.filter((m) => m.type === MessageType.readQuery).map((m) => m.to);
  t.deepEqual(retried.sort(), [1, 2], 'the retry asks every peer');
  t.is(net.core(0).stats()['readRoundsRetried'], 1);
  net.deliver();
  const res = net.results.get(read);
  t.true(res?.ok, 'the retried read is answered');
});

test('a read that no peer ever answers fails at its deadline', (t) => {
  const net = new CoreNet(3);
  const read = net.read(0, 'k');
  for (let i = 0; i < DEFAULT_LIMITS.requestTimeoutTicks + 1; i++) {
    net.inflight = []; // every query is lost
    net.core(0).tick();
    net.process();
  }
  const res = net.results.get(read);
  t.true(res !== undefined && !res.ok && res.code === 'UNAVAILABLE', JSON.stringify(res));
});

test('reads of one key before the Ready is taken share one round; a later read waits for the next', (t) => {
  const net = new CoreNet(3);
  const write = net.put(0, 'k', 'v');
  net.deliver();
  t.true(net.results.get(write)?.ok);
  const core = net.core(0);
  const joined = [net.readQueued(0, 'k'), net.readQueued(0, 'k'), net.readQueued(0, 'k')];
  net.process();
  t.is(net.inflight.filter((m) => m.type === MessageType.readQuery).length, 1, 'one query');
  t.is(core.stats()['readsJoinedRound'], 2);
  // The round's query has left (the Ready was taken): this read must not join it.
  const late = net.readQueued(0, 'k');
  t.is(core.stats()['readsJoinedRound'], 2, 'no read joins a round whose query has left');
  net.deliver();
  for (const token of [...joined, late]) t.true(net.results.get(token)?.ok, `${token}`);
  t.is(core.stats()['readRounds'], 2, 'the late read had a round of its own');
});

test('a read arriving once the query of the round out for its key has left waits for the next round: a write acknowledged in between is seen', (t) => {
  const net = new CoreNet(3);
  const v0 = net.put(0, 'k', 'v0');
  net.deliver();
  t.true(net.results.get(v0)?.ok);
  const core = net.core(0);
  const first = net.read(0, 'k'); // the Ready is taken: the round's query has left
  const asked = net.inflight.find((m) => m.type === MessageType.readQuery);
  t.truthy(asked);
  if (asked === undefined) return;
  const q = asked.to;
  const writer = 3 - q; // the replica that is neither the reader (0) nor the asked peer
  // The asked peer answers now, before it hears of the next write; the answer is held.
  net.deliver((m) => m === asked);
  const reply = net.inflight.find((m) => m.type === MessageType.readReply);
  t.truthy(reply);
  net.inflight = net.inflight.filter((m) => m !== reply);
  // The other replica writes v1 with the asked peer alone (nothing reaches the reader).
  const write = net.put(writer, 'k', 'v1');
  net.deliver(
    () => true,
    (m) => m.to === 0,
  );
  t.true(net.results.get(write)?.ok, 'v1 acknowledged');
  // Invoked after v1's acknowledgement: this read must see v1, whatever round it rides.
  const second = net.readQueued(0, 'k');
  if (reply !== undefined) net.inflight.unshift(reply);
  net.deliver();
  const old = net.results.get(first);
  const late = net.results.get(second);
  t.true(old?.ok === true && late?.ok === true);
  if (old?.ok !== true || late?.ok !== true) return;
  t.is(Buffer.from(decodeKvGetResult(old.result).value).toString(), 'v0');
  t.is(Buffer.from(decodeKvGetResult(late.result).value).toString(), 'v1', 'no stale read');
  t.is(core.stats()['readsJoinedRound'] ?? 0, 0);
});
