/**
 * The queue model: every op and query with its edge cases, the byte limit, determinism, and two
 * properties on random op sequences: the byte-level state machine behaves like a plain array,
 * and like the sequential spec the linearizability checker uses (test/sim/models/queue-model).
 */
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { encodeKvOp, kvStateMachine } from '../../../../models/kv/kv';
import { ModelTag } from '../../../../models/model-tags';
import {
  QUEUE_BYTES_MAX,
  QUEUE_ENTRY_OVERHEAD,
  QUEUE_RANGE_MAX,
  QueueStatus,
  createQueueStateMachine,
  decodeQueueData,
  decodeQueueResult,
  encodeQueueData,
  encodeQueueOp,
  encodeQueueQuery,
  queueStateMachine,
} from '../../../../models/queue/queue';
import type { QueueLimits, QueueOp, QueueQuery } from '../../../../models/queue/queue';
import {
  createModelRegistry,
  isWrongModel,
  splitVersion,
  tagged,
} from '../../../../models/registry';
import type { StateMachine } from '../../../../models/state-machine';
import { createQueueModel } from '../../../sim/models/queue-model';
import type { QueueInput, QueueOutput } from '../../../sim/models/queue-model';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (...xs: number[]) => Uint8Array.from(xs);

/** Applies ops in order; returns each op's raw output and the final state. */
function run(
  ops: QueueOp[],
  machine: StateMachine = queueStateMachine,
  start: Uint8Array | null = null,
) {
  let data = start;
  let version = 0;
  const outs = ops.map((op) => {
    const out = machine.apply(data, version, encodeQueueOp(op));
    data = out.data;
    if (out.mutated) version++;
    return out;
  });
  return { outs, data, version };
}

const push = (...values: string[]): QueueOp => ({ type: 'push', values: values.map(text) });
const pop: QueueOp = { type: 'pop' };

function read(
  data: Uint8Array | null,
  q: QueueQuery,
  machine: StateMachine = queueStateMachine,
): Uint8Array {
  return machine.read(data, 0, encodeQueueQuery(q));
}

function rangeOf(data: Uint8Array | null, start: number, end: number, machine?: StateMachine) {
  const r = decodeQueueResult('range', read(data, { type: 'range', start, end }, machine));
  return { values: r.values.map(str), truncated: r.truncated };
}

// ---- table tests ----

test('push appends in order and answers the new length', (t) => {
  const r = run([push('a'), push('b', 'c'), push('d')]);
  t.deepEqual(
    r.outs.map((o) => decodeQueueResult('push', o.result)),
    [
      { status: QueueStatus.ok, length: 1 },
      { status: QueueStatus.ok, length: 3 },
      { status: QueueStatus.ok, length: 4 },
    ],
  );
  t.true(r.outs.every((o) => o.mutated));
  t.is(r.version, 3);
  t.deepEqual(decodeQueueData(r.data).map(str), ['a', 'b', 'c', 'd']);
  t.deepEqual(r.data, encodeQueueData(['a', 'b', 'c', 'd'].map(text)));
});

test('pop returns values head first; the last pop leaves the key absent', (t) => {
  const r = run([push('a', 'b'), pop, pop]);
  const pops = r.outs.slice(1).map((o) => decodeQueueResult('pop', o.result));
  t.deepEqual(pops, [
    { status: QueueStatus.ok, value: text('a') },
    { status: QueueStatus.ok, value: text('b') },
  ]);
  t.is(r.data, null);
  t.is(r.version, 3);
});

test('pop on an empty queue is empty and changes nothing', (t) => {
  const out = queueStateMachine.apply(null, 4, encodeQueueOp(pop));
  t.deepEqual(decodeQueueResult('pop', out.result), { status: QueueStatus.empty });
  t.false(out.mutated);
  t.is(out.data, null);
});

test('a push of no values changes nothing', (t) => {
  const empty = queueStateMachine.apply(null, 0, encodeQueueOp({ type: 'push', values: [] }));
  t.deepEqual([empty.mutated, empty.data], [false, null]);
  t.deepEqual(decodeQueueResult('push', empty.result), { status: QueueStatus.ok, length: 0 });
  const one = run([push('x')]).data;
  const again = queueStateMachine.apply(one, 1, encodeQueueOp({ type: 'push', values: [] }));
  t.deepEqual([again.mutated, again.data], [false, one]);
  t.deepEqual(decodeQueueResult('push', again.result), { status: QueueStatus.ok, length: 1 });
});

