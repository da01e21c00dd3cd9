/**
 * The follow of a cluster backup (`backup --config --follow`, `store.backup({ to, follow })`
 * on a connected store): one embedded follow per Set (actors/store/backup-follow.ts, each
 * reading its Set's replica-0 node), seen as one `BackupFollow`. README "Backups",
 * docs/decisions.md "Cluster follow: one follow per Set, `through` the minimum".
 *
 * Its status sums the Sets' (groups numbered `setIndex × groups + g`, as a subscription through
 * `connect` numbers them); `through` is the minimum over Sets (null while any Set has none).
 * The cluster manifest records `follow: { state, through }`: rewritten when `through` moves
 * (checked every `flushMs`) and once more after every Set's final flush, with state 'stopped'
 * (or 'paused' after stop({ keepCursor: true }): every Set kept its cursor, resumeCluster goes
 * on) and the Sets' final manifest hashes. stop() stops every Set; a Set's follow that fails stops
 * the others, and `done` rejects with its error after the final manifest is written (what
 * every Set flushed stays restorable).
 */
import type {
  BackupFollow,
  BackupFollowReport,
  FollowStopOptions,
} from '../actors/store/backup-follow';

export interface ClusterFollowState {
  /** As a Set's follow (backup-journal-format.ts): 'paused' keeps the cursors to resume. */
  readonly state: 'following' | 'paused' | 'stopped';
  readonly through: string | null;
}

/** Rewrites the cluster manifest with this follow state (serialized by the caller). */
export type WriteFollowState = (state: ClusterFollowState) => Promise<void>;

/** `through` of the whole: the minimum over Sets, null while any Set has none. */
export function minThrough(throughs: readonly (string | null)[]): string | null {
  let min: string | null = null;
  for (const t of throughs) {
    if (t === null) return null;
    if (min === null || Date.parse(t) < Date.parse(min)) min = t;
  }
  return min;
}

function combined(
  reports: readonly BackupFollowReport[],
  groupsPerSet: number,
): BackupFollowReport {
  return {
    entries: reports.reduce((n, r) => n + r.entries, 0),
    segments: reports.reduce((n, r) => n + r.segments, 0),
    bytes: reports.reduce((n, r) => n + r.bytes, 0),
    through: minThrough(reports.map((r) => r.through)),
    groups: reports.flatMap((r, set) =>
      r.groups.map((g) => ({ ...g, group: set * groupsPerSet + g.group })),
    ),
  };
}

/** Waits for every Set's follow; stops the others as soon as one fails; the first error. */
async function settleAll(follows: readonly BackupFollow[]): Promise<unknown> {
  let failure: unknown;
  await Promise.all(
    follows.map((f) =>
      f.done.catch((error: unknown) => {
        failure ??= error;
        for (const other of follows) void other.stop().catch(() => undefined);
      }),
    ),
  );
  return failure;
}

/** See the file comment. `follows` are the Sets' running follows, in route-table order. */
export function clusterFollow(
  follows: readonly BackupFollow[],
  groupsPerSet: number,
  flushMs: number,
  write: WriteFollowState,
): BackupFollow {
  const status = (): BackupFollowReport =>
    combined(
      follows.map((f) => f.status()),
      groupsPerSet,
    );
  let written: string | null = null;
  let writing: Promise<void> = Promise.resolve();
  const record = (state: ClusterFollowState['state'], through: string | null): Promise<void> => {
    writing = writing.catch(() => undefined).then(() => write({ state, through }));
    return writing;
  };
  let keepCursor = false;
  const timer = setInterval(() => {
    const { through } = status();
    if (through === written) return;
    written = through;
    record('following', through).catch(() => undefined);
  }, flushMs);
  timer.unref();
  const done = (async (): Promise<BackupFollowReport> => {
    const failure = await settleAll(follows);
    clearInterval(timer);
    const final = status();
    await record(keepCursor && failure === undefined ? 'paused' : 'stopped', final.through);
    if (failure !== undefined) throw failure;
    return final;
  })();
  done.catch(() => undefined);
  return {
    name: follows.map((f) => f.name).join(','),
    status,
    stop: async (options?: FollowStopOptions) => {
      keepCursor = options?.keepCursor === true;
      for (const f of follows) void f.stop(options).catch(() => undefined);
      return done;
    },
    done,
  };
}
