/**
 * Backups under load (README "Backups"): 32 clients write while a backup runs and after it;
 * the backup is restored into a new directory, opened as a normal store, and compared with the
 * acknowledged history key by key, on every replica.
 *
 * Replica 0 is cut off during the first half of the writes, and half of the keys are not
 * written after that, so replica 0 lists stale states of them (a backup that trusted one
 * replica, or the first state listed, would lose acknowledged writes). The guarantee checked: for every key, the restored state is the state an acknowledged put
 * left (its value and the version its ack answered), that put was not superseded before the
 * backup began (no put of the key was sent after it was acknowledged and itself acknowledged
 * before the backup began), and a key with a put acknowledged before the backup began is
 * present. Keys never written are absent.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import { PaxosStore } from '../../index';
import type { BackupProgress, BackupReport, PaxosStoreOptions } from '../../index';
import { codeOf, tempDir } from './helpers';
import { Writers } from './put-writers';
import type { Put } from './put-writers';

const CLIENTS = 32;
const KEYS = 300;

/** Checks one restored key against the history (see the file comment); undefined when right. */
function checkKey(
  key: string,
  got: { value: string; version: number } | undefined,
  puts: readonly Put[],
  began: number,
): string | undefined {
  const mine = puts.filter((p) => p.key === key);
  const ackedBefore = mine.filter((p) => p.ackedAt < began);
  if (got === undefined)
    return ackedBefore.length > 0
      ? `${key}: absent, but ${ackedBefore.length} puts were acknowledged before the backup`
      : undefined;
  const source = mine.find((p) => p.value === got.value);
  if (source === undefined) return `${key}: value ${got.value} was never written`;
  if (source.ackedAt !== Infinity && source.version !== got.version)
    return `${key}: version ${got.version}, its put answered ${source.version}`;
  const superseding = ackedBefore.find((p) => p.sentAt > source.ackedAt);
  if (superseding !== undefined)
    return `${key}: ${got.value} was superseded by ${superseding.value} before the backup began`;
  return undefined;
}

async function backupUnderLoad(
  t: ExecutionContext,
  options: PaxosStoreOptions,
  acksBefore: number,
): Promise<void> {
  const dir = tempDir(t);
  const to = tempDir(t, 'pxs-backup-');
  const restored = `${tempDir(t, 'pxs-restored-')}/data`;
  const store = await PaxosStore.open({
    ...options,
    dir,
    workers: 2,
    groups: 4,
    timeoutMs: 15_000,
  });
  // Through replica 1: replica 0 is cut off for a while (behind on many keys), and writes
  // proposed there would only wait for their timeout.
  const writers = new Writers(store.replica(1).kv('bk'), {
    clients: CLIENTS,
    keySpace: KEYS,
    clock: () => performance.now(),
  });
  let began = 0;
  let report: BackupReport | undefined;
  try {
    // Replica 0 misses the first half of the writes (see the file comment).
    store.partition([[0], [1, 2]]);
    writers.start();
    await writers.until(acksBefore / 2);
    store.heal();
    writers.keySpace = KEYS / 2; // the other half stays stale on replica 0
    await writers.until(acksBefore * 0.75);
    const before = await store.verify();
    t.true(
      before.mismatches.filter((m) => m.kind === 'behind').length >= 10,
      'replica 0 is behind on keys',
    );
    await writers.until(acksBefore);
    const progress: BackupProgress[] = [];
    began = performance.now();
    report = await store.backup({ to, onProgress: (p) => progress.push(p) });
    const ackedDuring = writers.acked;
    await writers.until(ackedDuring + 300); // keep writing after the backup
    await writers.stop();
    t.true(report.keys > 0 && report.keys <= KEYS, `backed up ${report.keys} keys`);
    t.is(report.groupsDone, 4);
    t.true(progress.length >= 4, 'progress after every page');
    t.deepEqual(progress[progress.length - 1], {
      groupsDone: 4,
      groups: 4,
      keys: report.keys,
      bytes: report.bytes,
      reads: report.reads,
    });
  } finally {
    await writers.stop();
    await store.close();
  }
  t.true(writers.acked > acksBefore);
  const restoredReport = await PaxosStore.restore({ from: to, dir: restored, workers: 2 });
  // Reopened with the default cache: a 64-key cache would evict what verify's repair read in.
  const reopenOptions: PaxosStoreOptions = { ...options };
  delete (reopenOptions as { cachedKeysMax?: number }).cachedKeysMax;
  const reopened = await PaxosStore.open({
    ...reopenOptions,
    dir: restored,
    workers: 2,
    groups: 4,
    timeoutMs: 15_000,
  });
  t.teardown(() => reopened.close());
  const problems: string[] = [];
  for (let k = 0; k < KEYS; k++) {
    const key = `k${k}`;
    const states = await Promise.all(
      [0, 1, 2].map((r) => reopened.replica(r).kv('bk').get(key, { consistency: 'local' })),
    );
    const seen = states.map((s) =>
      s === undefined ? undefined : { value: s.value.toString(), version: s.version },
    );
    if (
      JSON.stringify(seen[1]) !== JSON.stringify(seen[0]) ||
      JSON.stringify(seen[2]) !== JSON.stringify(seen[0])
    )
      problems.push(`${key}: replicas differ ${JSON.stringify(seen)}`);
    const wrong = checkKey(key, seen[0], writers.puts, began);
    if (wrong !== undefined) problems.push(wrong);
  }
  t.deepEqual(problems.slice(0, 10), []);
  t.is(await reopened.kv('bk').get('never-written'), undefined);
  // Replicas whose last install was accepted but not yet learnt as chosen read as behind after a
  // reopen (docs/decisions.md 3), never diverged; one repair aligns them.
  t.true((await reopened.verify({ repair: true })).ok);
  const verify = await reopened.verify();
  t.true(verify.aligned);
  t.true(verify.replicas.every((r) => r.keys === restoredReport.keys));
  t.log(`backup: ${JSON.stringify(report)}`);
}

