/**
 * store.verify(): replica alignment by digest comparison (DESIGN.md §6 "Integrity"), through
 * the public API on real worker threads.
 */
import test from 'ava';
import type { PaxosStore, VerifyReport } from '../../index';
import { codeOf, openStore, tempDir } from './helpers';

const KEYS = Array.from({ length: 40 }, (_, i) => `key-${i}`);

async function writeAll(store: PaxosStore, value: string): Promise<void> {
  await Promise.all(
    KEYS.map((k, i) =>
      store
        .replica(i % 3)
        .kv('users')
        .put(k, `${value}-${k}`),
    ),
  );
}

/** Linearizable reads through a replica bring it up to date for those keys. */
async function readAllVia(store: PaxosStore, replica: number): Promise<void> {
  for (const k of KEYS) await store.replica(replica).kv('users').get(k);
}

function behindKeys(report: VerifyReport, replica: number): string[] {
  return report.mismatches
    .filter((m) => m.kind === 'behind' && m.replicas[replica] === null)
    .map((m) => m.where.key ?? '')
    .sort();
}

for (const engine of ['memory', 'lsm'] as const) {
  test(`${engine}: replicas that saw every write are aligned, with equal digests`, async (t) => {
    const store = await openStore(
      t,
      engine === 'memory' ? { engine } : { engine, dir: tempDir(t) },
    );
    await writeAll(store, 'v1');
    await store.queue('inbox').push('a', 'b');
    for (let r = 0; r < 3; r++) await readAllVia(store, r);
    await Promise.all([0, 1, 2].map((r) => store.replica(r).queue('inbox').length()));
    const report = await store.verify();
    t.true(report.ok, JSON.stringify(report.mismatches.slice(0, 3)));
    t.true(report.aligned, JSON.stringify(report.mismatches.slice(0, 3)));
    t.deepEqual(report.mismatches, []);
    t.is(report.replicas.length, 3);
    for (const r of report.replicas) {
      t.true(r.up);
      t.is(r.keys, KEYS.length + 1, `replica ${r.replica} digests every key`);
      t.is(r.digest, report.replicas[0]?.digest ?? 'none', `replica ${r.replica} digest`);
    }
  });
}

test('a replica cut off by a partition is reported behind for exactly the keys it missed, until it reads them', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  await writeAll(store, 'v1');
  for (let r = 0; r < 3; r++) await readAllVia(store, r);
  store.partition([[0], [1, 2]]);
  const missed = KEYS.slice(0, 10);
  for (const k of missed) await store.replica(1).kv('users').put(k, 'v2');
  store.heal();
  const report = await store.verify({ buckets: 8 });
  t.true(report.ok, 'lag is not damage');
  t.false(report.aligned);
  t.not(report.replicas[0]?.digest, report.replicas[1]?.digest);
  const lagging = report.mismatches.filter((m) => m.kind === 'behind');
  t.deepEqual(
    lagging.map((m) => m.where.key).sort(),
    [...missed].sort(),
    'the missed keys, and only them',
  );
  for (const m of lagging) {
    t.deepEqual(m.where, { model: 'kv', namespace: 'users', key: m.where.key });
    const [zero, one, two] = m.replicas;
    t.truthy(zero && one && two);
    if (zero && one && two) {
      t.is(one.instance, zero.instance + 1, 'replica 1 is one instance ahead');
      t.deepEqual([one.instance, one.digest], [two.instance, two.digest], 'the majority agrees');
    }
  }
  // Linearizable reads through replica 0 catch it up; then everything is aligned.
  await readAllVia(store, 0);
  const after = await store.verify();
  t.true(after.aligned, JSON.stringify(after.mismatches.slice(0, 3)));
});

test('a crashed memory replica is down in the report, and behind on every key after restart until read', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  await writeAll(store, 'v1');
  for (let r = 0; r < 3; r++) await readAllVia(store, r);
  await store.replica(2).crash();
  const down = await store.verify();
  t.true(down.ok);
  t.false(down.aligned);
  t.deepEqual(
    down.replicas.map((r) => [r.up, r.digest === null]),
    [
      [true, false],
      [true, false],
      [false, true],
    ],
  );
  t.deepEqual(down.mismatches, [], 'the up replicas agree');
  await store.replica(2).restart();
  const amnesic = await store.verify();
  t.deepEqual(behindKeys(amnesic, 2), [...KEYS].sort(), 'the restarted replica holds nothing yet');
  await readAllVia(store, 2);
  t.true((await store.verify()).aligned);
});

test('verify options are checked; a closed store refuses', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  for (const bad of [
    { buckets: 0 },
    { buckets: 5000 },
    { buckets: 1.5 },
    { mismatchesMax: -1 },
    { other: 1 },
    'x',
  ]) {
    t.is(
      codeOf(await t.throwsAsync(store.verify(bad as never))),
      'INVALID_ARGUMENT',
      JSON.stringify(bad),
    );
  }
  const cut = await store.verify({ buckets: 1, mismatchesMax: 0 });
  t.true(cut.ok);
  await store.close();
  t.is(codeOf(await t.throwsAsync(store.verify())), 'CLOSED');
});

