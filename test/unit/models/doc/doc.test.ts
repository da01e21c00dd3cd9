import test from 'ava';
import fc from 'fast-check';
import {
  DOC_BYTES_MAX,
  DOC_DEPTH_MAX,
  DocStatus,
  createDocStateMachine,
  decodeDocData,
  decodeDocResult,
  docStateMachine,
  encodeDocQuery,
  encodeDocUpdate,
  isValidDocPath,
} from '../../../../models/doc/doc';
import type { DocOp, DocUpdate, DocUpdateResult, JsonValue } from '../../../../models/doc/doc';
import { RESULT_BAD_REQUEST } from '../../../../models/model-tags';
import type { StateMachine } from '../../../../models/state-machine';
import { ByteWriter } from '../../../../runtime/byte-codec';
import { checkHistory } from '../../../sim/linearizability';
import type { HistoryOp } from '../../../sim/linearizability';
import { canonicalJson, createDocModel } from '../../../sim/models/doc-model';
import type { DocInput, DocOutput, DocStatusName } from '../../../sim/models/doc-model';

/** One document key through the byte-level machine. */
class Key {
  data: Uint8Array | null = null;
  version = 0;
  constructor(readonly machine: StateMachine = docStateMachine) {}

  applyBytes(op: Uint8Array): DocUpdateResult & { mutated: boolean } {
    const out = this.machine.apply(this.data, this.version, op);
    this.data = out.data;
    if (out.mutated) this.version += 1;
    return { ...decodeDocResult('update', out.result), mutated: out.mutated };
  }

  update(ops: DocOp[], expectedVersion?: number) {
    const update: DocUpdate = expectedVersion === undefined ? { ops } : { ops, expectedVersion };
    return this.applyBytes(encodeDocUpdate(update));
  }

  get(path?: string) {
    return decodeDocResult(
      'get',
      this.machine.read(
        this.data,
        this.version,
        encodeDocQuery(path === undefined ? {} : { path }),
      ),
    );
  }

  text(): string | undefined {
    return this.data === null ? undefined : new TextDecoder().decode(this.data);
  }
}

const ok = (version: number, values: number[] = []) => ({
  status: DocStatus.ok,
  version,
  failedOp: undefined,
  values,
  mutated: true,
});
const refused = (status: DocStatus, version: number, failedOp?: number) => ({
  status,
  version,
  failedOp,
  values: [],
  mutated: false,
});

test('set creates intermediate objects; get reads any path, the root, or nothing', (t) => {
  const k = new Key();
  t.deepEqual(k.get('a'), { status: DocStatus.ok, found: false, version: 0, value: undefined });
  t.deepEqual(
    k.update([
      { op: 'set', path: 'a.b.c', value: [1, { x: true }] },
      { op: 'set', path: 'z', value: null },
    ]),
    ok(1),
  );
  t.deepEqual(k.get('a.b'), {
    status: DocStatus.ok,
    found: true,
    version: 1,
    value: { c: [1, { x: true }] },
  });
  t.deepEqual(
    k.get('z'),
    { status: DocStatus.ok, found: true, version: 1, value: null },
    'null is a value, not absence',
  );
  t.deepEqual(k.get().value, { a: { b: { c: [1, { x: true }] } }, z: null });
  t.deepEqual(k.get('').value, k.get().value);
  t.false(k.get('a.b.c.0').found, 'paths walk objects only');
  t.false(k.get('a.q').found);
  t.is(k.text(), '{"a":{"b":{"c":[1,{"x":true}]}},"z":null}');
});

