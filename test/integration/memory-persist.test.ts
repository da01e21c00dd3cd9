/**
 * `engine: 'memory', persist: true` through the public API: option checks, the engine recorded
 * in the data dir, the unsynced-run marker for sync 'none', and, above all, that a crashed and
 * restarted replica reloads its promises, accepts and data from its log and so is NOT amnesic
 * (DESIGN.md §4, the amnesia rule, applies only to a replica that lost its state).
 *
 * (Close and reopen of a whole store, and the KV semantics, run for memory-persist in
 * kv-api.test.ts; kill -9 in kill9.test.ts.)
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PaxosStoreOptions } from '../../index';
import {
  FAST,
  INDEX_JS,
  openRejectionCode,
  openStore,
  runNode,
  settleCode,
  tempDir,
} from './helpers';

const NS = 'persist';

test('persist is checked: a boolean, only for the memory engine, and only with a dir', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, PaxosStoreOptions]> = [
    ['not a boolean', { engine: 'memory', persist: 'yes' as never, dir }],
    ['no dir', { engine: 'memory', persist: true }],
    ['lsm', { engine: 'lsm', persist: true, dir }],
    ['bitcask', { engine: 'bitcask', persist: true, dir }],
  ];
  for (const [what, options] of cases) {
    t.is(await openRejectionCode(t, { ...FAST, ...options }, what), 'INVALID_ARGUMENT', what);
  }
  t.deepEqual(fs.readdirSync(dir), [], 'a refused open writes nothing');
  // persist: false is plain memory: the dir is not used.
  const store = await openStore(t, { engine: 'memory', persist: false, dir });
  await store.kv(NS).put('k', 'v');
  t.deepEqual(fs.readdirSync(dir), []);
});

test('the dir records its engine; another engine (or plain bitcask) cannot open it', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, { engine: 'memory', persist: true, dir });
  await store.kv(NS).put('k', 'v');
  await store.close();
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'paxosstore.json'), 'utf8')) as unknown;
  t.deepEqual(record, { format: 1, replicas: 3, groups: 4, engine: 'memory-persist' });
  for (const engine of ['lsm', 'bitcask'] as const) {
    t.is(await openRejectionCode(t, { ...FAST, engine, dir }, engine), 'INVALID_ARGUMENT', engine);
  }
  // And the other way round: a bitcask dir is not opened as memory-persist.
  const other = tempDir(t);
  const disk = await openStore(t, { engine: 'bitcask', dir: other });
  await disk.close();
  const code = await openRejectionCode(
    t,
    { ...FAST, engine: 'memory', persist: true, dir: other },
    'memory-persist',
  );
  t.is(code, 'INVALID_ARGUMENT');
  const again = await openStore(t, { engine: 'memory', persist: true, dir });
  t.deepEqual(await again.kv(NS).get('k'), { value: Buffer.from('v'), version: 1 });
});

test('a record from before the engine was recorded opens with any engine; a garbled engine is refused', async (t) => {
  const legacy = tempDir(t);
  const old = '{ "format": 1, "replicas": 3, "groups": 4 }';
  fs.writeFileSync(path.join(legacy, 'paxosstore.json'), old);
  const store = await openStore(t, { engine: 'memory', persist: true, dir: legacy });
  t.deepEqual(await store.kv(NS).put('k', 'v'), { version: 1 });
  await store.close();
  t.is(fs.readFileSync(path.join(legacy, 'paxosstore.json'), 'utf8'), old, 'left as it was');
  for (const engine of ['', 7]) {
    const dir = tempDir(t);
    fs.writeFileSync(
      path.join(dir, 'paxosstore.json'),
      JSON.stringify({ format: 1, replicas: 3, groups: 4, engine }),
    );
    const code = await openRejectionCode(
      t,
      { ...FAST, engine: 'memory', persist: true, dir },
      JSON.stringify(engine),
    );
    t.is(code, 'INVALID_ARGUMENT', JSON.stringify(engine));
  }
});

test("sync 'none' with persist: the unsynced-run marker is there while open, gone after close", async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, { engine: 'memory', persist: true, dir, sync: 'none' });
  await store.kv(NS).put('k', 'v');
  t.true(fs.existsSync(path.join(dir, 'UNSYNCED-RUN')));
  await store.close();
  t.false(fs.existsSync(path.join(dir, 'UNSYNCED-RUN')));
  const again = await openStore(t, { engine: 'memory', persist: true, dir, sync: 'none' });
  t.deepEqual(await again.kv(NS).get('k'), { value: Buffer.from('v'), version: 1 });
});

test("sync 'none' with persist: after a kill -9 the dir is refused (DATA_LOSS_POSSIBLE) unless the loss is accepted", async (t) => {
  const dir = tempDir(t);
  const options = { engine: 'memory', persist: true, dir, sync: 'none' } as const;
  const script = `
    const { PaxosStore } = require(${JSON.stringify(INDEX_JS)});
    (async () => {
      const store = await PaxosStore.open({ workers: 2, groups: 4, ...${JSON.stringify(options)} });
      for (let i = 0; i < 20; i++) await store.kv('ns').put('k' + i, 'v' + i);
      process.kill(process.pid, 'SIGKILL');
    })();
  `;
  const child = await runNode(t, ['-e', script], 30_000);
  t.is(child.signal, 'SIGKILL', child.stderr);
  t.is(await openRejectionCode(t, { ...FAST, ...options }, 'default open'), 'DATA_LOSS_POSSIBLE');
  const accepted = await openStore(t, { ...options, acceptDataLoss: true });
  t.deepEqual(await accepted.kv(NS).put('after', 'x'), { version: 1 });
});

for (const sync of ['always', 'batch'] as const) {
  /**
   * The amnesia rule (DESIGN.md §4) in reverse: values chosen on {0, 2} only; replica 2 crashes;
   * then {1, 2} is the only majority, replica 2 restarts inside it, and replica 1 never heard
   * of the values.
   * A replica that reloaded its log still holds its accepts: {1, 2} serves every value and
   * takes new writes on top of them. An amnesic replica 2 would refuse to vote (reads
   * UNAVAILABLE, as the memory engine's test in faults.test.ts allows), and a replica that
   * forgot but voted would answer `undefined`; either fails this test.
   */
  test.serial(
    `memory-persist (sync '${sync}'): a restarted replica reloads its log and votes at once`,
    async (t) => {
      const store = await openStore(t, {
        engine: 'memory',
        persist: true,
        dir: tempDir(t),
        sync,
        timeoutMs: 15_000,
      });
      const keys = Array.from({ length: 8 }, (_, i) => `key${i}`);
      store.partition([[1], [0, 2]]);
      for (const k of keys)
        t.deepEqual(await store.replica(0).kv(NS).put(k, `${k}-A`), { version: 1 });
      t.deepEqual(await store.replica(0).kv(NS).incr('n', 7), { value: 7, version: 1 });
      await store.replica(2).crash();
      store.partition([[0], [1, 2]]);
      await store.replica(2).restart();
      for (const k of keys) {
        t.deepEqual(
          await store.replica(1).kv(NS).get(k),
          { value: Buffer.from(`${k}-A`), version: 1 },
          `${k} via 1`,
        );
      }
      t.deepEqual(
        await store.replica(2).kv(NS).get('key0'),
        { value: Buffer.from('key0-A'), version: 1 },
        'via 2',
      );
      t.deepEqual(
        await store.replica(1).kv(NS).incr('n', 1),
        { value: 8, version: 2 },
        'incr on top of the reloaded 7',
      );
      t.deepEqual(await store.replica(2).kv(NS).put('key1', 'key1-B'), { version: 2 });
      store.heal();
      for (let r = 0; r < 3; r++) {
        t.deepEqual(
          await store.replica(r).kv(NS).get('key1'),
          { value: Buffer.from('key1-B'), version: 2 },
          `replica ${r}`,
        );
      }
    },
  );
}

