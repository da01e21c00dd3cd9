/**
 * The big table through the public API on lsm (issue #4, decision 13): CRUD and versions, typed
 * errors that change nothing, other engines refused, scans with gte/lt/limit/reverse in pk
 * byte order, index lookups after updates that move rows between values (never the old row),
 * index entries on every replica's disk equal to what its row records derive (after updates,
 * a replica crash/restart with catch-up, an amnesic restart, and close/reopen), concurrent
 * writes to one row from all three replicas checked for linearizability, and a complete,
 * ordered scan over tens of thousands of rows.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PaxosStoreError } from '../../index';
import type { Bigtable, BigtableRow, PaxosStoreOptions, PaxosStore } from '../../index';
import { compareKeys } from '../../engines/key-order';
import { LsmEngine } from '../../engines/lsm-engine';
import { openRecord } from '../../engines/record-codec';
import { bigtableIndexKeys } from '../../models/bigtable/bigtable';
import { INDEX_KEY_PREFIX, ROW_KEY_PREFIX } from '../../models/bigtable/bigtable-row';
import { decodeRecord } from '../../actors/paxos/codec';
import { checkHistory } from '../sim/linearizability';
import type { HistoryOp } from '../sim/linearizability';
import { bigtableModel } from '../sim/models/bigtable-model';
import type { BigtableInput, BigtableOutput } from '../sim/models/bigtable-model';
import { codeOf, engineOptions, openStore, settleCode, tempDir } from './helpers';

const GROUPS = 4;

async function lsmStore(
  t: ExecutionContext,
  extra: PaxosStoreOptions = {},
): Promise<{ store: PaxosStore; dir: string }> {
  const dir = tempDir(t, 'pxs-bt-');
  const store = await openStore(t, { engine: 'lsm', dir, groups: GROUPS, ...extra });
  return { store, dir };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejects(
  t: ExecutionContext,
  p: Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  const error = await t.throwsAsync(p, undefined, what);
  t.true(error instanceof PaxosStoreError, what);
  t.is(codeOf(error), code, what);
}

/**
 * Opens every replica's group databases of a closed store and checks the local-index
 * invariant: the index entries on disk are exactly those the row records derive.
 * Returns the number of index entries seen.
 */
async function checkIndexOnDisk(t: ExecutionContext, dir: string, replicas = 3): Promise<number> {
  let entries = 0;
  for (let r = 0; r < replicas; r++) {
    for (let g = 0; g < GROUPS; g++) {
      const engine = new LsmEngine(path.join(dir, `replica-${r}`, `group-${g}`));
      await engine.open();
      const expected = new Set<string>();
      const actual = new Set<string>();
      for await (const [key, value] of engine.iterate({ gte: ROW_KEY_PREFIX, lt: '\u0003' })) {
        if (key.startsWith(INDEX_KEY_PREFIX)) {
          actual.add(key);
          continue;
        }
        const rec = decodeRecord(openRecord(value));
        for (const k of bigtableIndexKeys(key, rec.data, rec.accepted?.op ?? null)) expected.add(k);
      }
      await engine.close();
      t.deepEqual(
        [...actual].sort(),
        [...expected].sort(),
        `replica ${r} group ${g}: index entries = derived`,
      );
      entries += actual.size;
    }
  }
  return entries;
}

