/**
 * Per-key bounds of a replica (TigerBeetle's habit: a bound on every queue). Writes queued on a
 * key and linearizable reads pending on it are each bounded: past the bound a request answers
 * OVERLOADED at once, and the key's other requests still complete.
 */
import test from 'ava';
import { encodeKvOp } from '../../../../../models/kv/kv';
import { CoreNet } from './core-net';

test('a write past queuedWritesPerKeyMax answers OVERLOADED; the queued ones complete', (t) => {
  const net = new CoreNet(3, [], { queuedWritesPerKeyMax: 2 });
  const core = net.core(0);
  const tokens = [101, 102, 103];
  for (const token of tokens) {
    const op = encodeKvOp({ type: 'put', value: Buffer.from(`v${token}`) });
    core.request({ kind: 'write', token, key: 'k', op });
  }
  net.process();
  const refused = net.results.get(103);
  t.true(
    refused !== undefined && !refused.ok && refused.code === 'OVERLOADED',
    `${JSON.stringify(refused)}`,
  );
  t.is(core.stats()['writesRejectedOverloaded'], 1);
  net.deliver();
  t.true(net.results.get(101)?.ok === true && net.results.get(102)?.ok === true);
});

test('a linearizable read past pendingReadsPerKeyMax answers OVERLOADED; the pending ones complete', (t) => {
  const net = new CoreNet(3, [], { pendingReadsPerKeyMax: 3 });
  const write = net.put(0, 'k', 'v');
  net.deliver();
  t.true(net.results.get(write)?.ok);
  const core = net.core(0);
  const refused = (token: number) => {
    const res = net.results.get(token);
    return res !== undefined && !res.ok && res.code === 'OVERLOADED';
  };
  // Reads riding one round: the first starts it, two join it, the fourth finds three pending.
  const riding = [net.readQueued(0, 'k'), net.readQueued(0, 'k'), net.readQueued(0, 'k')];
  const fourth = net.readQueued(0, 'k');
  net.process();
  t.true(refused(fourth), JSON.stringify(net.results.get(fourth)));
  t.is(core.stats()['readsRejectedOverloaded'], 1);
  net.deliver();
  for (const token of riding) t.true(net.results.get(token)?.ok, `riding ${token}`);
  // Reads waiting for the next round count too: one round out with one read, two waiting.
  const out = net.read(0, 'k');
  const waiting = [net.readQueued(0, 'k'), net.readQueued(0, 'k')];
  const past = net.readQueued(0, 'k');
  net.process();
  t.true(refused(past), JSON.stringify(net.results.get(past)));
  t.is(core.stats()['readsRejectedOverloaded'], 2);
  net.deliver();
  for (const token of [out, ...waiting]) t.true(net.results.get(token)?.ok, `pending ${token}`);
  // Answered reads free the bound; local reads never pend, so the bound never refuses them.
  const later = net.read(0, 'k');
  const local = net.read(0, 'k', 'local');
  net.deliver();
  t.true(net.results.get(later)?.ok === true && net.results.get(local)?.ok === true);
  t.is(core.stats()['readsRejectedOverloaded'], 2);
});
