/**
 * The KV API's basic semantics (DESIGN.md §5), through the public API, on the memory engine
 * and on the lsm engine: versions, cas, delete, incr, binary values, and reads through every
 * replica.
 */
import test from 'ava';
import * as path from 'node:path';
import { PaxosStore, PaxosStoreError } from '../../index';
import { FAST, INDEX_JS, codeOf, engineOptions, eventually, openStore, runNode, tempDir } from './helpers';

const ENGINES = ['memory', 'lsm'] as const;

for (const engine of ENGINES) {
  test(`${engine}: versions count mutations; a deleted key reads as undefined`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const kv = store.kv('users');
    t.is(await kv.get('alice'), undefined);
    t.deepEqual(await kv.put('alice', 'one'), { version: 1 });
    t.deepEqual(await kv.put('alice', 'two'), { version: 2 });
    t.deepEqual(await kv.get('alice'), { value: Buffer.from('two'), version: 2 });
    t.deepEqual(await kv.delete('alice'), { version: 3 });
    t.is(await kv.get('alice'), undefined);
    t.deepEqual(await kv.put('alice', 'four'), { version: 4 });
    t.deepEqual(await kv.get('alice'), { value: Buffer.from('four'), version: 4 });
    // Deleting a missing key is still a mutation.
    t.deepEqual(await kv.delete('nobody'), { version: 1 });
    t.is(await kv.get('nobody'), undefined);
  });

  test(`${engine}: cas with version 0 creates only if absent; cas(n) only at version n`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const kv = store.kv('users');
    t.deepEqual(await kv.cas('bob', 0, 'first'), { version: 1 });
    const conflict = await t.throwsAsync(kv.cas('bob', 0, 'second'));
    t.true(conflict instanceof PaxosStoreError);
    t.is(codeOf(conflict), 'VERSION_CONFLICT');
    t.deepEqual(await kv.get('bob'), { value: Buffer.from('first'), version: 1 }, 'a failed cas changes nothing');
    t.deepEqual(await kv.cas('bob', 1, 'third'), { version: 2 });
    t.is(codeOf(await t.throwsAsync(kv.cas('bob', 1, 'stale'))), 'VERSION_CONFLICT');
    t.is(codeOf(await t.throwsAsync(kv.cas('bob', 3, 'future'))), 'VERSION_CONFLICT');
    t.deepEqual(await kv.get('bob'), { value: Buffer.from('third'), version: 2 });
    // A missing key is at version 0: cas(n > 0) fails on it.
    t.is(codeOf(await t.throwsAsync(kv.cas('carol', 1, 'x'))), 'VERSION_CONFLICT');
    t.is(await kv.get('carol'), undefined);
    // A deleted key is absent: cas(0) creates it again and the version keeps counting.
    t.deepEqual(await kv.delete('bob'), { version: 3 });
    t.is(codeOf(await t.throwsAsync(kv.cas('bob', 3, 'x'))), 'VERSION_CONFLICT');
    t.deepEqual(await kv.cas('bob', 0, 'again'), { version: 4 });
    t.deepEqual(await kv.get('bob'), { value: Buffer.from('again'), version: 4 });
  });

  test(`${engine}: incr counts from a missing key; a non-number is WRONG_TYPE and unchanged`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const kv = store.kv('counters');
    t.deepEqual(await kv.incr('hits'), { value: 1, version: 1 });
    t.deepEqual(await kv.incr('hits', 41), { value: 42, version: 2 });
    t.deepEqual(await kv.incr('hits', -50), { value: -8, version: 3 });
    t.deepEqual(await kv.get('hits'), { value: Buffer.from('-8'), version: 3 }, 'stored as decimal text');
    t.deepEqual(await kv.incr('fresh', 0), { value: 0, version: 1 });
    // A put of decimal text is a counter too.
    await kv.put('text', '100');
    t.deepEqual(await kv.incr('text', 5), { value: 105, version: 2 });
    // After a delete the key counts as 0 again.
    await kv.delete('text');
    t.deepEqual(await kv.incr('text'), { value: 1, version: 4 });

    for (const bad of ['abc', '1.5', '', ' 7', '0x10', Buffer.from([0xff, 0xfe])]) {
      const k = `bad-${typeof bad === 'string' ? bad : 'bytes'}`;
      const { version } = await kv.put(k, bad);
      const error = await t.throwsAsync(kv.incr(k, 1));
      t.is(codeOf(error), 'WRONG_TYPE', JSON.stringify(bad));
      t.deepEqual(await kv.get(k), { value: Buffer.from(bad), version }, `value unchanged: ${JSON.stringify(bad)}`);
    }
    // A result past Number.MAX_SAFE_INTEGER is refused, not rounded.
    await kv.incr('big', Number.MAX_SAFE_INTEGER);
    t.is(codeOf(await t.throwsAsync(kv.incr('big', 1))), 'WRONG_TYPE');
    t.deepEqual(await kv.get('big'), { value: Buffer.from(String(Number.MAX_SAFE_INTEGER)), version: 1 });
  });

  test(`${engine}: binary values round-trip byte for byte`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const kv = store.kv('blobs');
    const every = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) every[i] = i;
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const cases: [string, string | Uint8Array, Buffer][] = [
      ['all-bytes', every, every],
      ['zeros', Buffer.alloc(17), Buffer.alloc(17)],
      ['plain-u8', Uint8Array.of(0, 1, 2, 250, 255), Buffer.from([0, 1, 2, 250, 255])],
      ['u8-view', new Uint8Array(every.buffer, every.byteOffset + 10, 5), Buffer.from([10, 11, 12, 13, 14])],
      ['unicode', 'héllo wörld ✓ 😀', Buffer.from('héllo wörld ✓ 😀', 'utf8')],
      ['big', big, big],
      ['empty', Buffer.alloc(0), Buffer.alloc(0)],
      ['empty-string', '', Buffer.alloc(0)],
    ];
    for (const [key, value, expected] of cases) {
      const { version } = await kv.put(key, value);
      const got = await kv.get(key);
      t.truthy(got, `${key} is present`);
      t.true(got?.value instanceof Buffer, `${key}: value is a Buffer`);
      t.true(got?.value.equals(expected), `${key}: bytes round-trip`);
      t.is(got?.version, version);
    }
    // Keys are text, any well-formed Unicode; namespaces do not share keys.
    await kv.put('ключ/😀', 'unicode key');
    t.deepEqual(await kv.get('ключ/😀'), { value: Buffer.from('unicode key'), version: 1 });
    t.is(await store.kv('other').get('ключ/😀'), undefined, 'namespaces are disjoint');
  });

  test(`${engine}: a write is seen by linearizable reads through every replica`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    // Write through each replica in turn; every replica must read it back at once.
    for (let writer = 0; writer < 3; writer++) {
      const value = `from-${writer}`;
      const { version } = await store.replica(writer).kv('users').put('shared', value);
      t.is(version, writer + 1);
      for (let reader = 0; reader < 3; reader++) {
        t.deepEqual(
          await store.replica(reader).kv('users').get('shared', { consistency: 'linearizable' }),
          { value: Buffer.from(value), version },
          `write via ${writer}, read via ${reader}`,
        );
      }
    }
    // The default (unpinned) namespace sees the same key.
    t.deepEqual(await store.kv('users').get('shared'), { value: Buffer.from('from-2'), version: 3 });
  });

  test(`${engine}: local reads through every replica eventually see a write`, async (t) => {
    const store = await openStore(t, engineOptions(t, engine));
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    for (const k of keys) await store.kv('users').put(k, `v-${k}`);
    for (let r = 0; r < 3; r++) {
      const kv = store.replica(r).kv('users');
      for (const k of keys) {
        const seen = await eventually(async () => {
          const got = await kv.get(k, { consistency: 'local' });
          return got !== undefined && got.version === 1 && got.value.toString() === `v-${k}`;
        });
        t.true(seen, `replica ${r} reads ${k} locally`);
      }
    }
  });
}

