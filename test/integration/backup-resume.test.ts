/**
 * Resuming a backup's follow without a new full copy (README "Backups", docs/decisions.md
 * "Resuming a backup follow"): a follow paused with `stop({ keepCursor: true })`, and a follow
 * whose store closed under it, go on with `store.resumeBackup`; what was written meanwhile is
 * shipped from the journal (the cursor kept it), and restores at the end and at a later time
 * match the acknowledged history key by key (backup-history.ts). A stopped follow, a backup
 * made without follow, and a store without a journal are refused with clear codes.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { BackupFollow } from '../../index';
import { codeOf, tempDir } from './helpers';
import { OPEN, historyWriters, restoreAndCheck } from './backup-history';

function manifestOf(dir: string): { follow?: { state: string; segments: unknown[] } } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    follow?: { state: string; segments: unknown[] };
  };
}

/** Bounded: waits until the follow's `through` reaches `point`. */
async function reach(follow: BackupFollow, point: number): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    const through = follow.status().through;
    if (through !== null && Date.parse(through) >= point) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Waits (bounded) until the follow has shipped into at least `n` segments. */
async function shippedInto(follow: BackupFollow, n: number): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (follow.status().segments >= n) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test.serial('a paused follow and one whose store closed resume under load', async (t) => {
  t.timeout(300_000);
  const to = tempDir(t, 'pxs-backup-');
  const dir = tempDir(t);
  let store = await PaxosStore.open({ ...OPEN, dir });
  let writers = historyWriters(store);
  const puts = writers.puts;
  writers.start();
  await writers.until(200);
  const began = Date.now();
  let later = 0;
  try {
    const report = await store.backup({ to, follow: true, flushMs: 100 });
    if (report.follow === undefined) return t.fail('no follow handle');
    await writers.until(writers.acked + 300);
    const paused = await report.follow.stop({ keepCursor: true });
    t.true(paused.entries > 0);
    t.is(manifestOf(to).follow?.state, 'paused');
    // Written while nothing follows: the kept cursor retains it.
    await writers.until(writers.acked + 300);
    const resumed = await store.resumeBackup({ to, flushMs: 100 });
    t.is(resumed.name, report.follow.name, 'the same cursor');
    t.is(manifestOf(to).follow?.state, 'following');
    await writers.until(writers.acked + 300);
    // A run opens its segment at its first flush: a fast store can write these 300 before the
    // resumed run flushed once, and then its segment would be missing below.
    t.true(await shippedInto(resumed, 2), 'the resumed run shipped into a segment of its own');
    // The store goes away under the follow (as a killed process would): its cursor stays.
    await writers.stop();
    await store.close();
    await t.throwsAsync(resumed.done);
    store = await PaxosStore.open({ ...OPEN, dir });
    writers = historyWriters(store, puts);
    writers.start();
    await writers.until(writers.acked + 300);
    const again = await store.resumeBackup({ to, flushMs: 100 });
    await writers.until(writers.acked + 300);
    later = Date.now();
    await writers.until(writers.acked + 200);
    t.true(await reach(again, later), 'the resumed follow caught up');
    await writers.stop();
    const end = await again.stop();
    t.true(end.entries > 0);
    const m = manifestOf(to);
    t.is(m.follow?.state, 'stopped');
    t.true((m.follow?.segments.length ?? 0) >= 3, 'each run ships into a new segment');
    const error = await t.throwsAsync(store.resumeBackup({ to }));
    t.is(codeOf(error), 'INVALID_ARGUMENT', 'a stopped follow removed its cursor');
  } finally {
    await writers.stop();
    await store.close();
  }
  const atLater = await restoreAndCheck(t, to, later, puts, began);
  const atEnd = await restoreAndCheck(t, to, undefined, puts, began);
  t.true(atEnd >= atLater && atLater > 0, `replayed ${atLater} entries at the point, ${atEnd}`);
});

test.serial('resume refuses what it cannot continue, before writing anything', async (t) => {
  const dir = tempDir(t);
  const store = await PaxosStore.open({ ...OPEN, workers: 1, dir });
  try {
    const plainTo = tempDir(t, 'pxs-backup-');
    await store.backup({ to: plainTo });
    t.is(codeOf(await t.throwsAsync(store.resumeBackup({ to: plainTo }))), 'INVALID_ARGUMENT');
    t.is(codeOf(await t.throwsAsync(store.resumeBackup({ to: tempDir(t) }))), 'CORRUPTED');
    const to = tempDir(t, 'pxs-backup-');
    const report = await store.backup({ to, follow: true, flushMs: 20 });
    for (let i = 0; i < 30; i++) await store.kv('bk').put(`k${i % 5}`, `v${i}`);
    await report.follow?.stop({ keepCursor: true });
    // A segment changed after its manifest: refused, not appended to.
    const segment = path.join(to, 'journal-000001.seg');
    const bytes = fs.readFileSync(segment);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x10;
    fs.writeFileSync(segment, bytes);
    const error = await t.throwsAsync(store.resumeBackup({ to }));
    t.is(codeOf(error), 'CORRUPTED');
    t.regex(String(error?.message), /journal-000001\.seg/);
    t.is(codeOf(await t.throwsAsync(store.resumeBackup({ to, flushMs: 1 }))), 'INVALID_ARGUMENT');
  } finally {
    await store.close();
  }
  const plain = await PaxosStore.open({ ...OPEN, journal: false, workers: 1, dir });
  try {
    const error = await t.throwsAsync(plain.resumeBackup({ to: tempDir(t) }));
    t.is(codeOf(error), 'INVALID_ARGUMENT');
    t.regex(String(error?.message), /journal/);
  } finally {
    await plain.close();
  }
});