test('empty and binary values survive push and pop', (t) => {
  const values = [new Uint8Array(0), bytes(0, 255, 0), new Uint8Array(0)];
  const r = run([{ type: 'push', values }, pop, pop, pop]);
  t.deepEqual(
    r.outs.slice(1).map((o) => decodeQueueResult('pop', o.result)),
    values.map((value) => ({ status: QueueStatus.ok, value })),
  );
  t.is(r.data, null);
});

test('pop does not modify the data it was given', (t) => {
  const data = run([push('a', 'b')]).data;
  const before = data?.slice();
  const out = queueStateMachine.apply(data, 1, encodeQueueOp(pop));
  t.deepEqual(data, before);
  t.deepEqual(decodeQueueData(out.data).map(str), ['b']);
});

test('peek and length read without changing anything', (t) => {
  t.deepEqual(decodeQueueResult('peek', read(null, { type: 'peek' })), {
    status: QueueStatus.empty,
  });
  t.deepEqual(decodeQueueResult('length', read(null, { type: 'length' })), { length: 0 });
  const data = run([push('a', 'bb', 'ccc')]).data;
  t.deepEqual(decodeQueueResult('peek', read(data, { type: 'peek' })), {
    status: QueueStatus.ok,
    value: text('a'),
  });
  t.deepEqual(decodeQueueResult('length', read(data, { type: 'length' })), { length: 3 });
});

const rangeCases: Array<[string, number, number, string[]]> = [
  ['everything', 0, 5, ['a', 'b', 'c', 'd', 'e']],
  ['a middle slice', 1, 3, ['b', 'c']],
  ['end past the length is clamped', 3, 100, ['d', 'e']],
  ['start at the length', 5, 9, []],
  ['start past the length', 7, 9, []],
  ['start equal to end', 2, 2, []],
  ['start after end', 4, 1, []],
  ['a huge end', 0, Number.MAX_SAFE_INTEGER, ['a', 'b', 'c', 'd', 'e']],
];
for (const [name, start, end, want] of rangeCases) {
  test(`range: ${name}`, (t) => {
    const data = run([push('a', 'b', 'c', 'd', 'e')]).data;
    t.deepEqual(rangeOf(data, start, end), { values: want, truncated: false });
  });
}

test('range of an empty queue is empty', (t) => {
  t.deepEqual(rangeOf(null, 0, 10), { values: [], truncated: false });
});

test('range returns at most rangeMax values and says so only when it cut the answer', (t) => {
  const small = createQueueStateMachine({ bytesMax: QUEUE_BYTES_MAX, rangeMax: 2 });
  const data = run([push('a', 'b', 'c', 'd')], small).data;
  t.deepEqual(rangeOf(data, 0, 10, small), { values: ['a', 'b'], truncated: true });
  t.deepEqual(rangeOf(data, 1, 3, small), { values: ['b', 'c'], truncated: false });
  t.deepEqual(rangeOf(data, 2, 10, small), { values: ['c', 'd'], truncated: false });
  t.deepEqual(rangeOf(data, 1, 4, small), { values: ['b', 'c'], truncated: true });
});

test('the default range limit is QUEUE_RANGE_MAX', (t) => {
  const values = Array.from({ length: QUEUE_RANGE_MAX + 1 }, (_, i) => text(String(i)));
  const data = encodeQueueData(values);
  const r = decodeQueueResult(
    'range',
    read(data, { type: 'range', start: 0, end: QUEUE_RANGE_MAX + 1 }),
  );
  t.is(r.values.length, QUEUE_RANGE_MAX);
  t.true(r.truncated);
  t.deepEqual(r.values.at(-1), text(String(QUEUE_RANGE_MAX - 1)));
});

test('a push past QUEUE_BYTES_MAX is refused whole and changes nothing', (t) => {
  const big = new Uint8Array(QUEUE_BYTES_MAX - QUEUE_ENTRY_OVERHEAD - QUEUE_ENTRY_OVERHEAD);
  const fits = queueStateMachine.apply(null, 0, encodeQueueOp({ type: 'push', values: [big] }));
  t.deepEqual(decodeQueueResult('push', fits.result), { status: QueueStatus.ok, length: 1 });
  t.is(fits.data?.length, QUEUE_BYTES_MAX - QUEUE_ENTRY_OVERHEAD);
  // Exactly at the limit still fits; one byte more does not.
  const full = queueStateMachine.apply(
    fits.data,
    1,
    encodeQueueOp({ type: 'push', values: [new Uint8Array(0)] }),
  );
  t.deepEqual(decodeQueueResult('push', full.result), { status: QueueStatus.ok, length: 2 });
  t.is(full.data?.length, QUEUE_BYTES_MAX);
  const over = queueStateMachine.apply(
    full.data,
    2,
    encodeQueueOp({ type: 'push', values: [new Uint8Array(0)] }),
  );
  t.deepEqual(decodeQueueResult('push', over.result), { status: QueueStatus.tooLarge, length: 2 });
  t.false(over.mutated);
  t.is(over.data, full.data);
});

