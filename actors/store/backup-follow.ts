/**
 * `store.backup({ to, follow: true })`: after the full copy, keeps shipping the serving
 * replica's journal entries into segment files (backup-journal-format.ts), so the backup trails
 * the live store by about `flushMs` (README "Backups", docs/decisions.md "Backups: follow and
 * point-in-time restore").
 *
 * The follow registers a named cursor (`backup:<id>`) in every group's journal BEFORE the full
 * copy begins (openFollow), so retention keeps every entry from there and the copy and the
 * entries join without a gap; restore replays entries idempotently by version.
 *
 * Each flush: append the new frames to the current segment, fsync it, rewrite the manifest
 * (segment sizes and SHA-256s, each group's shipped seq and time, `through`), and only then
 * acknowledge the entries in the journal. A crash or kill at any point leaves a backup that is
 * valid up to its manifest; entries past it were not acknowledged and are still retained.
 *
 * A follow that was killed, lost its store, or was paused (`stop({ keepCursor: true })`) resumes
 * with resumeFollow: its cursor kept the entries after the last acknowledgement, the manifest
 * says what was shipped, and shipping goes on into a new segment. A stopped follow removed its
 * cursor and cannot resume (docs/decisions.md "Resuming a backup follow").
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../runtime/assert';
import type { JournalAnswer, JournalPage, JournalRange } from '../paxos/journal-page';
import { journalFailure } from './subscription';
import type { JournalSource } from './subscription';
import { writeManifest } from './backup-format';
import type { BackupFile, BackupManifest } from './backup-format';
import {
  SEGMENTS_MAX,
  SEGMENT_BYTES_MAX,
  encodeShipped,
  segmentHeader,
  segmentName,
} from './backup-journal-format';
import type { FollowGroup, FollowManifest } from './backup-journal-format';
import { ErrorCodes, PaxosStoreError, invalid } from './errors';

export interface BackupFollowReport {
  /** Entries shipped, segment files, bytes of frames. */
  readonly entries: number;
  readonly segments: number;
  readonly bytes: number;
  /** The latest point a restore can reach (ISO time), or null before the first catch-up. */
  readonly through: string | null;
  readonly groups: readonly FollowGroup[];
}

export interface FollowStopOptions {
  /**
   * Keep the follow's cursor in the journal (the manifest says 'paused'), so that
   * `resumeBackup` can go on later without a new full copy. The cursor holds the journal's
   * retention meanwhile (within its bounds: past them a resume answers SUBSCRIPTION_EXPIRED).
   * Default false: the cursor is removed and the follow is 'stopped' for good.
   */
  readonly keepCursor?: boolean;
}

/** The running follow of a backup. */
export interface BackupFollow {
  /** Its subscriber name in the journal (`backup:<id>`). */
  readonly name: string;
  /** Where it stands now (what the manifest records). */
  status(): BackupFollowReport;
  /** Ships what the journal holds now (bounded), writes a final flush, and ends. */
  stop(options?: FollowStopOptions): Promise<BackupFollowReport>;
  /** Settles when the follow ends: after stop(), or rejects when it failed (CLOSED, ...). */
  readonly done: Promise<BackupFollowReport>;
}

export interface FollowSettings {
  readonly flushMs: number;
  readonly signal: AbortSignal | undefined;
}

/** Checks a backup directory argument; `what` names the call in the message. */
export function checkBackupDir(what: string, to: unknown): asserts to is string {
  if (typeof to !== 'string' || to.length === 0 || to.length > 4096 || to.includes('\u0000'))
    throw invalid(`${what} \`to\` must be a directory path`);
}

/** Checks a follow's `flushMs` and `signal` arguments; `what` names the call in the message. */
export function checkFollowSettings(what: string, flushMs: unknown, signal: unknown): void {
  if (
    flushMs !== undefined &&
    (typeof flushMs !== 'number' || !Number.isInteger(flushMs) || flushMs < 10 || flushMs > 600_000)
  )
    throw invalid(`${what} flushMs must be an integer number of ms in 10..600000`);
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalid(`${what} signal must be an AbortSignal`);
}

