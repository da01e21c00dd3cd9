/**
 * Pure pieces of the big table: row/patch/pk/name validation (table tests), the canonical row
 * encoding, the order-preserving index value encoding (table tests and a property: encoded
 * order is value order, in the engines' UTF-8 byte order) and the engine key layout.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  BIGTABLE_INDEXED_STRING_BYTES_MAX,
  BIGTABLE_PK_BYTES_MAX,
  checkIndexes,
  checkPk,
  checkRow,
  checkTableName,
  decodeStoredRow,
  encodeIndexValue,
  encodeStoredRow,
  indexKey,
  indexKeysOfRow,
  indexPrefix,
  parseRowKey,
  rowKey,
  rowRange,
  sameValue,
} from '../../../../models/bigtable/bigtable-row';
import type { BigtableValue } from '../../../../models/bigtable/bigtable-row';
import { compareKeys } from '../../../../engines/key-order';

const rows: Array<[string, unknown, boolean]> = [
  ['flat scalars', { a: 'x', b: 1.5, c: true, d: null }, true],
  ['empty row', {}, true],
  ['array value', { a: [1] }, false],
  ['object value', { a: { b: 1 } }, false],
  ['NaN', { a: Number.NaN }, false],
  ['Infinity', { a: Number.POSITIVE_INFINITY }, false],
  ['undefined value', { a: undefined }, false],
  ['bigint value', { a: 1n }, false],
  ['lone surrogate', { a: '\ud800' }, false],
  ['bad column name', { 'a-b': 1 }, false],
  ['column starting with _', { _a: 1 }, false],
  ['__proto__ column', JSON.parse('{"__proto__": 1}'), false],
  ['65-char column', { ['a'.repeat(65)]: 1 }, false],
  ['64-char column', { ['a'.repeat(64)]: 1 }, true],
  ['array row', [1], false],
  ['null row', null, false],
  ['class instance', new Date(0), false],
  ['string row', 'x', false],
  ['129 columns', Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`c${i}`, i])), false],
  ['128 columns', Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`c${i}`, i])), true],
];
for (const [what, row, ok] of rows) {
  test(`checkRow: ${what} is ${ok ? 'valid' : 'refused'}`, (t) => {
    const r = checkRow(row, []);
    t.is(r.row !== undefined, ok, r.error);
    t.is(r.error === undefined, ok);
  });
}

test('checkRow: indexed strings are limited, unindexed ones are not', (t) => {
  const long = 'x'.repeat(BIGTABLE_INDEXED_STRING_BYTES_MAX + 1);
  t.truthy(checkRow({ s: long }, ['s']).error);
  t.falsy(checkRow({ s: long }, []).error);
  t.falsy(checkRow({ s: long.slice(1) }, ['s']).error);
});

test('checkRow: a patch needs a column; -0 is stored as 0; columns come out sorted', (t) => {
  t.truthy(checkRow({}, [], 'patch').error);
  const r = checkRow({ z: -0, a: 1 }, []);
  t.deepEqual(Object.keys(r.row ?? {}), ['a', 'z']);
  t.true(Object.is(r.row?.z, 0));
});

const pks: Array<[unknown, boolean]> = [
  ['a', true],
  ['', false],
  [1, false],
  ['\ud800', false],
  ['x'.repeat(BIGTABLE_PK_BYTES_MAX), true],
  ['x'.repeat(BIGTABLE_PK_BYTES_MAX + 1), false],
  ['\u0000', true],
  ['é'.repeat(BIGTABLE_PK_BYTES_MAX / 2 + 1), false],
];
for (const [pk, ok] of pks) {
  test(`checkPk(${JSON.stringify(pk)?.slice(0, 20)}) is ${ok ? 'valid' : 'refused'}`, (t) =>
    t.is(checkPk(pk) === undefined, ok));
}

test('checkTableName and checkIndexes', (t) => {
  t.is(checkTableName('messages:v1'), undefined);
  t.truthy(checkTableName(''));
  t.truthy(checkTableName('a\u0000b'));
  t.truthy(checkTableName('x'.repeat(65)));
  t.deepEqual(checkIndexes(['day', 'sender']).indexes, ['day', 'sender']);
  t.deepEqual(checkIndexes(['sender', 'day']).indexes, ['day', 'sender']);
  t.truthy(checkIndexes(['a', 'a']).error);
  t.truthy(checkIndexes('a').error);
  t.truthy(checkIndexes(Array.from({ length: 9 }, (_, i) => `c${i}`)).error);
  t.truthy(checkIndexes(['bad-name']).error);
});

test('stored rows encode canonically (column order does not matter) and round-trip', (t) => {
  const a = encodeStoredRow({ i: ['b', 'a'], r: { y: 1, x: 'q' } });
  const b = encodeStoredRow({ i: ['a', 'b'], r: { x: 'q', y: 1 } });
  t.deepEqual(a, b);
  t.deepEqual(decodeStoredRow(a), { i: ['a', 'b'], r: { x: 'q', y: 1 } });
});

/** Values in ascending order: each pair (i < j) must encode in the same order. */
const ascending: BigtableValue[] = [
  null,
  false,
  true,
  -Number.MAX_VALUE,
  -1e10,
  -1.5,
  -1,
  -Number.MIN_VALUE,
  0,
  Number.MIN_VALUE,
  0.5,
  1,
  2,
  1e10,
  Number.MAX_VALUE,
  '',
  '\u0000',
  '\u0000\u0000',
  '\u0001',
  '\u0002',
  'a',
  'a\u0000',
  'a\u0000b',
  'a\u0001',
  'ab',
  'b',
  '\uffff',
  '\u{10000}',
  '\u{10ffff}',
];
test('encodeIndexValue: a table of values in ascending order encodes ascending', (t) => {
  for (let i = 1; i < ascending.length; i++) {
    const a = encodeIndexValue(ascending[i - 1] as BigtableValue);
    const b = encodeIndexValue(ascending[i] as BigtableValue);
    t.true(
      compareKeys(a, b) < 0,
      `${JSON.stringify(ascending[i - 1])} < ${JSON.stringify(ascending[i])}`,
    );
  }
  t.is(encodeIndexValue(-0), encodeIndexValue(0));
  t.is(encodeIndexValue(1), '\u00043ff0000000000000'.replace('3', 'b'));
});

