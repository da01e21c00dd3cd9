/**
 * The acknowledged history of 16 writers and a restore checked against it, key by key, for
 * the following-backup tests (backup-follow.test.ts, backup-resume.test.ts). What "at P"
 * means is in backup-follow.test.ts's header and docs/decisions.md "Backups: follow".
 */
import type { ExecutionContext } from 'ava';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import { homeReplicaOf } from '../../actors/store/routing';
import { tempDir } from './helpers';
import { Writers } from './put-writers';
import type { Put } from './put-writers';

const CLIENTS = 16;
export const KEYS = 120;
export const OPEN = {
  engine: 'bitcask',
  workers: 2,
  groups: 4,
  journal: true,
  timeoutMs: 15_000,
} as const;

/** 16 writers of keys k0..k119 through `store.kv('bk')`, recording the history. */
export function historyWriters(store: PaxosStore, puts: Put[] = []): Writers {
  return new Writers(store.kv('bk'), { clients: CLIENTS, keySpace: KEYS }, puts);
}

/** One restored key against the history at `point` (see the file comment). */
function checkKey(
  key: string,
  got: { value: string; version: number } | undefined,
  puts: readonly Put[],
  point: number,
  began: number,
): string | undefined {
  const mine = puts.filter((p) => p.key === key);
  const mustHave = mine.filter(
    (p) => p.ackedAt < began || (p.ackedAt <= point && homeReplicaOf(`bk\u0001${key}`, 3) === 0),
  );
  const floor = Math.max(0, ...mustHave.map((p) => p.version));
  const ceiling = Math.max(0, ...mine.filter((p) => p.sentAt <= point).map((p) => p.version));
  const sentBefore = mine.filter((p) => p.sentAt <= point);
  if (got === undefined)
    return floor > 0 ? `${key}: absent, version ${floor} was acked` : undefined;
  if (got.version < floor) return `${key}: version ${got.version}, ${floor} was acked before`;
  const source = sentBefore.find((p) => p.value === got.value);
  if (source === undefined) return `${key}: value ${got.value} was not sent by the point`;
  if (source.version !== -1 && source.version !== got.version)
    return `${key}: version ${got.version}, its put answered ${source.version}`;
  if (source.version !== -1 && got.version > ceiling)
    return `${key}: version ${got.version} above ${ceiling}`;
  return undefined;
}

export async function restoreAndCheck(
  t: ExecutionContext,
  from: string,
  at: number | undefined,
  puts: readonly Put[],
  began: number,
): Promise<number> {
  const dir = path.join(tempDir(t, 'pxs-restored-'), 'data');
  const report = await PaxosStore.restore({
    from,
    dir,
    workers: 1,
    ...(at === undefined ? {} : { at: new Date(at).toISOString() }),
  });
  // The tests' usual 15 s deadline (helpers.ts FAST): a cold read of the restored dir at the
  // default 2 s once went unanswered in CI at load 8–9.
  const store = await PaxosStore.open({
    engine: 'bitcask',
    dir,
    workers: 1,
    groups: 4,
    timeoutMs: 15_000,
  });
  try {
    const problems: string[] = [];
    for (let k = 0; k < KEYS; k++) {
      const key = `k${k}`;
      const s = await store.kv('bk').get(key);
      const got = s === undefined ? undefined : { value: s.value.toString(), version: s.version };
      const wrong = checkKey(key, got, puts, at ?? Infinity, began);
      if (wrong !== undefined) problems.push(wrong);
    }
    t.deepEqual(
      problems.slice(0, 10),
      [],
      `restore at ${at === undefined ? 'end' : new Date(at).toISOString()}`,
    );
    t.true((await store.verify({ repair: true })).ok);
    t.true((await store.verify()).aligned);
  } finally {
    await store.close();
  }
  return report.entries;
}
