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

export interface Put {
  readonly key: string;
  readonly value: string;
  readonly sentAt: number;
  ackedAt: number;
  version: number;
}

const CLIENTS = 16;
export const KEYS = 120;
export const OPEN = {
  engine: 'bitcask',
  workers: 2,
  groups: 4,
  journal: true,
  timeoutMs: 15_000,
} as const;

export class Writers {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  acked = 0;

  /** `puts` may be shared with an earlier Writers (a history across a reopen). */
  constructor(
    private readonly store: PaxosStore,
    readonly puts: Put[] = [],
  ) {}

  start(): void {
    for (let c = 0; c < CLIENTS; c++) this.loops.push(this.client(c));
  }

  private async client(c: number): Promise<void> {
    const kv = this.store.kv('bk');
    // Bounded: each client stops on request, and the caller bounds how long it waits.
    for (let seq = 0; !this.stopped && seq < 100_000; seq++) {
      const key = `k${(c * 7919 + seq * 104_729) % KEYS}`;
      const put: Put = {
        key,
        value: `${c}:${seq}:${this.puts.length}`, // unique across a reopen
        sentAt: Date.now(),
        ackedAt: Infinity,
        version: -1,
      };
      this.puts.push(put);
      try {
        const r = await kv.put(key, put.value);
        put.ackedAt = Date.now();
        put.version = r.version;
        this.acked += 1;
      } catch {
        // May or may not have applied: its value may appear, nothing else.
      }
    }
  }

  async until(acks: number): Promise<void> {
    for (let i = 0; i < 100_000 && this.acked < acks; i++)
      await new Promise((r) => setTimeout(r, 10));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
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
  const store = await PaxosStore.open({ engine: 'bitcask', dir, workers: 1, groups: 4 });
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
