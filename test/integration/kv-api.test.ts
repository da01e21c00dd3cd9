/**
 * The KV API's basic semantics (DESIGN.md §5), through the public API, on the memory engine
 * and on the lsm engine: versions, cas, delete, incr, binary values, and reads through every
 * replica.
 */
// Serial: five engines × a dozen tests, each a store with two worker threads, overloaded a
// 2-core machine when run at once (timeouts, not failures of the store).
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore, PaxosStoreError } from '../../index';
import {
  FAST,
  INDEX_JS,
  codeOf,
  engineOptions,
  eventually,
  openRejectionCode,
  openStore,
  runNode,
  tempDir,
} from './helpers';

const ENGINES = ['memory', 'lsm', 'bitcask', 'bitcask2', 'memory-persist'] as const;

type ReplicaCounters = Awaited<ReturnType<PaxosStore['stats']>>['replicas'];

/**
 * The replicas' counters once every replica holds at most `bound` keys and has evicted some:
 * eviction runs on the actors' ticks, which a loaded machine delays, so the check waits for
 * them (at most 5 s) instead of assuming one short pause is enough. Returns the last counters
 * either way; the caller asserts on them.
 */
async function evictedWithin(store: PaxosStore, bound: number): Promise<ReplicaCounters> {
  let replicas = (await store.stats()).replicas;
  for (let i = 0; i < 100; i++) {
    const held = replicas.every(
      (c) => (c?.['keysEvicted'] ?? 0) > 0 && (c?.['keys'] ?? Infinity) <= bound,
    );
    if (held) break;
    await new Promise((r) => setTimeout(r, 50));
    replicas = (await store.stats()).replicas;
  }
  return replicas;
}

