/** Conformance: point reads and writes, batches, binary values, keys, aliasing, getMany. */
import test from 'ava';
import { bytes, rejectsWithCode, text, type SuiteContext } from './suite-context';

export function registerBasicTests(suite: SuiteContext): void {
  registerPointTests(suite);
  registerBatchTests(suite);
  registerValueTests(suite);
  registerKeyTests(suite);
  registerAliasTests(suite);
  registerGetManyTests(suite);
}

function registerPointTests(suite: SuiteContext): void {
  test(suite.title('get of a missing key is undefined'), (t) =>
    suite.withStore(t, async (store) => {
      t.is(await store.get('missing'), undefined);
    }),
  );

  test(suite.title('put then get returns the bytes as a plain Uint8Array'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'k', value: bytes(1, 2, 3) }], { sync: false });
      const value = await store.get('k');
      t.deepEqual(value, bytes(1, 2, 3));
      t.is(value?.constructor, Uint8Array);
    }),
  );

  test(suite.title('del removes a key; del of a missing key is a no-op'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'k', value: bytes(1) }], { sync: false });
      await store.write([{ type: 'del', key: 'k' }], { sync: true });
      t.is(await store.get('k'), undefined);
      await store.write([{ type: 'del', key: 'never' }], { sync: false });
      t.is(await store.get('never'), undefined);
    }),
  );

  test(suite.title('overwrite: the last put wins'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'k', value: bytes(1) }], { sync: false });
      await store.write([{ type: 'put', key: 'k', value: bytes(2, 2) }], { sync: false });
      t.deepEqual(await store.get('k'), bytes(2, 2));
    }),
  );

  test(suite.title('write options default to sync false; both modes write'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'a', value: bytes(1) }]);
      await store.write([{ type: 'put', key: 'b', value: bytes(2) }], { sync: true });
      t.deepEqual(await store.getMany(['a', 'b']), [bytes(1), bytes(2)]);
      t.is(store.stats().syncs, 1);
    }),
  );

  test(suite.title('concurrent writes to different keys all land'), (t) =>
    suite.withStore(t, async (store) => {
      const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
      await Promise.all(
        keys.map((key, i) =>
          store.write([{ type: 'put', key, value: bytes(i) }], { sync: i % 2 === 0 }),
        ),
      );
      const values = await store.getMany(keys);
      t.deepEqual(
        values,
        keys.map((_, i) => bytes(i)),
      );
    }),
  );
}