test('insert, get, update, delete: versions, ALREADY_EXISTS and NOT_FOUND change nothing', async (t) => {
  const { store } = await lsmStore(t);
  const bt = store.bigtable('messages', { indexes: ['sender', 'day'] });
  t.deepEqual(await bt.insert('m1', { sender: 'bob', day: 3, text: 'hi', read: false, n: null }), {
    version: 1,
  });
  t.deepEqual(await bt.get('m1'), { day: 3, n: null, read: false, sender: 'bob', text: 'hi' });
  await rejects(
    t,
    bt.insert('m1', { sender: 'eve' }),
    'ALREADY_EXISTS',
    'insert of an existing pk',
  );
  await rejects(t, bt.update('nope', { sender: 'eve' }), 'NOT_FOUND', 'update of a missing pk');
  t.is(await bt.get('nope'), undefined, 'a refused update creates nothing');
  t.deepEqual(await bt.update('m1', { sender: 'eve', read: true }), { version: 2 });
  t.deepEqual(await bt.get('m1'), { day: 3, n: null, read: true, sender: 'eve', text: 'hi' });
  t.deepEqual(await bt.delete('m1'), { removed: true, version: 3 });
  t.deepEqual(await bt.delete('m1'), { removed: false, version: 3 });
  t.is(await bt.get('m1'), undefined);
  t.deepEqual(
    await bt.insert('m1', { sender: 'zed' }),
    { version: 4 },
    'a deleted pk can be inserted again',
  );
  t.deepEqual(
    await store
      .replica(2)
      .bigtable('messages', { indexes: ['sender', 'day'] })
      .get('m1'),
    { sender: 'zed' },
  );
  t.deepEqual(await bt.get('m1', { consistency: 'local' }), { sender: 'zed' });
  const big = 'x'.repeat(40 * 1024);
  await bt.insert('big', { a: big });
  await rejects(t, bt.update('big', { b: big }), 'TOO_LARGE', 'a row past 64 KiB');
  t.deepEqual(await bt.get('big'), { a: big }, 'a refused update changes nothing');
});

test('bad input rejects INVALID_ARGUMENT and sends nothing; other engines UNSUPPORTED_ENGINE', async (t) => {
  const { store } = await lsmStore(t);
  const bt = store.bigtable('t1', { indexes: ['a'] });
  await bt.insert('k', { a: 1 });
  const loose = bt as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const bad: Array<[string, () => Promise<unknown>]> = [
    ['empty pk', () => bt.insert('', { a: 1 })],
    ['pk not a string', () => loose.insert?.(7, { a: 1 }) ?? Promise.resolve()],
    ['nested value', () => loose.insert?.('k2', { a: { b: 1 } }) ?? Promise.resolve()],
    ['NaN', () => bt.insert('k2', { a: Number.NaN })],
    ['bad column', () => bt.insert('k2', { 'not ok': 1 })],
    ['empty patch', () => bt.update('k', {})],
    ['patch with an array', () => loose.update?.('k', { a: [1] }) ?? Promise.resolve()],
    ['long indexed string', () => bt.update('k', { a: 'x'.repeat(513) })],
    ['bad consistency', () => loose.get?.('k', { consistency: 'eventual' }) ?? Promise.resolve()],
  ];
  for (const [what, call] of bad) t.is(await settleCode(call()), 'INVALID_ARGUMENT', what);
  t.deepEqual(await bt.get('k'), { a: 1 }, 'nothing changed');
  t.is(await bt.get('k2'), undefined);
  const sync: Array<[string, () => unknown]> = [
    ['bad table name', () => store.bigtable('a/b')],
    ['duplicate index', () => store.bigtable('t2', { indexes: ['a', 'a'] })],
    [
      'nine indexes',
      () => store.bigtable('t2', { indexes: Array.from({ length: 9 }, (_, i) => `c${i}`) }),
    ],
    ['byIndex on an unindexed column', () => bt.byIndex('b', 1)],
    ['byIndex with an object value', () => bt.byIndex('a', {} as unknown as string)],
    ['scan with a bad limit', () => bt.scan({ limit: -1 })],
    ['scan with a bad reverse', () => bt.scan({ reverse: 'yes' as unknown as boolean })],
    ['scan with a bad page size', () => bt.scan({ pageSize: 5000 })],
  ];
  for (const [what, call] of sync)
    t.is(codeOf(t.throws(call, undefined, what)), 'INVALID_ARGUMENT', what);
  for (const engine of ['memory', 'bitcask'] as const) {
    const other = await openStore(t, engineOptions(t, engine));
    t.is(codeOf(t.throws(() => other.bigtable('t'))), 'UNSUPPORTED_ENGINE', engine);
    t.is(codeOf(t.throws(() => other.replica(1).bigtable('t'))), 'UNSUPPORTED_ENGINE', engine);
  }
});

