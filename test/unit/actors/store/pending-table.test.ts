/**
 * The client's table of requests in flight (actors/store/pending-table.ts): each request is
 * taken exactly once by its token, wherever it lives (the ring or the overflow), the ring
 * doubles only while busy, and the backstop finds expired requests oldest first.
 */
import test from 'ava';
import { PendingTable, RING_SLOTS_MAX } from '../../../../actors/store/pending-table';
import type { PendingRequest } from '../../../../actors/store/pending-table';

function request(replica: number, deadline: number, key = `k${deadline}`): PendingRequest<string> {
  return {
    resolve: () => undefined,
    reject: () => undefined,
    completion: `c-${key}`,
    key,
    shownKey: `shown-${key}`,
    replica,
    actor: replica * 10 + 1,
    write: replica % 2 === 0,
    deadline,
  };
}

function blank(): PendingRequest<string> {
  return request(0, 0, '');
}

test('a request is taken once, with every field it was added with', (t) => {
  const table = new PendingTable<string>();
  const added = request(3, 1234, 'a');
  table.add(1, added);
  table.add(2, request(4, 1235, 'b'));
  t.is(table.size, 2);
  const out = blank();
  t.true(table.peek(1, out));
  t.is(table.size, 2, 'peek leaves it in flight');
  t.true(table.take(1, out));
  t.deepEqual(out, added);
  t.false(table.take(1, out), 'a second take finds nothing');
  t.is(table.completionOf(1), undefined);
  t.is(table.completionOf(2), 'c-b', 'completionOf leaves it in flight');
  t.false(table.take(99, out), 'a token never added is not in flight');
  t.is(table.size, 1);
  t.deepEqual(table.tokensInFlight(), [2]);
});

test('a request still in flight when its slot comes round moves to the overflow, and is found there', (t) => {
  const table = new PendingTable<string>();
  const slots = table.ringSlots;
  const out = blank();
  // Token 1 stays in flight; every other request is answered at once, so the ring is never
  // busy and does not grow: token 1 + slots takes token 1's slot.
  table.add(1, request(1, 1, 'old'));
  for (let token = 2; token <= slots + 1; token++) {
    table.add(token, request(2, token));
    t.true(table.take(token, out));
  }
  t.is(table.ringSlots, slots, 'a lone straggler does not grow the ring');
  table.add(slots + 2, request(2, slots + 2));
  t.deepEqual(table.tokensInFlight(), [1, slots + 2], 'oldest first, overflow and ring alike');
  t.is(table.completionOf(1), 'c-old', 'found in the overflow');
  t.true(table.take(slots + 2, out));
  t.is(table.size, 1);
  t.deepEqual(table.tokensInFlight(), [1]);
  t.true(table.take(1, out));
  t.is(out.key, 'old');
  t.is(table.size, 0);
});

test('the ring doubles while busy and keeps every request', (t) => {
  const table = new PendingTable<string>();
  const slots = table.ringSlots;
  const n = slots * 3;
  for (let token = 1; token <= n; token++) table.add(token, request(token % 200, token));
  t.true(table.ringSlots >= n, `${table.ringSlots} slots for ${n} requests`);
  t.is(table.size, n);
  t.deepEqual(
    table.tokensInFlight(),
    Array.from({ length: n }, (_, i) => i + 1),
    'in token order, wherever the ring put them',
  );
  const out = blank();
  for (let token = n; token >= 1; token--) {
    t.true(table.take(token, out), `token ${token}`);
    t.is(out.deadline, token);
    t.is(out.replica, token % 200);
    t.is(out.write, (token % 200) % 2 === 0);
  }
  t.is(table.size, 0);
});

test('past RING_SLOTS_MAX the ring stops growing and older requests spill over', (t) => {
  const table = new PendingTable<string>();
  const n = RING_SLOTS_MAX + 100;
  for (let token = 1; token <= n; token++) table.add(token, request(1, token));
  t.is(table.ringSlots, RING_SLOTS_MAX);
  t.is(table.size, n);
  const tokens = table.tokensInFlight();
  t.is(tokens.length, n);
  t.deepEqual(
    tokens.slice(0, 100),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const out = blank();
  for (let token = 1; token <= n; token++) t.true(table.take(token, out));
  t.is(table.size, 0);
});

test('nextExpired finds expired requests oldest first, the overflow and the ring alike', (t) => {
  const table = new PendingTable<string>();
  const slots = table.ringSlots;
  const out = blank();
  // Token 1 (deadline 10) spills to the overflow; tokens slots+2.. stay in the ring.
  table.add(1, request(1, 10));
  for (let token = 2; token <= slots + 1; token++) {
    table.add(token, request(1, 10 + token));
    table.take(token, out);
  }
  table.add(slots + 2, request(1, 1000));
  table.add(slots + 3, request(1, 2000));
  t.is(table.nextExpired(9), 0, 'nothing expired yet');
  t.is(table.nextExpired(10), 1);
  t.true(table.take(1, out));
  t.is(table.nextExpired(999), 0, 'the ring has nothing expired at 999');
  t.is(table.nextExpired(1500), slots + 2);
  t.true(table.take(slots + 2, out));
  t.is(table.nextExpired(1500), 0, 'the next has time left');
  t.is(table.nextExpired(2000), slots + 3);
  t.true(table.take(slots + 3, out));
  t.is(table.nextExpired(1e12), 0);
});

test('tokens must increase', (t) => {
  const table = new PendingTable<string>();
  table.add(5, request(1, 1));
  t.throws(() => table.add(5, request(1, 1)), { message: /token 5 after 5/ });
});

test('tokensInFlight is in token order when the tokens wrap round the ring', (t) => {
  const table = new PendingTable<string>();
  const slots = table.ringSlots;
  const out = blank();
  for (let token = 1; token < slots - 4; token++) {
    table.add(token, request(1, token));
    t.true(table.take(token, out));
  }
  // Tokens slots-4 .. slots+5 sit in the ring's last four slots and its first six.
  const live = Array.from({ length: 10 }, (_, i) => slots - 4 + i);
  for (const token of live) table.add(token, request(1, token));
  t.is(table.ringSlots, slots);
  t.deepEqual(table.tokensInFlight(), live);
});
