/**
 * The big-table row state machine: results and states against a plain-JS spec (property test
 * over random op sequences), failed ops change nothing, malformed replicated ops answer
 * RESULT_BAD_REQUEST, the size limit, the registry's wrong-model answer, and the index keys a
 * replica derives (applied row plus the row its accepted op would produce).
 */
import test from 'ava';
import fc from 'fast-check';
import {
  BIGTABLE_GET_QUERY,
  BigtableStatus,
  bigtableIndexKeys,
  bigtableStateMachine,
  decodeBigtableGet,
  decodeBigtableSchema,
  decodeBigtableWrite,
  encodeBigtableOp,
} from '../../../../models/bigtable/bigtable';
import type { BigtableOp } from '../../../../models/bigtable/bigtable';
import type { BigtableRow, StoredRow } from '../../../../models/bigtable/bigtable-row';
import {
  BIGTABLE_ROW_BYTES_MAX,
  encodeStoredRow,
  indexKey,
  rowKey,
  schemaKey,
} from '../../../../models/bigtable/bigtable-row';
import { allModels } from '../../../../models/all-models';
import { ModelTag } from '../../../../models/model-tags';
import { isWrongModel, splitVersion, tagged } from '../../../../models/registry';
import { encodeKvOp } from '../../../../models/kv/kv';

/** The plain-JS spec: a row is absent (null) or its index list and columns. */
type Spec = { i: string[]; r: BigtableRow } | null;

function specApply(state: Spec, op: BigtableOp): { state: Spec; status: number; removed: boolean } {
  switch (op.type) {
    case 'insert':
      if (state !== null) return { state, status: BigtableStatus.alreadyExists, removed: false };
      return {
        state: { i: [...op.indexes].sort(), r: { ...op.row } },
        status: BigtableStatus.ok,
        removed: false,
      };
    case 'update':
      if (state === null) return { state, status: BigtableStatus.notFound, removed: false };
      return {
        state: { i: [...op.indexes].sort(), r: { ...state.r, ...op.patch } },
        status: BigtableStatus.ok,
        removed: false,
      };
    case 'delete':
      return { state: null, status: BigtableStatus.ok, removed: state !== null };
    case 'define':
      throw new Error('define is a schema-key op, not a row op');
  }
}

function specIndexKeys(pk: string, state: Spec): string[] {
  if (state === null) return [];
  return state.i.filter((c) => c in state.r).map((c) => indexKey('t', c, state.r[c] ?? null, pk));
}

const columns = fc.constantFrom('a', 'b', 'c');
const value = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('x', 'y', ''),
);
const row = fc.dictionary(columns, value, { maxKeys: 3 });
const indexes = fc.uniqueArray(columns, { maxLength: 2 });
const op: fc.Arbitrary<BigtableOp> = fc.oneof(
  fc.record({ type: fc.constant('insert' as const), indexes, row }),
  fc.record({
    type: fc.constant('update' as const),
    indexes,
    patch: row.filter((p) => Object.keys(p).length > 0),
  }),
  fc.record({ type: fc.constant('delete' as const) }),
);

test('the state machine agrees with the plain-JS spec on random op sequences (property)', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      let data: Uint8Array | null = null;
      let version = 0;
      let spec: Spec = null;
      for (const o of ops) {
        const out = bigtableStateMachine.apply(data, version, encodeBigtableOp(o));
        const expected = specApply(spec, o);
        const r = decodeBigtableWrite(out.result);
        if (r.status !== expected.status || r.removed !== expected.removed) return false;
        if (
          out.mutated !==
          (expected.status === BigtableStatus.ok && (o.type !== 'delete' || expected.removed))
        )
          return false;
        if (!out.mutated && out.data !== data) return false;
        if (out.mutated) version += 1;
        data = out.data;
        spec = expected.state;
        const got =
          decodeBigtableGet(bigtableStateMachine.read(data, version, BIGTABLE_GET_QUERY)) ?? null;
        if (
          JSON.stringify(got) !==
          JSON.stringify(spec === null ? null : { i: spec.i, r: sortedRow(spec.r) })
        )
          return false;
        const keys = bigtableIndexKeys(
          rowKey('t', 'pk'),
          data === null ? null : tagged(ModelTag.bigtable, data),
          null,
        );
        if (JSON.stringify(keys.sort()) !== JSON.stringify(specIndexKeys('pk', spec).sort()))
          return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

function sortedRow(r: BigtableRow): BigtableRow {
  return Object.fromEntries(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k] ?? null]),
  );
}

