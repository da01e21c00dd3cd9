import test from 'ava';
import { isEngineError, EngineError, engineError } from '../../../engines/errors';

test('engineError carries a stable code, message and optional cause', (t) => {
  const cause = new Error('disk');
  const err = engineError('IO_ERROR', 'write failed', cause);
  t.true(err instanceof EngineError);
  t.true(err instanceof Error);
  t.is(err.code, 'IO_ERROR');
  t.is(err.name, 'EngineError');
  t.is(err.message, 'write failed');
  t.is(err.cause, cause);
  t.false('cause' in engineError('NOT_OPEN', 'closed'));
});

test('isEngineError matches class and, when given, the code', (t) => {
  const err = engineError('NOT_OPEN', 'closed');
  t.true(isEngineError(err));
  t.true(isEngineError(err, 'NOT_OPEN'));
  t.false(isEngineError(err, 'INVALID_KEY'));
  t.false(isEngineError(Object.assign(new Error('x'), { code: 'NOT_OPEN' })));
  t.false(isEngineError(undefined));
});

test('codes outside the engine set are allowed (public API reuse)', (t) => {
  t.is(new EngineError('PXS_TIMEOUT', 'late').code, 'PXS_TIMEOUT');
});