test('lsm: values and versions survive close and reopen of the same dir', async (t) => {
  const dir = tempDir(t);
  const options = { ...FAST, engine: 'lsm' as const, dir };
  const first = await PaxosStore.open(options);
  t.teardown(() => first.close());
  const kv = first.kv('users');
  await kv.put('a', 'one');
  await kv.put('a', 'two');
  await kv.incr('n', 5);
  await kv.put('d', 'x');
  await kv.delete('d');
  await first.close();

  const second = await PaxosStore.open(options);
  t.teardown(() => second.close());
  for (let r = 0; r < 3; r++) {
    const again = second.replica(r).kv('users');
    t.deepEqual(await again.get('a'), { value: Buffer.from('two'), version: 2 }, `replica ${r}`);
    t.deepEqual(await again.get('n'), { value: Buffer.from('5'), version: 1 }, `replica ${r}`);
    t.is(await again.get('d'), undefined, `replica ${r}`);
  }
  t.deepEqual(await second.kv('users').put('a', 'three'), { version: 3 });
  t.deepEqual(await second.kv('users').put('d', 'y'), { version: 3 }, 'a deleted key keeps counting');
});

/**
 * BUG: an lsm dir written with `groups: 4` and reopened with `groups: 8` (or the default)
 * silently loses data: keys hash to other groups, so get returns undefined and a put starts
 * again at version 1 over an existing key. Expected: open rejects INVALID_ARGUMENT (the dir
 * records its placement) or the data stays visible.
 */
