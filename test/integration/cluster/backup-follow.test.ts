/**
 * Issue 11, hot incremental backup of a cluster (README "Backups", docs/decisions.md "Cluster
 * follow: one follow per Set, `through` the minimum"): two Sets of `serve --journal` nodes,
 * six clients write through `connect`; `paxosstore backup --config --follow` copies each Set
 * and then follows its replica-0 node's journal; writes go on; the follow is paused by SIGTERM
 * to its pid (a final flush, exit 0, cursors kept); writes go on; `backup --resume` goes on
 * without a new copy and is paused again; the backup is restored into a new cluster at a time
 * after the resume, and each key is compared with the acknowledged history:
 * - nothing acknowledged before the backup began is missing (the full copy's promise);
 * - nothing chosen after the point is present: a restored key's value is one a put sent at or
 *   before the point wrote, at the version that put answered (replica 0 applies only chosen
 *   values, and a put sent after the point cannot have been chosen by then);
 * - the journal moved the restore past the full copy (the restored versions at the later point
 *   add up to more than the puts sent before the copy ended).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../../index';
import type { RemoteStore } from '../../../client/remote-store';
import { Cluster, signalPid, sleep, spawnPaxosstore, withTimeout } from './harness';
import { Writers } from '../put-writers';
import type { Put } from '../put-writers';

const KEYS = 120;
const CLIENTS = 6;
/** Writes per client at most (a bound on the load loop). */
const WRITES_MAX = 20_000;
const SPEC = {
  engine: 'bitcask',
  sync: 'batch',
  groups: 2,
  sets: 2,
  serveArgs: ['--journal'],
} as const;

/** One restored key against the history at `point` (see the file comment). */
function checkKey(
  key: string,
  got: { value: string; version: number } | undefined,
  puts: readonly Put[],
  point: number,
  began: number,
): string | undefined {
  const mine = puts.filter((p) => p.key === key);
  const floor = Math.max(0, ...mine.filter((p) => p.ackedAt < began).map((p) => p.version));
  if (got === undefined)
    return floor > 0 ? `${key}: absent, version ${floor} was acked before the backup` : undefined;
  if (got.version < floor) return `${key}: version ${got.version}, ${floor} was acked before`;
  const source = mine.find((p) => p.value === got.value && p.sentAt <= point);
  if (source === undefined) return `${key}: value ${got.value} was not sent by the point`;
  if (source.version !== -1 && source.version !== got.version)
    return `${key}: version ${got.version}, its put answered ${source.version}`;
  return undefined;
}

/** Waits (bounded) for a follow line whose `through` reaches `at`; answers it. */
async function throughReaches(out: () => string, at: number): Promise<string | undefined> {
  for (let i = 0; i < 1_200; i++) {
    const lines = out()
      .split('\n')
      .filter((l) => l.includes('"event":"follow"'));
    for (const l of lines) {
      const through = /"through":"([^"]+)"/.exec(l)?.[1];
      if (through !== undefined && Date.parse(through) >= at) return through;
    }
    await sleep(100);
  }
  return undefined;
}

/** Sends SIGTERM and answers the `done` line of a follow (exit 0 checked). */
async function pause(
  t: import('ava').ExecutionContext,
  backup: ReturnType<typeof spawnPaxosstore>,
): Promise<{
  event?: string;
  sets?: number;
  paused?: boolean;
  follow?: { entries: number; through: string | null; groups: unknown[] };
}> {
  signalPid(backup.child, 'SIGTERM');
  const exit = await withTimeout(backup.exited, 60_000);
  t.deepEqual(exit, { code: 0, signal: null }, backup.describe());
  return JSON.parse(backup.stdout.trim().split('\n').pop() ?? '{}') as {
    event?: string;
    paused?: boolean;
    follow?: { entries: number; through: string | null; groups: unknown[] };
  };
}

