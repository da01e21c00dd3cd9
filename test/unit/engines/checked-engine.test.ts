import test from 'ava';
import type { BatchOp, Engine, IterateRange, WriteOptions } from '../../../engines/engine';
import { isEngineError } from '../../../engines/errors';
import { MemoryEngine } from '../../../engines/memory-engine';
import { CheckedEngine } from '../../../engines/checked-engine';
import { AssertionError } from '../../../runtime/assert';

/** A MemoryEngine that records what reaches it, and can be told to fail or misbehave. */
class SpyEngine extends MemoryEngine {
  readonly calls: Array<[string, unknown]> = [];
  failOpen = false;
  failClose = false;
  fakeEntries: Array<[string, Uint8Array]> | undefined;

  override async open(): Promise<void> {
    this.calls.push(['open', undefined]);
    if (this.failOpen) throw Object.assign(new Error('disk gone'), { code: 'IO_ERROR' });
    await super.open();
  }

  override async close(): Promise<void> {
    this.calls.push(['close', undefined]);
    await super.close();
    if (this.failClose) throw new Error('close failed');
  }

  override get(key: string): Promise<Uint8Array | undefined> {
    this.calls.push(['get', key]);
    return super.get(key);
  }

  override write(batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
    this.calls.push(['write', { batch, options }]);
    return super.write(batch, options);
  }

  override iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    this.calls.push(['iterate', range]);
    const fake = this.fakeEntries;
    if (fake === undefined) return super.iterate(range);
    return (async function* () {
      yield* fake;
    })();
  }
}

async function openStore(engine: Engine = new SpyEngine()): Promise<CheckedEngine> {
  const store = new CheckedEngine(engine, { valueBytesMax: 4, batchOpsMax: 2, batchBytesMax: 100 });
  await store.open();
  return store;
}

async function rejects(
  t: import('ava').ExecutionContext,
  action: () => Promise<unknown>,
  code: string,
): Promise<void> {
  const err = await t.throwsAsync(action);
  t.true(isEngineError(err, code), `expected ${code}, got ${String(err)}`);
}

const one = Uint8Array.of(1);

test('invalid input never reaches the engine', async (t) => {
  const engine = new SpyEngine();
  const store = await openStore(engine);
  engine.calls.length = 0;
  await rejects(t, () => store.get(7 as never), 'INVALID_KEY');
  await rejects(t, () => store.getMany(['a', 'b', 'c']), 'INVALID_ARGUMENT');
  await rejects(t, () => store.getMany(['a', '']), 'INVALID_KEY');
  const tooBig = [{ type: 'put' as const, key: 'a', value: new Uint8Array(5) }];
  await rejects(t, () => store.write(tooBig), 'INVALID_VALUE');
  const threeOps = Array.from({ length: 3 }, () => ({ type: 'del' as const, key: 'a' }));
  await rejects(t, () => store.write(threeOps), 'INVALID_BATCH');
  const badOptions = { sync: 'yes' as never };
  await rejects(t, () => store.write([{ type: 'del', key: 'a' }], badOptions), 'INVALID_ARGUMENT');
  const iterator = store.iterate({ limit: -1 })[Symbol.asyncIterator]();
  await rejects(t, () => iterator.next(), 'INVALID_ARGUMENT');
  t.deepEqual(engine.calls, []);
});

test('the engine gets fresh frozen operations and normalised options', async (t) => {
  const engine = new SpyEngine();
  const store = await openStore(engine);
  const input = { type: 'put' as const, key: 'a', value: one, extra: true };
  await store.write([input]);
  const call = engine.calls.find(([name]) => name === 'write');
  const { batch, options } = (call?.[1] ?? {}) as { batch: BatchOp[]; options: WriteOptions };
  t.not(batch[0], input);
  t.true(Object.isFrozen(batch[0]));
  t.deepEqual(batch, [{ type: 'put', key: 'a', value: one }]);
  t.deepEqual(options, { sync: false });
  await store.close();
});

test('name, capabilities and stats come from the engine', async (t) => {
  const engine = new SpyEngine();
  const store = await openStore(engine);
  t.is(store.name, 'memory');
  t.is(store.capabilities, engine.capabilities);
  await store.close();
  t.deepEqual(store.stats(), engine.stats(), 'stats stay readable after close');
});

test('a failed open leaves the store closed and a later open can succeed', async (t) => {
  const engine = new SpyEngine();
  engine.failOpen = true;
  const store = new CheckedEngine(engine);
  const err = await t.throwsAsync(() => store.open());
  t.is(err?.message, 'disk gone');
  t.is(store.state, 'closed');
  await rejects(t, () => store.get('a'), 'NOT_OPEN');
  await store.close(); // closing a closed store is a no-op
  engine.failOpen = false;
  await store.open();
  t.is(store.state, 'open');
  await store.close();
});

test('a failed close still leaves the store closed', async (t) => {
  const engine = new SpyEngine();
  const store = await openStore(engine);
  engine.failClose = true;
  await t.throwsAsync(() => store.close(), { message: 'close failed' });
  t.is(store.state, 'closed');
});

test('concurrent opens open the engine once; close while opening waits', async (t) => {
  const engine = new SpyEngine();
  const store = new CheckedEngine(engine);
  const opens = [store.open(), store.open(), store.open()];
  const closing = store.close();
  await Promise.all([...opens, closing]);
  t.deepEqual(
    engine.calls.map(([name]) => name),
    ['open', 'close'],
  );
  t.is(store.state, 'closed');
});

test('invalid limits are INVALID_ARGUMENT at construction', (t) => {
  const err = t.throws(() => new CheckedEngine(new MemoryEngine(), { batchOpsMax: 0 }));
  t.true(isEngineError(err, 'INVALID_ARGUMENT'));
});

const misbehaviours: ReadonlyArray<[string, IterateRange, Array<[string, Uint8Array]>]> = [
  [
    'out of order',
    {},
    [
      ['b', one],
      ['a', one],
    ],
  ],
  [
    'repeated key',
    {},
    [
      ['a', one],
      ['a', one],
    ],
  ],
  ['outside the range', { gte: 'b' }, [['a', one]]],
  [
    'over the limit',
    { limit: 1 },
    [
      ['a', one],
      ['b', one],
    ],
  ],
  [
    'not reversed',
    { reverse: true },
    [
      ['a', one],
      ['b', one],
    ],
  ],
  ['value not bytes', {}, [['a', 'x' as never]]],
];

for (const [name, range, entries] of misbehaviours) {
  test(`an engine whose iterate yields entries ${name} trips an assertion`, async (t) => {
    const engine = new SpyEngine();
    const store = await openStore(engine);
    engine.fakeEntries = entries;
    const drain = async () => {
      for await (const entry of store.iterate(range)) t.truthy(entry);
    };
    await t.throwsAsync(drain, { instanceOf: AssertionError });
    await store.close();
  });
}
