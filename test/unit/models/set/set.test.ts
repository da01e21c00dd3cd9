/**
 * The set model: every op and query with its edge cases, the limits, byte order, determinism,
 * and two properties on random op sequences: the byte-level state machine behaves like a plain
 * JS Set, and like the sequential spec the linearizability checker uses (test/sim/models/set-model).
 */
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { VERIFY, setVerify } from '../../../../runtime/assert';
import { ModelTag } from '../../../../models/model-tags';
import { createModelRegistry, tagged } from '../../../../models/registry';
import {
  SET_BYTES_MAX,
  SET_ENTRY_OVERHEAD,
  SET_MEMBERS_MAX,
  SET_READ_MAX,
  SetStatus,
  compareBytes,
  createSetStateMachine,
  decodeSetData,
  decodeSetResult,
  encodeSetData,
  encodeSetOp,
  encodeSetQuery,
  setStateMachine,
} from '../../../../models/set/set';
import type { SetLimits, SetOp, SetQuery } from '../../../../models/set/set';
import type { StateMachine } from '../../../../models/state-machine';
import { createSetModel } from '../../../sim/models/set-model';
import type { SetInput, SetOutput } from '../../../sim/models/set-model';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (...xs: number[]) => Uint8Array.from(xs);

function run(
  ops: SetOp[],
  machine: StateMachine = setStateMachine,
  start: Uint8Array | null = null,
) {
  let data = start;
  let version = 0;
  const outs = ops.map((op) => {
    const out = machine.apply(data, version, encodeSetOp(op));
    data = out.data;
    if (out.mutated) version++;
    return out;
  });
  return { outs, data, version };
}

const add = (...members: string[]): SetOp => ({ type: 'add', members: members.map(text) });
const remove = (...members: string[]): SetOp => ({ type: 'remove', members: members.map(text) });

function read(
  data: Uint8Array | null,
  q: SetQuery,
  machine: StateMachine = setStateMachine,
): Uint8Array {
  return machine.read(data, 0, encodeSetQuery(q));
}

function membersOf(data: Uint8Array | null, machine?: StateMachine) {
  const r = decodeSetResult('members', read(data, { type: 'members' }, machine));
  return { members: r.members.map(str), truncated: r.truncated };
}

const has = (data: Uint8Array | null, m: string) =>
  decodeSetResult('has', read(data, { type: 'has', member: text(m) })).present;

// ---- table tests ----

test('add counts only new members; duplicates within one add count once', (t) => {
  const r = run([add('b', 'a'), add('a', 'c', 'c', 'b', 'd')]);
  t.deepEqual(
    r.outs.map((o) => decodeSetResult('add', o.result)),
    [
      { status: SetStatus.ok, added: 2, size: 2 },
      { status: SetStatus.ok, added: 2, size: 4 },
    ],
  );
  t.is(r.version, 2);
  t.deepEqual(membersOf(r.data), { members: ['a', 'b', 'c', 'd'], truncated: false });
});

test('an add of only present members (or of none) changes nothing', (t) => {
  const data = run([add('a', 'b')]).data;
  for (const op of [add('b', 'a', 'b'), add()]) {
    const out = setStateMachine.apply(data, 1, encodeSetOp(op));
    t.deepEqual(decodeSetResult('add', out.result), { status: SetStatus.ok, added: 0, size: 2 });
    t.false(out.mutated);
    t.is(out.data, data);
  }
  const none = setStateMachine.apply(null, 0, encodeSetOp(add()));
  t.deepEqual([none.mutated, none.data], [false, null]);
});

test('remove counts only present members; removing absent ones changes nothing', (t) => {
  const r = run([add('a', 'b', 'c'), remove('x', 'b', 'b', 'a'), remove('x', 'y'), remove()]);
  t.deepEqual(
    r.outs.slice(1).map((o) => decodeSetResult('remove', o.result)),
    [
      { status: SetStatus.ok, removed: 2, size: 1 },
      { status: SetStatus.ok, removed: 0, size: 1 },
      { status: SetStatus.ok, removed: 0, size: 1 },
    ],
  );
  t.deepEqual(
    r.outs.map((o) => o.mutated),
    [true, true, false, false],
  );
  t.deepEqual(membersOf(r.data).members, ['c']);
});

test('removing the last member leaves the key absent; remove on an absent key changes nothing', (t) => {
  const r = run([add('a'), remove('a'), remove('a')]);
  t.is(r.data, null);
  t.deepEqual(decodeSetResult('remove', r.outs[2]?.result ?? new Uint8Array(0)), {
    status: SetStatus.ok,
    removed: 0,
    size: 0,
  });
  t.is(r.version, 2);
});

