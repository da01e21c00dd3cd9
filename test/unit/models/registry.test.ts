import test from 'ava';
import {
  KV_GET_QUERY,
  decodeKvGetResult,
  decodeKvWriteResult,
  encodeKvOp,
  kvStateMachine,
} from '../../../models/kv/kv';
import { ModelTag } from '../../../models/model-tags';
import {
  createModelRegistry,
  isBadRequest,
  isWrongModel,
  splitVersion,
  tagged,
} from '../../../models/registry';
import type { StateMachine } from '../../../models/state-machine';

/** A stand-in second model: appends op bytes to its data; reads return the data. */
const appendModel: StateMachine = {
  apply: (data, _v, op) => {
    const next = new Uint8Array((data?.length ?? 0) + op.length);
    if (data !== null) next.set(data);
    next.set(op, data?.length ?? 0);
    return { data: next, mutated: true, result: Uint8Array.of(0, next.length) };
  },
  read: (data) => Uint8Array.of(0, ...(data ?? [])),
};

const registry = createModelRegistry([
  [ModelTag.kv, kvStateMachine],
  [ModelTag.queue, appendModel],
]);

test('a key written as one model is refused by another, unchanged', (t) => {
  const put = registry.apply(
    null,
    0,
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(9) })),
  );
  t.is(put.data?.[0], ModelTag.kv, 'stored data carries the model tag');
  t.is(decodeKvWriteResult(splitVersion(put.result).body).version, 1);
  t.is(splitVersion(put.result).version, 1, 'the registry appends the version after the write');
  const other = registry.apply(put.data, 1, tagged(ModelTag.queue, Uint8Array.of(1)));
  t.true(isWrongModel(other.result));
  t.false(other.mutated);
  t.is(other.data, put.data);
  t.true(isWrongModel(registry.read(put.data, 1, tagged(ModelTag.queue, new Uint8Array(0)))));
  const get = decodeKvGetResult(registry.read(put.data, 1, tagged(ModelTag.kv, KV_GET_QUERY)));
  t.deepEqual([...get.value], [9], 'the model sees its own untagged bytes');
});

test('an absent key (deleted) may be taken by another model', (t) => {
  const put = registry.apply(
    null,
    0,
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(1) })),
  );
  const del = registry.apply(put.data, 1, tagged(ModelTag.kv, encodeKvOp({ type: 'delete' })));
  t.is(del.data, null);
  const q = registry.apply(del.data, 2, tagged(ModelTag.queue, Uint8Array.of(7)));
  t.false(isWrongModel(q.result));
  t.deepEqual([...(q.data ?? [])], [ModelTag.queue, 7]);
});

test('a duplicate registration is a programmer error; an unknown op tag is a bad request (clients send ops over the network)', (t) => {
  t.true(isBadRequest(registry.apply(null, 0, Uint8Array.of(99, 1)).result));
  t.throws(() =>
    createModelRegistry([
      [ModelTag.kv, kvStateMachine],
      [ModelTag.kv, appendModel],
    ]),
  );
});

test('malformed ops and queries answer BAD_REQUEST and change nothing: a chosen op never stops a group', (t) => {
  const put = registry.apply(
    null,
    0,
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(9) })),
  );
  for (const op of [
    Uint8Array.of(ModelTag.kv, 0xff, 0xff),
    Uint8Array.of(0x63, 1, 2),
    new Uint8Array(0),
    Uint8Array.of(ModelTag.kv),
  ]) {
    const out = registry.apply(put.data, 1, op);
    t.true(isBadRequest(out.result), `op ${[...op].join(',')}`);
    t.false(out.mutated);
    t.is(out.data, put.data);
  }
  t.true(isBadRequest(registry.read(put.data, 1, Uint8Array.of(0x63))), 'unknown model tag');
  t.true(isBadRequest(registry.read(put.data, 1, new Uint8Array(0))), 'empty query');
});

test("kv's tagged fast path answers what the generic path answers, with a state that owns its bytes", (t) => {
  const { applyTagged: _fast, ...generic } = kvStateMachine;
  const slow = createModelRegistry([[ModelTag.kv, generic]]);
  t.is(slow.apply(null, 0, Uint8Array.of(ModelTag.kv, 1)).mutated, true, 'generic path taken');
  const cases: Array<[Uint8Array | null, number, Uint8Array]> = [
    [null, 0, tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(1, 2, 3) }))],
    [
      tagged(ModelTag.kv, Uint8Array.of(4)),
      7,
      tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: new Uint8Array(0) })),
    ],
    [
      null,
      2 ** 40,
      tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: new Uint8Array(300).fill(5) })),
    ],
    [
      null,
      3,
      tagged(ModelTag.kv, encodeKvOp({ type: 'cas', expectedVersion: 0, value: Uint8Array.of(8) })),
    ],
    [null, 0, Uint8Array.of(ModelTag.kv, 1, 0, 0)], // a short put: malformed for the fast path
  ];
  for (const [data, version, op] of cases) {
    const { owned, ...a } = registry.apply(data, version, op);
    const b = slow.apply(data, version, op);
    t.deepEqual(a, b, `op of ${op.length} bytes at version ${version}`);
    // The fast path promises its state as the key's alone; the generic path promises nothing.
    t.is(owned, op[1] === 1 && op.length >= 10 ? true : undefined);
    t.not(a.data?.buffer, op.buffer, 'the state is not a view of the op');
    const { version: after } = splitVersion(a.result);
    t.is(after, version + 1);
    t.is(decodeKvWriteResult(splitVersion(a.result).body).version, version + 1);
  }
});

