/** LocalQueue (local-queue.ts): pushes inside a handler, compaction, any interleaving. */
import test from 'ava';
import fc from 'fast-check';
import { LocalQueue } from '../../../runtime/local-queue';
import type { LocalPayload } from '../../../runtime/local-queue';

/** Bytes pushed come back as bytes: anything else is a failure of the queue. */
function asBytes(p: LocalPayload): Uint8Array {
  if (!(p instanceof Uint8Array)) throw new Error('an object where bytes were pushed');
  return p;
}

function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i) & 0xff;
  return out;
}

test('a big push inside a handler leaves the current payload intact', (t) => {
  const queue = new LocalQueue();
  queue.push(1, 2, bytes(1, 100));
  queue.push(3, 4, bytes(3, 100));
  const seen: number[][] = [];
  queue.deliver(10, (from, _to, p) => {
    const payload = asBytes(p);
    if (from === 1) queue.push(9, 9, bytes(9, 300_000));
    seen.push([from, payload.byteLength, ...payload.subarray(0, 3)]);
    t.deepEqual(payload, bytes(from, 100), `payload of ${from} after the push`);
  });
  t.deepEqual(
    seen.map((s) => s[0]),
    [1, 3],
  );
  let big: Uint8Array | undefined;
  t.is(
    queue.deliver(10, (_f, _t, p) => {
      big = asBytes(p).slice();
    }),
    1,
  );
  t.deepEqual(big, bytes(9, 300_000));
  t.is(queue.length, 0);
});

test('payloads survive compaction of a queue that never empties', (t) => {
  const queue = new LocalQueue();
  let next = 0;
  let expected = 0;
  for (let i = 0; i < 1000; i++) queue.push(next, 0, bytes(next, 1 + (next++ % 50)));
  // Each round delivers 1000 and queues 1000 more: the front passes COMPACT_SLOTS (4096).
  for (let round = 0; round < 12; round++) {
    queue.deliver(1000, (from, _to, p) => {
      const payload = asBytes(p);
      t.is(from, expected, 'in order');
      const good =
        payload.byteLength === 1 + (from % 50) &&
        payload.every((b, i) => b === ((from * 31 + i) & 0xff));
      if (!good) t.fail(`payload ${from}`);
      expected++;
      queue.push(next, 0, bytes(next, 1 + (next % 50)));
      next++;
    });
  }
  t.is(queue.length, 1000);
  t.is(expected, 12_000);
});

test('any interleaving of pushes and bounded deliveries is FIFO with intact payloads', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.nat(5000), fc.constant(-1)), { maxLength: 300 }),
      fc.integer({ min: 1, max: 20 }),
      (script, max) => {
        const queue = new LocalQueue();
        let pushed = 0;
        let delivered = 0;
        let ok = true;
        const take = (from: number, _to: number, payload: LocalPayload): void => {
          const p = asBytes(payload);
          ok &&= from === delivered && p.byteLength === from % 3000;
          ok &&= p.every((b, i) => b === ((from * 31 + i) & 0xff));
          delivered++;
        };
        for (const step of script) {
          if (step >= 0) queue.push(pushed, 0, bytes(pushed, pushed++ % 3000));
          else queue.deliver(max, take);
        }
        while (queue.length > 0) queue.deliver(max, take);
        return ok && delivered === pushed;
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('message objects are delivered as the very objects, in order with payloads', (t) => {
  const queue = new LocalQueue();
  const first = { n: 1 };
  const second = [{ n: 2 }];
  queue.pushObject(1, 2, first);
  queue.push(1, 2, bytes(7, 5));
  queue.pushObject(1, 2, second);
  const seen: LocalPayload[] = [];
  t.is(
    queue.deliver(10, (_from, _to, p) => seen.push(p)),
    3,
  );
  t.is(seen[0], first, 'the same object, not a copy');
  t.deepEqual(seen[1], bytes(7, 5));
  t.is(seen[2], second);
  t.throws(() => queue.pushObject(1, 2, bytes(1, 1)), { message: /pushObject of bytes/ });
});