test('has, size and members of an empty and a non-empty set', (t) => {
  t.false(has(null, 'a'));
  t.deepEqual(decodeSetResult('size', read(null, { type: 'size' })), { size: 0 });
  t.deepEqual(membersOf(null), { members: [], truncated: false });
  const data = run([add('m', 'a', 'z', '')]).data;
  t.deepEqual(
    ['a', 'm', 'z', '', 'b', 'zz', 'aa'].map((m) => has(data, m)),
    [true, true, true, true, false, false, false],
  );
  t.deepEqual(decodeSetResult('size', read(data, { type: 'size' })), { size: 4 });
  t.deepEqual(membersOf(data).members, ['', 'a', 'm', 'z']);
});

test('members are ordered by unsigned bytes, a prefix first (not JS string order)', (t) => {
  const members = [
    bytes(0x80),
    bytes(0x7f),
    bytes(1, 0),
    bytes(1),
    bytes(0xff, 0),
    new Uint8Array(0),
  ];
  const data = run([{ type: 'add', members }]).data;
  const got = decodeSetResult('members', read(data, { type: 'members' })).members;
  t.deepEqual(got, [
    new Uint8Array(0),
    bytes(1),
    bytes(1, 0),
    bytes(0x7f),
    bytes(0x80),
    bytes(0xff, 0),
  ]);
  // U+FFFF sorts after U+1F600 in UTF-16 but before it in UTF-8.
  const emoji = run([add('\u{1F600}', '\uFFFF')]).data;
  t.deepEqual(membersOf(emoji).members, ['\uFFFF', '\u{1F600}']);
  t.true(compareBytes(bytes(1), bytes(1, 0)) < 0);
  t.is(compareBytes(bytes(2, 3), bytes(2, 3)), 0);
});

test('the same members in any order give identical bytes', (t) => {
  const orders = [add('c', 'a', 'b'), add('b', 'c', 'a', 'a')];
  const datas = orders.map((op) => run([op]).data);
  t.deepEqual(datas[0], datas[1]);
  t.deepEqual(run([add('b'), add('c'), add('a')]).data, datas[0]);
  t.deepEqual(run([add('a', 'b', 'c', 'x'), remove('x')]).data, datas[0]);
  t.deepEqual(encodeSetData(['c', 'b', 'a', 'b'].map(text)), datas[0]);
});

test('members returns at most readMax, the smallest, and says truncated only when cut', (t) => {
  const small = createSetStateMachine({
    bytesMax: SET_BYTES_MAX,
    membersMax: SET_MEMBERS_MAX,
    readMax: 2,
  });
  const two = run([add('b', 'a')], small).data;
  t.deepEqual(membersOf(two, small), { members: ['a', 'b'], truncated: false });
  const three = run([add('c', 'b', 'a')], small).data;
  t.deepEqual(membersOf(three, small), { members: ['a', 'b'], truncated: true });
});

test('the default members limit is SET_READ_MAX', (t) => {
  const members = Array.from({ length: SET_READ_MAX + 1 }, (_, i) =>
    text(String(i).padStart(6, '0')),
  );
  const data = encodeSetData(members);
  const r = decodeSetResult('members', read(data, { type: 'members' }));
  t.is(r.members.length, SET_READ_MAX);
  t.true(r.truncated);
  t.deepEqual(r.members.at(-1), text(String(SET_READ_MAX - 1).padStart(6, '0')));
});

test('an add past SET_BYTES_MAX is refused whole and changes nothing', (t) => {
  const big = new Uint8Array(SET_BYTES_MAX - 2 * SET_ENTRY_OVERHEAD - 1);
  const first = setStateMachine.apply(null, 0, encodeSetOp({ type: 'add', members: [big] }));
  t.deepEqual(decodeSetResult('add', first.result), { status: SetStatus.ok, added: 1, size: 1 });
  // Exactly at the limit still fits; one byte more does not, and a present member adds nothing.
  const over = setStateMachine.apply(
    first.data,
    1,
    encodeSetOp({ type: 'add', members: [bytes(1, 2)] }),
  );
  t.deepEqual(decodeSetResult('add', over.result), {
    status: SetStatus.tooLarge,
    added: 0,
    size: 1,
  });
  t.false(over.mutated);
  t.is(over.data, first.data);
  const present = setStateMachine.apply(
    first.data,
    1,
    encodeSetOp({ type: 'add', members: [big, big] }),
  );
  t.deepEqual(decodeSetResult('add', present.result), { status: SetStatus.ok, added: 0, size: 1 });
  const full = setStateMachine.apply(
    first.data,
    1,
    encodeSetOp({ type: 'add', members: [bytes(1)] }),
  );
  t.deepEqual(decodeSetResult('add', full.result), { status: SetStatus.ok, added: 1, size: 2 });
  // The limit counts the canonical layout; a big set stores the add as a change record
  // (set-log.ts), 4 bytes longer than its entry.
  t.is(encodeSetData(decodeSetData(full.data))?.length, SET_BYTES_MAX);
  t.is(full.data?.length, SET_BYTES_MAX + 4);
});