test('incr counts from absent, returns each new value, and refuses non-integers and overflow', (t) => {
  const k = new Key();
  t.deepEqual(
    k.update([
      { op: 'incr', path: 'n', by: 5 },
      { op: 'incr', path: 'm.k', by: -2 },
      { op: 'incr', path: 'n', by: 1 },
    ]),
    ok(1, [5, -2, 6]),
  );
  k.update([
    { op: 'set', path: 's', value: 'x' },
    { op: 'set', path: 'f', value: 1.5 },
    { op: 'set', path: 'big', value: Number.MAX_SAFE_INTEGER },
  ]);
  t.deepEqual(k.update([{ op: 'incr', path: 's', by: 1 }]), refused(DocStatus.typeMismatch, 2, 0));
  t.deepEqual(k.update([{ op: 'incr', path: 'f', by: 1 }]), refused(DocStatus.typeMismatch, 2, 0));
  t.deepEqual(
    k.update([{ op: 'incr', path: 'big', by: 1 }]),
    refused(DocStatus.typeMismatch, 2, 0),
  );
  t.deepEqual(
    k.update([{ op: 'incr', path: 'big', by: -1 }]),
    ok(3, [Number.MAX_SAFE_INTEGER - 1]),
  );
});

test('append creates an array or pushes onto one; anything else is a type mismatch', (t) => {
  const k = new Key();
  t.deepEqual(
    k.update([
      { op: 'append', path: 'l', value: 1 },
      { op: 'append', path: 'l', value: { a: [2] } },
    ]),
    ok(1),
  );
  t.deepEqual(k.get('l').value, [1, { a: [2] }]);
  k.update([{ op: 'set', path: 'o', value: {} }]);
  t.deepEqual(
    k.update([{ op: 'append', path: 'o', value: 1 }]),
    refused(DocStatus.typeMismatch, 2, 0),
  );
});

test('remove deletes a path; removing what is not there is fine; an emptied doc stays {}', (t) => {
  const k = new Key();
  k.update([
    { op: 'set', path: 'a.b', value: 1 },
    { op: 'set', path: 'c', value: 2 },
  ]);
  t.deepEqual(
    k.update([
      { op: 'remove', path: 'a.b' },
      { op: 'remove', path: 'x.y' },
      { op: 'remove', path: 'c.d' },
    ]),
    ok(2),
  );
  t.deepEqual(k.get().value, { a: {}, c: 2 });
  t.deepEqual(
    k.update([
      { op: 'remove', path: 'a' },
      { op: 'remove', path: 'c' },
    ]),
    ok(3),
  );
  t.is(k.text(), '{}');
  t.deepEqual(k.get(), { status: DocStatus.ok, found: true, version: 3, value: {} });
});

test('set, incr and append through a non-object are type mismatches', (t) => {
  const k = new Key();
  k.update([
    { op: 'set', path: 'a', value: [1] },
    { op: 'set', path: 'n', value: 3 },
    { op: 'set', path: 'z', value: null },
  ]);
  t.deepEqual(
    k.update([{ op: 'set', path: 'a.b', value: 1 }]),
    refused(DocStatus.typeMismatch, 1, 0),
  );
  t.deepEqual(
    k.update([{ op: 'incr', path: 'n.b.c', by: 1 }]),
    refused(DocStatus.typeMismatch, 1, 0),
  );
  t.deepEqual(
    k.update([{ op: 'append', path: 'z.q', value: 1 }]),
    refused(DocStatus.typeMismatch, 1, 0),
  );
});

test('an update is atomic: a failing third op leaves the document as it was', (t) => {
  const k = new Key();
  k.update([
    { op: 'set', path: 'a', value: { n: 1 } },
    { op: 'set', path: 's', value: 'text' },
  ]);
  const before = k.data;
  const out = k.update([
    { op: 'set', path: 'a.n', value: 2 },
    { op: 'remove', path: 's' },
    { op: 'append', path: 'a', value: 3 }, // a is an object
    { op: 'set', path: 'never', value: true },
  ]);
  t.deepEqual(out, refused(DocStatus.typeMismatch, 1, 2));
  t.is(k.data, before);
  t.deepEqual(k.get().value, { a: { n: 1 }, s: 'text' });
});