function valueOrder(a: BigtableValue, b: BigtableValue): number {
  const rank = (v: BigtableValue): number =>
    v === null ? 0 : v === false ? 1 : v === true ? 2 : typeof v === 'number' ? 3 : 4;
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') return compareKeys(a, b);
  return 0;
}

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u0002', 'a') }),
);

test('encodeIndexValue: encoded order is value order, and the encoding is prefix-free (property)', (t) => {
  fc.assert(
    fc.property(scalar, scalar, fc.string(), fc.string(), (a, b, pa, pb) => {
      const ea = encodeIndexValue(a);
      const eb = encodeIndexValue(b);
      const order = Math.sign(valueOrder(a, b));
      if (Math.sign(compareKeys(ea, eb)) !== order) return false;
      // With pks appended, entries of one value stay below those of a greater value.
      if (order !== 0 && Math.sign(compareKeys(ea + pa, eb + pb)) !== order) return false;
      return order !== 0 || ea === eb;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('row keys and index keys: layout, parsing and ranges', (t) => {
  const key = rowKey('msgs', 'p\u0000k');
  t.deepEqual(parseRowKey(key), { table: 'msgs', pk: 'p\u0000k' });
  t.is(parseRowKey('\u0000obj'), undefined);
  t.is(parseRowKey('ns\u0001k'), undefined);
  const range = rowRange('msgs');
  t.true(compareKeys(range.gte, key) <= 0 && compareKeys(key, range.lt) < 0);
  t.false(
    compareKeys(rowKey('msgs2', 'a'), range.lt) < 0 &&
      compareKeys(range.gte, rowKey('msgs2', 'a')) <= 0,
  );
  const entry = indexKey('msgs', 'sender', 'bob', 'm1');
  t.true(entry.startsWith(indexPrefix('msgs', 'sender', 'bob')));
  t.false(
    indexKey('msgs', 'sender', 'bobby', 'm1').startsWith(indexPrefix('msgs', 'sender', 'bob')),
  );
  t.deepEqual(
    indexKeysOfRow('msgs', 'm1', { i: ['day', 'sender', 'zz'], r: { sender: 'bob', day: 3 } }),
    [indexKey('msgs', 'day', 3, 'm1'), indexKey('msgs', 'sender', 'bob', 'm1')],
  );
  t.true(sameValue(0, -0));
  t.false(sameValue('1', 1));
  t.false(sameValue(undefined, null));
  t.true(sameValue(null, null));
});