test('cluster backup --follow under load, paused, resumed, restored at a later time', async (t) => {
  t.timeout(300_000);
  const old = await Cluster.start(t, SPEC);
  const store = await old.connect(15_000);
  const writers = new Writers(store.kv('bk'), {
    clients: CLIENTS,
    keySpace: KEYS,
    writesMax: WRITES_MAX,
  });
  writers.start();
  await writers.until(200);
  const began = Date.now();
  const to = path.join(old.root, 'backup');
  const backup = spawnPaxosstore(t, [
    'backup',
    '--config',
    old.configPath,
    '--to',
    to,
    '--follow',
    '--flush-ms',
    '200',
  ]);
  const firstThrough = await throughReaches(() => backup.stdout, began);
  t.truthy(firstThrough, `the follow caught up: ${backup.describe()}`);
  await writers.until(writers.acked + 300);
  const first = await pause(t, backup);
  t.is(first.event, 'done');
  t.is(first.sets, 2);
  t.true(first.paused);
  t.true((first.follow?.entries ?? 0) > 0, 'entries were shipped');
  // Written while nothing follows: each Set's kept cursor retains it for the resume.
  await writers.until(writers.acked + 300);
  const resumed = spawnPaxosstore(t, [
    'backup',
    '--config',
    old.configPath,
    '--to',
    to,
    '--resume',
    '--flush-ms',
    '200',
  ]);
  await writers.until(writers.acked + 200);
  const later = Date.now();
  await writers.until(writers.acked + 100);
  t.truthy(await throughReaches(() => resumed.stdout, later), resumed.describe());
  t.regex(resumed.stdout, /"event":"resumed"/);
  const done = await pause(t, resumed);
  await writers.stop();
  t.is(done.event, 'done');
  t.true((done.follow?.entries ?? 0) > 0, 'the resumed follow shipped entries');
  t.is(done.follow?.groups.length, 4, 'one position per group of every Set');
  const manifest = JSON.parse(fs.readFileSync(path.join(to, 'manifest.json'), 'utf8')) as {
    finishedAt: string;
    follow: { state: string; through: string | null };
  };
  t.is(manifest.follow.state, 'paused');
  t.is(manifest.follow.through, done.follow?.through ?? 'none');
  for (const set of ['set-0000', 'set-0001']) {
    const m = JSON.parse(fs.readFileSync(path.join(to, set, 'manifest.json'), 'utf8')) as {
      follow: { state: string; through: string };
    };
    t.is(m.follow.state, 'paused', set);
    t.true(Date.parse(m.follow.through) >= Date.parse(manifest.follow.through ?? ''), set);
  }
  await old.stopAll();

  // A new cluster, its data dirs built from the backup at `later`.
  const fresh = await Cluster.create(t, SPEC);
  const at = new Date(later).toISOString();
  await PaxosStore.restoreCluster({
    from: to,
    config: fresh.configPath,
    to: fresh.root,
    workers: 1,
    at,
  });
  await fresh.startAll();
  const restored = await fresh.connect(15_000);
  const problems: string[] = [];
  let versions = 0;
  for (let k = 0; k < KEYS; k++) {
    const key = `k${k}`;
    const s = await restored.kv('bk').get(key);
    const got = s === undefined ? undefined : { value: s.value.toString(), version: s.version };
    versions += got?.version ?? 0;
    const wrong = checkKey(key, got, writers.puts, later, began);
    if (wrong !== undefined) problems.push(wrong);
  }
  t.deepEqual(problems.slice(0, 10), [], `restore at ${at}`);
  // A key's version counts its chosen puts: more than were sent before the copy ended.
  const copyEnd = Date.parse(manifest.finishedAt);
  const sentByCopy = writers.puts.filter((p) => p.sentAt <= copyEnd).length;
  t.true(versions > sentByCopy, `versions ${versions}, puts sent by the copy's end ${sentByCopy}`);
  // Before the full copy ended: refused (a key copied late would show later changes), every Set
  // checked before any is written.
  await t.throwsAsync(
    PaxosStore.restoreCluster({
      from: to,
      config: fresh.configPath,
      to: path.join(fresh.root, 'early'),
      at: new Date(Date.parse(manifest.finishedAt) - 60_000).toISOString(),
    }),
    { code: 'INVALID_ARGUMENT' },
  );
  t.false(
    fs.existsSync(path.join(fresh.root, 'early', 'n1')),
    'refused before anything is written',
  );
});