test('a table keeps the indexes it was created with: another list is INDEX_MISMATCH and changes nothing', async (t) => {
  const { store } = await lsmStore(t);
  const first = store.bigtable('schema', { indexes: ['sender', 'day'] });
  await first.insert('m1', { sender: 'bob', day: 1 });
  const sameList = store.replica(1).bigtable('schema', { indexes: ['day', 'sender'] });
  await sameList.insert('m2', { sender: 'bob', day: 2 });
  const other = store.replica(2).bigtable('schema', { indexes: ['sender'] });
  await rejects(
    t,
    other.insert('m3', { sender: 'eve' }),
    'INDEX_MISMATCH',
    'insert through a handle with other indexes',
  );
  await rejects(t, other.update('m1', { sender: 'eve' }), 'INDEX_MISMATCH', 'update through it');
  await rejects(t, collect(other.byIndex('sender', 'bob')), 'INDEX_MISMATCH', 'lookup through it');
  await rejects(
    t,
    store.bigtable('schema').insert('m4', {}),
    'INDEX_MISMATCH',
    'a handle with no indexes',
  );
  t.deepEqual(
    (await collect(first.byIndex('sender', 'bob'))).map((e) => e.pk),
    ['m1', 'm2'],
  );
  t.deepEqual(
    (await collect(first.scan())).map((e) => e.pk),
    ['m1', 'm2'],
    'nothing else was written',
  );
  t.deepEqual(await other.get('m1'), { day: 1, sender: 'bob' }, 'reads need no schema check');
});

/** Primary keys whose UTF-8 byte order differs from JS string order (astral vs U+FFFF). */
const PKS = [
  'a',
  'b',
  'aa',
  'a\u0000',
  'Z',
  '0',
  '\uffff',
  '\u{1F600}',
  'é',
  'a b',
  ...Array.from({ length: 150 }, (_, i) => `k${i}`),
];

test('scan: pk byte order, gte/lt/limit/reverse, local consistency, small pages', async (t) => {
  const { store } = await lsmStore(t);
  const bt = store.bigtable('scan1');
  await Promise.all(PKS.map((pk, i) => bt.insert(pk, { i })));
  await bt.delete('k7');
  await store.bigtable('scan0').insert('k5', { other: true }); // another table's rows stay out
  await store.bigtable('scan1x').insert('k5', { other: true });
  const live = PKS.filter((pk) => pk !== 'k7').sort(compareKeys);
  const cases: Array<{
    gte?: string;
    lt?: string;
    limit?: number;
    reverse?: boolean;
    pageSize?: number;
  }> = [
    {},
    { reverse: true },
    { limit: 5 },
    { limit: 5, reverse: true },
    { gte: 'k1', lt: 'k2' },
    { gte: 'k1', lt: 'k2', reverse: true },
    { gte: '\uffff' },
    { lt: 'a' },
    { gte: 'k5', lt: 'k5' },
    { gte: 'z', lt: 'a' },
    { limit: 0 },
    { pageSize: 3 },
    { pageSize: 1, reverse: true, gte: 'k3', limit: 17 },
  ];
  for (const c of cases) {
    let want = live.filter(
      (pk) =>
        (c.gte === undefined || compareKeys(pk, c.gte) >= 0) &&
        (c.lt === undefined || compareKeys(pk, c.lt) < 0),
    );
    if (c.reverse === true) want = want.reverse();
    if (c.limit !== undefined) want = want.slice(0, c.limit);
    const got = await collect(bt.scan(c));
    t.deepEqual(
      got.map((e) => e.pk),
      want,
      JSON.stringify(c),
    );
    t.true(
      got.every((e) => e.row.i === PKS.indexOf(e.pk)),
      `rows match pks ${JSON.stringify(c)}`,
    );
  }
  const local = await collect(store.replica(1).bigtable('scan1').scan({ consistency: 'local' }));
  t.deepEqual(
    local.map((e) => e.pk).filter((pk) => live.includes(pk)),
    local.map((e) => e.pk),
    'local scans list live rows',
  );
});

