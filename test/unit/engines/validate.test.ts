import test from 'ava';
import fc from 'fast-check';
import { isEngineError } from '../../../engines/errors';
import {
  isWellFormed,
  STORE_LIMITS_DEFAULT,
  validateBatch,
  validateKey,
  validateLimits,
  validateRange,
  validateValue,
  validateWriteOptions,
} from '../../../engines/validate';

function code(t: import('ava').ExecutionContext, action: () => unknown, expected: string): void {
  const err = t.throws(action);
  t.true(isEngineError(err, expected), `expected ${expected}, got ${String(err)}`);
}

const limits = validateLimits({ valueBytesMax: 8, batchOpsMax: 3, batchBytesMax: 20 });

test('validateKey accepts keys up to 4096 UTF-8 bytes', (t) => {
  for (const key of ['a', 'x'.repeat(4096), 'é'.repeat(2048), '\u{1F600}'.repeat(1024)]) {
    t.is(validateKey(key), key);
  }
});

test('validateKey rejects with INVALID_KEY', (t) => {
  const bad: unknown[] = ['', 'x'.repeat(4097), 'é'.repeat(2049), '\u{1F600}'.repeat(1025)];
  for (const key of [...bad, '\uD800', 'a\uDFFF', '\uDC00\uD800', 1, null, undefined, {}]) {
    code(t, () => validateKey(key), 'INVALID_KEY');
  }
});

test('isWellFormed agrees with String.prototype.isWellFormed', (t) => {
  const native = (s: string): boolean =>
    (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed.call(s);
  // Code units around and inside the surrogate range, mixed with ordinary text.
  const units = fc.array(fc.integer({ min: 0xd7fe, max: 0xe001 }), { maxLength: 6 });
  const property = fc.property(fc.string({ maxLength: 4 }), units, (s, around) => {
    const text = s + String.fromCharCode(...around) + s;
    return isWellFormed(text) === native(text);
  });
  fc.assert(property, { numRuns: 2000 });
  t.pass();
});

test('validateValue: Uint8Array up to valueBytesMax', (t) => {
  t.is(validateValue(new Uint8Array(8), limits).length, 8);
  code(t, () => validateValue(new Uint8Array(9), limits), 'INVALID_VALUE');
  code(t, () => validateValue('abc', limits), 'INVALID_VALUE');
  code(t, () => validateValue(new Uint8Array(4).buffer, limits), 'INVALID_VALUE');
});

test('validateBatch returns fresh frozen ops with only type, key and value', (t) => {
  const input = [
    { type: 'put', key: 'a', value: new Uint8Array(1), extra: 1 },
    { type: 'del', key: 'b', value: new Uint8Array(1) },
  ];
  const ops = validateBatch(input, limits);
  t.not(ops[0], input[0]);
  t.true(Object.isFrozen(ops[0]));
  t.deepEqual(Object.keys(ops[0]), ['type', 'key', 'value']);
  t.deepEqual(Object.keys(ops[1]), ['type', 'key']);
  t.is(ops[0].type === 'put' ? ops[0].value : undefined, input[0].value, 'value not copied here');
});

test('validateBatch bounds and shapes', (t) => {
  const put = (key: string, size: number) => ({ type: 'put', key, value: new Uint8Array(size) });
  code(t, () => validateBatch('x', limits), 'INVALID_BATCH');
  const fourOps = [put('a', 1), put('b', 1), put('c', 1), put('d', 1)];
  code(t, () => validateBatch(fourOps, limits), 'INVALID_BATCH');
  code(t, () => validateBatch([put('a', 8), put('b', 8), put('c', 8)], limits), 'INVALID_BATCH');
  code(t, () => validateBatch([null], limits), 'INVALID_BATCH');
  code(t, () => validateBatch([{ type: 'merge', key: 'a' }], limits), 'INVALID_BATCH');
  code(t, () => validateBatch([{ type: 'del', key: '' }], limits), 'INVALID_KEY');
  code(t, () => validateBatch([{ type: 'put', key: 'a' }], limits), 'INVALID_VALUE');
  t.deepEqual(validateBatch([], limits), []);
});

test('validateWriteOptions: sync defaults to false and must be boolean', (t) => {
  t.deepEqual(validateWriteOptions(undefined), { sync: false });
  t.deepEqual(validateWriteOptions({}), { sync: false });
  t.deepEqual(validateWriteOptions({ sync: true }), { sync: true });
  code(t, () => validateWriteOptions({ sync: 1 }), 'INVALID_ARGUMENT');
  code(t, () => validateWriteOptions('sync'), 'INVALID_ARGUMENT');
});

test('validateRange normalises and rejects', (t) => {
  t.deepEqual(validateRange(undefined), {});
  t.deepEqual(validateRange({ limit: Infinity }), { reverse: false });
  t.deepEqual(validateRange({ gte: '', lt: 'b', limit: 0, reverse: true }), {
    gte: '',
    lt: 'b',
    limit: 0,
    reverse: true,
  });
  for (const range of [null, 5, { limit: -1 }, { limit: NaN }, { gte: 1 }, { lt: '\uD800' }]) {
    code(t, () => validateRange(range), 'INVALID_ARGUMENT');
  }
});

test('validateLimits fills defaults and rejects bad limits', (t) => {
  t.deepEqual(validateLimits(undefined), STORE_LIMITS_DEFAULT);
  t.is(validateLimits({ batchOpsMax: 5 }).batchOpsMax, 5);
  for (const bad of [{ batchOpsMax: 0 }, { valueBytesMax: 1.5 }, { batchBytesMax: -1 }]) {
    code(t, () => validateLimits(bad), 'INVALID_ARGUMENT');
  }
});