test('a push that only partly fits adds none of its values', (t) => {
  const small = createQueueStateMachine({ bytesMax: 12, rangeMax: 10 });
  const r = run([push('a'), push('b', 'c', 'd')], small);
  t.deepEqual(decodeQueueResult('push', r.outs[1]?.result ?? new Uint8Array(0)), {
    status: QueueStatus.tooLarge,
    length: 1,
  });
  t.deepEqual(decodeQueueData(r.data).map(str), ['a']);
  t.is(r.version, 1);
});

test('the same data and op give identical bytes every time', (t) => {
  const data = run([push('a', 'b')]).data;
  const ops = [push('c'), pop].map(encodeQueueOp);
  for (const op of ops) {
    const a = queueStateMachine.apply(data, 1, op);
    const b = queueStateMachine.apply(data?.slice() ?? null, 1, op.slice());
    t.deepEqual([a.data, a.mutated, a.result], [b.data, b.mutated, b.result]);
  }
});

test('malformed op and query bytes are programmer errors', (t) => {
  const data = run([push('a')]).data;
  const badOps = [
    new Uint8Array(0),
    bytes(9),
    bytes(1, 5, 0, 0, 0, 1),
    bytes(1, 0, 0),
    bytes(2, 0),
  ];
  for (const op of badOps)
    t.throws(() => queueStateMachine.apply(data, 1, op), undefined, `op ${op.join(',')}`);
  const badQueries = [new Uint8Array(0), bytes(9), bytes(1, 0), bytes(2, 0), bytes(3, 0)];
  for (const q of badQueries)
    t.throws(() => queueStateMachine.read(data, 1, q), undefined, `query ${q.join(',')}`);
  t.throws(() => encodeQueueQuery({ type: 'range', start: -1, end: 2 }));
  t.throws(() => encodeQueueQuery({ type: 'range', start: 0, end: 1.5 }));
  t.throws(
    () => queueStateMachine.apply(new Uint8Array(0), 1, encodeQueueOp(pop)),
    undefined,
    'empty data is not null',
  );
});

test('through the registry: a popped-empty queue frees the key; other models are refused', (t) => {
  const registry = createModelRegistry([
    [ModelTag.kv, kvStateMachine],
    [ModelTag.queue, queueStateMachine],
  ]);
  const q = (op: QueueOp) => tagged(ModelTag.queue, encodeQueueOp(op));
  const pushed = registry.apply(null, 0, q(push('a')));
  t.is(pushed.data?.[0], ModelTag.queue);
  t.true(
    isWrongModel(
      registry.apply(pushed.data, 1, tagged(ModelTag.kv, encodeKvOp({ type: 'delete' }))).result,
    ),
  );
  const popped = registry.apply(pushed.data, 1, q(pop));
  const { body, version } = splitVersion(popped.result);
  t.deepEqual(decodeQueueResult('pop', body), { status: QueueStatus.ok, value: text('a') });
  t.is(version, 2, 'the registry reports the version after the pop');
  t.is(popped.data, null);
});

// ---- properties ----

type Step = { kind: 'op'; op: QueueOp } | { kind: 'query'; query: QueueQuery };