test('byIndex after updates that move rows between values never returns the old row; disk entries = derived', async (t) => {
  const { store, dir } = await lsmStore(t);
  const bt = store.bigtable('idx', { indexes: ['sender', 'day'] });
  const model = new Map<string, BigtableRow>();
  for (let i = 0; i < 120; i++)
    model.set(`m${String(i).padStart(3, '0')}`, { sender: `s${i % 4}`, day: i % 3, text: `t${i}` });
  await Promise.all([...model].map(([pk, row]) => bt.insert(pk, row)));
  // Move a third of the rows to another sender, delete a tenth, null some days.
  const writes: Promise<unknown>[] = [];
  for (const [pk, row] of model) {
    const i = Number(pk.slice(1));
    if (i % 3 === 0) {
      const patch = { sender: `s${(i + 1) % 4}` };
      model.set(pk, { ...row, ...patch });
      writes.push(bt.update(pk, patch));
    } else if (i % 10 === 1) {
      model.delete(pk);
      writes.push(bt.delete(pk));
    } else if (i % 7 === 2) {
      model.set(pk, { ...row, day: null });
      writes.push(bt.update(pk, { day: null }));
    }
  }
  await Promise.all(writes);
  const expect = (column: string, value: unknown): string[] =>
    [...model]
      .filter(([, row]) => row[column] === value)
      .map(([pk]) => pk)
      .sort(compareKeys);
  for (const sender of ['s0', 's1', 's2', 's3', 'nobody']) {
    const got = await collect(bt.byIndex('sender', sender));
    t.deepEqual(
      got.map((e) => e.pk),
      expect('sender', sender),
      `sender ${sender}`,
    );
    t.true(
      got.every((e) => e.row.sender === sender),
      `every row returned for ${sender} matches`,
    );
  }
  for (const day of [0, 1, 2, null])
    t.deepEqual(
      (await collect(bt.byIndex('day', day))).map((e) => e.pk),
      expect('day', day),
      `day ${day}`,
    );
  t.deepEqual(
    (await collect(bt.byIndex('day', '0'))).length,
    0,
    'the string "0" is not the number 0',
  );
  t.deepEqual(
    (await collect(bt.byIndex('sender', 's1', { limit: 3, pageSize: 2 }))).map((e) => e.pk),
    expect('sender', 's1').slice(0, 3),
  );
  const viaReplica = await collect(
    store
      .replica(2)
      .bigtable('idx', { indexes: ['day', 'sender'] })
      .byIndex('sender', 's2', { consistency: 'local' }),
  );
  t.true(
    viaReplica.every((e) => e.row.sender === 's2'),
    'local lookups verify rows too',
  );
  await store.close();
  const entries = await checkIndexOnDisk(t, dir);
  t.true(entries >= 3 * 2 * (model.size - 20), `index entries on disk (${entries})`);
});

