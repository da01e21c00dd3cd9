/**
 * `store.backup({ to })`: a full backup of an embedded store beside live traffic (README
 * "Backups", docs/decisions.md "Backups").
 *
 * Group by group, every up replica lists its keys in pages, in key order (backup-page.ts). A
 * round merges one page of each (backup-merge.ts): a key whose majority listing is conclusive
 * is written at the newest chosen state listed; a key with a write in flight (or a replica that
 * does not know its state) gets one linearizable read through a replica, and that replica's
 * state right after the read is written. Each key's state is one replica's record at one chosen
 * instance: never torn, never a mix of replicas.
 *
 * Guarantee: every write acknowledged before `backup()` was called is in the backup (that
 * write's state or a later one, per key). Writes acknowledged during the backup may or may not
 * be; the backup is not a snapshot across keys.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../runtime/assert';
import { compareKeys } from '../../engines/key-order';
import { KV_GET_QUERY } from '../../models/kv/kv';
import { ModelTag } from '../../models/model-tags';
import { tagged } from '../../models/registry';
import { actorIdOf } from '../paxos/placement';
import type { GroupPlacement } from '../paxos/placement';
import type { ClientResult } from '../paxos/core/types';
import type {
  BackupEntry,
  BackupKeysRequest,
  BackupPage,
  BackupPageRequest,
} from '../paxos/backup-page';
import { BACKUP_FORMAT, BACKUP_KIND, GroupFileWriter, writeManifest } from './backup-format';
import type { BackupGroup, BackupLayout, BackupManifest } from './backup-format';
import { decideKey, keyAfter, mergePages } from './backup-merge';
import { ErrorCodes, PaxosStoreError, checked, invalid } from './errors';
import type { RequestBody } from './request-pipeline';
import { runBounded } from './verify-install';
import type { InspectPort } from './verify';
import {
  checkBackupDir,
  checkFollowSettings,
  closeFollow,
  openFollow,
  startFollow,
} from './backup-follow';
import type { BackupFollow } from './backup-follow';
import type { FollowGroup } from './backup-journal-format';
import type { JournalSource } from './subscription';

export interface BackupProgress {
  /** Groups finished, of `groups`. */
  readonly groupsDone: number;
  readonly groups: number;
  /** Keys and bytes written so far. */
  readonly keys: number;
  readonly bytes: number;
  /** Keys that needed a linearizable read (a write in flight when listed). */
  readonly reads: number;
}

export interface BackupOptions {
  /** The backup directory: created if missing, must be empty. */
  readonly to: string;
  /**
   * Bytes per second the backup reads from the replicas (its listings of every replica; the
   * data it writes is at most a third of that with three replicas). Default: unbounded.
   */
  readonly rate?: number;
  /** Called after every page (at most a few times per MiB) and once at the end. */
  readonly onProgress?: (progress: BackupProgress) => void;
  /**
   * Keep shipping the journal's entries after the full copy (needs the `journal` option):
   * the report's `follow` handle stops it. Default false.
   */
  readonly follow?: boolean;
  /** With follow: how often entries are flushed to the backup, in ms (default 1000). */
  readonly flushMs?: number;
  /** With follow: aborting it stops the follow after a final flush (like `follow.stop()`). */
  readonly signal?: AbortSignal;
}

export interface BackupReport extends BackupProgress {
  readonly dir: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly files: number;
  /** Keys whose listed replicas held different states at one instance (verify reports them). */
  readonly diverged: number;
  /** With `follow: true`: the running follow (stop it with `stop()` or the signal). */
  readonly follow?: BackupFollow;
}

/** What the store lends a backup (PaxosStore.backup). */
export interface BackupContext {
  readonly system: InspectPort;
  readonly placement: GroupPlacement;
  readonly layout: BackupLayout;
  /** Replicas whose group actors are all running, now. */
  readonly up: () => readonly boolean[];
  readonly call: (replica: number, body: RequestBody) => Promise<ClientResult>;
  /**
   * Bytes of data one listing page carries at most (default PAGE_BYTES). A cluster backup asks
   * for smaller pages: they cross the network inside one frame (client/set-context.ts).
   */
  readonly pageBytes?: number;
  /** The serving replica's journals (replica 0), when the store keeps a journal. */
  readonly journal?: JournalSource;
}