const valueArb = fc.uint8Array({ maxLength: 6 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc
    .array(valueArb, { maxLength: 4 })
    .map((values): Step => ({ kind: 'op', op: { type: 'push', values } })),
  fc.constant<Step>({ kind: 'op', op: { type: 'pop' } }),
  fc.constant<Step>({ kind: 'query', query: { type: 'peek' } }),
  fc.constant<Step>({ kind: 'query', query: { type: 'length' } }),
  fc
    .record({ start: fc.nat(8), end: fc.nat(10) })
    .map(({ start, end }): Step => ({ kind: 'query', query: { type: 'range', start, end } })),
);
const limitsArb: fc.Arbitrary<QueueLimits> = fc.record({
  bytesMax: fc.integer({ min: 0, max: 80 }),
  rangeMax: fc.integer({ min: 1, max: 4 }),
});

const layoutBytes = (values: readonly Uint8Array[]) =>
  values.reduce((n, v) => n + QUEUE_ENTRY_OVERHEAD + v.length, 0);

/** What a plain array does for one op: the expected typed result and whether it changed. */
function referenceOp(
  queue: Uint8Array[],
  op: QueueOp,
  limits: QueueLimits,
): { result: unknown; changed: boolean } {
  if (op.type === 'pop') {
    const head = queue.shift();
    return head === undefined
      ? { result: { status: QueueStatus.empty }, changed: false }
      : { result: { status: QueueStatus.ok, value: head }, changed: true };
  }
  if (layoutBytes(queue) + layoutBytes(op.values) > limits.bytesMax) {
    return { result: { status: QueueStatus.tooLarge, length: queue.length }, changed: false };
  }
  queue.push(...op.values);
  return {
    result: { status: QueueStatus.ok, length: queue.length },
    changed: op.values.length > 0,
  };
}

function referenceQuery(queue: Uint8Array[], q: QueueQuery, limits: QueueLimits): unknown {
  switch (q.type) {
    case 'peek':
      return queue[0] === undefined
        ? { status: QueueStatus.empty }
        : { status: QueueStatus.ok, value: queue[0] };
    case 'length':
      return { length: queue.length };
    case 'range': {
      const stop = Math.min(q.end, queue.length);
      return {
        values: queue.slice(q.start, Math.min(stop, q.start + limits.rangeMax)),
        truncated: stop - q.start > limits.rangeMax,
      };
    }
  }
}

test('property: the state machine behaves like an array, and data round-trips', (t) => {
  fc.assert(
    fc.property(limitsArb, fc.array(stepArb, { maxLength: 40 }), (limits, steps) => {
      const machine = createQueueStateMachine(limits);
      const queue: Uint8Array[] = [];
      let data: Uint8Array | null = null;
      for (const step of steps) {
        if (step.kind === 'query') {
          deepStrictEqual(
            decodeQueueResult(step.query.type, read(data, step.query, machine)),
            referenceQuery(queue, step.query, limits),
          );
          continue;
        }
        const out = machine.apply(data, 0, encodeQueueOp(step.op));
        const want = referenceOp(queue, step.op, limits);
        deepStrictEqual(decodeQueueResult(step.op.type, out.result), want.result);
        deepStrictEqual(out.mutated, want.changed);
        data = out.data;
        deepStrictEqual(decodeQueueData(data), queue);
        deepStrictEqual(data, encodeQueueData(queue), 'data is the canonical layout');
        deepStrictEqual(encodeQueueData(decodeQueueData(data)), data);
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});

/** Runs a spec input through the state machine, answering what the spec would answer. */
function viaMachine(machine: StateMachine, data: Uint8Array | null, input: QueueInput) {
  const value = (r: { status: number; value?: Uint8Array }): QueueOutput =>
    r.value === undefined ? undefined : { value: str(r.value) };
  switch (input.op) {
    case 'push': {
      const out = machine.apply(
        data,
        0,
        encodeQueueOp({ type: 'push', values: input.values.map(text) }),
      );
      const r = decodeQueueResult('push', out.result);
      return {
        data: out.data,
        output:
          r.status === QueueStatus.ok ? { length: r.length } : { error: 'TOO_LARGE' as const },
      };
    }
    case 'pop': {
      const out = machine.apply(data, 0, encodeQueueOp({ type: 'pop' }));
      return { data: out.data, output: value(decodeQueueResult('pop', out.result)) };
    }
    case 'peek':
      return {
        data,
        output: value(decodeQueueResult('peek', read(data, { type: 'peek' }, machine))),
      };
    case 'length':
      return { data, output: decodeQueueResult('length', read(data, { type: 'length' }, machine)) };
    case 'range':
      return { data, output: rangeOf(data, input.start, input.end, machine) };
  }
}

const inputArb: fc.Arbitrary<QueueInput> = fc.oneof(
  fc
    .array(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 3 })
    .map((values): QueueInput => ({ op: 'push', values })),
  fc.constant<QueueInput>({ op: 'pop' }),
  fc.constant<QueueInput>({ op: 'peek' }),
  fc.constant<QueueInput>({ op: 'length' }),
  fc
    .record({ start: fc.nat(6), end: fc.nat(8) })
    .map(({ start, end }): QueueInput => ({ op: 'range', start, end })),
);

test('property: the linearizability spec and the state machine agree', (t) => {
  fc.assert(
    fc.property(limitsArb, fc.array(inputArb, { maxLength: 30 }), (limits, inputs) => {
      const machine = createQueueStateMachine(limits);
      const model = createQueueModel(limits);
      let state = model.init();
      let data: Uint8Array | null = null;
      for (const input of inputs) {
        const spec = model.step(state, input);
        const got = viaMachine(machine, data, input);
        if (!model.equalOutput(spec.output, got.output)) {
          throw new Error(
            `${JSON.stringify(input)}: spec ${JSON.stringify(spec.output)}, machine ${JSON.stringify(got.output)}`,
          );
        }
        state = spec.state;
        data = got.data;
        deepStrictEqual(decodeQueueData(data).map(str), [...state]);
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});