for (const engine of ENGINES) {
  test.serial(
    `${engine}: versions count mutations; a deleted key reads as undefined`,
    async (t) => {
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
    },
  );

  test.serial(
    `${engine}: cas with version 0 creates only if absent; cas(n) only at version n`,
    async (t) => {
      const store = await openStore(t, engineOptions(t, engine));
      const kv = store.kv('users');
      t.deepEqual(await kv.cas('bob', 0, 'first'), { version: 1 });
      const conflict = await t.throwsAsync(kv.cas('bob', 0, 'second'));
      t.true(conflict instanceof PaxosStoreError);
      t.is(codeOf(conflict), 'VERSION_CONFLICT');
      t.deepEqual(
        await kv.get('bob'),
        { value: Buffer.from('first'), version: 1 },
        'a failed cas changes nothing',
      );
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
    },
  );

  test.serial(
    `${engine}: incr counts from a missing key; a non-number is WRONG_TYPE and unchanged`,
    async (t) => {
      const store = await openStore(t, engineOptions(t, engine));
      const kv = store.kv('counters');
      t.deepEqual(await kv.incr('hits'), { value: 1, version: 1 });
      t.deepEqual(await kv.incr('hits', 41), { value: 42, version: 2 });
      t.deepEqual(await kv.incr('hits', -50), { value: -8, version: 3 });
      t.deepEqual(
        await kv.get('hits'),
        { value: Buffer.from('-8'), version: 3 },
        'stored as decimal text',
      );
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
        t.deepEqual(
          await kv.get(k),
          { value: Buffer.from(bad), version },
          `value unchanged: ${JSON.stringify(bad)}`,
        );
      }
      // A result past Number.MAX_SAFE_INTEGER is refused, not rounded.
      await kv.incr('big', Number.MAX_SAFE_INTEGER);
      t.is(codeOf(await t.throwsAsync(kv.incr('big', 1))), 'WRONG_TYPE');
      t.deepEqual(await kv.get('big'), {
        value: Buffer.from(String(Number.MAX_SAFE_INTEGER)),
        version: 1,
      });
    },
  );

  test.serial(`${engine}: binary values round-trip byte for byte`, async (t) => {
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
      [
        'u8-view',
        new Uint8Array(every.buffer, every.byteOffset + 10, 5),
        Buffer.from([10, 11, 12, 13, 14]),
      ],
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

  test.serial(
    `${engine}: a write is seen by linearizable reads through every replica`,
    async (t) => {
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
      t.deepEqual(await store.kv('users').get('shared'), {
        value: Buffer.from('from-2'),
        version: 3,
      });
    },
  );

  test.serial(`${engine}: local reads through every replica eventually see a write`, async (t) => {
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

for (const engine of ['lsm', 'bitcask', 'bitcask2', 'memory-persist'] as const)
  test.serial(
    `${engine}: values and versions survive close and reopen of the same dir`,
    async (t) => {
      const options = { ...FAST, ...engineOptions(t, engine) };
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
        t.deepEqual(
          await again.get('a'),
          { value: Buffer.from('two'), version: 2 },
          `replica ${r}`,
        );
        t.deepEqual(await again.get('n'), { value: Buffer.from('5'), version: 1 }, `replica ${r}`);
        t.is(await again.get('d'), undefined, `replica ${r}`);
      }
      t.deepEqual(await second.kv('users').put('a', 'three'), { version: 3 });
      t.deepEqual(
        await second.kv('users').put('d', 'y'),
        { version: 3 },
        'a deleted key keeps counting',
      );
    },
  );

/**
 * Regression: an lsm dir written with `groups: 4` and reopened with `groups: 8` used to lose
 * data silently (keys hash to other groups). The dir now records its placement in
 * paxosstore.json and open rejects INVALID_ARGUMENT on a mismatch, before touching any data.
 */
test.serial(
  'lsm: reopening a dir with another groups or replicas count rejects and keeps the data',
  async (t) => {
    const dir = tempDir(t);
    const first = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, groups: 4 });
    t.teardown(() => first.close());
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const k of keys) await first.kv('users').put(k, `v-${k}`);
    await first.close();
    t.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8')), {
      format: 1,
      replicas: 3,
      groups: 4,
      engine: 'lsm',
    });

    for (const other of [{ groups: 8 }, { groups: 2 }, { replicas: 5, groups: 4 }]) {
      const result = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, ...other }).then(
        (store) => store,
        (error: unknown) => error,
      );
      if (result instanceof PaxosStore) {
        t.teardown(() => result.close());
        t.fail(`open with ${JSON.stringify(other)} resolved`);
        continue;
      }
      t.true(result instanceof PaxosStoreError, JSON.stringify(other));
      t.is(codeOf(result), 'INVALID_ARGUMENT', JSON.stringify(other));
      t.regex((result as Error).message, /groups: 4/);
    }

    const again = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, groups: 4 });
    t.teardown(() => again.close());
    for (const k of keys) {
      t.deepEqual(await again.kv('users').get(k), { value: Buffer.from(`v-${k}`), version: 1 }, k);
    }
  },
);

/**
 * The default groups became one per worker (actors/store/groups-default.ts); stores created
 * before it without `groups` hold 8. Opened again without `groups` (whose default is now 2 on
 * 2 workers) such a dir keeps its recorded 8 and every key, on each durable engine; naming
 * another count still rejects.
 */
for (const engine of ['lsm', 'bitcask', 'memory-persist'] as const) {
  test.serial(
    `${engine}: a dir created with the old default groups reopens without groups and keeps them`,
    async (t) => {
      const options = { ...engineOptions(t, engine), workers: 2, timeoutMs: 15_000 };
      const dir = options.dir;
      if (dir === undefined) return t.fail('a durable engine has a dir');
      t.is(FAST.workers, 2);
      const first = await PaxosStore.open({ ...options, groups: 8 });
      t.teardown(() => first.close());
      const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
      for (const k of keys) await first.kv('users').put(k, `v-${k}`);
      await first.close();

      const again = await PaxosStore.open(options);
      t.teardown(() => again.close());
      t.notThrows(() => again.workerOfGroup(0, 7), 'group 7 exists: 8 groups in effect');
      for (const k of keys) {
        t.deepEqual(
          await again.kv('users').get(k),
          { value: Buffer.from(`v-${k}`), version: 1 },
          k,
        );
      }
      t.deepEqual(await again.kv('users').put('key-0', 'w'), { version: 2 });
      await again.close();
      const recorded = JSON.parse(fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8')) as {
        groups?: unknown;
      };
      t.is(recorded.groups, 8, 'the record is unchanged');

      t.is(await openRejectionCode(t, { ...options, groups: 2 }, 'groups 2'), 'INVALID_ARGUMENT');
      // A new dir without groups takes the new default: one group per worker, at least 2.
      const fresh = await PaxosStore.open({ ...engineOptions(t, engine), workers: 2 });
      t.teardown(() => fresh.close());
      t.throws(() => fresh.workerOfGroup(0, 2), undefined, 'only groups 0 and 1');
      t.notThrows(() => fresh.workerOfGroup(0, 1));
      await fresh.close();
    },
  );
}