for (const sync of ['batch', 'none'] as const) {
  test(`index consistent after a replica crash/restart (sync '${sync}') and after close/reopen`, async (t) => {
    const { store, dir } = await lsmStore(t, { sync, acceptDataLoss: true });
    const bt = store.bigtable('crash', { indexes: ['owner'] });
    const owners = new Map<string, string>();
    for (let i = 0; i < 60; i++) owners.set(`r${i}`, `o${i % 3}`);
    await Promise.all(
      [...owners].map(([pk, owner]) => bt.insert(pk, { owner, i: Number(pk.slice(1)) })),
    );
    await store.replica(2).crash();
    const writes: Promise<unknown>[] = [];
    for (const [pk, owner] of owners) {
      if (Number(pk.slice(1)) % 2 !== 0) continue;
      const next = owner === 'o0' ? 'o1' : 'o0';
      owners.set(pk, next);
      writes.push(
        store
          .replica(Number(pk.slice(1)) % 4 === 0 ? 0 : 1)
          .bigtable('crash', { indexes: ['owner'] })
          .update(pk, { owner: next }),
      );
    }
    await Promise.all(writes);
    await store.replica(2).restart();
    const r2 = store.replica(2).bigtable('crash', { indexes: ['owner'] });
    const expect = (owner: string): string[] =>
      [...owners]
        .filter(([, o]) => o === owner)
        .map(([pk]) => pk)
        .sort(compareKeys);
    for (const owner of ['o0', 'o1', 'o2'])
      t.deepEqual(
        (await collect(r2.byIndex('owner', owner))).map((e) => e.pk),
        expect(owner),
        `after restart: ${owner}`,
      );
    // Replica 2 caught the rows up as it read them; one more round of writes through it.
    await Promise.all(
      ['r1', 'r3', 'r5'].map((pk) => (owners.set(pk, 'o9'), r2.update(pk, { owner: 'o9' }))),
    );
    if (sync === 'none') {
      // Replica 2 restarted without its state: its listing does not count, so with replica 0
      // down too no majority can list keys, and scans and lookups refuse instead of missing rows.
      await store.replica(0).crash();
      await rejects(
        t,
        collect(r2.byIndex('owner', 'o0')),
        'UNAVAILABLE',
        'lookup with one trustworthy replica',
      );
      await rejects(
        t,
        collect(
          store
            .replica(1)
            .bigtable('crash', { indexes: ['owner'] })
            .scan(),
        ),
        'UNAVAILABLE',
        'scan with one trustworthy replica',
      );
    }
    await store.close();
    await checkIndexOnDisk(t, dir);
    const reopened = await openStore(t, { engine: 'lsm', dir, groups: GROUPS, sync });
    const again = reopened.bigtable('crash', { indexes: ['owner'] });
    for (const owner of ['o0', 'o1', 'o2', 'o9'])
      t.deepEqual(
        (await collect(again.byIndex('owner', owner))).map((e) => e.pk),
        expect(owner),
        `after reopen: ${owner}`,
      );
    t.is((await collect(again.scan())).length, owners.size);
  });
}

test('a replica that missed writes still scans and looks up completely; rows stable during a scan are all returned', async (t) => {
  const { store } = await lsmStore(t);
  const r0 = store.replica(0).bigtable('lag', { indexes: ['kind'] });
  const r2 = store.replica(2).bigtable('lag', { indexes: ['kind'] });
  await r2.insert('seed', { kind: 'seed' }); // fixes the schema while replica 2 is reachable
  store.partition([[2], [0, 1]]);
  await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      r0.insert(`s${String(i).padStart(3, '0')}`, { kind: i % 2 === 0 ? 'even' : 'odd' }),
    ),
  );
  await Promise.all(Array.from({ length: 50 }, (_, i) => r0.insert(`gone${i}`, { kind: 'even' })));
  store.heal();
  // Replica 2's own disk lacks these rows; its listing is completed by the others'.
  const local = await collect(r2.scan({ consistency: 'local' }));
  t.log(`replica 2 lists ${local.length} rows locally`);
  const evens = await collect(r2.byIndex('kind', 'even'));
  t.is(
    evens.filter((e) => /^s\d{3}$/.test(e.pk)).length,
    150,
    'every even row, through the lagging replica',
  );
  // Churn while scanning: new rows appear, 'gone' rows disappear; stable rows must all come back.
  const churn = Promise.all([
    ...Array.from({ length: 50 }, (_, i) => r0.delete(`gone${i}`)),
    ...Array.from({ length: 50 }, (_, i) =>
      store
        .replica(1)
        .bigtable('lag', { indexes: ['kind'] })
        .insert(`new${i}`, { kind: 'new' }),
    ),
  ]);
  const scanned = await collect(r2.scan({ pageSize: 16 }));
  await churn;
  const pks = scanned.map((e) => e.pk);
  t.is(pks.filter((pk) => /^s\d{3}$/.test(pk)).length, 300, 'every stable row');
  t.true(
    pks.every((pk) => /^(s\d{3}|seed|gone\d+|new\d+)$/.test(pk)),
    'nothing else',
  );
  t.deepEqual([...pks].sort(compareKeys), pks, 'in order');
  t.is(new Set(pks).size, pks.length, 'each once');
});