const OPTION_NAMES = new Set(['to', 'rate', 'onProgress', 'follow', 'flushMs', 'signal']);
const PAGE_KEYS = 1024;
const PAGE_BYTES = 8 * 1024 * 1024;
/** Read-then-fetch attempts per key whose listing was not conclusive, through rotating replicas. */
const READ_ATTEMPTS = 5;
/** Rounds per group at most (a bound for the loop: every round moves past at least one key). */
const ROUNDS_MAX = Number.MAX_SAFE_INTEGER;

interface Resolved {
  readonly to: string;
  readonly rate: number | undefined;
  readonly onProgress: ((p: BackupProgress) => void) | undefined;
  readonly follow: boolean;
  readonly flushMs: number;
  readonly signal: AbortSignal | undefined;
}

function resolve(options: BackupOptions): Resolved {
  if (typeof options !== 'object' || options === null)
    throw invalid('backup options must be an object with `to`');
  for (const k of Object.keys(options))
    if (!OPTION_NAMES.has(k)) throw invalid(`unknown backup option '${k}'`);
  const { to, rate, onProgress, follow, flushMs, signal } = options;
  checkBackupDir('backup', to);
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0))
    throw invalid('backup rate must be a positive number of bytes per second');
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw invalid('backup onProgress must be a function');
  if (follow !== undefined && typeof follow !== 'boolean')
    throw invalid('backup follow must be a boolean');
  checkFollowSettings('backup', flushMs, signal);
  if (follow !== true && (flushMs !== undefined || signal !== undefined))
    throw invalid('backup flushMs and signal go with follow: true');
  return { to, rate, onProgress, follow: follow === true, flushMs: flushMs ?? 1000, signal };
}

/** Paces reads to `rate` bytes per second on average since the start. */
class Pace {
  private readonly start = Date.now();
  private total = 0;
  constructor(private readonly rate: number | undefined) {}

  async take(bytes: number): Promise<void> {
    assert(bytes >= 0, () => `pace of ${bytes} bytes`);
    if (this.rate === undefined) return;
    this.total += bytes;
    const wait = this.start + (this.total / this.rate) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
  }
}

async function prepareDir(to: string): Promise<void> {
  try {
    await fs.mkdir(to, { recursive: true });
  } catch (error) {
    throw invalid(`backup dir ${to} cannot be created: ${(error as Error).message}`);
  }
  const entries = await fs.readdir(to).catch((error: Error) => {
    throw invalid(`backup dir ${to} cannot be read: ${error.message}`);
  });
  if (entries.length > 0)
    throw invalid(
      `backup dir ${to} is not empty (${entries.length} entries); back up into a new directory`,
    );
}

/**
 * A failed backup leaves no manifest (so it can never be restored) and removes its data files,
 * so the same directory can be used again. Only files of the backup's own names are removed:
 * the directory was empty when it began.
 */
async function removePartial(to: string): Promise<void> {
  const names = await fs.readdir(to).catch(() => [] as string[]);
  for (const name of names) {
    if (/^group-\d{4}\.\d{4}\.data$/.test(name))
      await fs.rm(path.join(to, name), { force: true }).catch(() => undefined);
  }
}

/** Running totals and the listing state of one backup. */
class Run {
  keys = 0;
  bytes = 0;
  reads = 0;
  diverged = 0;
  groupsDone = 0;
  constructor(
    readonly ctx: BackupContext,
    readonly pace: Pace,
    readonly onProgress: ((p: BackupProgress) => void) | undefined,
  ) {}

  progress(): BackupProgress {
    const { groupsDone, keys, bytes, reads } = this;
    return { groupsDone, groups: this.ctx.placement.groups, keys, bytes, reads };
  }

  report(): void {
    this.onProgress?.(this.progress());
  }
}

