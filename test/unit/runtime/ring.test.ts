/**
 * SpscRing properties, checked against a plain array model: no loss, no duplication, order
 * kept, `tryWrite` refuses exactly when the framed record does not fit, and nothing changes
 * when the free-running u32 counters wrap past 2^32.
 */
import test from 'ava';
import fc from 'fast-check';
import { SpscRing } from '../../../runtime/ring';

type Op = { kind: 'write'; bytes: number; parts: number } | { kind: 'drain'; max: number };

/** Framed size of a record in the ring: u32 length + payload padded to 4. */
function framed(length: number): number {
  return 4 + ((length + 3) & ~3);
}

/** A record whose bytes encode its sequence number, so loss and reordering are visible. */
function makeRecord(seq: number, length: number): Uint8Array {
  const record = new Uint8Array(length);
  for (let i = 0; i < length; i++) record[i] = (seq * 31 + i) & 0xff;
  return record;
}

function split(record: Uint8Array, parts: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const step = Math.max(1, Math.ceil(record.byteLength / parts));
  for (let at = 0; at < record.byteLength; at += step) out.push(record.subarray(at, at + step));
  if (out.length === 0) out.push(record);
  return out;
}

/** Runs `ops` against a ring whose counters start at `startCounter` and against a model. */
function runModel(capacity: number, startCounter: number, ops: Op[]): void {
  const sab = SpscRing.allocate(capacity);
  const control = new Int32Array(sab, 0, 48);
  control[0] = startCounter | 0; // tail
  control[16] = startCounter | 0; // head
  const ring = new SpscRing(sab);
  const model: Uint8Array[] = [];
  let modelUsed = 0;
  let seq = 0;
  for (const op of ops) {
    if (op.kind === 'write') {
      const length = Math.min(op.bytes, ring.recordBytesMax);
      const record = makeRecord(seq, length);
      const fits = ring.capacityBytes - modelUsed >= framed(length);
      const ok = op.parts > 1 ? ring.tryWriteParts(split(record, op.parts)) : ring.tryWrite(record);
      if (ok !== fits) throw new Error(`tryWrite ${ok} but model fits=${fits} len=${length}`);
      if (ok) {
        model.push(record);
        modelUsed += framed(length);
        seq++;
      }
    } else {
      const seen: Uint8Array[] = [];
      const n = ring.drain((r) => seen.push(r.slice()), op.max);
      if (n !== seen.length) throw new Error(`drain returned ${n}, handled ${seen.length}`);
      if (n !== Math.min(op.max, model.length)) throw new Error(`drain ${n} of ${model.length}`);
      for (const got of seen) {
        const want = model.shift();
        const same = want !== undefined && Buffer.compare(got, want) === 0;
        if (!same) throw new Error('record mismatch');
        modelUsed -= framed(want.byteLength);
      }
    }
    if (ring.usedBytes !== modelUsed) throw new Error(`used ${ring.usedBytes} != ${modelUsed}`);
  }
}