test.failing('lsm: reopening a dir with another groups count keeps the data or refuses', async (t) => {
  const dir = tempDir(t);
  const first = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, groups: 4 });
  t.teardown(() => first.close());
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const k of keys) await first.kv('users').put(k, `v-${k}`);
  await first.close();

  const second = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, groups: 8 }).then(
    (store) => store,
    (error: unknown) => error,
  );
  if (!(second instanceof PaxosStore)) {
    t.is(codeOf(second), 'INVALID_ARGUMENT');
    return;
  }
  t.teardown(() => second.close());
  for (const k of keys) {
    t.deepEqual(await second.kv('users').get(k), { value: Buffer.from(`v-${k}`), version: 1 }, k);
  }
});

/**
 * BUG: concurrent large values overflow one mailbox payload. RequestPipeline batches every
 * request for one actor in a microtask into one payload; 8 puts of 256 KiB (the default
 * valueBytesMax) to keys of one group make a ~2 MiB payload, ActorSystem.send throws
 * PXS_PAYLOAD_TOO_LARGE inside the flush microtask, and the caller's process dies of an
 * uncaught exception. Expected: all puts succeed (the pipeline splits batches) or reject with
 * a code. Run in a child process because the uncaught exception would kill the test worker.
 */
test.failing('8 concurrent puts of 256 KiB to one group do not crash the process', async (t) => {
  const routing = path.join(path.dirname(INDEX_JS), 'actors', 'store', 'routing.js');
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    const { groupOfKey } = require(${JSON.stringify(routing)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4 });
      try {
        const keys = [];
        for (let i = 0; keys.length < 8; i++) if (groupOfKey('blobs\\u0001k' + i, 4) === 0) keys.push('k' + i);
        const kv = store.replica(0).kv('blobs');
        const codes = await Promise.all(keys.map((k, i) => kv.put(k, Buffer.alloc(256 * 1024, i)).then(() => 'ok', (e) => e.code)));
        console.log('settled', codes.join(','));
      } finally {
        await store.close();
      }
    })();
  `;
  const r = await runNode(t, ['-e', script], 20_000);
  t.false(r.timedOut, 'child finished');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /settled (ok,){7}ok/);
});
