import test from 'ava';
import fc from 'fast-check';
import { compareKeys, inRange } from '../../../engines/key-order';

const sign = (n: number): number => Math.sign(n);

const cases: ReadonlyArray<[string, string, number]> = [
  ['', '', 0],
  ['', 'a', -1],
  ['a', 'a', 0],
  ['a', 'b', -1],
  ['a', 'aa', -1],
  ['a\u0000', 'aa', -1],
  ['Z', 'a', -1],
  ['z', 'é', -1],
  ['\uD7FF', '\uE000', -1],
  // UTF-16 order says '\u{10000}' (D800 DC00) < '\uFFFF'; UTF-8 byte order says the opposite.
  ['\uFFFF', '\u{10000}', -1],
  ['\uE000', '\u{1F600}', -1],
  ['\u{10000}', '\u{10001}', -1],
  ['\u{1F600}', '\u{1F601}', -1],
  ['a\u{10000}', 'a\uFFFF', 1],
];

for (const [a, b, expected] of cases) {
  test(`compareKeys(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${expected}`, (t) => {
    t.is(sign(compareKeys(a, b)), expected);
    t.is(sign(compareKeys(b, a)), expected === 0 ? 0 : -expected);
  });
}

test('property: agrees with UTF-8 byte comparison on well-formed strings', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
      const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
      return sign(compareKeys(a, b)) === bytes;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('inRange: gte inclusive, lt exclusive, absent bounds open', (t) => {
  t.true(inRange('b', 'b', 'c'));
  t.false(inRange('c', 'b', 'c'));
  t.false(inRange('a', 'b', undefined));
  t.true(inRange('zzz', undefined, undefined));
  t.true(inRange('\u{10000}', '\uFFFF', undefined));
  t.false(inRange('\u{10000}', undefined, '\uFFFF'));
});
