import test from 'ava';
import fc from 'fast-check';
import { checkHistory } from '../../sim/linearizability';
import type { HistoryOp, Model } from '../../sim/linearizability';
import { kvModel } from '../../sim/kv-model';
import type { KvInput, KvOutput, KvState } from '../../sim/kv-model';

type Op = HistoryOp<KvInput, KvOutput>;
let nextId = 0;
function op(
  input: KvInput,
  call: number,
  ret: number | undefined,
  output?: KvOutput,
  key = 'k',
): Op {
  return { id: nextId++, key, input, call, ret, output };
}
const put = (value: string): KvInput => ({ op: 'put', value });
const get: KvInput = { op: 'get' };
const cas = (expectedVersion: number, value: string): KvInput => ({
  op: 'cas',
  expectedVersion,
  value,
});
const del: KvInput = { op: 'delete' };
const incr = (by: number): KvInput => ({ op: 'incr', by });

const check = (h: Op[]) => checkHistory(h, kvModel);

test('kv model: versions, delete keeps counting, failed cas changes nothing', (t) => {
  let s: KvState = kvModel.init();
  const run = (input: KvInput): KvOutput => {
    const r = kvModel.step(s, input);
    s = r.state;
    return r.output;
  };
  t.is(run(get), undefined);
  t.deepEqual(run(incr(5)), { value: 5, version: 1 });
  t.deepEqual(run(put('x')), { version: 2 });
  t.deepEqual(run(cas(1, 'y')), { error: 'VERSION_CONFLICT' });
  t.deepEqual(run(incr(1)), { error: 'NOT_A_NUMBER' });
  t.deepEqual(run(cas(2, '10')), { version: 3 });
  t.deepEqual(run(del), { version: 4 });
  t.is(run(get), undefined);
  // A deleted key is absent: cas(n > 0) fails, cas(0) creates it again.
  t.deepEqual(run(cas(4, 'z')), { error: 'VERSION_CONFLICT' });
  t.deepEqual(run(cas(0, 'z')), { version: 5 });
  t.deepEqual(run(get), { value: 'z', version: 5 });
});

test('sequential and concurrent linearizable histories pass', (t) => {
  t.deepEqual(
    check([op(put('x'), 0, 1, { version: 1 }), op(get, 2, 3, { value: 'x', version: 1 })]),
    { ok: true },
  );
  // A read concurrent with a write may see either side of it.
  const base = [op(put('x'), 0, 1, { version: 1 }), op(put('y'), 2, 6, { version: 2 })];
  t.deepEqual(check([...base, op(get, 3, 4, { value: 'x', version: 1 })]), { ok: true });
  t.deepEqual(check([...base, op(get, 3, 4, { value: 'y', version: 2 })]), { ok: true });
  // Two concurrent incrs, the later-returning one saw the other.
  t.deepEqual(
    check([
      op(incr(1), 0, 10, { value: 2, version: 2 }),
      op(incr(1), 1, 5, { value: 1, version: 1 }),
    ]),
    { ok: true },
  );
  // Touching intervals count as concurrent.
  t.deepEqual(check([op(put('x'), 0, 5, { version: 1 }), op(get, 5, 6, undefined)]), { ok: true });
  t.deepEqual(
    check([
      op(put('a'), 0, 1, { version: 1 }),
      op(del, 2, 3, { version: 2 }),
      op(get, 4, 5, undefined),
      op(put('b'), 6, 7, { version: 3 }),
    ]),
    { ok: true },
  );
});

test('stale read after an acknowledged write fails', (t) => {
  const r = check([
    op(put('x'), 0, 1, { version: 1 }),
    op(put('y'), 2, 3, { version: 2 }),
    op(get, 4, 5, { value: 'x', version: 1 }),
  ]);
  t.is(r.ok, false);
  if (r.ok === false) {
    t.is(r.key, 'k');
    t.regex(r.explanation, /not linearizable/);
  }
});

test('lost update fails', (t) => {
  t.is(
    check([
      op(incr(1), 0, 10, { value: 1, version: 1 }),
      op(incr(1), 1, 11, { value: 1, version: 1 }),
    ]).ok,
    false,
  );
  t.is(
    check([
      op(get, 0, 1, undefined),
      op(put('a'), 2, 4, { version: 1 }),
      op(put('b'), 3, 5, { version: 1 }),
    ]).ok,
    false,
  );
});

test('two cas succeeding on the same version fails', (t) => {
  t.is(
    check([op(cas(0, 'a'), 0, 10, { version: 1 }), op(cas(0, 'b'), 1, 9, { version: 1 })]).ok,
    false,
  );
  t.deepEqual(
    check([
      op(cas(0, 'a'), 0, 10, { version: 1 }),
      op(cas(0, 'b'), 1, 9, { error: 'VERSION_CONFLICT' }),
    ]),
    { ok: true },
  );
});

test('version going backwards fails', (t) => {
  const h = [
    op(put('x'), 0, 1, { version: 1 }),
    op(put('y'), 0, 1, { version: 2 }),
    op(get, 4, 5, { value: 'y', version: 2 }),
    op(get, 6, 7, { value: 'x', version: 1 }),
  ];
  t.is(check(h).ok, false);
});

