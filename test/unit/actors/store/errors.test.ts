/**
 * Error construction is total (issue 13 item 3): describe() never throws, whatever it is given,
 * and validateValue accepts only genuine Uint8Arrays and well-formed strings, returning a copy.
 */
import test from 'ava';
import fc from 'fast-check';
import { describe } from '../../../../actors/store/errors';
import { validateValue } from '../../../../actors/store/model-client';

function hostile(): unknown[] {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const boom = (): never => {
    throw new Error('trap');
  };
  const trapping = new Proxy(
    {},
    { get: boom, getPrototypeOf: boom, ownKeys: boom, has: boom, getOwnPropertyDescriptor: boom },
  );
  const arrayTrap = new Proxy([], { get: boom });
  const ctorTrap = Object.create({
    get constructor(): never {
      return boom();
    },
  }) as object;
  const badToString = { toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom };
  return [
    1n,
    Symbol('s'),
    Object(Symbol('s')),
    cyclic,
    revoked.proxy,
    trapping,
    arrayTrap,
    ctorTrap,
    badToString,
    Object.create(null),
    [, 1],
    'x'.repeat(1 << 20),
    '\ud800',
    Number.NaN,
    -0,
    () => 1,
    null,
    undefined,
  ];
}

test('describe() never throws and stays short', (t) => {
  for (const value of hostile()) {
    t.notThrows(() => describe(value));
    t.is(typeof describe(value), 'string');
    t.true(describe(value).length < 200, describe(value));
  }
  fc.assert(
    fc.property(
      fc.anything({
        withBigInt: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withSparseArray: true,
        withNullPrototype: true,
      }),
      (v) => {
        return typeof describe(v) === 'string';
      },
    ),
  );
});

test('validateValue: only genuine Uint8Arrays and well-formed strings, copied', (t) => {
  const detachedView = new Uint8Array(4);
  structuredClone(detachedView.buffer, { transfer: [detachedView.buffer] });
  for (const bad of [
    new Proxy(new Uint8Array(2), {}),
    Object.create(Uint8Array.prototype),
    detachedView,
    new Int8Array(2),
    new DataView(new ArrayBuffer(2)),
    new ArrayBuffer(2),
    '\udc00',
    ...hostile().filter((v) => typeof v !== 'string'),
  ]) {
    t.throws(() => validateValue(bad, 16), { code: 'INVALID_ARGUMENT' }, describe(bad));
  }
  t.throws(() => validateValue('x'.repeat(17), 16), { code: 'INVALID_ARGUMENT' });
  t.throws(() => validateValue(new Uint8Array(17), 16), { code: 'INVALID_ARGUMENT' });
  const source = Buffer.from('abc');
  const copy = validateValue(source, 16);
  source[0] = 0x7a;
  t.deepEqual(Buffer.from(copy), Buffer.from('abc'));
  // A genuine array with a lying own `length`/`byteLength` is read through the intrinsics.
  const liar = new Uint8Array([1, 2]);
  Object.defineProperty(liar, 'byteLength', { value: 1 });
  Object.defineProperty(liar, 'length', { value: 99 });
  t.deepEqual([...validateValue(liar, 16)], [1, 2]);
  t.deepEqual([...validateValue('é', 16)], [0xc3, 0xa9]);
});
