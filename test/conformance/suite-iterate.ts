/** Conformance: iteration (order, ranges, limit, reverse, snapshot, early exit, model check). */
import test from 'ava';
import fc from 'fast-check';
import { compareKeys } from '../../engines/key-order';
import type { CheckedEngine } from '../../engines/checked-engine';
import {
  collect,
  collectKeys,
  putKeys,
  rejectsWithCode,
  text,
  type SuiteContext,
} from './suite-context';

/** In UTF-8 byte order, which differs from UTF-16 order for '\uFFFF' and '\u{10000}'. */
const SORTED_KEYS = ['a', 'a\u0000', 'aa', 'ab', 'b', 'ba', 'z', 'é', '\uFFFF', '\u{10000}'];

export function registerIterateTests(suite: SuiteContext): void {
  const ordered = suite.options.capabilities.ordered;
  registerOrderTests(suite, ordered);
  registerRangeTests(suite, ordered);
  registerIterateLifeTests(suite, ordered);
  const orderedTest = ordered ? test : test.skip;
  orderedTest(suite.title('model check: random batches, then iterate ranges'), (t) =>
    suite.withStore(t, async (store) => {
      await checkAgainstModel(store);
      t.pass();
    }),
  );
}

function registerOrderTests(suite: SuiteContext, ordered: boolean): void {
  const orderedTest = ordered ? test : test.skip;

  test(suite.title('iterate returns every entry exactly once'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, [...SORTED_KEYS].reverse());
      const entries = await collect(store.iterate());
      const keys = entries.map(([key]) => key).sort(compareKeys);
      t.deepEqual(keys, SORTED_KEYS);
      for (const [key, value] of entries) t.deepEqual(value, text(key));
    }),
  );

  test(suite.title('iterate over an empty store yields nothing'), (t) =>
    suite.withStore(t, async (store) => {
      t.deepEqual(await collect(store.iterate({ reverse: true, limit: 3 })), []);
    }),
  );

  orderedTest(suite.title('iterate is in UTF-8 byte order, forward and reverse'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, [...SORTED_KEYS].reverse());
      t.deepEqual(await collectKeys(store.iterate()), SORTED_KEYS);
      t.deepEqual(await collectKeys(store.iterate({ reverse: true })), [...SORTED_KEYS].reverse());
    }),
  );
}

function registerRangeTests(suite: SuiteContext, ordered: boolean): void {
  const orderedTest = ordered ? test : test.skip;

  orderedTest(suite.title('ranges: gte is inclusive, lt exclusive, bounds need not exist'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, SORTED_KEYS);
      const cases: ReadonlyArray<[{ gte?: string; lt?: string }, string[]]> = [
        [{ gte: 'aa', lt: 'b' }, ['aa', 'ab']],
        [{ gte: 'ab' }, SORTED_KEYS.slice(3)],
        [{ lt: 'aa' }, ['a', 'a\u0000']],
        [{ gte: 'a\u0001', lt: 'ba' }, ['aa', 'ab', 'b']],
        [{ gte: '\uFFFF' }, ['\uFFFF', '\u{10000}']],
        [{ gte: '' }, SORTED_KEYS],
        [{ gte: 'c', lt: 'c' }, []],
        [{ gte: 'z', lt: 'a' }, []],
      ];
      for (const [range, expected] of cases) {
        t.deepEqual(await collectKeys(store.iterate(range)), expected, JSON.stringify(range));
        const reversed = await collectKeys(store.iterate({ ...range, reverse: true }));
        t.deepEqual(reversed, [...expected].reverse(), `reverse ${JSON.stringify(range)}`);
      }
    }),
  );

  orderedTest(suite.title('limit counts from the start of the direction'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, SORTED_KEYS);
      t.deepEqual(await collectKeys(store.iterate({ limit: 2 })), ['a', 'a\u0000']);
      t.deepEqual(await collectKeys(store.iterate({ limit: 2, reverse: true })), [
        '\u{10000}',
        '\uFFFF',
      ]);
      t.deepEqual(await collectKeys(store.iterate({ gte: 'b', limit: 2 })), ['b', 'ba']);
      t.deepEqual(await collectKeys(store.iterate({ lt: 'b', limit: 2, reverse: true })), [
        'ab',
        'aa',
      ]);
      t.deepEqual(await collectKeys(store.iterate({ limit: 0 })), []);
      t.is((await collectKeys(store.iterate({ limit: 1000 }))).length, SORTED_KEYS.length);
      t.is((await collectKeys(store.iterate({ limit: Infinity }))).length, SORTED_KEYS.length);
    }),
  );

  test(suite.title('invalid ranges are rejected with INVALID_ARGUMENT'), (t) =>
    suite.withStore(t, async (store) => {
      const invalid: unknown[] = [{ limit: -1 }, { limit: 1.5 }, { gte: 5 }, { lt: '\uD800' }];
      for (const range of [...invalid, { reverse: 'yes' }, 'all']) {
        const label = JSON.stringify(range);
        const next = () => collect(store.iterate(range as never));
        await rejectsWithCode(t, next, 'INVALID_ARGUMENT', label);
      }
    }),
  );
}