test('mismatchesMax bounds the list and says it was cut', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  store.partition([[0], [1, 2]]);
  for (const k of KEYS.slice(0, 12)) await store.replica(1).kv('users').put(k, 'only-on-1-2');
  store.heal();
  const report = await store.verify({ mismatchesMax: 5 });
  t.is(report.mismatches.length, 5);
  t.true(report.truncated);
  const all = await store.verify({ mismatchesMax: 100 });
  t.is(all.mismatches.length, 12);
  t.false(all.truncated);
});

test('repair: lagging replicas catch up on exactly the keys verify found, then all are aligned', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  await writeAll(store, 'v1');
  for (let r = 0; r < 3; r++) await readAllVia(store, r);
  store.partition([[2], [0, 1]]);
  const missed = KEYS.slice(5, 17);
  for (const k of missed) await store.replica(0).kv('users').put(k, 'v2');
  store.heal();
  const report = await store.verify({ repair: true });
  t.deepEqual(report.mismatches.map((m) => m.where.key).sort(), [...missed].sort());
  t.is(report.repaired, missed.length, 'one read through replica 2 per missed key');
  t.is(report.repairFailed, 0);
  const after = await store.verify();
  t.true(after.aligned, JSON.stringify(after.mismatches.slice(0, 3)));
  t.deepEqual(
    await store
      .replica(2)
      .kv('users')
      .get(missed[0] ?? '', { consistency: 'local' }),
    { value: Buffer.from('v2'), version: 2 },
  );
});

test('repair rebuilds a memory replica that restarted empty, queue and kv keys alike', async (t) => {
  const store = await openStore(t, { engine: 'memory' });
  await writeAll(store, 'v1');
  await store.queue('jobs').push('a', 'b', 'c');
  for (let r = 0; r < 3; r++) await readAllVia(store, r);
  await Promise.all([0, 1, 2].map((r) => store.replica(r).queue('jobs').length()));
  await store.replica(1).crash();
  await store.replica(1).restart();
  const report = await store.verify({ repair: true });
  t.is(report.repaired, KEYS.length + 1);
  const after = await store.verify();
  t.true(after.aligned, JSON.stringify(after.mismatches.slice(0, 3)));
  t.deepEqual(
    await store.replica(1).queue('jobs').peek({ consistency: 'local' }),
    Buffer.from('a'),
  );
});

test('repair with no majority fails those reads and says so', async (t) => {
  const store = await openStore(t, { engine: 'memory', timeoutMs: 3000 });
  await writeAll(store, 'v1');
  for (let r = 0; r < 3; r++) await readAllVia(store, r);
  store.partition([[2], [0, 1]]);
  await store.replica(0).kv('users').put('key-0', 'v2');
  const report = await store.verify({ repair: true });
  t.is(report.mismatches.length, 1);
  t.is(report.repaired, 0);
  t.is(report.repairFailed, 1, 'replica 2 cannot reach a majority to catch up');
  t.is(codeOf(await t.throwsAsync(store.verify({ repair: 'yes' as never }))), 'INVALID_ARGUMENT');
});

test('lsm: big-table rows are verified like any key; their local index entries are not records', async (t) => {
  const store = await openStore(t, { engine: 'lsm', dir: tempDir(t) });
  const bt = store.bigtable('messages', { indexes: ['sender'] });
  for (let i = 0; i < 12; i++)
    await bt.insert(`m${i}`, { sender: `s${i % 3}`, text: `hello ${i}` });
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < 12; i++)
      await store
        .replica(r)
        .bigtable('messages', { indexes: ['sender'] })
        .get(`m${i}`);
  }
  const report = await store.verify();
  t.true(report.ok, JSON.stringify(report.mismatches.slice(0, 3)));
  t.deepEqual(
    report.replicas.map((r) => r.corrupted),
    [0, 0, 0],
    'index entries are not taken for damaged records',
  );
  t.true((report.replicas[0]?.keys ?? 0) >= 12, 'every row (and the schema key) is digested');
  store.partition([[2], [0, 1]]);
  await store
    .replica(0)
    .bigtable('messages', { indexes: ['sender'] })
    .update('m3', { text: 'edited' });
  store.heal();
  const lagging = (await store.verify()).mismatches.filter((m) => m.kind === 'behind');
  // The row, and possibly the table's schema key (a new handle checks its index list there).
  t.true(
    lagging.some((m) => m.where.pk === 'm3'),
    JSON.stringify(lagging.map((m) => m.where)),
  );
  t.true(
    lagging.every(
      (m) =>
        m.where.model === 'bigtable' &&
        m.where.table === 'messages' &&
        (m.where.pk === 'm3' || m.where.pk === undefined),
    ),
  );
});
