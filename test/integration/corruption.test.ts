/**
 * Integrity (DESIGN.md §6, issue #3): bit flips injected into the data files of replicas on
 * disk. A flipped record is detected (its CRC), never served, reported by store.verify(), and
 * repaired from the other replicas; flips of the same key on two of three replicas make reads
 * of that key fail with a clear error, and nothing wrong is returned.
 *
 * The lsm engine keeps recent writes in its log; a close and reopen moves them into a table
 * file (.ldb), where the value bytes are stored literally when they do not compress (random
 * bytes), so the test can find and flip them.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions } from '../../index';
import { FAST, settleCode, tempDir } from './helpers';

const VALUE_BYTES = 4096;

/** Flips one bit in every occurrence of `needle` in the replica's files; returns the count. */
function flipIn(dir: string, replica: number, needle: Buffer): number {
  let flipped = 0;
  const root = path.join(dir, `replica-${replica}`);
  const files = fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile());
  for (const entry of files) {
    const file = path.join(entry.parentPath, entry.name);
    const bytes = fs.readFileSync(file);
    for (
      let at = bytes.indexOf(needle);
      at >= 0 && flipped < 100;
      at = bytes.indexOf(needle, at + 1)
    ) {
      const mid = at + (needle.length >> 1);
      bytes[mid] = (bytes[mid] ?? 0) ^ 0x10;
      flipped += 1;
    }
    if (flipped > 0) fs.writeFileSync(file, bytes);
  }
  return flipped;
}

/** Writes the victim and some neighbours, reads them through every replica, then closes and reopens once so the data reaches table files. */
async function prepare(options: PaxosStoreOptions, victim: Buffer): Promise<void> {
  const first = await PaxosStore.open(options);
  try {
    await first.kv('data').put('victim', victim);
    for (let i = 0; i < 20; i++) await first.kv('data').put(`other-${i}`, `value-${i}`);
    for (let r = 0; r < 3; r++) await first.replica(r).kv('data').get('victim');
  } finally {
    await first.close();
  }
  const second = await PaxosStore.open(options);
  await second.close();
}

test.serial(
  'lsm: a bit flip on one replica is detected, reported, never served, and repaired from the others',
  async (t) => {
    const dir = tempDir(t);
    const options: PaxosStoreOptions = { ...FAST, engine: 'lsm', dir };
    const victim = randomBytes(VALUE_BYTES);
    await prepare(options, victim);
    const needle = victim.subarray(1000, 1064);
    t.true(flipIn(dir, 1, needle) >= 1, 'the value was found on replica 1');

    const store = await PaxosStore.open(options);
    t.teardown(() => store.close());
    const before = await store.verify();
    const corrupted = before.mismatches.filter((m) => m.kind === 'corrupted');
    t.deepEqual(
      corrupted.map((m) => m.where),
      [{ model: 'kv', namespace: 'data', key: 'victim' }],
      'verify names the key',
    );
    t.false(before.ok);
    t.is(before.replicas[1]?.corrupted, 1);
    // Every replica, the damaged one included, serves the right bytes.
    for (let r = 0; r < 3; r++) {
      const got = await store.replica(r).kv('data').get('victim');
      t.true(got?.value.equals(victim) === true, `replica ${r} serves the original bytes`);
    }
    t.deepEqual(await store.replica(1).kv('data').get('other-3'), {
      value: Buffer.from('value-3'),
      version: 1,
    });
    // The repaired record was written back: the damage is gone from the report, and writes go on.
    const after = await store.verify();
    t.true(after.ok, JSON.stringify(after.mismatches.slice(0, 3)));
    t.is(after.replicas[1]?.corrupted, 0);
    t.deepEqual(await store.replica(1).kv('data').put('victim', 'new'), { version: 2 });
  },
);

test.serial(
  'lsm: the same key flipped on two of three replicas: reads fail with a clear error, nothing wrong is returned',
  async (t) => {
    const dir = tempDir(t);
    const options: PaxosStoreOptions = { ...FAST, engine: 'lsm', dir, timeoutMs: 3000 };
    const victim = randomBytes(VALUE_BYTES);
    await prepare(options, victim);
    const needle = victim.subarray(2000, 2064);
    t.true(flipIn(dir, 0, needle) >= 1, 'found on replica 0');
    t.true(flipIn(dir, 2, needle) >= 1, 'found on replica 2');

    const store = await PaxosStore.open(options);
    t.teardown(() => store.close());
    for (let r = 0; r < 3; r++) {
      const outcome = await store
        .replica(r)
        .kv('data')
        .get('victim')
        .then(
          (got) => (got?.value.equals(victim) === true ? 'RIGHT' : 'WRONG'),
          (error: unknown) => (error as { code?: string }).code,
        );
      t.true(outcome === 'UNAVAILABLE' || outcome === 'RIGHT', `replica ${r}: ${String(outcome)}`);
      t.not(outcome, 'WRONG');
    }
    t.is(
      await settleCode(store.replica(0).kv('data').get('victim')),
      'UNAVAILABLE',
      'the damaged replica cannot recover alone',
    );
    // Keys without damage are unaffected.
    for (let r = 0; r < 3; r++) {
      t.deepEqual(
        await store.replica(r).kv('data').get('other-7'),
        { value: Buffer.from('value-7'), version: 1 },
        `replica ${r}`,
      );
    }
    // The damage stays visible until it can be repaired: both records are still reported.
    const report = await store.verify();
    t.false(report.ok);
    t.deepEqual(
      report.replicas.map((r) => r.corrupted),
      [1, 0, 1],
    );
    t.deepEqual(
      report.mismatches.filter((m) => m.kind === 'corrupted').map((m) => m.where.key),
      ['victim', 'victim'],
    );
  },
);