test('an add past membersMax is refused whole; one that fits exactly is not', (t) => {
  const small = createSetStateMachine({ bytesMax: SET_BYTES_MAX, membersMax: 3, readMax: 10 });
  const r = run([add('a'), add('b', 'c', 'd'), add('a', 'b', 'c')], small);
  t.deepEqual(
    r.outs.map((o) => decodeSetResult('add', o.result)),
    [
      { status: SetStatus.ok, added: 1, size: 1 },
      { status: SetStatus.tooLarge, added: 0, size: 1 },
      { status: SetStatus.ok, added: 2, size: 3 },
    ],
  );
  t.deepEqual(membersOf(r.data, small).members, ['a', 'b', 'c']);
});

test('malformed op and query bytes are programmer errors', (t) => {
  const data = run([add('a')]).data;
  const badOps = [new Uint8Array(0), bytes(9), bytes(1, 5, 0, 0, 0, 1), bytes(2, 0, 0)];
  for (const op of badOps)
    t.throws(() => setStateMachine.apply(data, 1, op), undefined, `op ${op.join(',')}`);
  const badQueries = [new Uint8Array(0), bytes(9), bytes(2, 0), bytes(3, 0)];
  for (const q of badQueries)
    t.throws(() => setStateMachine.read(data, 1, q), undefined, `query ${q.join(',')}`);
  t.throws(
    () => setStateMachine.apply(new Uint8Array(0), 1, encodeSetOp(add('a'))),
    undefined,
    'empty data is not null',
  );
});

test('data out of order is caught when VERIFY is on', (t) => {
  const unsorted = Uint8Array.of(1, 0, 0, 0, 0x62, 1, 0, 0, 0, 0x61);
  const was = VERIFY;
  setVerify(true);
  try {
    t.throws(() => setStateMachine.read(unsorted, 1, encodeSetQuery({ type: 'size' })));
  } finally {
    setVerify(was);
  }
});

test('through the registry: the set is tagged and an emptied set frees the key', (t) => {
  const registry = createModelRegistry([[ModelTag.set, setStateMachine]]);
  const s = (op: SetOp) => tagged(ModelTag.set, encodeSetOp(op));
  const added = registry.apply(null, 0, s(add('a')));
  t.is(added.data?.[0], ModelTag.set);
  t.is(registry.apply(added.data, 1, s(remove('a'))).data, null);
});

// ---- properties ----

type Step = { kind: 'op'; op: SetOp } | { kind: 'query'; query: SetQuery };

// Few distinct members, so adds and removes often collide; bytes on both sides of 0x80.
const memberArb = fc
  .array(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), { maxLength: 3 })
  .map((a) => Uint8Array.from(a));