test('puts at one version share one result, equal to the generic path; hot versions get their own', (t) => {
  const { applyTagged: _fast, ...generic } = kvStateMachine;
  const slow = createModelRegistry([[ModelTag.kv, generic]]);
  const put = (n: number) =>
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(n) }));
  for (const version of [0, 1, 41, 4094, 4095, 4096, 10_000]) {
    const a = registry.apply(tagged(ModelTag.kv, Uint8Array.of(1)), version, put(1));
    const b = registry.apply(null, version, put(2));
    t.deepEqual(a.result, slow.apply(null, version, put(3)).result, `result at ${version}`);
    t.deepEqual(a.result, b.result);
    t.is(splitVersion(a.result).version, version + 1);
    // Shared below 4096 versions after the write (kv.ts PUT_RESULTS_SHARED), fresh above.
    if (version + 1 < 4096) t.is(a.result, b.result, `one array at ${version}`);
    else t.not(a.result, b.result, `own arrays at ${version}`);
  }
});

test('a shared put result that was written is replaced, never handed out again', (t) => {
  const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(1) }));
  const result = registry.apply(null, 99, op).result;
  const expected = Uint8Array.from(result);
  t.is(registry.apply(null, 99, op).result, result, 'shared');
  for (const at of [0, 3, 12, 20]) {
    const damaged = registry.apply(null, 99, op).result;
    damaged[at] = (damaged[at] as number) ^ 1;
    const next = registry.apply(null, 99, op).result;
    t.not(next, damaged, `a damaged byte ${at} is not handed out`);
    t.deepEqual(next, expected);
    t.is(registry.apply(null, 99, op).result, next, 'the replacement is shared');
  }
});

test("kv's tagged read answers what the generic read answers, malformed queries included", (t) => {
  const { readTagged: _fast, ...generic } = kvStateMachine;
  const slow = createModelRegistry([[ModelTag.kv, generic]]);
  const states: Array<Uint8Array | null> = [
    null,
    tagged(ModelTag.kv, new Uint8Array(0)),
    tagged(ModelTag.kv, Uint8Array.of(9)),
    tagged(ModelTag.kv, new Uint8Array(300).fill(6)),
  ];
  const queries = [
    tagged(ModelTag.kv, KV_GET_QUERY),
    Uint8Array.of(ModelTag.kv), // no query byte: bad request on both paths
    Uint8Array.of(ModelTag.kv, 1, 1), // a byte too many
    Uint8Array.of(ModelTag.kv, 7), // an unknown query
  ];
  for (const data of states) {
    for (const query of queries) {
      for (const version of [0, 1, 2 ** 40]) {
        const fast = registry.read(data, version, query);
        t.deepEqual(fast, slow.read(data, version, query), `${data?.length} ${[...query]}`);
        if (data !== null) t.not(fast.buffer, data.buffer, 'the answer is not a view of the state');
      }
    }
  }
  const found = decodeKvGetResult(registry.read(states[2] ?? null, 5, queries[0] ?? KV_GET_QUERY));
  t.deepEqual(found, { found: true, version: 5, value: Uint8Array.of(9) });
});

// Decision "A key's data written in place": a state the caller may write into later must not
// show through a read's answer. The generic path hands a long state to the model as a view.
test('a read of a state that may change answers no view of it', (t) => {
  const viewModel: StateMachine = {
    apply: (data) => ({ data, mutated: false, result: Uint8Array.of(0) }),
    read: (data) => (data ?? new Uint8Array(0)).subarray(1),
  };
  const reg = createModelRegistry([[ModelTag.kv, viewModel]]);
  const state = tagged(ModelTag.kv, new Uint8Array(200).fill(7));
  const query = tagged(ModelTag.kv, Uint8Array.of(9));
  const shared = reg.read(state, 1, query);
  t.is(shared.buffer, state.buffer, 'a view by default (the state never changes)');
  const owned = reg.read(state, 1, query, true);
  t.not(owned.buffer, state.buffer, 'a copy when the state may change');
  t.deepEqual([...owned], [...shared]);
  state.fill(1, 1);
  t.is(owned[0], 7, 'the answer keeps the bytes it was given');
});