async function inspect<T>(
  ctx: BackupContext,
  replica: number,
  group: number,
  request: BackupPageRequest | BackupKeysRequest,
): Promise<T> {
  const result = await ctx.system.inspect(actorIdOf(replica, group, ctx.placement), request);
  if (!result.ok)
    throw new PaxosStoreError(
      ErrorCodes.UNAVAILABLE,
      `replica ${replica} group ${group} cannot list for a backup: ${result.message}`,
    );
  return result.value as T;
}

function majority(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

async function write(run: Run, writer: GroupFileWriter, e: BackupEntry): Promise<void> {
  assert(!e.unsettled && e.chosen >= 1, () => `backup of an unsettled or empty state of ${e.key}`);
  run.bytes += await writer.add({ key: e.key, chosen: e.chosen, version: e.version, data: e.data });
  run.keys += 1;
}

/**
 * One page from every listing replica. A replica that fails (its group went down) or answers
 * amnesic leaves the listing for the rest of the group; fewer than a majority is UNAVAILABLE.
 */
async function listRound(
  run: Run,
  group: number,
  listing: number[],
  gte: string,
): Promise<BackupPage[]> {
  const request: BackupPageRequest = {
    kind: 'backup-page',
    gte,
    limit: PAGE_KEYS,
    bytesMax: run.ctx.pageBytes ?? PAGE_BYTES,
  };
  const answers = await Promise.all(
    listing.map((r) => inspect<BackupPage>(run.ctx, r, group, request).catch(() => undefined)),
  );
  const pages: BackupPage[] = [];
  const kept: number[] = [];
  answers.forEach((page, i) => {
    if (page === undefined || page.amnesic) return;
    pages.push(page);
    kept.push(listing[i] as number);
  });
  listing.splice(0, listing.length, ...kept);
  const needed = majority(run.ctx.placement.replicas);
  if (pages.length < needed) {
    throw new PaxosStoreError(
      ErrorCodes.UNAVAILABLE,
      `backup of group ${group}: ${pages.length} replicas can list it, a majority is ${needed}`,
    );
  }
  let bytes = 0;
  for (const p of pages) for (const e of p.entries) bytes += e.key.length + (e.data?.length ?? 0);
  await run.pace.take(bytes);
  return pages;
}

/**
 * The state of keys whose listing was not conclusive: a linearizable read through a replica
 * settles the key there (docs/decisions.md "Backups"), then that replica's state is fetched
 * from its memory. A failed read, or a key no longer held, is tried again through the next
 * replica, READ_ATTEMPTS times in all.
 */
async function settleKeys(
  run: Run,
  group: number,
  listing: readonly number[],
  keys: readonly string[],
): Promise<BackupEntry[]> {
  const out: BackupEntry[] = [];
  let pending = keys.slice();
  const query = tagged(ModelTag.kv, KV_GET_QUERY);
  for (let attempt = 0; attempt < READ_ATTEMPTS && pending.length > 0; attempt++) {
    const through = new Map<number, string[]>();
    await runBounded(
      pending.map((key, i) => ({
        key,
        replica: listing[(i + attempt) % listing.length] as number,
      })),
      async ({ key, replica }) => {
        // A key of another model answers WRONG_MODEL as a result: the read round has run all the same.
        const res = await run.ctx
          .call(replica, { kind: 'read', key, query, consistency: 'linearizable' })
          .catch(() => undefined);
        if (res?.ok === true) through.set(replica, [...(through.get(replica) ?? []), key]);
      },
    );
    run.reads += pending.length;
    const settled = new Set<string>();
    for (const [replica, read] of through) {
      const states = await inspect<BackupEntry[]>(run.ctx, replica, group, {
        kind: 'backup-keys',
        keys: read,
      }).catch(() => []);
      for (const s of states) {
        if (s.unsettled) continue;
        settled.add(s.key);
        out.push(s);
      }
    }
    pending = pending.filter((k) => !settled.has(k));
  }
  if (pending.length > 0) {
    throw new PaxosStoreError(
      ErrorCodes.UNAVAILABLE,
      `backup of group ${group}: ${pending.length} keys could not be read through a majority (first: ${JSON.stringify(pending[0])})`,
    );
  }
  return out;
}

async function backupGroup(run: Run, group: number, writer: GroupFileWriter): Promise<BackupGroup> {
  const listing = run.ctx.up().flatMap((isUp, r) => (isUp ? [r] : []));
  let gte = '';
  for (let round = 0; round < ROUNDS_MAX; round++) {
    const merged = mergePages(await listRound(run, group, listing, gte));
    const unsure: string[] = [];
    for (const row of merged.rows) {
      const d = decideKey(row.states, run.ctx.placement.replicas);
      if (d.kind === 'take') {
        await write(run, writer, d.entry);
        if (d.diverged) run.diverged += 1;
      } else if (d.kind === 'read') unsure.push(row.key);
    }
    for (const e of unsure.length > 0 ? await settleKeys(run, group, listing, unsure) : []) {
      if (e.chosen >= 1 && !(e.data === null && e.version === 0)) await write(run, writer, e);
    }
    run.report();
    if (merged.through === undefined) break;
    // Pages list keys at or after gte, so each round moves the start strictly forward.
    assert(
      compareKeys(merged.through, gte) >= 0,
      () => `backup round ended at ${merged.through} before its start`,
    );
    gte = keyAfter(merged.through);
  }
  return writer.finish();
}

/** The full copy of every group into `o.to` (data files; no manifest yet). */
async function copyGroups(
  ctx: BackupContext,
  run: Run,
  to: string,
): Promise<{ groups: BackupGroup[]; files: BackupManifest['files'] }> {
  const groups: BackupGroup[] = [];
  const files: BackupManifest['files'] = [];
  for (let group = 0; group < ctx.placement.groups; group++) {
    const writer = new GroupFileWriter(to, group);
    try {
      groups.push(await backupGroup(run, group, writer));
    } catch (error) {
      await writer.abandon();
      await removePartial(to);
      throw error;
    }
    files.push(...writer.files);
    run.groupsDone += 1;
  }
  return { groups, files };
}

/** A follow's cursors, registered before the full copy (docs/decisions.md "Backups: follow"). */
async function beginFollow(
  ctx: BackupContext,
  o: Resolved,
): Promise<{ source: JournalSource; name: string; groups: FollowGroup[] } | undefined> {
  if (!o.follow) return undefined;
  const source = ctx.journal;
  if (source === undefined)
    throw invalid(
      'backup follow needs a store that keeps a journal: open it with `journal: true` (a durable engine)',
    );
  const name = `backup:${randomBytes(6).toString('hex')}`;
  return { source, name, groups: await openFollow(source, name) };
}

/** A full backup into `options.to` (see the file comment); the manifest is written last. */
export async function runBackup(ctx: BackupContext, options: BackupOptions): Promise<BackupReport> {
  const o = checked('backup', () => resolve(options));
  const startedAt = new Date().toISOString();
  await prepareDir(o.to);
  const run = new Run(ctx, new Pace(o.rate), o.onProgress);
  const following = await beginFollow(ctx, o);
  let copied: Awaited<ReturnType<typeof copyGroups>>;
  try {
    copied = await copyGroups(ctx, run, o.to);
  } catch (error) {
    if (following !== undefined) await closeFollow(following.source, following.name);
    throw error;
  }
  const { groups, files } = copied;
  const finishedAt = new Date().toISOString();
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    kind: BACKUP_KIND,
    startedAt,
    finishedAt,
    layout: ctx.layout,
    groups,
    files,
  };
  const follow =
    following === undefined
      ? undefined
      : {
          name: following.name,
          replica: 0,
          groups: following.groups,
          segments: [],
          through: null,
          state: 'following' as const,
        };
  await writeManifest(o.to, follow === undefined ? manifest : { ...manifest, follow });
  run.report();
  const handle =
    following === undefined || follow === undefined
      ? undefined
      : startFollow(o.to, following.source, manifest, follow, o);
  return {
    ...run.progress(),
    dir: path.resolve(o.to),
    startedAt,
    finishedAt,
    files: files.length,
    diverged: run.diverged,
    ...(handle === undefined ? {} : { follow: handle }),
  };
}
