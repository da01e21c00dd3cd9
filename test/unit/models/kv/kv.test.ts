import test from 'ava';
import {
  KV_GET_QUERY,
  KV_GET_VALUE_AT,
  KvStatus,
  decodeKvGetResult,
  decodeKvWriteResult,
  encodeKvOp,
  kvStateMachine,
  parseCounter,
  readKvGetResult,
  readKvWriteResult,
} from '../../../../models/kv/kv';
import type { KvOp, KvWriteFields } from '../../../../models/kv/kv';
import { allModels } from '../../../../models/all-models';
import { ModelTag } from '../../../../models/model-tags';
import { splitVersion, tagged } from '../../../../models/registry';

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

test('readKvWriteResult and readKvGetResult read what the decoders read, in place, behind a suffix', (t) => {
  const ops: KvOp[] = [
    { type: 'put', value: text('a') },
    { type: 'cas', expectedVersion: 7, value: text('x') },
    { type: 'incr', by: 1 },
    { type: 'delete' },
    { type: 'incr', by: 5 },
  ];
  let data: Uint8Array | null = null;
  let version = 0;
  const fields: KvWriteFields = { status: KvStatus.ok, version: -1, value: -1 };
  for (const op of ops) {
    const out = kvStateMachine.apply(data, version, encodeKvOp(op));
    data = out.data;
    if (out.mutated) version += 1;
    // The registry's 8-byte version suffix follows the model's 17 bytes on the wire.
    const suffixed = new Uint8Array(out.result.length + 8).fill(0xee);
    suffixed.set(out.result);
    readKvWriteResult(suffixed, out.result.length, fields);
    t.deepEqual({ ...fields }, { ...decodeKvWriteResult(out.result) }, op.type);
    const answer = kvStateMachine.read(data, version, KV_GET_QUERY);
    const got = { found: false, version: -1 };
    readKvGetResult(answer, got);
    const decoded = decodeKvGetResult(answer);
    t.deepEqual(got, { found: decoded.found, version: decoded.version }, op.type);
    if (got.found) t.deepEqual(answer.subarray(KV_GET_VALUE_AT), decoded.value);
  }
  t.throws(() => readKvWriteResult(new Uint8Array(25), 16, fields), { message: /16 bytes/ });
});

// Decision "A key's data written in place": kv's tagged put writes into a state of its length
// when the caller holds it alone (mayOverwrite), and answers every state it makes as owned.
test('a tagged put writes into an owned state of its length, and only then', (t) => {
  const opOf = (value: string) =>
    tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from(value) }));
  const first = allModels.apply(null, 0, opOf('abcd'));
  t.true(first.owned);
  const state = first.data;
  if (state === null) return t.fail('no state');
  const inPlace = allModels.apply(state, 1, opOf('wxyz'), true);
  t.is(inPlace.data, state, 'the same array');
  t.is(Buffer.from(state.subarray(1)).toString(), 'wxyz');
  t.true(inPlace.owned);
  t.is(decodeKvWriteResult(splitVersion(inPlace.result).body).status, KvStatus.ok);
  const notMine = allModels.apply(state, 2, opOf('1234'));
  t.not(notMine.data, state, 'without mayOverwrite: a new array');
  t.is(Buffer.from(state.subarray(1)).toString(), 'wxyz', 'and the old one unchanged');
  const longer = allModels.apply(state, 2, opOf('12345'), true);
  t.not(longer.data, state, 'another length: a new array');
  t.is(Buffer.from(state.subarray(1)).toString(), 'wxyz');
  return undefined;
});

// kv.ts putResult: a tagged put's result is shared by every put at the same version, and a
// shared result whose bytes were written is replaced, never handed out again.
test('tagged puts at one version share one result; a damaged shared result is replaced', (t) => {
  const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.from('v') }));
  const version = 1234;
  const a = allModels.apply(null, version - 1, op).result;
  const b = allModels.apply(null, version - 1, op).result;
  t.is(a, b, 'one shared array');
  t.is(splitVersion(a).version, version);
  t.deepEqual(decodeKvWriteResult(splitVersion(a).body), {
    status: KvStatus.ok,
    version,
    value: 0,
  });
  // Each of the version's sixteen bytes (the answer's and the registry suffix's) is checked.
  for (const at of [1, 8, 17, 24]) {
    const shared = allModels.apply(null, version - 1, op).result;
    const kept = shared[at] as number;
    shared[at] = kept ^ 0x01;
    const next = allModels.apply(null, version - 1, op).result;
    t.not(next, shared, `byte ${at} written: a fresh result`);
    t.is(splitVersion(next).version, version);
    t.deepEqual(decodeKvWriteResult(splitVersion(next).body), {
      status: KvStatus.ok,
      version,
      value: 0,
    });
    t.is(allModels.apply(null, version - 1, op).result, next, 'and the fresh one is shared');
  }
  t.not(allModels.apply(null, version, op).result, a, 'another version, another result');
});