test('expectedVersion: 0 means "only if absent", n means "only at version n"', (t) => {
  const k = new Key();
  t.deepEqual(
    k.update([{ op: 'set', path: 'a', value: 1 }], 3),
    refused(DocStatus.versionConflict, 0),
  );
  t.deepEqual(k.update([{ op: 'set', path: 'a', value: 1 }], 0), ok(1));
  t.deepEqual(
    k.update([{ op: 'set', path: 'a', value: 2 }], 0),
    refused(DocStatus.versionConflict, 1),
  );
  t.deepEqual(k.update([{ op: 'set', path: 'a', value: 2 }], 1), ok(2));
  t.deepEqual(
    k.update([{ op: 'set', path: 'a', value: 3 }], 1),
    refused(DocStatus.versionConflict, 2),
  );
  t.is(k.get('a').value, 2);
});

test('a key left absent at a version (another model emptied it) reads as version 0', (t) => {
  const out = docStateMachine.apply(
    null,
    7,
    encodeDocUpdate({ ops: [{ op: 'set', path: 'a', value: 1 }], expectedVersion: 0 }),
  );
  t.deepEqual(decodeDocResult('update', out.result), {
    status: DocStatus.ok,
    version: 8,
    failedOp: undefined,
    values: [],
  });
  t.is(decodeDocResult('get', docStateMachine.read(null, 7, encodeDocQuery())).version, 0);
});

test('a document over bytesMax is tooLarge; the default limit is DOC_BYTES_MAX', (t) => {
  const small = new Key(createDocStateMachine({ bytesMax: 30 }));
  t.deepEqual(small.update([{ op: 'set', path: 'a', value: 'x'.repeat(20) }]), ok(1));
  t.deepEqual(small.update([{ op: 'set', path: 'b', value: 'y' }]), refused(DocStatus.tooLarge, 1));
  t.deepEqual(
    small.update([
      { op: 'set', path: 'a', value: 'x'.repeat(21) },
      { op: 'set', path: 'a', value: '' },
    ]),
    ok(2),
    'only the final document counts',
  );
  const k = new Key();
  t.deepEqual(
    k.update([{ op: 'set', path: 'a', value: 'x'.repeat(DOC_BYTES_MAX) }]),
    refused(DocStatus.tooLarge, 0),
  );
  t.is(k.data, null);
});