test('concurrent writes to one row from all three replicas are linearizable', async (t) => {
  const { store } = await lsmStore(t);
  const history: HistoryOp<BigtableInput, BigtableOutput>[] = [];
  let id = 0;
  const client = async (replica: number): Promise<void> => {
    const bt = store.replica(replica).bigtable('lin', { indexes: ['a'] });
    for (let n = 0; n < 25; n++) {
      const r = (n * 7 + replica * 3) % 10;
      const input: BigtableInput =
        r < 3
          ? { op: 'insert', row: { a: `c${replica}-${n}`, n } }
          : r < 6
            ? { op: 'update', patch: { a: `u${replica}-${n}` } }
            : r < 7
              ? { op: 'delete' }
              : { op: 'get' };
      const call = performance.now();
      const op: HistoryOp<BigtableInput, BigtableOutput> = {
        id: id++,
        key: 'row',
        input,
        call,
        ret: undefined,
      };
      try {
        op.output = await run(bt, input);
        op.ret = performance.now();
      } catch (error) {
        if (codeOf(error) === 'ALREADY_EXISTS')
          op.output = { status: 'alreadyExists', removed: false };
        else if (codeOf(error) === 'NOT_FOUND') op.output = { status: 'notFound', removed: false };
        else if (codeOf(error) !== 'UNKNOWN_OUTCOME') continue; // definitely not applied
        if (op.output !== undefined) op.ret = performance.now();
      }
      history.push(op);
    }
  };
  await Promise.all([client(0), client(1), client(2)]);
  t.true(history.filter((h) => h.ret !== undefined).length >= 60, 'most operations completed');
  t.deepEqual(checkHistory(history, bigtableModel), { ok: true });
});

async function run(bt: Bigtable, input: BigtableInput): Promise<BigtableOutput> {
  switch (input.op) {
    case 'insert':
      await bt.insert('row', input.row);
      return { status: 'ok', removed: false };
    case 'update':
      await bt.update('row', input.patch);
      return { status: 'ok', removed: false };
    case 'delete':
      return { status: 'ok', removed: (await bt.delete('row')).removed };
    case 'get':
      return { row: (await bt.get('row')) ?? null };
  }
}

test('a scan over 20,000 rows is complete and in pk order; an index lookup over thousands is too', async (t) => {
  const { store } = await lsmStore(t);
  const bt = store.bigtable('many', { indexes: ['bucket'] });
  const N = 20_000;
  const pk = (i: number): string => `row-${(i * 7919) % N}`;
  for (let start = 0; start < N; start += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, j) =>
        bt.insert(pk(start + j), { i: start + j, bucket: (start + j) % 5 }),
      ),
    );
  }
  let count = 0;
  let last = '';
  const seen = new Set<string>();
  for await (const e of bt.scan({ pageSize: 512 })) {
    t.true(last === '' || compareKeys(last, e.pk) < 0, `order at ${e.pk}`);
    last = e.pk;
    seen.add(e.pk);
    count += 1;
  }
  t.is(count, N);
  t.is(seen.size, N);
  const tail = await collect(bt.scan({ reverse: true, limit: 10 }));
  t.deepEqual(
    tail.map((e) => e.pk),
    [...seen].sort(compareKeys).reverse().slice(0, 10),
  );
  const bucket = await collect(bt.byIndex('bucket', 3, { pageSize: 1024 }));
  t.is(bucket.length, N / 5);
  t.true(bucket.every((e) => e.row.bucket === 3));
});