const writeArb = fc.record({
  kind: fc.constant('write' as const),
  bytes: fc.nat(600),
  parts: fc.integer({ min: 1, max: 4 }),
});
const drainArb = fc.record({
  kind: fc.constant('drain' as const),
  max: fc.integer({ min: 1, max: 20 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: writeArb },
  { weight: 1, arbitrary: drainArb },
);

test('ring matches a FIFO model under wrap-around, random sizes and zero-length records', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(64, 128, 1000, 4096),
      fc.array(opArb, { maxLength: 300 }),
      (capacity, ops) => runModel(capacity, 0, ops),
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('ring counters wrap past 2^32 without losing or reordering records', (t) => {
  fc.assert(
    // Start just below 2^32 (aligned to 4) so the run crosses the counter wrap.
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.array(opArb, { maxLength: 200 }),
      (back, ops) => runModel(256, (0x1_0000_0000 - back * 4) >>> 0, ops),
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('a record of capacity/2 always fits an empty ring, at every start position', (t) => {
  const ring = new SpscRing(SpscRing.allocate(256));
  const big = makeRecord(7, ring.recordBytesMax);
  for (let offset = 0; offset < ring.capacityBytes; offset += 4) {
    t.true(ring.tryWrite(big), `big record refused at offset ${offset}`);
    let got: Uint8Array | undefined;
    t.is(
      ring.drain((r) => (got = r.slice()), 10),
      1,
    );
    t.deepEqual(got, big);
    // Advance the empty ring's position by 4 bytes for the next round.
    t.true(ring.tryWrite(new Uint8Array(0)));
    t.is(
      ring.drain(() => undefined, 10),
      1,
    );
  }
});

test('a record larger than capacity/2 is an assertion failure, not a partial write', (t) => {
  const ring = new SpscRing(SpscRing.allocate(256));
  const error = t.throws(() => ring.tryWrite(new Uint8Array(ring.recordBytesMax + 1)));
  t.is((error as { code?: string }).code, 'ASSERTION_FAILED');
  t.is(ring.usedBytes, 0);
});

test('staged records stay invisible until publish', (t) => {
  const ring = new SpscRing(SpscRing.allocate(256));
  t.true(ring.tryStage1(Uint8Array.of(1, 2, 3)));
  t.false(ring.hasRecords());
  t.is(
    ring.drain(() => t.fail('saw an unpublished record'), 10),
    0,
  );
  t.true(ring.publish());
  t.false(ring.publish());
  t.true(ring.hasRecords());
  t.is(
    ring.drain(() => undefined, 10),
    1,
  );
});

test('a throwing handler consumes its record and keeps the rest', (t) => {
  const ring = new SpscRing(SpscRing.allocate(256));
  for (let i = 0; i < 3; i++) t.true(ring.tryWrite(Uint8Array.of(i)));
  const throwOnOne = (r: Uint8Array): void => {
    if (r[0] === 1) throw new Error('boom');
  };
  t.throws(() => ring.drain(throwOnOne, 10));
  const rest: number[] = [];
  ring.drain((r) => rest.push(r[0] ?? -1), 10);
  t.deepEqual(rest, [2]);
});

test('allocate rounds capacity up to a power of two and validates it', (t) => {
  t.is(new SpscRing(SpscRing.allocate(1000)).capacityBytes, 1024);
  t.is(new SpscRing(SpscRing.allocate(1)).capacityBytes, 64);
  t.throws(() => SpscRing.allocate(0), { instanceOf: RangeError });
  t.throws(() => SpscRing.allocate(1.5), { instanceOf: RangeError });
});

test('framed records round-trip through tryStageFramed and drainFramed across the wrap', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), fc.nat(120)), { maxLength: 200 }),
      fc.integer({ min: 1, max: 7 }),
      (records, drainEvery) => {
        const ring = new SpscRing(SpscRing.allocate(256));
        const pending: [number, number, Uint8Array][] = [];
        let i = 0;
        const check = (w0: number, w1: number, payload: Uint8Array): void => {
          const want = pending.shift();
          const same = want !== undefined && want[0] === w0 && want[1] === w1;
          if (!same || Buffer.compare(want[2], payload) !== 0) throw new Error('framed mismatch');
        };
        for (const [w0, w1, length] of records) {
          const payload = makeRecord(i++, length);
          if (ring.tryStageFramed(w0, w1, payload)) pending.push([w0, w1, payload]);
          if (i % drainEvery === 0) {
            ring.publish();
            ring.drainFramed(check, 3);
          }
        }
        ring.publish();
        ring.drainFramed(check, 10_000);
        if (pending.length !== 0) throw new Error(`${pending.length} framed records lost`);
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('a drain stops at an earlier published tail and after a payload byte bound', (t) => {
  const ring = new SpscRing(SpscRing.allocate(1024));
  const seen: number[] = [];
  const handle = (w0: number): void => {
    seen.push(w0);
  };
  for (let i = 0; i < 3; i++) t.true(ring.tryStageFramed(i, 0, new Uint8Array(10)));
  ring.publish();
  const until = ring.publishedTail();
  // Published after the snapshot: not drained up to `until`.
  for (let i = 3; i < 5; i++) t.true(ring.tryStageFramed(i, 0, new Uint8Array(10)));
  ring.publish();
  // 10 bytes per payload: a bound of 15 bytes takes two records (it stops once passed).
  t.is(ring.drainFramed(handle, 100, until, 15), 2);
  t.deepEqual(seen, [0, 1]);
  t.true(ring.hasRecordsBefore(until));
  t.is(ring.drainFramed(handle, 100, until, 15), 1);
  t.deepEqual(seen, [0, 1, 2]);
  t.false(ring.hasRecordsBefore(until));
  // Nothing before `until` is left; the later records are still there.
  t.is(ring.drainFramed(handle, 100, until), 0);
  t.true(ring.hasRecords());
  t.is(ring.drainFramed(handle, 100), 2);
  t.deepEqual(seen, [0, 1, 2, 3, 4]);
  // At least one record per drain, whatever the bound.
  t.true(ring.tryStageFramed(5, 0, new Uint8Array(40)));
  ring.publish();
  t.is(ring.drainFramed(handle, 100, undefined, 1), 1);
});

test('a drain until a position past the published tail is an assertion failure', (t) => {
  const ring = new SpscRing(SpscRing.allocate(256));
  t.true(ring.tryStageFramed(1, 0, new Uint8Array(4)));
  ring.publish();
  const past = ring.publishedTail() + 16;
  t.throws(() => ring.drainFramed(() => undefined, 10, past), {
    message: /past the published tail/,
  });
});
