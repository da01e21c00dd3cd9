import test from 'ava';
import { isStoreError, StoreError, storeError } from '../../../engines/errors';

test('storeError carries a stable code, message and optional cause', (t) => {
  const cause = new Error('disk');
  const err = storeError('IO_ERROR', 'write failed', cause);
  t.true(err instanceof StoreError);
  t.true(err instanceof Error);
  t.is(err.code, 'IO_ERROR');
  t.is(err.name, 'StoreError');
  t.is(err.message, 'write failed');
  t.is(err.cause, cause);
  t.false('cause' in storeError('NOT_OPEN', 'closed'));
});

test('isStoreError matches class and, when given, the code', (t) => {
  const err = storeError('NOT_OPEN', 'closed');
  t.true(isStoreError(err));
  t.true(isStoreError(err, 'NOT_OPEN'));
  t.false(isStoreError(err, 'INVALID_KEY'));
  t.false(isStoreError(Object.assign(new Error('x'), { code: 'NOT_OPEN' })));
  t.false(isStoreError(undefined));
});

test('codes outside the engine set are allowed (public API reuse)', (t) => {
  t.is(new StoreError('PXS_TIMEOUT', 'late').code, 'PXS_TIMEOUT');
});
