/**
 * Bad input: every malformed argument rejects with INVALID_ARGUMENT (nothing is sent, nothing
 * changes), bad open options reject, and every use after close is CLOSED.
 */
import test from 'ava';
import { KEY_BYTES_MAX, PaxosStore, PaxosStoreError } from '../../index';
import type { KvNamespace, PaxosStoreOptions } from '../../index';
import {
  FAST,
  INDEX_JS,
  codeOf,
  openRejectionCode,
  openStore,
  runNode,
  settleCode,
  tempDir,
} from './helpers';

/** The public signatures are typed; bad input comes from untyped callers. */
type Loose = { [K in keyof KvNamespace]: (...args: unknown[]) => Promise<unknown> };
const loose = (kv: KvNamespace): Loose => kv as unknown as Loose;

const BAD_KEYS: [string, unknown][] = [
  ['number', 42],
  ['undefined', undefined],
  ['null', null],
  ['object', { toString: () => 'k' }],
  ['String object', new String('k')],
  ['Buffer', Buffer.from('k')],
  ['empty', ''],
  ['1025 ASCII bytes', 'a'.repeat(KEY_BYTES_MAX + 1)],
  ['1026 UTF-8 bytes in 513 chars', 'é'.repeat(513)],
  ['1028 UTF-8 bytes in 514 chars (surrogate pairs)', '😀'.repeat(257)],
  ['lone high surrogate', 'ab\uD800'],
  ['lone low surrogate', '\uDC00cd'],
  ['reversed pair', '\uDE00\uD83D'],
];

test('bad keys reject with INVALID_ARGUMENT on every method and change nothing', async (t) => {
  const store = await openStore(t);
  const kv = store.kv('users');
  const canary = await kv.put('canary', 'original');
  const l = loose(kv);
  for (const [what, key] of BAD_KEYS) {
    const calls: [string, () => Promise<unknown>][] = [
      ['put', () => l.put(key, 'v')],
      ['get', () => l.get(key)],
      ['cas', () => l.cas(key, 0, 'v')],
      ['delete', () => l.delete(key)],
      ['incr', () => l.incr(key, 1)],
    ];
    for (const [method, call] of calls) {
      const error = await t.throwsAsync(call, undefined, `${method}(${what})`);
      t.true(error instanceof PaxosStoreError, `${method}(${what}) is a PaxosStoreError`);
      t.is(codeOf(error), 'INVALID_ARGUMENT', `${method}(${what})`);
    }
  }
  // Keys at the limit are fine, measured in UTF-8 bytes.
  for (const key of [
    'a'.repeat(KEY_BYTES_MAX),
    'é'.repeat(KEY_BYTES_MAX / 2),
    '😀'.repeat(KEY_BYTES_MAX / 4),
  ]) {
    t.deepEqual(
      await kv.put(key, 'edge'),
      { version: 1 },
      `${Buffer.byteLength(key)}-byte key accepted`,
    );
  }
  t.deepEqual(await kv.get('canary'), { value: Buffer.from('original'), version: canary.version });
  t.is((await store.stats()).inFlight, 0);
});