const listArb = fc.array(memberArb, { maxLength: 4 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  listArb.map((members): Step => ({ kind: 'op', op: { type: 'add', members } })),
  listArb.map((members): Step => ({ kind: 'op', op: { type: 'remove', members } })),
  memberArb.map((member): Step => ({ kind: 'query', query: { type: 'has', member } })),
  fc.constant<Step>({ kind: 'query', query: { type: 'members' } }),
  fc.constant<Step>({ kind: 'query', query: { type: 'size' } }),
);
const limitsArb: fc.Arbitrary<SetLimits> = fc.record({
  bytesMax: fc.integer({ min: 0, max: 60 }),
  membersMax: fc.integer({ min: 0, max: 8 }),
  readMax: fc.integer({ min: 1, max: 5 }),
});

/**
 * The reference keeps members as hex strings: fixed-width lowercase hex sorts exactly like the
 * bytes it spells, so JS's default sort gives byte order without using the model's comparator.
 */
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const sortedMembers = (set: Set<string>) => [...set].sort().map(unhex);

function referenceOp(
  set: Set<string>,
  op: SetOp,
  limits: SetLimits,
): { result: unknown; changed: boolean } {
  const named = new Set(op.members.map(hex));
  if (op.type === 'remove') {
    const removed = [...named].filter((m) => set.delete(m)).length;
    return { result: { status: SetStatus.ok, removed, size: set.size }, changed: removed > 0 };
  }
  const fresh = [...named].filter((m) => !set.has(m));
  const bytesAfter = [...set, ...fresh].reduce((n, m) => n + SET_ENTRY_OVERHEAD + m.length / 2, 0);
  if (
    fresh.length > 0 &&
    (bytesAfter > limits.bytesMax || set.size + fresh.length > limits.membersMax)
  ) {
    return { result: { status: SetStatus.tooLarge, added: 0, size: set.size }, changed: false };
  }
  for (const m of fresh) set.add(m);
  return {
    result: { status: SetStatus.ok, added: fresh.length, size: set.size },
    changed: fresh.length > 0,
  };
}

function referenceQuery(set: Set<string>, q: SetQuery, limits: SetLimits): unknown {
  switch (q.type) {
    case 'has':
      return { present: set.has(hex(q.member)) };
    case 'members':
      return {
        members: sortedMembers(set).slice(0, limits.readMax),
        truncated: set.size > limits.readMax,
      };
    case 'size':
      return { size: set.size };
  }
}

test('property: the state machine behaves like a JS Set, and data round-trips', (t) => {
  fc.assert(
    fc.property(limitsArb, fc.array(stepArb, { maxLength: 40 }), (limits, steps) => {
      const machine = createSetStateMachine(limits);
      const set = new Set<string>();
      let data: Uint8Array | null = null;
      for (const step of steps) {
        if (step.kind === 'query') {
          deepStrictEqual(
            decodeSetResult(step.query.type, read(data, step.query, machine)),
            referenceQuery(set, step.query, limits),
          );
          continue;
        }
        const out = machine.apply(data, 0, encodeSetOp(step.op));
        const want = referenceOp(set, step.op, limits);
        deepStrictEqual(decodeSetResult(step.op.type, out.result), want.result);
        deepStrictEqual(out.mutated, want.changed);
        data = out.data;
        deepStrictEqual(decodeSetData(data), sortedMembers(set));
        deepStrictEqual(data, encodeSetData(sortedMembers(set)), 'data is the canonical layout');
        deepStrictEqual(encodeSetData(decodeSetData(data)), data);
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});

/** Runs a spec input through the state machine, answering what the spec would answer. */
function viaMachine(
  machine: StateMachine,
  data: Uint8Array | null,
  input: SetInput,
): { data: Uint8Array | null; output: SetOutput } {
  switch (input.op) {
    case 'add': {
      const out = machine.apply(
        data,
        0,
        encodeSetOp({ type: 'add', members: input.members.map(text) }),
      );
      const r = decodeSetResult('add', out.result);
      return {
        data: out.data,
        output:
          r.status === SetStatus.ok ? { added: r.added, size: r.size } : { error: 'TOO_LARGE' },
      };
    }
    case 'remove': {
      const out = machine.apply(
        data,
        0,
        encodeSetOp({ type: 'remove', members: input.members.map(text) }),
      );
      const r = decodeSetResult('remove', out.result);
      return { data: out.data, output: { removed: r.removed, size: r.size } };
    }
    case 'has':
      return {
        data,
        output: decodeSetResult(
          'has',
          read(data, { type: 'has', member: text(input.member) }, machine),
        ).present,
      };
    case 'members':
      return { data, output: membersOf(data, machine) };
    case 'size':
      return { data, output: decodeSetResult('size', read(data, { type: 'size' }, machine)) };
  }
}

// Strings of full code points (well-formed), short and from a small alphabet so members
// collide, including one past U+FFFF where UTF-8 and UTF-16 orders differ.
const memberStrArb = fc.string({
  unit: fc.constantFrom('a', 'b', '\u00e9', '\uffff', '\u{1F600}'),
  maxLength: 3,
});
const strListArb = fc.array(memberStrArb, { maxLength: 4 });
const inputArb: fc.Arbitrary<SetInput> = fc.oneof(
  strListArb.map((members): SetInput => ({ op: 'add', members })),
  strListArb.map((members): SetInput => ({ op: 'remove', members })),
  memberStrArb.map((member): SetInput => ({ op: 'has', member })),
  fc.constant<SetInput>({ op: 'members' }),
  fc.constant<SetInput>({ op: 'size' }),
);

test('property: the linearizability spec and the state machine agree', (t) => {
  fc.assert(
    fc.property(limitsArb, fc.array(inputArb, { maxLength: 30 }), (limits, inputs) => {
      const machine = createSetStateMachine(limits);
      const model = createSetModel(limits);
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
        deepStrictEqual(decodeSetData(data).map(str), [...state]);
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});
