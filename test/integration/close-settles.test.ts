/**
 * close() settles before it stops the actors (README "Journal subscription", docs/decisions.md
 * "close() settles first"): a write proposed by replica 1 or 2 is journaled by replica 0 only
 * when replica 0 learns it is chosen, from a chosen notice sent in the turn the proposer
 * answers. A close right after the answer must let that notice arrive and replica 0 persist
 * what it learns, so replica 0's journal of the closed directory (what `paxosstore backup`
 * follows) has every write answered before close() was called.
 */
import test from 'ava';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions, StoreJournalEntry, Subscription } from '../../index';
import { codeOf, take, tempDir } from './helpers';

/** No repair scan: on reopen, replica 0 learns nothing it did not learn before the close. */
const OPEN = {
  engine: 'bitcask',
  groups: 2,
  journal: true,
  repair: { enabled: false },
  timeoutMs: 15_000,
} as const;

/** Replica 0's journal range of a group, once its journal has loaded (bounded wait). */
async function rangeOf(store: PaxosStore, group: number): Promise<{ first: number; head: number }> {
  for (let i = 0; ; i++) {
    try {
      return await store.journalRange(group, 0);
    } catch (error) {
      if (codeOf(error) !== 'UNAVAILABLE' || i >= 400) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** The keys in replica 0's journal of a closed directory, read without touching any key. */
async function journaledKeys(options: PaxosStoreOptions): Promise<Set<string>> {
  const store = await PaxosStore.open(options);
  try {
    let entries = 0;
    for (let g = 0; g < (options.groups ?? 0); g++) {
      const range = await rangeOf(store, g);
      entries += range.head - range.first + 1;
    }
    const seen = await take(store.subscribe('check', { from: 'start' }), entries);
    return new Set(seen.map((e) => e.key));
  } finally {
    await store.close();
  }
}

/** Writes through replicas 1 and 2 and the default routing, then closes at once. */
async function writeAndClose(
  options: PaxosStoreOptions,
  prefix: string,
  keys: number,
): Promise<string[]> {
  const store = await PaxosStore.open(options);
  const written: string[] = [];
  try {
    const three = [store.replica(1).kv('ns'), store.replica(2).kv('ns'), store.kv('ns')];
    // Concurrent writers (four through each), so the last answers of each replica come close
    // together (and, with a linger, the learners' batches wait for more: persist-linger.ts).
    const handles = [...three, ...three, ...three, ...three];
    await Promise.all(
      handles.map(async (kv, h) => {
        for (let i = h; i < keys; i += handles.length) {
          await kv.put(`${prefix}${i}`, `v${i}`);
          written.push(`${prefix}${i}`);
        }
      }),
    );
  } finally {
    await store.close();
  }
  return written;
}

// bitcask under sync 'batch' starts each batch at once; the third case lingers 5 ms after a
// busy batch (measured: ~110 lingered batches per replica over 600 writes of this load), and a
// close must neither lose what waits nor wait out the linger.
const CASES: [string, PaxosStoreOptions][] = [
  ['workers 1', { workers: 1 }],
  ['workers 2', { workers: 2 }],
  ['workers 2, a 5 ms group-commit linger', { workers: 2, groupCommitLingerMs: 5 }],
];

for (const [name, change] of CASES) {
  test.serial(`replica 0's journal has every answered write after close (${name})`, async (t) => {
    const options: PaxosStoreOptions = { ...OPEN, ...change, dir: path.join(tempDir(t), 'd') };
    const missing: string[] = [];
    // Several rounds: each close right after its last answers (the race is per close).
    for (let round = 0; round < 5; round++) {
      // Keys new to each round: an older round's key is never written again.
      const written = await writeAndClose(options, `r${round}k`, 60);
      const journaled = await journaledKeys(options);
      for (const key of written) if (!journaled.has(key)) missing.push(key);
    }
    t.deepEqual(missing, [], 'every answered write is in replica 0 journal of the closed dir');
  });
}

test.serial(
  'with a replica crashed, close still settles and replica 0 journals what it learned',
  async (t) => {
    const options: PaxosStoreOptions = { ...OPEN, workers: 2, dir: path.join(tempDir(t), 'd') };
    const store = await PaxosStore.open(options);
    const written: string[] = [];
    try {
      // Replica 2's actors are stopped as in a crash: messages to them are dropped, and the
      // quiesce rounds must not wait for them.
      await store.replica(2).crash();
      const kv = store.replica(1).kv('ns');
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let i = w; i < 40; i += 4) {
            await kv.put(`c${i}`, `v${i}`);
            written.push(`c${i}`);
          }
        }),
      );
    } finally {
      await store.close();
    }
    const journaled = await journaledKeys(options);
    t.deepEqual(
      written.filter((key) => !journaled.has(key)),
      [],
    );
  },
);
