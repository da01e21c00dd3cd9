/**
 * Outbox properties: whatever the interleaving of pushes, flushes and consumer drains, and
 * however often the ring fills, the consumer sees exactly the pushed records, once each, in
 * push order; nothing is visible before the flush that publishes it.
 */
import test from 'ava';
import fc from 'fast-check';
import { Outbox } from '../../../runtime/outbox';
import { SpscRing } from '../../../runtime/ring';

type Op =
  | { kind: 'push'; bytes: number; parts: number }
  | { kind: 'flush' }
  | { kind: 'drain'; max: number };

function makeRecord(seq: number, length: number): Uint8Array {
  const record = new Uint8Array(length);
  for (let i = 0; i < length; i++) record[i] = (seq * 131 + i * 7) & 0xff;
  // The first 4 bytes (when present) hold the sequence number itself.
  if (length >= 4) new DataView(record.buffer).setUint32(0, seq, true);
  return record;
}

function splitInto(record: Uint8Array, parts: number): Uint8Array[] {
  const cut = Math.floor(record.byteLength / parts);
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts - 1; i++) out.push(record.subarray(i * cut, (i + 1) * cut));
  out.push(record.subarray((parts - 1) * cut));
  return out;
}

/** The same bytes as a framed record: the first 8 bytes become the two header words. */
function pushFramed(outbox: Outbox, record: Uint8Array): void {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  outbox.pushFramed(view.getUint32(0, true), view.getUint32(4, true), record.subarray(8));
}

interface Harness {
  pushed: Uint8Array[];
  seen: Uint8Array[];
  published: number; // how many pushed records the last flush could have made visible
}

function step(op: Op, ring: SpscRing, outbox: Outbox, h: Harness): void {
  if (op.kind === 'push') {
    const record = makeRecord(h.pushed.length, Math.min(op.bytes, ring.recordBytesMax));
    h.pushed.push(record);
    if (op.parts === 1) outbox.push(record);
    else if (op.parts === 4 && record.byteLength >= 8) pushFramed(outbox, record);
    else outbox.pushParts(splitInto(record, Math.min(op.parts, 3)));
    // The caller may reuse its buffer after push: scribble on it to prove it was copied.
    record.fill(0xee);
    h.pushed[h.pushed.length - 1] = makeRecord(h.pushed.length - 1, record.byteLength);
  } else if (op.kind === 'flush') {
    outbox.flush();
    h.published = h.pushed.length;
  } else {
    ring.drain((r) => h.seen.push(r.slice()), op.max);
    if (h.seen.length > h.published) throw new Error(`saw ${h.seen.length} > ${h.published}`);
  }
}

function checkPrefix(h: Harness): void {
  for (let i = 0; i < h.seen.length; i++) {
    const want = h.pushed[i];
    const got = h.seen[i];
    if (want === undefined || got === undefined || Buffer.compare(want, got) !== 0) {
      throw new Error(`record ${i} lost, duplicated or reordered`);
    }
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      bytes: fc.oneof(fc.constant(0), fc.nat(40), fc.nat(300)),
      parts: fc.integer({ min: 1, max: 4 }), // 4: pushFramed
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('drain' as const),
      max: fc.integer({ min: 1, max: 30 }),
    }),
  },
);

test('outbox delivers every record once, in order, through overflow and wrap-around', (t) => {
  let sawOverflow = false;
  fc.assert(
    fc.property(fc.constantFrom(64, 256, 1024), fc.array(opArb, { maxLength: 400 }), (cap, ops) => {
      const ring = new SpscRing(SpscRing.allocate(cap));
      const outbox = new Outbox(ring);
      const h: Harness = { pushed: [], seen: [], published: 0 };
      for (const op of ops) {
        step(op, ring, outbox, h);
        checkPrefix(h);
      }
      // Settle: bounded, since each round frees the whole ring and moves at least one record.
      for (let round = 0; round <= h.pushed.length + 1; round++) {
        outbox.flush();
        ring.drain((r) => h.seen.push(r.slice()), 1_000_000);
      }
      checkPrefix(h);
      if (h.seen.length !== h.pushed.length) throw new Error(`lost: ${h.seen.length} seen`);
      if (outbox.overflowPending !== 0 || outbox.stats.overflowBytes !== 0) throw new Error('left');
      if (outbox.stats.overflowRecords > 0) sawOverflow = true;
    }),
    { numRuns: 300 },
  );
  // The property is only meaningful if the runs actually went through the overflow path.
  t.true(sawOverflow);
});

test('outbox raises spaceWanted while records wait, and the consumer takes it once', (t) => {
  const ring = new SpscRing(SpscRing.allocate(64));
  const outbox = new Outbox(ring);
  for (let i = 0; i < 5; i++) outbox.push(new Uint8Array(20));
  t.true(outbox.flush());
  t.true(outbox.overflowPending > 0);
  t.false(outbox.canMakeProgress());
  t.is(outbox.stats.overflowBytesHighWater, outbox.stats.overflowBytes);
  ring.drain(() => undefined, 100);
  t.true(ring.takeSpaceWanted());
  t.false(ring.takeSpaceWanted());
  t.true(outbox.canMakeProgress());
});