function registerBatchTests(suite: SuiteContext): void {
  test(suite.title('a batch applies all of its puts and dels'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'gone', value: bytes(0) }], { sync: false });
      await store.write(
        [
          { type: 'put', key: 'a', value: bytes(1) },
          { type: 'del', key: 'gone' },
          { type: 'put', key: 'b', value: bytes(2) },
        ],
        { sync: true },
      );
      t.deepEqual(await store.getMany(['a', 'b', 'gone']), [bytes(1), bytes(2), undefined]);
    }),
  );

  test(suite.title('within one batch the last operation on a key wins'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'pd', value: bytes(9) }], { sync: false });
      await store.write(
        [
          { type: 'put', key: 'pd', value: bytes(1) },
          { type: 'del', key: 'pd' },
          { type: 'del', key: 'dp' },
          { type: 'put', key: 'dp', value: bytes(2) },
          { type: 'put', key: 'pp', value: bytes(3) },
          { type: 'put', key: 'pp', value: bytes(4) },
        ],
        { sync: false },
      );
      t.deepEqual(await store.getMany(['pd', 'dp', 'pp']), [undefined, bytes(2), bytes(4)]);
    }),
  );

  test(suite.title('a batch with one invalid operation applies nothing'), (t) =>
    suite.withStore(t, async (store) => {
      const bad: unknown = { type: 'put', key: '', value: bytes(1) };
      const batch = [{ type: 'put', key: 'ok', value: bytes(1) }, bad] as never[];
      await rejectsWithCode(t, () => store.write(batch, { sync: false }), 'INVALID_KEY');
      t.is(await store.get('ok'), undefined);
      t.is(store.stats().batches, 0);
    }),
  );

  test(suite.title('an empty batch is accepted'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([], { sync: true });
      t.is(store.stats().writes, 0);
    }),
  );

  test(suite.title('a batch of 1000 operations is one atomic write'), (t) =>
    suite.withStore(t, async (store) => {
      const keys = Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}`);
      await store.write(
        keys.map((key) => ({ type: 'put' as const, key, value: text(key) })),
        { sync: true },
      );
      t.deepEqual(await store.getMany([keys[0], keys[999]]), [text(keys[0]), text(keys[999])]);
      t.like(store.stats(), { writes: 1000, batches: 1, syncs: 1 });
    }),
  );
}

function registerValueTests(suite: SuiteContext): void {
  const values: ReadonlyArray<[string, Uint8Array]> = [
    ['empty', bytes()],
    ['single zero byte', bytes(0)],
    ['all 256 byte values', Uint8Array.from({ length: 256 }, (_, i) => i)],
    ['invalid UTF-8', bytes(0xc3, 0x28, 0xff, 0xfe)],
    ['1 MiB', new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff)],
  ];
  for (const [name, value] of values) {
    test(suite.title(`binary value round-trips: ${name}`), (t) =>
      suite.withStore(t, async (store) => {
        await store.write([{ type: 'put', key: 'v', value }], { sync: false });
        const read = await store.get('v');
        t.true(read instanceof Uint8Array, 'an empty value is a value, not undefined');
        t.deepEqual(read, value);
      }),
    );
  }

  test(suite.title('a value that is a view stores only the bytes of the view'), (t) =>
    suite.withStore(t, async (store) => {
      const backing = bytes(0, 1, 2, 3, 4, 5, 6, 7);
      await store.write([{ type: 'put', key: 'v', value: backing.subarray(2, 5) }]);
      t.deepEqual(await store.get('v'), bytes(2, 3, 4));
    }),
  );

  test(suite.title('a Buffer is accepted as a value, copied, and read back as a Uint8Array'), (t) =>
    suite.withStore(t, async (store) => {
      const value = Buffer.from('hi');
      await store.write([{ type: 'put', key: 'v', value }]);
      value.fill(0); // Buffer.prototype.slice is a view, not a copy: a classic aliasing trap
      const read = await store.get('v');
      t.is(read?.constructor, Uint8Array);
      t.deepEqual(read, text('hi'));
    }),
  );

  test(suite.title('a value that is not a Uint8Array is rejected'), (t) =>
    suite.withStore(t, async (store) => {
      for (const value of ['text', 7, null, undefined, [1, 2], new Uint16Array(2)]) {
        const batch = [{ type: 'put', key: 'v', value }] as never[];
        await rejectsWithCode(t, () => store.write(batch), 'INVALID_VALUE', String(value));
      }
      t.is(await store.get('v'), undefined);
    }),
  );
}

function registerKeyTests(suite: SuiteContext): void {
  test(suite.title('keys: unicode, astral and 4096-byte keys are distinct and stable'), (t) =>
    suite.withStore(t, async (store) => {
      const keys = ['a', 'A', 'é', 'e\u0301', '中文', '\u{1F600}', '\uFFFF', 'x'.repeat(4096)];
      const wide = '\u{1F600}'.repeat(1024); // 4 UTF-8 bytes each: exactly 4096
      const all = [...keys, wide];
      await store.write(all.map((key, i) => ({ type: 'put' as const, key, value: bytes(i) })));
      t.deepEqual(
        await store.getMany(all),
        all.map((_, i) => bytes(i)),
      );
    }),
  );

  test(suite.title('invalid keys are rejected with INVALID_KEY'), (t) =>
    suite.withStore(t, async (store) => {
      const invalid: unknown[] = ['', 'x'.repeat(4097), 'é'.repeat(2049), '\uD800', 'a\uDC00', 7];
      for (const key of [...invalid, undefined, null, bytes(1)]) {
        const label = typeof key === 'string' ? `string of ${key.length}` : String(key);
        await rejectsWithCode(t, () => store.get(key as string), 'INVALID_KEY', label);
        const batch = [{ type: 'del', key }] as never[];
        await rejectsWithCode(t, () => store.write(batch), 'INVALID_KEY', label);
      }
    }),
  );
}

function registerAliasTests(suite: SuiteContext): void {
  test(suite.title('values are not aliased: input mutated right after put'), (t) =>
    suite.withStore(t, async (store) => {
      const value = bytes(1, 2, 3);
      const written = store.write([{ type: 'put', key: 'k', value }], { sync: false });
      value.fill(9); // before the write resolves
      await written;
      value.fill(8);
      t.deepEqual(await store.get('k'), bytes(1, 2, 3));
    }),
  );

  test(suite.title('values are not aliased: results of get and iterate'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([{ type: 'put', key: 'k', value: bytes(1, 2, 3) }]);
      const first = await store.get('k');
      const second = await store.get('k');
      t.not(first, second);
      first?.fill(7);
      t.deepEqual(second, bytes(1, 2, 3));
      for await (const [, value] of store.iterate()) value.fill(6);
      t.deepEqual(await store.get('k'), bytes(1, 2, 3));
    }),
  );
}

function registerGetManyTests(suite: SuiteContext): void {
  test(suite.title('getMany lines results up with keys, repeats included'), (t) =>
    suite.withStore(t, async (store) => {
      await store.write([
        { type: 'put', key: 'a', value: bytes(1) },
        { type: 'put', key: 'b', value: bytes(2) },
      ]);
      const values = await store.getMany(['b', 'x', 'a', 'b']);
      t.deepEqual(values, [bytes(2), undefined, bytes(1), bytes(2)]);
      t.deepEqual(await store.getMany([]), []);
    }),
  );

  test(suite.title('getMany rejects the whole call on one invalid key'), (t) =>
    suite.withStore(t, async (store) => {
      await rejectsWithCode(t, () => store.getMany(['a', '']), 'INVALID_KEY');
      t.is(store.stats().reads, 0, 'no key reached the engine');
    }),
  );
}