test('unknown-outcome operations may take effect after their call, or never', (t) => {
  const x = op(put('x'), 0, 1, { version: 1 });
  const lost = op(put('y'), 2, undefined);
  // Took effect:
  t.deepEqual(check([x, lost, op(get, 10, 11, { value: 'y', version: 2 })]), { ok: true });
  // Never took effect:
  t.deepEqual(check([x, lost, op(get, 10, 11, { value: 'x', version: 1 })]), { ok: true });
  // Took effect, then un-happened: no.
  t.is(
    check([
      x,
      lost,
      op(get, 10, 11, { value: 'y', version: 2 }),
      op(get, 12, 13, { value: 'x', version: 1 }),
    ]).ok,
    false,
  );
  // Cannot take effect before it was called.
  t.is(check([x, op(get, 1.5, 1.8, { value: 'y', version: 2 }), lost]).ok, false);
  // A later write's version proves the unknown write happened first.
  t.deepEqual(
    check([
      x,
      lost,
      op(put('z'), 20, 21, { version: 3 }),
      op(get, 22, 23, { value: 'z', version: 3 }),
    ]),
    { ok: true },
  );
});

test('keys are checked independently and the failing key is named', (t) => {
  const r = check([
    op(put('x'), 0, 1, { version: 1 }, 'a'),
    op(put('x'), 0, 1, { version: 1 }, 'b'),
    op(get, 2, 3, { value: 'x', version: 1 }, 'a'),
    op(get, 2, 3, undefined, 'b'),
  ]);
  t.is(r.ok, false);
  if (r.ok === false) t.is(r.key, 'b');
});

test('a search past its step budget answers unknown instead of hanging', (t) => {
  const h: Op[] = [];
  // Unknown-outcome writes: every subset in every order is a candidate, 2^n * n memo states.
  for (let i = 0; i < 20; i++) h.push(op(put(`v${i}`), 0, undefined));
  h.push(op(get, 200, 201, { value: 'never', version: 99 }));
  const r = checkHistory(h, kvModel, { stepBudget: 1000 });
  t.is(r.ok, 'unknown');
});

test('malformed histories are rejected', (t) => {
  t.throws(() => check([op(get, 5, 4, undefined)]));
  const a = op(get, 0, 1, undefined);
  t.throws(() => check([a, a]));
});

// ---- Property: histories produced by a real sequential execution are always accepted. ----

const inputArb: fc.Arbitrary<KvInput> = fc.oneof(
  fc.constantFrom('a', 'b', '7').map(put),
  fc.constant(get),
  fc.tuple(fc.nat(6), fc.constantFrom('c', '3')).map(([v, s]) => cas(v, s)),
  fc.constant(del),
  fc.integer({ min: -3, max: 3 }).map(incr),
);

const planArb = fc.array(
  fc.record({
    key: fc.constantFrom('p', 'q'),
    input: inputArb,
    before: fc.nat(40),
    after: fc.nat(40),
    outcome: fc.constantFrom('known', 'known', 'known', 'lost-applied', 'lost-not-applied'),
  }),
  { minLength: 1, maxLength: 40 },
);

type Plan = { key: string; input: KvInput; before: number; after: number; outcome: string };

/** Execute ops in array order (the true linearization), each at time 10*i, with random intervals. */
function execute(plan: Plan[], model: Model<KvState, KvInput, KvOutput>): Op[] {
  const states = new Map<string, KvState>();
  const out: Op[] = [];
  plan.forEach((p, i) => {
    const at = 10 * i;
    const state = states.get(p.key) ?? model.init();
    if (p.outcome === 'lost-not-applied') {
      out.push({ id: i, key: p.key, input: p.input, call: at - p.before, ret: undefined });
      return;
    }
    const r = model.step(state, p.input);
    states.set(p.key, r.state);
    const ret = p.outcome === 'known' ? at + p.after : undefined;
    out.push({
      id: i,
      key: p.key,
      input: p.input,
      call: at - p.before,
      ret,
      output: ret === undefined ? undefined : r.output,
    });
  });
  return out;
}

test('property: histories from a real sequential execution are linearizable', (t) => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const r = checkHistory(execute(plan, kvModel), kvModel);
      return r.ok === true;
    }),
    { numRuns: 300, seed: 20240501 },
  );
  t.pass();
});

test('property: corrupting a completed read with a never-written value is caught', (t) => {
  fc.assert(
    fc.property(planArb, fc.nat(), (plan, pick) => {
      const h = execute(plan, kvModel);
      const reads = h.filter((o) => o.input.op === 'get' && o.ret !== undefined);
      fc.pre(reads.length > 0);
      const victim = reads[pick % reads.length] as Op;
      victim.output = { value: 'never-written', version: 1 };
      return checkHistory(h, kvModel).ok === false;
    }),
    { numRuns: 200, seed: 7 },
  );
  t.pass();
});