/**
 * The same scenario without persist shows what the test above tells apart: the restarted
 * memory replica is amnesic, so {1, 2} cannot serve the values it forgot.
 */
test.serial(
  'plain memory, same scenario: the restarted replica is amnesic and {1, 2} cannot serve',
  async (t) => {
    const store = await openStore(t, { engine: 'memory', timeoutMs: 3_000 });
    store.partition([[1], [0, 2]]);
    t.deepEqual(await store.replica(0).kv(NS).put('key0', 'key0-A'), { version: 1 });
    await store.replica(2).crash();
    // The partition moves before the restart: a restarted replica that could still reach 0
    // may recover key0 from {0, 1} in two steps (0's reply before the move, 1's after), and
    // then {1, 2} serves it correctly; seen once in CI when the amnesia rebuild touched key0
    // in that window. Cut off from 0 from its start, replica 2 can never recover key0.
    store.partition([[0], [1, 2]]);
    await store.replica(2).restart();
    const code = await settleCode(store.replica(1).kv(NS).get('key0'));
    t.is(code, 'UNAVAILABLE', `read via 1 settled ${String(code)}`);
    store.heal();
    t.deepEqual(await store.replica(1).kv(NS).get('key0'), {
      value: Buffer.from('key0-A'),
      version: 1,
    });
  },
);