/** Entries asked of each group per round, and bytes. */
const PAGE_ENTRIES = 1024;
const PAGE_BYTES = 1024 * 1024;
/** Frames buffered before a flush is forced. */
const PENDING_BYTES_MAX = 16 * 1024 * 1024;
const PENDING_ENTRIES_MAX = 65_536;
/** Idle wait between rounds that found nothing. */
const POLL_MS = 50;
/** Rounds the final drain takes at most (under endless load it stops there). */
const DRAIN_ROUNDS_MAX = 1000;
/** journal-open attempts while a group is still loading (100 ms apart). */
const OPEN_ATTEMPTS_MAX = 100;
/**
 * An entry's time is taken when the replica stages it, and it is readable once its batch is
 * durable: `through` stays this far behind the round that found a group caught up.
 */
export const THROUGH_SLACK_MS = 1000;

function failure(a: Exclude<JournalAnswer, { ok: true }>, group: number): PaxosStoreError {
  return journalFailure(a, `backup follow, group ${group}: `);
}

/** Opens `name` in one group's journal, waiting out a group that is still loading (bounded). */
export async function openCursor(
  source: JournalSource,
  group: number,
  name: string,
  from: 'now' | 'existing',
): Promise<JournalRange> {
  for (let attempt = 0; ; attempt++) {
    const answer = await source
      .ask(group, { kind: 'journal-open', name, from })
      .catch((error: unknown) => error);
    if (typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok)
      return answer as JournalRange;
    const a = answer as JournalAnswer | Error;
    if (a instanceof Error && (source.closed || attempt >= OPEN_ATTEMPTS_MAX)) throw a;
    // A refusal through the network (a node without `serve --journal`) is not waited out.
    if (a instanceof PaxosStoreError && a.code !== ErrorCodes.UNAVAILABLE) throw a;
    if (
      !(a instanceof Error) &&
      !a.ok &&
      (a.code !== 'UNAVAILABLE' || attempt >= OPEN_ATTEMPTS_MAX)
    )
      throw failure(a, group);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Registers `name` at the head of every group's journal; answers where each group starts. */
export async function openFollow(source: JournalSource, name: string): Promise<FollowGroup[]> {
  const out: FollowGroup[] = [];
  for (let group = 0; group < source.groups; group++) {
    const r = await openCursor(source, group, name, 'now');
    out.push({ group, epoch: r.epoch, startSeq: r.acked + 1, shippedSeq: r.acked, shippedTime: 0 });
  }
  assert(out.length === source.groups, 'a follow position per group');
  return out;
}

/** Removes the follow's cursors (best effort: retention's bounds cover a cursor left behind). */
export async function closeFollow(source: JournalSource, name: string): Promise<void> {
  for (let group = 0; group < source.groups && !source.closed; group++)
    await source.ask(group, { kind: 'journal-remove', name }).catch(() => undefined);
}

interface Segment {
  readonly handle: fs.FileHandle;
  readonly hash: Hash;
  readonly name: string;
  bytes: number;
}

interface Cursor {
  readonly epoch: number;
  next: number;
  time: number;
  /** Start of the latest round that read this group to its durable head (0: none yet). */
  caughtUpAt: number;
}

/** The follow loop of one backup (see the file comment). */
class FollowLoop {
  private readonly cursors: Cursor[];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private segment: Segment | undefined;
  private readonly segments: BackupFile[];
  private flushed: FollowGroup[];
  private through: number | null;
  private lastFlush = Date.now();
  private stopping = false;
  private keepCursor = false;
  private wake: (() => void) | undefined;
  entries = 0;
  bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly source: JournalSource,
    private readonly base: BackupManifest,
    private readonly follow: FollowManifest,
    private readonly settings: FollowSettings,
  ) {
    this.flushed = follow.groups.map((g) => ({ ...g }));
    // A resumed follow keeps what its manifest lists and ships into a new segment after them.
    this.segments = follow.segments.slice();
    this.through = follow.through === null ? null : Date.parse(follow.through);
    this.cursors = follow.groups.map((g) => ({
      epoch: g.epoch,
      next: g.shippedSeq + 1,
      time: g.shippedTime,
      caughtUpAt: 0,
    }));
  }

  report(): BackupFollowReport {
    return {
      entries: this.entries,
      segments: this.segments.length,
      bytes: this.bytes,
      through: this.through === null ? null : new Date(this.through).toISOString(),
      groups: this.flushed.map((g) => ({ ...g })),
    };
  }

  requestStop(options: FollowStopOptions = {}): void {
    if (!this.stopping) this.keepCursor = options.keepCursor === true;
    this.stopping = true;
    this.wake?.();
  }

  async run(): Promise<BackupFollowReport> {
    try {
      // Bounded by stop(), an abort, the store closing or a failure: each round reads or waits.
      while (!this.stopping) {
        const got = await this.round();
        if (this.flushDue()) await this.flush('following');
        if (got === 0 && !this.stopping) await this.idle();
      }
      for (let r = 0; r < DRAIN_ROUNDS_MAX; r++) {
        const got = await this.round();
        if (this.pendingBytes >= PENDING_BYTES_MAX) await this.flush('following');
        if (got === 0) break;
      }
      await this.flush(this.keepCursor ? 'paused' : 'stopped');
      return this.report();
    } catch (error) {
      this.keepCursor = false;
      throw error;
    } finally {
      await this.segment?.handle.close().catch(() => undefined);
      if (!this.keepCursor) await closeFollow(this.source, this.follow.name);
    }
  }

  private flushDue(): boolean {
    if (this.pendingBytes >= PENDING_BYTES_MAX || this.pending.length >= PENDING_ENTRIES_MAX)
      return true;
    return Date.now() - this.lastFlush >= this.settings.flushMs;
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One page of every group; answers the entries taken. */
  private async round(): Promise<number> {
    const started = Date.now();
    const answers = await Promise.all(
      this.cursors.map((c, g) =>
        this.source
          .ask(g, {
            kind: 'journal-read',
            epoch: c.epoch,
            from: c.next,
            limit: PAGE_ENTRIES,
            bytesMax: PAGE_BYTES,
          })
          .catch((error: unknown) => error),
      ),
    );
    let got = 0;
    answers.forEach((answer, g) => {
      if (answer instanceof Error || typeof answer !== 'object' || answer === null) {
        if (this.source.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
        return; // The group is restarting: asked again next round.
      }
      const a = answer as JournalAnswer;
      if (!a.ok) {
        if (a.code === 'UNAVAILABLE') return;
        throw failure(a, g);
      }
      got += this.take(g, a as JournalPage, started);
    });
    return got;
  }

  private take(group: number, page: JournalPage, started: number): number {
    const c = this.cursors[group];
    assert(c !== undefined, () => `no follow cursor for group ${group}`);
    if (page.epoch !== c.epoch)
      throw new PaxosStoreError(
        ErrorCodes.SUBSCRIPTION_EXPIRED,
        `backup follow, group ${group}: the journal started over (epoch ${page.epoch}, followed ${c.epoch})`,
      );
    for (const r of page.entries) {
      // An answer is input: a gap or a repeat is never shipped.
      if (r.seq !== c.next)
        throw new PaxosStoreError(
          ErrorCodes.CORRUPTED,
          `backup follow, group ${group}: the journal answered entry ${r.seq} where ${c.next} was due`,
        );
      const frame = encodeShipped({ group, ...r });
      this.pending.push(frame);
      this.pendingBytes += frame.length;
      c.next += 1;
      c.time = r.time;
    }
    if (c.next > page.head) c.caughtUpAt = started;
    return page.entries.length;
  }

  /** See the file comment: segment, fsync, manifest, then acks. */
  private async flush(state: FollowManifest['state']): Promise<void> {
    const written = await this.writePending();
    const caughtUp = Math.min(...this.cursors.map((c) => c.caughtUpAt));
    const finishedAt = Date.parse(this.base.finishedAt);
    const through =
      caughtUp > 0 && caughtUp - THROUGH_SLACK_MS >= finishedAt
        ? Math.max(this.through ?? 0, caughtUp - THROUGH_SLACK_MS)
        : this.through;
    this.lastFlush = Date.now();
    // Nothing new to record (an idle store): no manifest rewrite.
    if (written.entries === 0 && through === this.through && state === 'following') return;
    const moved = this.cursors.flatMap((c, g) => {
      const before = this.flushed[g];
      assert(before !== undefined, () => `no flushed position for group ${g}`);
      return c.next - 1 > before.shippedSeq ? [g] : [];
    });
    const groups = this.flushed.map((g, i) => {
      const c = this.cursors[i] as Cursor;
      return { ...g, shippedSeq: c.next - 1, shippedTime: c.time };
    });
    const follow: FollowManifest = {
      ...this.follow,
      groups,
      segments: this.segments.slice(),
      through: through === null ? null : new Date(through).toISOString(),
      state,
    };
    await writeManifest(this.dir, { ...this.base, follow });
    // status() tells what the manifest records, never more.
    this.flushed = groups;
    this.through = through;
    this.entries += written.entries;
    this.bytes += written.bytes;
    for (const g of moved) await this.ack(g);
  }

  private async ack(group: number): Promise<void> {
    const f = this.flushed[group];
    assert(f !== undefined, () => `ack of group ${group}`);
    const answer = await this.source
      .ask(group, {
        kind: 'journal-ack',
        name: this.follow.name,
        epoch: f.epoch,
        seq: f.shippedSeq,
      })
      .catch((error: unknown) => error);
    // A group restarting is acknowledged at the next flush (acks only move forward).
    if (answer instanceof Error || typeof answer !== 'object' || answer === null) return;
    const a = answer as JournalAnswer;
    if (!a.ok && a.code !== 'UNAVAILABLE') throw failure(a, group);
  }

  private async writePending(): Promise<{ entries: number; bytes: number }> {
    if (this.pending.length === 0) return { entries: 0, bytes: 0 };
    if (this.segment === undefined || this.segment.bytes >= SEGMENT_BYTES_MAX)
      await this.nextSegment();
    const s = this.segment;
    assert(s !== undefined, 'a segment to write to');
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    const entries = this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    await s.handle.write(chunk);
    await s.handle.sync();
    s.hash.update(chunk);
    s.bytes += chunk.length;
    this.segments[this.segments.length - 1] = {
      name: s.name,
      bytes: s.bytes,
      sha256: s.hash.copy().digest('hex'),
    };
    return { entries, bytes: chunk.length };
  }

  private async nextSegment(): Promise<void> {
    await this.segment?.handle.close();
    const n = this.segments.length + 1;
    if (n > SEGMENTS_MAX)
      throw new PaxosStoreError(
        ErrorCodes.LIMIT_EXCEEDED,
        `backup follow reached ${SEGMENTS_MAX} segments: start a new backup`,
      );
    const name = segmentName(n);
    const handle = await fs.open(path.join(this.dir, name), 'wx');
    const header = segmentHeader(n);
    await handle.write(header);
    const hash = createHash('sha256').update(header);
    this.segment = { handle, hash, name, bytes: header.length };
    this.segments.push({ name, bytes: header.length, sha256: hash.copy().digest('hex') });
    // The new file's name must survive a crash before the manifest lists it.
    const dirHandle = await fs.open(this.dir, 'r').catch(() => undefined);
    await dirHandle?.sync().catch(() => undefined);
    await dirHandle?.close();
  }
}

/**
 * Starts following (after the full copy wrote `base` with `follow`): the first flush comes
 * within `flushMs`. The returned handle stops it; an abort of `settings.signal` does too.
 */
export function startFollow(
  dir: string,
  source: JournalSource,
  base: BackupManifest,
  follow: FollowManifest,
  settings: FollowSettings,
): BackupFollow {
  const loop = new FollowLoop(dir, source, base, follow, settings);
  const done = loop.run();
  // Its failure is the caller's to see through `done` or stop(), not an unhandled rejection.
  done.catch(() => undefined);
  const stop = (options?: FollowStopOptions): Promise<BackupFollowReport> => {
    loop.requestStop(options);
    return done;
  };
  if (settings.signal !== undefined) {
    if (settings.signal.aborted) loop.requestStop();
    else settings.signal.addEventListener('abort', () => loop.requestStop(), { once: true });
  }
  return { name: follow.name, status: () => loop.report(), stop, done };
}