/** A value nested `depth` deep: [[...[]...]]. */
function nested(depth: number): JsonValue {
  let v: JsonValue = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

test('nesting is limited to DOC_DEPTH_MAX, for values and for the document', (t) => {
  const k = new Key();
  t.deepEqual(k.update([{ op: 'set', path: 'a', value: nested(DOC_DEPTH_MAX - 1) }]), ok(1));
  t.deepEqual(
    k.update([
      { op: 'set', path: 'a.b', value: 1 },
      { op: 'set', path: 'b', value: nested(DOC_DEPTH_MAX + 1) },
    ]),
    refused(DocStatus.tooLarge, 1, 1),
    'a too-deep value is refused before any op applies',
  );
  t.deepEqual(
    k.update([{ op: 'set', path: 'b', value: nested(DOC_DEPTH_MAX) }]),
    refused(DocStatus.tooLarge, 1),
    'the value fits, the document (root + value) does not',
  );
  const deepPath = Array.from({ length: DOC_DEPTH_MAX }, (_, i) => `k${i}`).join('.');
  t.deepEqual(k.update([{ op: 'set', path: deepPath, value: [] }]), refused(DocStatus.tooLarge, 1));
  t.deepEqual(
    k.update([{ op: 'set', path: deepPath, value: 1 }]),
    ok(2),
    'root + 63 objects on the path: depth 64',
  );
});

test('paths: 1..DOC_DEPTH_MAX non-empty segments', (t) => {
  t.true(isValidDocPath('a'));
  t.true(isValidDocPath('a.b.__proto__'));
  for (const bad of [
    '',
    '.',
    'a.',
    '.a',
    'a..b',
    '\ud800',
    Array(DOC_DEPTH_MAX + 1)
      .fill('k')
      .join('.'),
  ]) {
    t.false(isValidDocPath(bad), JSON.stringify(bad));
  }
  t.throws(() => encodeDocUpdate({ ops: [{ op: 'set', path: 'a..b', value: 1 }] }), {
    name: 'AssertionError',
  });
  t.throws(() => encodeDocUpdate({ ops: [] }), { name: 'AssertionError' });
  t.throws(() => encodeDocUpdate({ ops: [{ op: 'incr', path: 'a', by: 0.5 }] }), {
    name: 'AssertionError',
  });
});

/** A hand-built update, as a buggy or hostile client could send past the encoder. */
function rawUpdate(
  steps: Array<[number, string, string | number | undefined]>,
  expected?: number,
): Uint8Array {
  const w = new ByteWriter();
  w.u8(1);
  w.u8(expected === undefined ? 0 : 1);
  w.f64(expected ?? 0);
  w.u32(steps.length);
  for (const [kind, path, arg] of steps) {
    w.u8(kind);
    w.str(path);
    if (typeof arg === 'number') w.f64(arg);
    else if (arg !== undefined) w.str(arg);
  }
  return w.finish();
}

test('malformed updates and queries are answered RESULT_BAD_REQUEST, never thrown', (t) => {
  const k = new Key();
  k.update([{ op: 'set', path: 'a', value: 1 }]);
  const before = k.data;
  const cases: Array<[Uint8Array, number | undefined]> = [
    [
      rawUpdate([
        [1, 'a', '1'],
        [1, 'a..b', '2'],
      ]),
      1,
    ],
    [rawUpdate([[1, 'a', '{not json']]), 0],
    [rawUpdate([[2, 'a', 0.5]]), 0],
    [rawUpdate([[9, 'a', undefined]]), 0],
    [rawUpdate([]), undefined],
    [rawUpdate([[1, 'a', '1']], -1), undefined],
  ];
  for (const [bytes, failedOp] of cases)
    t.deepEqual(k.applyBytes(bytes), refused(RESULT_BAD_REQUEST, 1, failedOp));
  t.is(k.data, before);
  const w = new ByteWriter();
  w.u8(1);
  w.str('a..b');
  t.deepEqual(decodeDocResult('get', k.machine.read(k.data, k.version, w.finish())), {
    status: RESULT_BAD_REQUEST,
    found: false,
    version: 1,
    value: undefined,
  });
});

test('"__proto__" and "constructor" are ordinary keys', (t) => {
  const k = new Key();
  k.update([
    { op: 'set', path: '__proto__.x', value: 1 },
    { op: 'incr', path: 'constructor', by: 2 },
  ]);
  t.deepEqual(k.get('__proto__'), {
    status: DocStatus.ok,
    found: true,
    version: 1,
    value: JSON.parse('{"x":1}'),
  });
  t.is(k.get('constructor').value, 2);
  t.false(k.get('toString').found);
  t.is(k.text(), '{"__proto__":{"x":1},"constructor":2}');
});

test('canonical bytes: same ops in the same order give identical bytes; key order does not matter', (t) => {
  const a = new Key();
  const b = new Key();
  a.update([
    { op: 'set', path: 'x', value: { z: 1, a: [{ q: 1, b: 2 }] } },
    { op: 'set', path: 'b', value: -0 },
  ]);
  b.update([
    { op: 'set', path: 'b', value: 0 },
    { op: 'set', path: 'x', value: { a: [{ b: 2, q: 1 }], z: 1 } },
  ]);
  t.deepEqual(a.data, b.data);
  t.is(a.text(), '{"b":0,"x":{"a":[{"b":2,"q":1}],"z":1}}');
  t.deepEqual(decodeDocData(a.data), JSON.parse('{"b":0,"x":{"a":[{"b":2,"q":1}],"z":1}}'));
});

// ---- the machine against the sequential spec ----

const pathArb = fc.constantFrom(
  'a',
  'b',
  'a.b',
  'a.c',
  'a.b.c',
  'b.x',
  'n',
  '__proto__',
  '__proto__.x',
  'l',
);
const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
);
const opArb: fc.Arbitrary<DocOp> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), path: pathArb, value: valueArb }),
  fc.record({
    op: fc.constant('incr' as const),
    path: pathArb,
    by: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  }),
  fc.record({ op: fc.constant('append' as const), path: pathArb, value: valueArb }),
  fc.record({ op: fc.constant('remove' as const), path: pathArb }),
);
// Mostly unconditional, so documents grow; a condition usually names a version seen soon.
const ifVersionArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.nat(12) },
);
const inputArb: fc.Arbitrary<DocInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        op: fc.constant('update' as const),
        ops: fc.array(opArb, { minLength: 1, maxLength: 4 }),
        ifVersion: ifVersionArb,
      },
      { requiredKeys: ['op', 'ops'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        op: fc.constant('get' as const),
        path: fc.option(fc.oneof(pathArb, fc.constant('')), { nil: undefined }),
      },
      { requiredKeys: ['op'] },
    ),
  },
);