function run(data: Uint8Array | null, o: BigtableOp | Uint8Array) {
  const out = bigtableStateMachine.apply(
    data,
    1,
    o instanceof Uint8Array ? o : encodeBigtableOp(o),
  );
  return { ...out, decoded: decodeBigtableWrite(out.result) };
}

test('insert of an existing pk, update of a missing one: refused, nothing changes', (t) => {
  const first = run(null, { type: 'insert', indexes: [], row: { a: 1 } });
  t.is(first.decoded.status, BigtableStatus.ok);
  const again = run(first.data, { type: 'insert', indexes: [], row: { a: 2 } });
  t.is(again.decoded.status, BigtableStatus.alreadyExists);
  t.false(again.mutated);
  t.is(again.data, first.data);
  const missing = run(null, { type: 'update', indexes: [], patch: { a: 1 } });
  t.is(missing.decoded.status, BigtableStatus.notFound);
  t.is(missing.data, null);
  const del = run(null, { type: 'delete' });
  t.deepEqual(
    [del.decoded.status, del.decoded.removed, del.mutated],
    [BigtableStatus.ok, false, false],
  );
});

const malformed: Array<[string, Uint8Array]> = [
  ['unknown op kind', Uint8Array.of(9)],
  ['insert without JSON', Uint8Array.of(1)],
  ['insert with bad JSON', Uint8Array.of(1, 0x7b)],
  ['insert with a nested value', encodeRaw(1, { i: [], r: { a: { b: 1 } } })],
  ['insert with a bad index list', encodeRaw(1, { i: ['a', 'a'], r: {} })],
  ['insert with a missing row', encodeRaw(1, { i: [] })],
  ['update with an empty patch', encodeRaw(2, { i: [], p: {} })],
  ['delete with trailing bytes', Uint8Array.of(3, 0)],
];
function encodeRaw(kind: number, body: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(body));
  return Uint8Array.of(kind, ...json);
}
for (const [what, bytes] of malformed) {
  test(`a malformed replicated op (${what}) answers RESULT_BAD_REQUEST and changes nothing`, (t) => {
    const existing = encodeStoredRow({ i: [], r: { a: 1 } });
    for (const data of [null, existing]) {
      const out = run(data, bytes);
      t.is(out.decoded.status, BigtableStatus.badRequest);
      t.false(out.mutated);
      t.is(out.data, data);
    }
  });
}

test('an update that would pass the row size limit is refused (tooLarge) and changes nothing', (t) => {
  const half = 'x'.repeat(BIGTABLE_ROW_BYTES_MAX / 2);
  const first = run(null, { type: 'insert', indexes: [], row: { a: half } });
  t.is(first.decoded.status, BigtableStatus.ok);
  const second = run(first.data, { type: 'update', indexes: [], patch: { b: half } });
  t.is(second.decoded.status, BigtableStatus.tooLarge);
  t.is(second.data, first.data);
});

test('an update that newly indexes a column holding a too-long string is refused', (t) => {
  const first = run(null, { type: 'insert', indexes: [], row: { s: 'x'.repeat(600) } });
  const second = run(first.data, { type: 'update', indexes: ['s'], patch: { n: 1 } });
  t.is(second.decoded.status, BigtableStatus.badRequest);
  t.is(second.data, first.data);
});