test.serial('lsm: a garbled or unreadable paxosstore.json rejects INVALID_ARGUMENT', async (t) => {
  const cases: [string, string][] = [
    ['not JSON', '{ format: 1'],
    ['array', '[1, 3, 4]'],
    ['unknown format', '{ "format": 2, "replicas": 3, "groups": 4 }'],
    ['missing groups', '{ "format": 1, "replicas": 3 }'],
    ['fractional replicas', '{ "format": 1, "replicas": 1.5, "groups": 4 }'],
  ];
  for (const [what, text] of cases) {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'paxosstore.json'), text);
    t.is(
      await openRejectionCode(t, { ...FAST, engine: 'lsm', dir }, what),
      'INVALID_ARGUMENT',
      what,
    );
    t.is(
      fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8'),
      text,
      `${what}: file left alone`,
    );
  }
  // A directory where the file should be.
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'paxosstore.json'));
  t.is(
    codeOf(await t.throwsAsync(PaxosStore.open({ ...FAST, engine: 'lsm', dir }))),
    'INVALID_ARGUMENT',
    'unreadable',
  );
});

test.serial(
  'lsm: open creates a missing dir (recursively) and records its placement',
  async (t) => {
    const dir = path.join(tempDir(t), 'a', 'b');
    const store = await PaxosStore.open({ ...FAST, engine: 'lsm', dir, replicas: 1, groups: 2 });
    t.teardown(() => store.close());
    t.deepEqual(await store.kv('users').put('k', 'v'), { version: 1 });
    t.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8')), {
      format: 1,
      replicas: 1,
      groups: 2,
      engine: 'lsm',
    });
    t.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
  },
);

/**
 * Regression: concurrent large values used to overflow one mailbox payload. RequestPipeline
 * batched every request for one actor in a microtask into one payload; 8 puts of 256 KiB (the
 * default valueBytesMax) to keys of one group made a ~2 MiB payload, ActorSystem.send threw
 * PXS_PAYLOAD_TOO_LARGE inside the flush microtask, and the caller's process died of an
 * uncaught exception. The pipeline now splits batches at PAYLOAD_SOFT_BYTES_MAX.
 * Run in a child process because an uncaught exception would kill the test worker.
 */