function registerIterateLifeTests(suite: SuiteContext, ordered: boolean): void {
  const orderedTest = ordered ? test : test.skip;
  test(suite.title('an iteration reads a snapshot taken by its first next()'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, ['a', 'b', 'c']);
      const iterator = store.iterate()[Symbol.asyncIterator]();
      const first = await iterator.next();
      t.false(first.done);
      await store.write([
        { type: 'del', key: 'a' },
        { type: 'del', key: 'b' },
        { type: 'del', key: 'c' },
        { type: 'put', key: 'd', value: text('d') },
      ]);
      const seen = [first.done === true ? '' : first.value[0]];
      for (let step = 0; step < 10; step++) {
        const result = await iterator.next();
        if (result.done === true) break;
        seen.push(result.value[0]);
      }
      t.deepEqual([...seen].sort(compareKeys), ['a', 'b', 'c']);
      t.deepEqual(await collectKeys(store.iterate()), ['d']);
    }),
  );

  orderedTest(suite.title('leaving an iteration early releases it'), (t) =>
    suite.withStore(t, async (store) => {
      await putKeys(store, SORTED_KEYS);
      for (let round = 0; round < 20; round++) {
        for await (const [key] of store.iterate()) {
          t.is(key, 'a');
          break;
        }
      }
      await putKeys(store, ['after']);
      t.deepEqual(await store.get('after'), text('after'));
    }),
  );
}

/**
 * Applies random batches to the store and to a Map, then compares random ranges of both. Each
 * run writes under its own prefix, so runs share one store without seeing each other.
 */
async function checkAgainstModel(store: CheckedEngine): Promise<void> {
  const key = fc.constantFrom('a', 'b', 'c', 'ab', 'b\u0000', 'é', '\u{10000}', '\uFFFF');
  const op = fc.oneof(
    fc.record({ type: fc.constant('put' as const), key, value: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ type: fc.constant('del' as const), key }),
  );
  const batches = fc.array(fc.array(op, { maxLength: 6 }), { maxLength: 6 });
  const range = fc.record(
    { gte: key, lt: key, limit: fc.nat({ max: 10 }), reverse: fc.boolean() },
    { requiredKeys: ['reverse'] },
  );
  let run = 0;
  const property = fc.asyncProperty(batches, range, async (generated, r) => {
    const prefix = `run${run}/`;
    const end = `run${run}0`; // '0' follows '/': the first key after every key of this run
    run++;
    const model = new Map<string, Uint8Array>();
    for (const batch of generated) {
      const ops = batch.map((o) => ({ ...o, key: prefix + o.key }));
      await store.write(ops, { sync: false });
      for (const o of ops) {
        if (o.type === 'put') model.set(o.key, o.value);
        else model.delete(o.key);
      }
    }
    const gte = prefix + (r.gte ?? '');
    const lt = r.lt === undefined ? end : prefix + r.lt;
    const actual = await collect(store.iterate({ gte, lt, limit: r.limit, reverse: r.reverse }));
    const expected = [...model.entries()]
      .filter(([k]) => compareKeys(k, gte) >= 0 && compareKeys(k, lt) < 0)
      .sort((a, b) => compareKeys(a[0], b[0]) * (r.reverse ? -1 : 1))
      .slice(0, r.limit ?? Infinity);
    return JSON.stringify(encode(actual)) === JSON.stringify(encode(expected));
  });
  await fc.assert(property, { numRuns: 40 });
}

function encode(entries: Array<[string, Uint8Array]>): Array<[string, number[]]> {
  return entries.map(([key, value]) => [key, Array.from(value)]);
}
