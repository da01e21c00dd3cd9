/**
 * Conformance: lifecycle traits (STYLE.md §4: each operation on a store that was never opened,
 * is still opening, is closing, is closed, and was reopened), persistence, and stats.
 */
import test, { type ExecutionContext } from 'ava';
import { isEngineError } from '../../engines/errors';
import { compareKeys } from '../../engines/key-order';
import { CheckedEngine } from '../../engines/checked-engine';
import {
  bytes,
  collect,
  collectKeys,
  putKeys,
  rejectsWithCode,
  text,
  type SuiteContext,
} from './suite-context';

type Operation = [string, (store: CheckedEngine) => Promise<unknown>];

const OPERATIONS: readonly Operation[] = [
  ['get', (store) => store.get('k')],
  ['getMany', (store) => store.getMany(['k'])],
  ['write', (store) => store.write([{ type: 'put', key: 'k', value: bytes(1) }])],
  ['iterate', (store) => collect(store.iterate())],
];

export function registerLifecycleTests(suite: SuiteContext): void {
  registerTraitTests(suite);
  registerOpenCloseTests(suite);
  registerPersistenceTests(suite);
  registerLockTest(suite);
  registerStatsTests(suite);
}

function registerTraitTests(suite: SuiteContext): void {
  for (const [name, operation] of OPERATIONS) {
    test(suite.title(`trait: ${name} rejects NOT_OPEN unless open, works when reopened`), (t) =>
      checkTraits(t, suite, operation),
    );
  }
}

async function checkTraits(
  t: ExecutionContext,
  suite: SuiteContext,
  operation: Operation[1],
): Promise<void> {
  const { engine, cleanup } = await suite.options.factory();
  const store = new CheckedEngine(engine);
  try {
    await rejectsWithCode(t, () => operation(store), 'NOT_OPEN', 'never opened');
    const opening = store.open();
    t.is(store.state, 'opening');
    await rejectsWithCode(t, () => operation(store), 'NOT_OPEN', 'opening');
    await opening;
    t.is(store.state, 'open');
    await t.notThrowsAsync(() => operation(store), 'open');
    const closing = store.close();
    t.is(store.state, 'closing');
    await rejectsWithCode(t, () => operation(store), 'NOT_OPEN', 'closing');
    await closing;
    t.is(store.state, 'closed');
    await rejectsWithCode(t, () => operation(store), 'NOT_OPEN', 'closed');
    await store.open();
    await t.notThrowsAsync(() => operation(store), 'reopened');
  } finally {
    await store.close();
    await cleanup();
  }
}

function registerOpenCloseTests(suite: SuiteContext): void {
  test(suite.title('open and close are idempotent, also when concurrent'), (t) =>
    suite.withStore(t, async (store) => {
      await Promise.all([store.open(), store.open()]);
      await putKeys(store, ['k']);
      await Promise.all([store.close(), store.close()]);
      await store.close();
      t.is(store.state, 'closed');
      await Promise.all([store.open(), store.open()]);
      t.is(store.state, 'open');
    }),
  );

  test(suite.title('close while opening, and open while closing, settle in call order'), (t) =>
    suite.withStore(t, async (store) => {
      await store.close();
      const opening = store.open();
      const closing = store.close();
      await Promise.all([opening, closing]);
      t.is(store.state, 'closed');
      await store.open();
      const closed = store.close();
      const reopened = store.open();
      await Promise.all([closed, reopened]);
      t.is(store.state, 'open');
      await putKeys(store, ['k']);
      t.deepEqual(await store.get('k'), text('k'));
    }),
  );

  test(suite.title('an iteration across close rejects NOT_OPEN on its next step'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, ['a', 'b', 'c']);
      const iterator = store.iterate()[Symbol.asyncIterator]();
      t.false((await iterator.next()).done);
      await store.close();
      await rejectsWithCode(t, () => iterator.next(), 'NOT_OPEN');
    }),
  );
}

function registerPersistenceTests(suite: SuiteContext): void {
  const persistentTest = suite.options.capabilities.persistent ? test : test.skip;

  persistentTest(suite.title('persistent: close and open of the same instance keeps data'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'synced', value: bytes(1) }], { sync: true });
      await store.write([{ type: 'put', key: 'unsynced', value: bytes(2) }], { sync: false });
      await store.write([
        { type: 'del', key: 'synced' },
        { type: 'put', key: 'x', value: bytes() },
      ]);
      await store.close();
      await store.open();
      const values = await store.getMany(['synced', 'unsynced', 'x']);
      t.deepEqual(values, [undefined, bytes(2), bytes()]);
    }),
  );

  persistentTest(suite.title('persistent: a new instance over the same storage keeps data'), (t) =>
    suite.withStore(t, async (store, engine) => {
      const reopen = suite.options.reopen;
      if (reopen === undefined) return t.fail('a persistent engine needs options.reopen');
      await putKeys(store, ['a', 'b', '\u{10000}']);
      await store.write([{ type: 'del', key: 'b' }], { sync: true });
      await store.close();
      const restarted = new CheckedEngine(reopen(engine));
      await restarted.open();
      try {
        // An unordered engine may yield the keys in any order.
        const keys = await collectKeys(restarted.iterate());
        if (!suite.options.capabilities.ordered) keys.sort(compareKeys);
        t.deepEqual(keys, ['a', '\u{10000}']);
        t.deepEqual(await restarted.get('a'), text('a'));
      } finally {
        await restarted.close();
      }
    }),
  );
}

/**
 * A persistent engine owns its storage: a second instance over the same storage is refused
 * (LOCKED) while the first is open, and opens once it has closed.
 */
function registerLockTest(suite: SuiteContext): void {
  const persistentTest = suite.options.capabilities.persistent ? test : test.skip;
  persistentTest(
    suite.title(
      'persistent: a second instance over the same storage is LOCKED while the first is open',
    ),
    (t) =>
      suite.withStore(t, async (store, engine) => {
        const reopen = suite.options.reopen;
        if (reopen === undefined) return t.fail('a persistent engine needs options.reopen');
        const second = new CheckedEngine(reopen(engine));
        const err = await t.throwsAsync(() => second.open());
        t.true(isEngineError(err, 'LOCKED'), String(err));
        t.is(second.state, 'closed');
        await store.close();
        await second.open();
        await second.close();
      }),
  );
}

function registerStatsTests(suite: SuiteContext): void {
  test(suite.title('stats count reads, writes, batches, syncs and bytes written'), (t) =>
    suite.withStore(t, async (store) => {
      t.deepEqual(store.stats(), { reads: 0, writes: 0, batches: 0, syncs: 0, bytesWritten: 0 });
      await store.write([{ type: 'put', key: 'ab', value: bytes(1, 2, 3) }], { sync: true });
      // 'é' is two UTF-8 bytes; a del counts its key only.
      await store.write([
        { type: 'put', key: 'é', value: bytes() },
        { type: 'del', key: 'zz' },
      ]);
      await store.get('ab');
      await store.get('missing');
      await store.getMany(['ab', 'é', 'x']);
      await collect(store.iterate());
      const expected = { reads: 5, writes: 3, batches: 2, syncs: 1, bytesWritten: 2 + 3 + 2 + 2 };
      t.deepEqual(store.stats(), expected);
      await rejectsWithCode(t, () => store.get(''), 'INVALID_KEY');
      t.deepEqual(store.stats(), expected, 'rejected input is not counted');
    }),
  );
}