test.serial('8 concurrent puts of 256 KiB to one group do not crash the process', async (t) => {
  const routing = path.join(path.dirname(INDEX_JS), 'actors', 'store', 'routing.js');
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    const { groupOfKey } = require(${JSON.stringify(routing)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4, timeoutMs: 15000 });
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

test.serial(
  '1 MiB values (the largest valueBytesMax) each go in a batch of their own and read back',
  async (t) => {
    const store = await openStore(t, { valueBytesMax: 1024 * 1024, timeoutMs: 15_000 });
    const kv = store.replica(0).kv('blobs');
    // Same microtask: a small put, then 1 MiB puts that must each start a fresh batch.
    const writes = [
      kv.put('small', 'x'),
      ...[0, 1, 2].map((i) => kv.put(`big${i}`, Buffer.alloc(1024 * 1024, i + 1))),
    ];
    t.deepEqual(await Promise.all(writes), [
      { version: 1 },
      { version: 1 },
      { version: 1 },
      { version: 1 },
    ]);
    const big = await kv.get('big2');
    t.is(big?.value.length, 1024 * 1024);
    t.is(big?.value[0], 3);
    t.deepEqual(await kv.get('small'), { value: Buffer.from('x'), version: 1 });
  },
);

/**
 * Regression: a group actor that drains several large request payloads in one turn used to put
 * all their Accepts to a peer (and all results to the client) into one payload past the
 * runtime's ~2 MiB record limit; the shell now splits payloads at 512 KiB.
 */
test.serial('12 concurrent puts and gets of 256 KiB to one group all succeed', async (t) => {
  const store = await openStore(t, { timeoutMs: 15_000 });
  const { groupOfKey } = await import('../../actors/store/routing');
  const keys: string[] = [];
  for (let i = 0; keys.length < 12; i++)
    if (groupOfKey(`blobs\u0001k${i}`, 4) === 0) keys.push(`k${i}`);
  const kv = store.replica(0).kv('blobs');
  const puts = await Promise.all(
    keys.map((k, i) =>
      kv.put(k, Buffer.alloc(256 * 1024, i)).then(
        () => 'ok',
        (e: unknown) => codeOf(e),
      ),
    ),
  );
  t.deepEqual(
    puts,
    keys.map(() => 'ok'),
  );
  const gets = await Promise.all(
    keys.map((k) =>
      kv.get(k).then(
        (v) => v?.value.length,
        (e: unknown) => codeOf(e),
      ),
    ),
  );
  t.deepEqual(
    gets,
    keys.map(() => 256 * 1024),
  );
});

// The key cache bound: with far more keys than the cache holds, idle keys are evicted and read
// back from disk; every write is still there, through every replica, and after a reopen.
// Memory with persist keeps evicted keys in its port's arena and reads the others from its log
// (kept-record-port.ts).
for (const engine of ['lsm', 'bitcask', 'memory-persist'] as const) {
  test.serial(`${engine}: a key cache far smaller than the key count loses nothing`, async (t) => {
    const dir = tempDir(t);
    const kind =
      engine === 'memory-persist' ? { engine: 'memory' as const, persist: true } : { engine };
    const options = { ...FAST, ...kind, dir, cachedKeysMax: 64 };
    const store = await PaxosStore.open(options);
    const keys = Array.from({ length: 400 }, (_, i) => `key-${i}`);
    try {
      for (let round = 1; round <= 2; round++) {
        await Promise.all(
          keys.map((k, i) =>
            store
              .replica(i % 3)
              .kv('cache')
              .put(k, `${k}@${round}`),
          ),
        );
        // Give the ticks time to sweep between rounds (eviction runs on ticks).
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let r = 0; r < 3; r++) {
        for (const k of keys.filter((_, i) => i % 7 === r)) {
          t.deepEqual(
            await store.replica(r).kv('cache').get(k),
            { value: Buffer.from(`${k}@2`), version: 2 },
            `${k} via ${r}`,
          );
        }
      }
      const replicas = await evictedWithin(store, 64 + 4 * 16);
      for (const [r, counters] of replicas.entries()) {
        t.true((counters?.['keysEvicted'] ?? 0) > 0, `replica ${r} evicted keys`);
        t.true(
          (counters?.['keys'] ?? Infinity) <= 64 + 4 * 16,
          `replica ${r} holds ${counters?.['keys']} keys`,
        );
      }
    } finally {
      await store.close();
    }
    const again = await PaxosStore.open(options);
    try {
      for (const k of keys.filter((_, i) => i % 13 === 0)) {
        t.deepEqual(
          await again.kv('cache').get(k),
          { value: Buffer.from(`${k}@2`), version: 2 },
          `${k} after reopen`,
        );
      }
    } finally {
      await again.close();
    }
  });
}

// The memory engine's compact form (decision 27): settled keys beyond the cache leave the core
// and live in the record port as compact records; every write is still there through every
// replica, a request id still answers its first result after its key was evicted and loaded
// back, and verify() digests every key, evicted or not.
test.serial('memory: a key cache far smaller than the key count loses nothing', async (t) => {
  const store = await PaxosStore.open({ ...FAST, engine: 'memory', cachedKeysMax: 64 });
  const keys = Array.from({ length: 400 }, (_, i) => `key-${i}`);
  try {
    for (let round = 1; round <= 2; round++) {
      await Promise.all(
        keys.map((k, i) =>
          store
            .replica(i % 3)
            .kv('cache')
            .put(k, `${k}@${round}`, { requestId: `${k}/${round}` }),
        ),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    const replicas = await evictedWithin(store, 64 + 4 * 16);
    for (const [r, counters] of replicas.entries()) {
      t.true((counters?.['keysEvicted'] ?? 0) > 0, `replica ${r} evicted keys`);
      t.true(
        (counters?.['keys'] ?? Infinity) <= 64 + 4 * 16,
        `replica ${r} holds ${counters?.['keys']} keys`,
      );
    }
    // A retry of round 1's write after round 2 applied: it must not apply again.
    const retried = await store.kv('cache').put('key-5', 'key-5@1', { requestId: 'key-5/1' });
    t.is(retried.version, 1, 'the retry answers its first result');
    for (let r = 0; r < 3; r++) {
      for (const k of keys.filter((_, i) => i % 7 === r)) {
        t.deepEqual(
          await store.replica(r).kv('cache').get(k),
          { value: Buffer.from(`${k}@2`), version: 2 },
          `${k} via ${r}`,
        );
      }
    }
    const report = await store.verify();
    t.true(report.aligned, JSON.stringify(report.mismatches.slice(0, 3)));
    for (const r of report.replicas)
      t.is(r.keys, keys.length, `replica ${r.replica} digests every key`);
  } finally {
    await store.close();
  }
});

// The worker heap limit (runtime/worker-heap.ts): validated, and given to every worker.
test.serial('workerHeapMb is validated and sets each worker heap limit', async (t) => {
  for (const bad of [0, 63, 1.5, '512', -1, 2 ** 21]) {
    t.is(
      await openRejectionCode(t, { workerHeapMb: bad as never }, String(bad)),
      'INVALID_ARGUMENT',
      String(bad),
    );
  }
  const store = await PaxosStore.open({ ...FAST, workerHeapMb: 512 });
  try {
    const workers = (await store.stats()).workers as Array<{ heapLimitBytes?: number }>;
    t.is(workers.length, 2);
    for (const w of workers) {
      // The limit V8 reports adds the young generation to the old one asked for.
      const mb = (w.heapLimitBytes ?? 0) / (1024 * 1024);
      t.true(mb >= 512 && mb < 1024, `worker heap limit ${mb} MiB`);
    }
  } finally {
    await store.close();
  }
});

// The worker young generation (runtime/worker-young-gen.ts): validated, and given to every
// worker. V8's heap limit is the old generation plus the young one (512 + 24 here, 512 + 96 for
// 64, which V8 rounds up to three 32 MiB semi-spaces; by default 512 + 24 on the memory engine,
// 512 + 48, V8's own size, on the others), so the limit tells which young size the worker got.
test.serial('workerYoungMb is validated and sets each worker young generation', async (t) => {
  for (const bad of [0, 2, 1.5, '96', -1, 4096]) {
    t.is(
      await openRejectionCode(t, { workerYoungMb: bad as never }, String(bad)),
      'INVALID_ARGUMENT',
      String(bad),
    );
  }
  for (const [young, persist, expected] of [
    [24, false, 536],
    [64, false, 608],
    [undefined, false, 536],
    [undefined, true, 560],
    [48, false, 560],
  ] as const) {
    const store = await PaxosStore.open({
      ...FAST,
      workerHeapMb: 512,
      ...(persist ? { persist: true, dir: tempDir(t) } : {}),
      ...(young === undefined ? {} : { workerYoungMb: young }),
    });
    try {
      const workers = (await store.stats()).workers as Array<{ heapLimitBytes?: number }>;
      t.is(workers.length, 2);
      for (const w of workers) {
        const mb = (w.heapLimitBytes ?? 0) / (1024 * 1024);
        t.is(mb, expected, `young ${young}: worker heap limit ${mb} MiB`);
      }
    } finally {
      await store.close();
    }
  }
});

test.serial('cachedKeysMax is validated', async (t) => {
  for (const bad of [0, 63, 1.5, '100', -1]) {
    t.is(
      await openRejectionCode(t, { cachedKeysMax: bad as never }, String(bad)),
      'INVALID_ARGUMENT',
      String(bad),
    );
  }
});
