import test from 'ava';
import { isEngineError, engineError } from '../../../engines/errors';
import { mapLevelError } from '../../../engines/lsm-errors';

const levelError = (code: string, cause?: unknown): Error =>
  Object.assign(new Error(code, cause === undefined ? undefined : { cause }), { code });

const notOpen = (cause: string): Error => levelError('LEVEL_DATABASE_NOT_OPEN', levelError(cause));

const cases: ReadonlyArray<[string, unknown, string]> = [
  ['closed database', levelError('LEVEL_DATABASE_NOT_OPEN'), 'NOT_OPEN'],
  ['closed iterator', levelError('LEVEL_ITERATOR_NOT_OPEN'), 'NOT_OPEN'],
  ['lock held', notOpen('LEVEL_LOCKED'), 'LOCKED'],
  ['corruption', levelError('LEVEL_CORRUPTION'), 'CORRUPTED'],
  ['open fails on corruption', notOpen('LEVEL_CORRUPTION'), 'CORRUPTED'],
  ['open fails on io', notOpen('LEVEL_IO_ERROR'), 'IO_ERROR'],
  ['io error', levelError('LEVEL_IO_ERROR'), 'IO_ERROR'],
  ['plain error', new Error('boom'), 'IO_ERROR'],
  ['not an error', 'boom', 'IO_ERROR'],
];

for (const [name, err, code] of cases) {
  test(`mapLevelError: ${name} → ${code}`, (t) => {
    const mapped = mapLevelError(err, 'get');
    t.true(isEngineError(mapped, code), `${mapped.code}: ${mapped.message}`);
    t.is(mapped.cause, err);
    t.regex(mapped.message, /^lsm get failed: /);
  });
}

test('mapLevelError passes a EngineError through unchanged', (t) => {
  const original = engineError('NOT_OPEN', 'closed');
  t.is(mapLevelError(original, 'get'), original);
});
