/**
 * The queue's log layout (models/queue/queue-log.ts): a big queue pushes and pops by appending
 * in place, and its bytes are the same whether each state grew in place or was copied fresh
 * (every replica must hold byte-equal records, whichever buffers its states live in).
 */
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { isAppendView } from '../../../../models/append-bytes';
import { ModelTag } from '../../../../models/model-tags';
import {
  QueueStatus,
  createQueueStateMachine,
  decodeQueueData,
  decodeQueueResult,
  encodeQueueData,
  encodeQueueOp,
  encodeQueueQuery,
} from '../../../../models/queue/queue';
import type { QueueLimits, QueueOp } from '../../../../models/queue/queue';
import { POP_MARKER, queueStoredBytesMax } from '../../../../models/queue/queue-log';
import { createModelRegistry, splitVersion, tagged } from '../../../../models/registry';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const LIMITS: QueueLimits = { bytesMax: 4096, rangeMax: 100, appendBytesMin: 64 };

function registry(limits: QueueLimits) {
  return createModelRegistry([[ModelTag.queue, createQueueStateMachine(limits)]]);
}

const opOf = (op: QueueOp) => tagged(ModelTag.queue, encodeQueueOp(op));
const push = (...values: string[]): QueueOp => ({ type: 'push', values: values.map(text) });
const pop: QueueOp = { type: 'pop' };

/**
 * Applies `ops` twice through the registry: once keeping each state (so append views grow in
 * place), once handing the machine a fresh copy of each state (no append view ever, so every
 * state is walked and copied). Returns both runs' results and states after each op.
 */
function twoWays(ops: readonly QueueOp[], limits: QueueLimits) {
  const machine = registry(limits);
  const runs = [false, true].map((copy) => {
    let data: Uint8Array | null = null;
    let inPlace = 0;
    const steps = ops.map((op) => {
      const before = data;
      const out = machine.apply(copy && data !== null ? data.slice() : data, 0, opOf(op));
      if (before !== null && out.data !== null && out.data.buffer === before.buffer) inPlace++;
      data = out.data;
      return { result: out.result, data: out.data === null ? null : out.data.slice() };
    });
    return { steps, inPlace };
  });
  return runs as [(typeof runs)[0], (typeof runs)[0]];
}

test('a big queue pushes and pops in place; a fresh copy of each state gives the same bytes', (t) => {
  const ops: QueueOp[] = [];
  for (let i = 0; i < 40; i++) ops.push(push(`value-${i}`));
  for (let i = 0; i < 30; i++) ops.push(i % 3 === 2 ? push(`late-${i}`) : pop);
  const [kept, fresh] = twoWays(ops, LIMITS);
  t.deepEqual(kept.steps, fresh.steps);
  // Past 64 bytes every push and every pop that does not fold grows the same buffer.
  t.true(kept.inPlace >= 40, `${kept.inPlace} ops grew in place`);
  t.is(fresh.inPlace, 0);
});

test('a pop on a big queue appends a 4-byte marker and answers the head', (t) => {
  const machine = createQueueStateMachine(LIMITS);
  let data: Uint8Array | null = null;
  for (let i = 0; i < 20; i++) data = machine.apply(data, 0, encodeQueueOp(push(`v${i}`))).data;
  const before = data;
  t.true(before !== null && before.length >= 64 && isAppendView(before));
  const out = machine.apply(before, 0, encodeQueueOp(pop));
  t.deepEqual(decodeQueueResult('pop', out.result), { status: QueueStatus.ok, value: text('v0') });
  t.is(out.data?.length, (before?.length ?? 0) + 4);
  t.is(out.data?.buffer, before?.buffer);
  const marker = out.data?.subarray(-4) ?? new Uint8Array(0);
  t.is(new DataView(marker.buffer, marker.byteOffset).getUint32(0, true), POP_MARKER);
  t.deepEqual(
    decodeQueueData(out.data).map(str),
    Array.from({ length: 19 }, (_, i) => `v${i + 1}`),
  );
  const peek = machine.read(out.data, 0, encodeQueueQuery({ type: 'peek' }));
  t.deepEqual(decodeQueueResult('peek', peek), { status: QueueStatus.ok, value: text('v1') });
});