test('bad values, versions, counts and read options reject with INVALID_ARGUMENT and change nothing', async (t) => {
  const store = await openStore(t, { valueBytesMax: 16 });
  const kv = store.kv('users');
  await kv.put('k', 'original');
  const before = await kv.get('k');
  const l = loose(kv);
  const bad: [string, () => Promise<unknown>][] = [
    // values
    ['put number', () => l.put('k', 5)],
    ['put undefined', () => l.put('k')],
    ['put null', () => l.put('k', null)],
    ['put object', () => l.put('k', { a: 1 })],
    ['put array', () => l.put('k', [1, 2])],
    ['put ArrayBuffer', () => l.put('k', new ArrayBuffer(2))],
    ['put DataView', () => l.put('k', new DataView(new ArrayBuffer(2)))],
    ['put 17 bytes', () => l.put('k', Buffer.alloc(17))],
    ['put 17 chars', () => l.put('k', 'x'.repeat(17))],
    ['put 9 chars, 18 UTF-8 bytes', () => l.put('k', 'é'.repeat(9))],
    ['cas 17 bytes', () => l.cas('k', 1, Buffer.alloc(17))],
    ['cas bad value type', () => l.cas('k', 1, 7)],
    // expectedVersion
    ['cas -1', () => l.cas('k', -1, 'v')],
    ['cas 1.5', () => l.cas('k', 1.5, 'v')],
    ['cas NaN', () => l.cas('k', Number.NaN, 'v')],
    ['cas Infinity', () => l.cas('k', Number.POSITIVE_INFINITY, 'v')],
    ['cas 2^53', () => l.cas('k', 2 ** 53, 'v')],
    ['cas "1"', () => l.cas('k', '1', 'v')],
    ['cas undefined', () => l.cas('k', undefined, 'v')],
    ['cas bigint', () => l.cas('k', 1n, 'v')],
    // incr by
    ['incr 1.5', () => l.incr('k', 1.5)],
    ['incr NaN', () => l.incr('k', Number.NaN)],
    ['incr -Infinity', () => l.incr('k', Number.NEGATIVE_INFINITY)],
    ['incr 2^53', () => l.incr('k', 2 ** 53)],
    ['incr "2"', () => l.incr('k', '2')],
    ['incr null', () => l.incr('k', null)],
    ['incr on a fresh key by 0.5', () => l.incr('fresh', 0.5)],
    // read options
    ['get consistency strong', () => l.get('k', { consistency: 'strong' })],
    ['get consistency number', () => l.get('k', { consistency: 1 })],
    ['get consistency null', () => l.get('k', { consistency: null })],
    ['get consistency empty string', () => l.get('k', { consistency: '' })],
    ['get options null', () => l.get('k', null)],
    ['get options string', () => l.get('k', 'local')],
  ];
  for (const [what, call] of bad) {
    const error = await t.throwsAsync(call, undefined, what);
    t.is(codeOf(error), 'INVALID_ARGUMENT', what);
  }
  t.deepEqual(await kv.get('k'), before, 'k unchanged');
  t.is(await kv.get('fresh'), undefined, 'fresh never created');
  // The limit itself is allowed.
  t.deepEqual(await kv.put('k', Buffer.alloc(16, 1)), { version: 2 });
  t.deepEqual(await kv.put('k', 'é'.repeat(8)), { version: 3 });
});

test('bad namespaces and replica indexes throw INVALID_ARGUMENT', async (t) => {
  const store = await openStore(t);
  const kvOf = store.kv.bind(store) as (name: unknown) => KvNamespace;
  for (const name of [
    'a b',
    '',
    'x'.repeat(65),
    'a/b',
    'a\u0001b',
    'ümlaut',
    'tab\t',
    'new\nline',
    42,
    undefined,
    null,
  ]) {
    const error = t.throws(() => kvOf(name), undefined, JSON.stringify(name));
    t.is(codeOf(error), 'INVALID_ARGUMENT', `namespace ${JSON.stringify(name)}`);
    const viaReplica = t.throws(() => (store.replica(0).kv as (n: unknown) => KvNamespace)(name));
    t.is(codeOf(viaReplica), 'INVALID_ARGUMENT', `replica(0).kv(${JSON.stringify(name)})`);
  }
  // Allowed characters and length.
  t.truthy(store.kv('x'.repeat(64)));
  t.truthy(store.kv('A-z_0.9:ns'));
  const replicaOf = store.replica.bind(store) as (i: unknown) => unknown;
  for (const index of [7, 3, -1, 1.5, Number.NaN, '1', undefined]) {
    t.is(codeOf(t.throws(() => replicaOf(index))), 'INVALID_ARGUMENT', `replica(${String(index)})`);
  }
  const partition = store.partition.bind(store) as (g: unknown) => void;
  for (const groups of [[[0], [0, 1]], [[3]], [[-1]], 'x', [0, 1]]) {
    t.is(
      codeOf(t.throws(() => partition(groups))),
      'INVALID_ARGUMENT',
      `partition(${JSON.stringify(groups)})`,
    );
  }
  // A rejected partition leaves the links as they were: a write still needs and finds a majority.
  t.deepEqual(await store.replica(0).kv('users').put('after', 'ok'), { version: 1 });
});

