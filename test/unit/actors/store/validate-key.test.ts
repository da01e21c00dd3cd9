/** model-client.ts validateKey: the ASCII fast path answers exactly what the full checks do. */
import test from 'ava';
import { KEY_BYTES_MAX, validateKey } from '../../../../actors/store/model-client';

const accepted = [
  'k',
  'user:000123',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(KEY_BYTES_MAX),
  'caf\u00e9',
  '\u{1F600}',
  'a\u007f',
];
const refused = [
  '',
  'ab\uD800',
  '\uDC00cd',
  'a'.repeat(63) + '\uD800',
  'a'.repeat(KEY_BYTES_MAX + 1),
  '\u20ac'.repeat(342),
];

test('keys in and around the ASCII fast path: accepted as by the full checks', (t) => {
  for (const key of accepted) t.is(validateKey(key), key, JSON.stringify(key.slice(0, 8)));
});

test('empty, ill-formed and too long keys are refused on either path', (t) => {
  for (const key of refused) {
    const err = t.throws(() => validateKey(key), undefined, JSON.stringify(key.slice(0, 8)));
    t.is((err as { code?: string } | undefined)?.code, 'INVALID_ARGUMENT');
  }
  t.throws(() => validateKey(7 as unknown));
});