const statusNames = new Map<number, DocStatusName>(
  Object.entries(DocStatus).map(([name, code]) => [code, name as DocStatusName]),
);

function machineStep(k: Key, input: DocInput): DocOutput {
  if (input.op === 'get') {
    const { found, version, value } = k.get(input.path);
    return { found, version, value };
  }
  const r = k.update(input.ops, input.ifVersion);
  const status = statusNames.get(r.status);
  if (status === undefined) throw new Error(`status ${r.status}`);
  return { status, version: r.version, failedOp: r.failedOp, values: r.values };
}

test('property: the byte-level machine matches the sequential spec', (t) => {
  fc.assert(
    fc.property(
      fc.array(inputArb, { maxLength: 40 }),
      fc.constantFrom(60, 300, DOC_BYTES_MAX),
      (inputs, bytesMax) => {
        const model = createDocModel(bytesMax);
        const k = new Key(createDocStateMachine({ bytesMax }));
        const twin = new Key(createDocStateMachine({ bytesMax }));
        let state = model.init();
        for (const input of inputs) {
          const expected = model.step(state, input);
          state = expected.state;
          const actual = machineStep(k, input);
          machineStep(twin, input);
          if (!model.equalOutput(actual, expected.output)) {
            throw new Error(
              `${JSON.stringify(input)}: machine ${JSON.stringify(actual)} spec ${JSON.stringify(expected.output)}`,
            );
          }
          if (k.text() !== state.doc || k.version !== state.version)
            throw new Error(`state ${k.text()} vs ${state.doc}`);
        }
        if (Buffer.compare(Buffer.from(k.data ?? []), Buffer.from(twin.data ?? [])) !== 0)
          throw new Error('not deterministic');
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('the spec writes the same canonical JSON as the machine', (t) => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>),
      (obj) => {
        const k = new Key();
        const ops: DocOp[] =
          Object.keys(obj).length === 0
            ? [{ op: 'remove', path: 'x' }]
            : Object.entries(obj).map(([key, value]) => ({
                op: 'set',
                path: `w.${isValidDocPath(key) && !key.includes('.') ? key : 'k'}`,
                value,
              }));
        k.update(ops);
        const v = decodeDocData(k.data);
        return v !== undefined && canonicalJson(v) === k.text();
      },
    ),
  );
  t.pass();
});

test('a sequential history of machine results is linearizable under the spec; a wrong answer is not', (t) => {
  const inputs =
    fc.sample(fc.array(inputArb, { minLength: 20, maxLength: 20 }), { numRuns: 1, seed: 11 })[0] ??
    [];
  const k = new Key();
  const history: HistoryOp<DocInput, DocOutput>[] = inputs.map((input, i) => ({
    id: i,
    key: 'd',
    input,
    call: 2 * i,
    ret: 2 * i + 1,
    output: machineStep(k, input),
  }));
  history.push({
    id: 'last',
    key: 'd',
    input: { op: 'get' },
    call: 100,
    ret: 101,
    output: machineStep(k, { op: 'get' }),
  });
  t.deepEqual(checkHistory(history, createDocModel()), { ok: true });
  const last = history[history.length - 1];
  if (last !== undefined) last.output = { found: true, version: 999, value: {} };
  t.is(checkHistory(history, createDocModel()).ok, false);
});