test('through the registry: a row key holding another model answers wrong-model; versions count mutations', (t) => {
  const kv = allModels.apply(
    null,
    0,
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(1) })),
  );
  const refused = allModels.apply(
    kv.data,
    1,
    tagged(ModelTag.bigtable, encodeBigtableOp({ type: 'delete' })),
  );
  t.true(isWrongModel(refused.result));
  t.false(refused.mutated);
  const ins = allModels.apply(
    null,
    0,
    tagged(ModelTag.bigtable, encodeBigtableOp({ type: 'insert', indexes: [], row: {} })),
  );
  t.is(splitVersion(ins.result).version, 1);
  const dup = allModels.apply(
    ins.data,
    1,
    tagged(ModelTag.bigtable, encodeBigtableOp({ type: 'insert', indexes: [], row: {} })),
  );
  t.is(splitVersion(dup.result).version, 1);
});

test("define fixes a schema key's index list once: same list ok (no change), another list indexMismatch", (t) => {
  const first = run(null, { type: 'define', indexes: ['b', 'a'] });
  t.deepEqual([first.decoded.status, first.mutated], [BigtableStatus.ok, true]);
  t.deepEqual(decodeBigtableSchema(bigtableStateMachine.read(first.data, 1, BIGTABLE_GET_QUERY)), [
    'a',
    'b',
  ]);
  const same = run(first.data, { type: 'define', indexes: ['a', 'b'] });
  t.deepEqual(
    [same.decoded.status, same.mutated, same.data],
    [BigtableStatus.ok, false, first.data],
  );
  const other = run(first.data, { type: 'define', indexes: ['a'] });
  t.deepEqual(
    [other.decoded.status, other.mutated, other.data],
    [BigtableStatus.indexMismatch, false, first.data],
  );
  t.is(run(null, encodeRaw(4, { i: ['a', 'a'] })).decoded.status, BigtableStatus.badRequest);
  t.deepEqual(
    bigtableIndexKeys(
      schemaKey('t'),
      tagged(ModelTag.bigtable, first.data ?? new Uint8Array(0)),
      null,
    ),
    [],
  );
});

test('index keys of a record: the applied row plus the row its accepted op would produce', (t) => {
  const key = rowKey('t', 'pk');
  const stored: StoredRow = { i: ['a'], r: { a: 'old' } };
  const data = tagged(ModelTag.bigtable, encodeStoredRow(stored));
  const patch = tagged(
    ModelTag.bigtable,
    encodeBigtableOp({ type: 'update', indexes: ['a'], patch: { a: 'new' } }),
  );
  t.deepEqual(bigtableIndexKeys(key, data, null), [indexKey('t', 'a', 'old', 'pk')]);
  t.deepEqual(bigtableIndexKeys(key, data, patch), [
    indexKey('t', 'a', 'old', 'pk'),
    indexKey('t', 'a', 'new', 'pk'),
  ]);
  const insert = tagged(
    ModelTag.bigtable,
    encodeBigtableOp({ type: 'insert', indexes: ['a'], row: { a: 1 } }),
  );
  t.deepEqual(bigtableIndexKeys(key, null, insert), [indexKey('t', 'a', 1, 'pk')]);
  t.deepEqual(
    bigtableIndexKeys(key, data, insert),
    [indexKey('t', 'a', 'old', 'pk')],
    'a refused insert adds nothing',
  );
  t.deepEqual(
    bigtableIndexKeys(key, data, new Uint8Array(0)),
    [indexKey('t', 'a', 'old', 'pk')],
    'a no-op adds nothing',
  );
  t.deepEqual(bigtableIndexKeys('\u0000obj', data, null), [], 'other keys derive nothing');
  const kvData = tagged(ModelTag.kv, Uint8Array.of(1));
  t.deepEqual(bigtableIndexKeys(key, kvData, null), [], 'other models derive nothing');
});
