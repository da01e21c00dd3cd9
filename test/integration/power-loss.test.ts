/**
 * Power loss (issue 12): states a power loss leaves on disk and a kill -9 never does, made by
 * hand on a closed store (3 replicas, sync 'always', 200 acknowledged keys), then reopened
 * through the public API. Every acknowledged write must read back (DESIGN §7 durability; the
 * amnesia rule, §4, must not be triggered by a tear, or one power loss that tears every replica
 * would leave every key UNAVAILABLE for good).
 *
 * - zeros after the end of the newest data file of every group (the size reached the disk, the
 *   data did not), on one replica and on all three;
 * - an empty LOCK in every directory (the link was durable, the content not);
 * - a LOCK naming a live process (pid 1) written in another boot;
 * - a clean close with no damage (control);
 * - 8 bytes overwritten in the middle of one replica's data file: damage to durable bytes, which
 *   must stay within its group (amnesic, recovered from the peers), never stop a worker.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions } from '../../index';
import { FAST, tempDir } from './helpers';

const KEYS = 200;
const NS = 'power';
const REPLICAS = [0, 1, 2];
const ENGINES = ['bitcask', 'bitcask2', 'memory-persist'] as const;
type DiskEngine = (typeof ENGINES)[number];

function optionsFor(engine: DiskEngine, dir: string): PaxosStoreOptions {
  const which: PaxosStoreOptions =
    engine === 'memory-persist' ? { engine: 'memory', persist: true } : { engine };
  return { ...FAST, ...which, dir, sync: 'always' };
}

const keyOf = (i: number): string => `key-${i}`;
const valueOf = (i: number): string => `value-${i}-${'x'.repeat(i % 50)}`;

/** Writes KEYS keys (each acknowledged under sync 'always'), then closes cleanly. */
async function writeAndClose(options: PaxosStoreOptions): Promise<void> {
  const store = await PaxosStore.open(options);
  try {
    for (let start = 0; start < KEYS; start += 50) {
      const puts = [];
      for (let i = start; i < Math.min(KEYS, start + 50); i++)
        puts.push(store.kv(NS).put(keyOf(i), valueOf(i)));
      await Promise.all(puts);
    }
  } finally {
    await store.close();
  }
}