test('the dead prefix folds into the canonical layout once it passes half the live bytes', (t) => {
  const machine = createQueueStateMachine(LIMITS);
  let data: Uint8Array | null = null;
  for (let i = 0; i < 40; i++) data = machine.apply(data, 0, encodeQueueOp(push(`v${i}`))).data;
  let folded = 0;
  for (let i = 0; i < 39; i++) {
    const before: Uint8Array | null = data;
    data = machine.apply(data, 0, encodeQueueOp(pop)).data;
    const values = decodeQueueData(data);
    t.deepEqual(
      values.map(str),
      Array.from({ length: 39 - i }, (_, j) => `v${i + 1 + j}`),
    );
    if ((data?.length ?? 0) < (before?.length ?? 0)) {
      folded++;
      t.deepEqual(data, encodeQueueData(values), 'a fold leaves the canonical layout');
    }
  }
  t.true(folded >= 2, `${folded} folds`);
});

test('the limit counts live values: a big queue with popped values takes pushes up to it', (t) => {
  const limits: QueueLimits = { bytesMax: 200, rangeMax: 100, appendBytesMin: 64 };
  const machine = createQueueStateMachine(limits);
  const v = (i: number) => `${i}`.padStart(16, '0'); // 20 layout bytes each
  let data: Uint8Array | null = null;
  for (let i = 0; i < 10; i++) data = machine.apply(data, 0, encodeQueueOp(push(v(i)))).data;
  const full = machine.apply(data, 0, encodeQueueOp(push('x')));
  t.is(decodeQueueResult('push', full.result).status, QueueStatus.tooLarge);
  data = machine.apply(data, 0, encodeQueueOp(pop)).data;
  t.true((data?.length ?? 0) > 200, 'the popped value is still stored');
  const again = machine.apply(data, 0, encodeQueueOp(push(v(10))));
  t.deepEqual(decodeQueueResult('push', again.result), { status: QueueStatus.ok, length: 10 });
});

test('a full queue taking pushes and pops never stores more than its bound', (t) => {
  // The stored layout (live values, popped values, markers) is bounded, not only the live part.
  const limits: QueueLimits = { bytesMax: 400, rangeMax: 100, appendBytesMin: 64 };
  const bound = queueStoredBytesMax(400, 64);
  t.is(bound, 400 + 100);
  const machine = createQueueStateMachine(limits);
  const v = (i: number) => `${i}`.padStart(16, '0'); // 20 layout bytes each
  let data: Uint8Array | null = null;
  let most = 0;
  let folds = 0;
  for (let i = 0; i < 20; i++) data = machine.apply(data, 0, encodeQueueOp(push(v(i)))).data;
  for (let i = 20; i < 400; i++) {
    const op = i % 2 === 0 ? pop : push(v(i));
    const out = machine.apply(data, 0, encodeQueueOp(op));
    if ((out.data?.length ?? 0) < (data?.length ?? 0) - 4) folds++;
    data = out.data;
    most = Math.max(most, data?.length ?? 0);
  }
  t.true(most <= bound, `stored ${most} > ${bound}`);
  t.true(most > 400, `popped values were kept between folds (${most})`);
  t.true(folds >= 2, `${folds} folds`);
});

const valueArb = fc.string({ maxLength: 12 });
const opArb: fc.Arbitrary<QueueOp> = fc.oneof(
  fc.array(valueArb, { maxLength: 3 }).map((values): QueueOp => push(...values)),
  fc.constant<QueueOp>(pop),
  fc.constant<QueueOp>(pop),
);

test('property: in place and fresh copies give byte-equal states, and both act as an array', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 128 }),
      fc.integer({ min: 0, max: 400 }),
      fc.array(opArb, { maxLength: 80 }),
      (appendBytesMin, bytesMax, ops) => {
        const limits: QueueLimits = { bytesMax, rangeMax: 1000, appendBytesMin };
        const [kept, fresh] = twoWays(ops, limits);
        deepStrictEqual(kept.steps, fresh.steps);
        const queue: string[] = [];
        ops.forEach((op, i) => {
          const step = kept.steps[i];
          if (step === undefined) throw new Error('missing step');
          const body = splitVersion(step.result).body;
          if (op.type === 'pop') {
            const want = queue.shift();
            const got = decodeQueueResult('pop', body);
            deepStrictEqual(got.status === QueueStatus.ok ? str(got.value) : undefined, want);
          } else if (decodeQueueResult('push', body).status === QueueStatus.ok) {
            queue.push(...op.values.map(str));
          }
          const data = step.data === null ? null : step.data.subarray(1);
          deepStrictEqual(decodeQueueData(data).map(str), queue);
          if ((data?.length ?? 0) > queueStoredBytesMax(bytesMax, appendBytesMin))
            throw new Error(`stored ${data?.length} bytes past the bound`);
        });
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
