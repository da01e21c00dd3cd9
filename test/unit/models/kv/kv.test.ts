import test from 'ava';
import {
  KV_GET_QUERY,
  KvStatus,
  decodeKvGetResult,
  decodeKvWriteResult,
  encodeKvOp,
  kvStateMachine,
  parseCounter,
} from '../../../../models/kv/kv';
import type { KvOp } from '../../../../models/kv/kv';

const text = (s: string) => new TextEncoder().encode(s);

/** Applies ops in order from an empty key; returns each decoded result and the final state. */
function run(ops: KvOp[]) {
  let data: Uint8Array | null = null;
  let version = 0;
  const results = ops.map((op) => {
    const out = kvStateMachine.apply(data, version, encodeKvOp(op));
    data = out.data;
    if (out.mutated) version += 1;
    return decodeKvWriteResult(out.result);
  });
  return { results, data, version };
}

test('put, delete, cas and incr count mutations; failed ops change nothing', (t) => {
  const r = run([
    { type: 'put', value: text('a') },
    { type: 'cas', expectedVersion: 7, value: text('x') }, // conflict
    { type: 'cas', expectedVersion: 1, value: text('b') },
    { type: 'incr', by: 1 }, // 'b' is not a number
    { type: 'delete' },
    { type: 'cas', expectedVersion: 3, value: text('y') }, // deleted: only cas(0) matches
    { type: 'cas', expectedVersion: 0, value: text('41') },
    { type: 'incr', by: 1 },
  ]);
  t.deepEqual(
    r.results.map((x) => [x.status, x.version]),
    [
      [KvStatus.ok, 1],
      [KvStatus.versionConflict, 1],
      [KvStatus.ok, 2],
      [KvStatus.wrongType, 2],
      [KvStatus.ok, 3],
      [KvStatus.versionConflict, 0],
      [KvStatus.ok, 4],
      [KvStatus.ok, 5],
    ],
  );
  t.is(r.results[7]?.value, 42);
  t.is(r.version, 5);
  t.deepEqual(r.data, text('42'));
});

test('get reports absent keys as not found and present ones with their version', (t) => {
  t.false(decodeKvGetResult(kvStateMachine.read(null, 3, KV_GET_QUERY)).found);
  const g = decodeKvGetResult(kvStateMachine.read(text('v'), 3, KV_GET_QUERY));
  t.true(g.found);
  t.is(g.version, 3);
  t.deepEqual(g.value, text('v'));
});

const counters: Array<[string | null, number | undefined]> = [
  [null, 0],
  ['0', 0],
  ['-12', -12],
  ['9007199254740991', 9007199254740991],
  ['1.5', undefined],
  ['', undefined],
  ['abc', undefined],
  ['99999999999999999', undefined],
  [' 1', undefined],
];
for (const [stored, expected] of counters) {
  test(`parseCounter(${JSON.stringify(stored)}) = ${String(expected)}`, (t) => {
    t.is(parseCounter(stored === null ? null : text(stored)), expected);
  });
}

test('incr past the safe integer range is WRONG_TYPE and changes nothing', (t) => {
  const out = kvStateMachine.apply(
    text('9007199254740991'),
    4,
    encodeKvOp({ type: 'incr', by: 1 }),
  );
  t.false(out.mutated);
  t.is(decodeKvWriteResult(out.result).status, KvStatus.wrongType);
  t.deepEqual(out.data, text('9007199254740991'));
});