/** Reopens and reads every key through `replica` (or each key's home); returns the store, open. */
async function reopenAndReadAll(
  t: ExecutionContext,
  options: PaxosStoreOptions,
  replica?: number,
): Promise<PaxosStore> {
  const store = await PaxosStore.open(options);
  t.teardown(() => store.close());
  const kv = replica === undefined ? store.kv(NS) : store.replica(replica).kv(NS);
  const wrong: string[] = [];
  for (let start = 0; start < KEYS; start += 50) {
    const reads = [];
    for (let i = start; i < Math.min(KEYS, start + 50); i++) {
      reads.push(
        kv.get(keyOf(i)).then(
          (got) =>
            got?.value.toString() === valueOf(i)
              ? undefined
              : `${keyOf(i)}: ${got?.value.toString() ?? 'absent'}`,
          (error: unknown) => `${keyOf(i)}: ${(error as { code?: string }).code ?? String(error)}`,
        ),
      );
    }
    for (const outcome of await Promise.all(reads)) if (outcome !== undefined) wrong.push(outcome);
  }
  t.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${KEYS} keys did not read back`);
  return store;
}

function groupDirs(dir: string, replicas: readonly number[]): string[] {
  const out: string[] = [];
  for (const r of replicas) {
    const root = path.join(dir, `replica-${r}`);
    for (const name of fs.readdirSync(root)) {
      const full = path.join(root, name);
      if (/^group-\d+$/.test(name) && fs.statSync(full).isDirectory()) out.push(full);
    }
  }
  return out.sort();
}

function newestDataFile(groupDir: string): string | undefined {
  const names = fs
    .readdirSync(groupDir)
    .filter((n) => /^\d+\.data$/.test(n))
    .sort();
  const newest = names[names.length - 1];
  return newest === undefined ? undefined : path.join(groupDir, newest);
}

/** 4 KiB of zeros after the end of every group's newest data file on `replicas`. */
function zeroTails(dir: string, replicas: readonly number[]): number {
  let files = 0;
  for (const group of groupDirs(dir, replicas)) {
    const file = newestDataFile(group);
    if (file === undefined) continue;
    fs.appendFileSync(file, Buffer.alloc(4096));
    files++;
  }
  return files;
}

for (const engine of ENGINES) {
  test.serial(
    `${engine}: clean close, no damage (control): all ${KEYS} keys read back`,
    async (t) => {
      const options = optionsFor(engine, tempDir(t));
      await writeAndClose(options);
      await reopenAndReadAll(t, options);
    },
  );

  test.serial(
    `${engine}: 4 KiB of zeros after the newest data file of one replica: a tear, every key reads back`,
    async (t) => {
      const dir = tempDir(t);
      const options = optionsFor(engine, dir);
      await writeAndClose(options);
      t.true(zeroTails(dir, [1]) > 0);
      // Through the torn replica itself; a tear is not damage, so no group of it became amnesic.
      const store = await reopenAndReadAll(t, options, 1);
      const stats = await store.stats();
      t.true(stats.replicasUp.every(Boolean));
      t.is(stats.replicas[1]?.amnesicAfterOpen ?? 0, 0, 'a tear must not make the replica amnesic');
    },
  );

  test.serial(
    `${engine}: zeros after the newest data file on all three replicas: a tear everywhere, every key reads back`,
    async (t) => {
      const dir = tempDir(t);
      const options = optionsFor(engine, dir);
      await writeAndClose(options);
      t.true(zeroTails(dir, REPLICAS) >= 3);
      const store = await reopenAndReadAll(t, options);
      const stats = await store.stats();
      t.deepEqual(
        stats.replicas.map((r) => r?.amnesicAfterOpen ?? 0),
        [0, 0, 0],
        'no replica became amnesic',
      );
    },
  );

  test.serial(
    `${engine}: an empty LOCK in every directory (power loss after the link): stale, every key reads back`,
    async (t) => {
      const dir = tempDir(t);
      const options = optionsFor(engine, dir);
      await writeAndClose(options);
      fs.writeFileSync(path.join(dir, 'LOCK'), '');
      for (const group of groupDirs(dir, REPLICAS)) fs.writeFileSync(path.join(group, 'LOCK'), '');
      await reopenAndReadAll(t, options);
    },
  );

  test.serial(
    `${engine}: a LOCK of a previous boot naming a live process (pid 1): stale, every key reads back`,
    async (t) => {
      const dir = tempDir(t);
      const options = optionsFor(engine, dir);
      await writeAndClose(options);
      // New format: another boot id. Old format (pid and token only): dated before this boot.
      const otherBoot = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
      const groups = groupDirs(dir, REPLICAS);
      groups.forEach((group, i) => {
        const file = path.join(group, 'LOCK');
        if (i % 2 === 0) {
          fs.writeFileSync(file, `1\n0123456789abcdef01234567\n${otherBoot}\n1\n`);
        } else {
          fs.writeFileSync(file, '1\n0123456789abcdef01234567\n');
          fs.utimesSync(file, new Date('2001-01-01'), new Date('2001-01-01'));
        }
      });
      fs.writeFileSync(path.join(dir, 'LOCK'), `1\n0123456789abcdef01234567\n${otherBoot}\n1\n`);
      await reopenAndReadAll(t, options);
    },
  );

  test.serial(
    `${engine}: 8 bytes overwritten in the middle of one replica's data file: contained, recovered from the peers`,
    async (t) => {
      const dir = tempDir(t);
      const options = optionsFor(engine, dir);
      await writeAndClose(options);
      // The largest data file of replica 1.
      const files = groupDirs(dir, [1]).flatMap((group) =>
        fs
          .readdirSync(group)
          .filter((n) => n.endsWith('.data'))
          .map((n) => path.join(group, n)),
      );
      const victim = files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
      t.truthy(victim);
      const bytes = fs.readFileSync(victim);
      const middle = bytes.length >> 1;
      for (let i = middle; i < middle + 8; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xa5;
      fs.writeFileSync(victim, bytes);
      // Every key through the damaged replica: keys of the damaged group recover from the peers.
      const store = await reopenAndReadAll(t, options, 1);
      // And through the others, whose actors share workers with the damaged group.
      for (const r of [0, 2]) {
        const got = await store.replica(r).kv(NS).get(keyOf(7));
        t.is(got?.value.toString(), valueOf(7), `replica ${r}`);
      }
      const stats = await store.stats();
      t.true(stats.replicasUp.every(Boolean));
      t.true(
        stats.replicas.every((counters) => counters !== null),
        'every actor answers its stats',
      );
      // Damage to durable bytes may have lost acknowledged promises: exactly one group is amnesic.
      t.deepEqual(
        stats.replicas.map((r) => r?.amnesicAfterOpen ?? 0),
        [0, 1, 0],
      );
      const report = await store.verify();
      t.true(
        report.replicas.every((replica) => replica.up),
        JSON.stringify(report.replicas),
      );
    },
  );
}