test.serial(
  'bitcask: a backup under 32 writers holds every write acknowledged before it began',
  async (t) => {
    await backupUnderLoad(t, { engine: 'bitcask' }, 1500);
  },
);

// Few keys in memory: most states are listed from disk, where chosen-only changes are missing
// (docs/decisions.md 3), and keys read through a replica may be evicted before their state is fetched.
test.serial('bitcask with 64 cached keys: the same guarantee', async (t) => {
  await backupUnderLoad(t, { engine: 'bitcask', cachedKeysMax: 64 }, 1000);
});

test.serial('memory + persist: the same guarantee', async (t) => {
  await backupUnderLoad(t, { engine: 'memory', persist: true }, 600);
});

test.serial('stores a backup cannot read are refused; a non-empty target is refused', async (t) => {
  const memory = await PaxosStore.open({ engine: 'memory', workers: 1, groups: 2 });
  t.teardown(() => memory.close());
  const refused = await memory.backup({ to: tempDir(t) }).catch((e: unknown) => e);
  t.is(codeOf(refused), 'UNSUPPORTED_ENGINE');
  const dir = tempDir(t);
  const store = await PaxosStore.open({ engine: 'bitcask', dir, workers: 1, groups: 2 });
  t.teardown(() => store.close());
  const full = tempDir(t);
  await store.kv('a').put('k', 'v');
  await store.backup({ to: full });
  t.is(codeOf(await store.backup({ to: full }).catch((e: unknown) => e)), 'INVALID_ARGUMENT');
  t.is(
    codeOf(await store.backup({ to: tempDir(t), rate: -1 }).catch((e: unknown) => e)),
    'INVALID_ARGUMENT',
  );
});

// The proposer of every write is down when the backup runs: the backup lists the two others
// (a majority) and must still find every write's state. Whether they hold a last write as
// chosen or only accepted depends on message timing; the rule for the latter case is tested
// on its own in test/unit/actors/store/backup-merge.test.ts.
test.serial("a backup with the writes' proposer down holds every write", async (t) => {
  const dir = tempDir(t);
  const to = tempDir(t, 'pxs-backup-');
  const restored = `${tempDir(t, 'pxs-restored-')}/data`;
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir,
    workers: 2,
    groups: 4,
    timeoutMs: 15_000,
  });
  const kv = store.replica(1).kv('bk');
  const versions = new Map<string, number>();
  try {
    for (let k = 0; k < 40; k++) {
      await kv.put(`k${k}`, 'first');
      versions.set(`k${k}`, (await kv.put(`k${k}`, `second ${k}`)).version);
    }
    await store.replica(1).crash();
    const report = await store.backup({ to });
    t.is(report.keys, 40);
  } finally {
    await store.close();
  }
  await PaxosStore.restore({ from: to, dir: restored, workers: 2 });
  const reopened = await PaxosStore.open({
    engine: 'bitcask',
    dir: restored,
    workers: 2,
    groups: 4,
  });
  t.teardown(() => reopened.close());
  for (let k = 0; k < 40; k++) {
    const got = await reopened.kv('bk').get(`k${k}`);
    t.is(got?.value.toString(), `second ${k}`);
    t.is(got?.version, versions.get(`k${k}`));
  }
});
