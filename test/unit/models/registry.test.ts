import test from 'ava';
import { KV_GET_QUERY, decodeKvGetResult, decodeKvWriteResult, encodeKvOp, kvStateMachine } from '../../../models/kv/kv';
import { ModelTag } from '../../../models/model-tags';
import { createModelRegistry, isWrongModel, splitVersion, tagged } from '../../../models/registry';
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

const registry = createModelRegistry([[ModelTag.kv, kvStateMachine], [ModelTag.queue, appendModel]]);

test('a key written as one model is refused by another, unchanged', (t) => {
  const put = registry.apply(null, 0, tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(9) })));
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
  const put = registry.apply(null, 0, tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Uint8Array.of(1) })));
  const del = registry.apply(put.data, 1, tagged(ModelTag.kv, encodeKvOp({ type: 'delete' })));
  t.is(del.data, null);
  const q = registry.apply(del.data, 2, tagged(ModelTag.queue, Uint8Array.of(7)));
  t.false(isWrongModel(q.result));
  t.deepEqual([...(q.data ?? [])], [ModelTag.queue, 7]);
});

test('unknown tags and duplicate registrations are programmer errors', (t) => {
  t.throws(() => registry.apply(null, 0, Uint8Array.of(99, 1)));
  t.throws(() => createModelRegistry([[ModelTag.kv, kvStateMachine], [ModelTag.kv, appendModel]]));
});
