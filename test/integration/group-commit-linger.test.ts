/**
 * The store option `groupCommitLingerMs` (actors/paxos/persist-linger.ts): validated, by
 * default a loaded durable group's batches wait for more records, and 0 turns that off.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { PaxosStore } from '../../index';
import { openRejectionCode, openStore, tempDir } from './helpers';

/** Bursts of concurrent writes to one group: batches that hold many records, back to back. */
async function loaded(store: PaxosStore): Promise<void> {
  const kv = store.kv('linger');
  for (let burst = 0; burst < 20; burst++) {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 64; i++) writes.push(kv.put(`k${burst}-${i}`, 'v'));
    await Promise.all(writes);
  }
}

async function lingered(store: PaxosStore): Promise<number> {
  const stats = await store.stats();
  return stats.replicas.reduce((n, r) => n + (r?.['batchesLingered'] ?? 0), 0);
}

async function lingeredWith(
  t: ExecutionContext,
  lingerMs: number | undefined,
  sync: 'always' | 'batch' = 'always',
): Promise<number> {
  const store = await openStore(t, {
    engine: 'bitcask',
    dir: tempDir(t),
    groups: 1,
    sync,
    ...(lingerMs === undefined ? {} : { groupCommitLingerMs: lingerMs }),
  });
  await loaded(store);
  return lingered(store);
}

test('groupCommitLingerMs is validated', async (t) => {
  for (const bad of [-1, 101, 1.5, '1', null]) {
    t.is(
      await openRejectionCode(t, { groupCommitLingerMs: bad as never }, String(bad)),
      'INVALID_ARGUMENT',
      String(bad),
    );
  }
});

test('by default a loaded group lingers; with groupCommitLingerMs 0 no batch waits', async (t) => {
  t.true((await lingeredWith(t, undefined)) > 0, 'the default lingers under bursts');
  t.true((await lingeredWith(t, 5)) > 0, 'so does a longer linger');
  t.is(await lingeredWith(t, 0), 0, '0 never waits');
});

// A bitcask batch under sync 'batch' is one write(2) on the actor's thread: no linger by default.
test("sync 'batch' on bitcask: no linger by default, one when asked", async (t) => {
  t.is(await lingeredWith(t, undefined, 'batch'), 0, 'the default does not wait');
  t.true((await lingeredWith(t, 2, 'batch')) > 0, 'an explicit linger still does');
});
