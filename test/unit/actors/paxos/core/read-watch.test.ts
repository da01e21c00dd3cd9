/**
 * A linearizable read does not make its key active (read-watch.ts): the tick looks at its
 * round only once the round may have stalled, and then retries it exactly as before.
 */
import test from 'ava';
import { DEFAULT_LIMITS } from '../../../../../actors/paxos/core/paxos-core';
import { MessageType } from '../../../../../actors/paxos/core/types';
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