test('bad open options reject with INVALID_ARGUMENT', async (t) => {
  const dir = tempDir(t);
  const bad: [string, unknown][] = [
    ['replicas 2', { replicas: 2 }],
    ['replicas 0', { replicas: 0 }],
    ['replicas 9', { replicas: 9 }],
    ['replicas 3.0001', { replicas: 3.0001 }],
    ['replicas "3"', { replicas: '3' }],
    ['unknown option', { replica: 3 }],
    ['unknown option with good ones', { ...FAST, verbose: true }],
    ['engine lsm without dir', { engine: 'lsm' }],
    ['engine unknown', { engine: 'rocks', dir }],
    ['dir empty', { engine: 'lsm', dir: '' }],
    ['dir number', { engine: 'lsm', dir: 5 }],
    ['workers 0', { workers: 0 }],
    ['workers -1', { workers: -1 }],
    ['workers 1.5', { workers: 1.5 }],
    ['sync sometimes', { sync: 'sometimes' }],
    ['groups 0', { groups: 0 }],
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['valueBytesMax 0', { valueBytesMax: 0 }],
    ['valueBytesMax 2^53', { valueBytesMax: 2 ** 53 }],
  ];
  for (const [what, options] of bad) {
    t.is(
      await openRejectionCode(t, { ...(options as PaxosStoreOptions) }, what),
      'INVALID_ARGUMENT',
      what,
    );
  }
  // Non-object options (passed as is, not spread).
  for (const options of ['fast', 3, true]) {
    const open = PaxosStore.open as (o: unknown) => Promise<PaxosStore>;
    const result = await open(options).then(
      (store) => store,
      (error: unknown) => error,
    );
    if (result instanceof PaxosStore) {
      t.teardown(() => result.close());
      t.fail(`options ${JSON.stringify(options)}: open resolved`);
      continue;
    }
    t.is(codeOf(result), 'INVALID_ARGUMENT', `options ${JSON.stringify(options)}`);
  }
});

test('every use after close is CLOSED; close is idempotent', async (t) => {
  const store = await openStore(t);
  const kv = store.kv('users');
  const r1 = store.replica(1);
  const viaReplica = r1.kv('users');
  await kv.put('k', 'v');
  await store.close();
  await store.close();
  const calls: [string, () => Promise<unknown>][] = [
    ['put', () => kv.put('k', 'w')],
    ['get', () => kv.get('k')],
    ['get local', () => kv.get('k', { consistency: 'local' })],
    ['cas', () => kv.cas('k', 1, 'w')],
    ['delete', () => kv.delete('k')],
    ['incr', () => kv.incr('n')],
    ['replica put', () => viaReplica.put('k', 'w')],
    ['replica get', () => viaReplica.get('k')],
    ['crash', () => r1.crash()],
    ['restart', () => r1.restart()],
    ['stats', () => store.stats()],
  ];
  for (const [what, call] of calls) {
    t.is(await settleCode(call()), 'CLOSED', what);
  }
  t.is(codeOf(t.throws(() => store.kv('users'))), 'CLOSED');
  t.is(codeOf(t.throws(() => store.replica(0))), 'CLOSED');
  t.is(codeOf(t.throws(() => r1.kv('users'))), 'CLOSED');
  t.is(codeOf(t.throws(() => store.partition([[0], [1, 2]]))), 'CLOSED');
  t.is(codeOf(t.throws(() => store.heal())), 'CLOSED');
});

test('requests in flight when the store closes settle (never hang)', async (t) => {
  const store = await openStore(t);
  const kv = store.kv('users');
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) {
    pending.push(settleCode(kv.put(`k${i % 5}`, `v${i}`)));
    pending.push(settleCode(kv.get(`k${i % 5}`)));
  }
  // Let the pipeline send its batch first (the next test closes at once).
  await new Promise((r) => setImmediate(r));
  await store.close();
  const codes = await Promise.all(pending);
  for (const code of codes) {
    t.true(
      ['RESOLVED', 'UNKNOWN_OUTCOME', 'UNAVAILABLE', 'CLOSED'].includes(code as string),
      String(code),
    );
  }
});

/**
 * Regression (fixed in a4b1fef): close() in the same tick as a request. The pipeline's microtask
 * flush used to call ActorSystem.send after close, which threw PXS_CLOSED from a microtask: an
 * uncaught exception that killed the caller's process. The request must settle instead.
 * Run in a child process because an uncaught exception would kill the test worker.
 */
test('close() in the same tick as a put does not crash the process', async (t) => {
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4 });
      const p = store.kv('users').put('k', 'v').then(() => 'RESOLVED', (e) => e.code);
      await store.close();
      console.log('settled', await p);
    })();
  `;
  const r = await runNode(t, ['-e', script], 20_000);
  t.false(r.timedOut, 'child finished');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /settled (RESOLVED|UNKNOWN_OUTCOME|UNAVAILABLE|CLOSED)/);
});
