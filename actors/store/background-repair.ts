/**
 * The background repair scan (issue 11 "Background repair", docs/decisions.md 27): what
 * `store.verify({ repair: true })` does, run by the store itself every `repair.intervalMs`,
 * group by group, at a bounded rate and out of the way of foreground requests.
 *
 * A round, per group: compare the up replicas' bucket digests and list the keys of differing
 * buckets (verify.ts scanGroup); then repair what was found in batches of at most
 * REPAIR_BATCH_KEYS_MAX keys — a linearizable read through each replica that is behind on a
 * key or holds a corrupted record of it (it catches up, or recovers the key from a majority),
 * an install write for a diverged key (verify-install.ts) — pacing each batch by a token
 * bucket (repair-pacing.ts) and pausing while the store has many requests in flight (a few
 * pauses, then one batch anyway: a store that is always busy is still repaired, slowly). Each
 * replica's digest scan paces itself on its worker (actors/paxos/scan-pacing.ts).
 *
 * Nothing here decides anything about Paxos: every repair is a client read or write through
 * the data path, so the safety arguments are those of verify (decision 17) and of reads.
 * Findings are counted in `stats().repair` and reported to `repair.onRound` (the store has no
 * logger; a host that has one logs there).
 */
import { assert } from '../../runtime/assert';
import { clearAmnesiaIfRebuilt } from './amnesia-rebuild';
import type { RepairRoundReport, ResolvedRepair } from './repair-options';
import {
  INSTALL_TOKENS,
  batchKeysFor,
  batchStep,
  batchesOf,
  charge,
  newPacer,
  roundStart,
  waitMsFor,
} from './repair-pacing';
import type { PacerState } from './repair-pacing';
import { digestGroup, repairTargets, scanGroup } from './verify';
import { DIGEST_BUCKETS_MAX } from '../paxos/replica-digest';
import type { GroupScan, VerifyContext, VerifyMismatch } from './verify';
import { installAll, readOnce, runBounded } from './verify-install';
import type { RepairTally } from './verify-install';

/** Pauses in a row between two batches while the store is busy, before one batch goes anyway. */
const BUSY_PAUSES_MAX = 20;
const BUSY_PAUSE_MS = 50;
/**
 * Buckets per group a round compares (verify's default is 64). Under writes the replicas' cuts
 * differ by the keys written between them and the keys in flight: with 64 buckets nearly every
 * bucket of a group differed, and round 2 listed nearly every key. With 4096 the keys in
 * flight (a few hundred) touch a few hundred buckets, and round 2 lists those buckets' keys.
 */
export const REPAIR_BUCKETS = DIGEST_BUCKETS_MAX;

/** What the store lends the repair: its current view of the replicas, and its load. */
export interface RepairHost {
  /**
   * The context of one group's comparison, taken now: up replicas are those whose group actors
   * all run (as for verify). Undefined once the store is closing.
   */
  context(): VerifyContext | undefined;
  /** Foreground requests in flight (the store's pipeline). */
  inFlight(): number;
  /**
   * Optional: each group's comparison as it completes (a cluster node derives its status's
   * "groups behind" and its progress from it, server/node-repair.ts).
   */
  onGroupScanned?(group: number, scan: GroupScan): void;
}

/** `stats().repair`: totals since open, and the last round. */
export interface RepairStats {
  readonly enabled: boolean;
  readonly running: boolean;
  readonly rounds: number;
  /** Pauses between two batches of repairs because the store was busy. */
  readonly busyPauses: number;
  readonly keysChecked: number;
  readonly behind: number;
  readonly diverged: number;
  readonly corrupted: number;
  readonly repaired: number;
  readonly installed: number;
  readonly repairFailed: number;
  /** Amnesia markers cleared after a full rebuild of their group. */
  readonly amnesiaCleared: number;
  /** When the last round ended (ms since the epoch), or null. */
  readonly lastRoundAt: number | null;
  readonly lastRound: RepairRoundReport | null;
}

interface Totals {
  rounds: number;
  busyPauses: number;
  keysChecked: number;
  behind: number;
  diverged: number;
  corrupted: number;
  repaired: number;
  installed: number;
  repairFailed: number;
  amnesiaCleared: number;
}

/** One round's running counts. */
interface RoundTally extends RepairTally {
  groupsScanned: number;
  groupsFailed: number;
  keysChecked: number;
  behind: number;
  diverged: number;
  corrupted: number;
  truncated: boolean;
  cleared: { replica: number; group: number }[];
}

type GroupOutcome = 'done' | 'stopped';

export class BackgroundRepair {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;
  private wakeSleeper: (() => void) | undefined;
  private pacer: PacerState;
  private lastEndMs: number;
  private lastRound: RepairRoundReport | null = null;
  private readonly totals: Totals = {
    rounds: 0,
    busyPauses: 0,
    keysChecked: 0,
    behind: 0,
    diverged: 0,
    corrupted: 0,
    repaired: 0,
    installed: 0,
    repairFailed: 0,
    amnesiaCleared: 0,
  };

  constructor(
    private readonly settings: ResolvedRepair,
    private readonly host: RepairHost,
  ) {
    assert(settings.intervalMs > 0 && settings.keysPerSecond > 0, 'repair settings unchecked');
    this.pacer = newPacer(Date.now(), settings.keysPerSecond);
    this.lastEndMs = Date.now();
  }

  /** Schedules the first round an interval from now (nothing when disabled). */
  start(): void {
    assert(this.timer === undefined && !this.stopped, 'background repair started twice');
    if (!this.settings.enabled) return;
    this.lastEndMs = Date.now();
    this.schedule(this.settings.intervalMs);
  }

  /** No new round; waits for the running one to notice (it stops between two steps). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeSleeper?.();
    await this.current?.catch(() => undefined);
  }

  stats(): RepairStats {
    return {
      enabled: this.settings.enabled,
      running: this.current !== undefined,
      ...this.totals,
      lastRoundAt: this.lastRound?.endedAt ?? null,
      lastRound: this.lastRound,
    };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    assert(this.timer === undefined, 'two repair timers');
    // Unref'd: a store left open does not keep the process alive for its repair alone.
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, delayMs));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = Date.now();
    const start = roundStart(now, this.lastEndMs, this.settings.intervalMs);
    if (start === 'wait') return this.schedule(this.lastEndMs + this.settings.intervalMs - now);
    this.current = this.runRound()
      .catch(() => undefined) // a round's failures are counted inside; never an unhandled rejection
      .finally(() => {
        this.current = undefined;
        this.lastEndMs = Date.now();
        this.schedule(this.settings.intervalMs);
      });
  }

  private async runRound(): Promise<void> {
    const startedAt = Date.now();
    const tally: RoundTally = {
      repaired: 0,
      failed: 0,
      installed: 0,
      groupsScanned: 0,
      groupsFailed: 0,
      keysChecked: 0,
      behind: 0,
      diverged: 0,
      corrupted: 0,
      truncated: false,
      cleared: [],
    };
    let outcome: GroupOutcome = 'done';
    const groups = this.host.context()?.placement.groups ?? 0;
    for (let group = 0; group < groups && outcome === 'done'; group++)
      outcome = await this.repairGroup(group, tally);
    const report: RepairRoundReport = {
      startedAt,
      endedAt: Date.now(),
      outcome,
      groupsScanned: tally.groupsScanned,
      groupsFailed: tally.groupsFailed,
      keysChecked: tally.keysChecked,
      behind: tally.behind,
      diverged: tally.diverged,
      corrupted: tally.corrupted,
      repaired: tally.repaired,
      installed: tally.installed,
      repairFailed: tally.failed,
      truncated: tally.truncated,
      amnesiaCleared: tally.cleared,
    };
    this.record(report);
    if (outcome !== 'stopped') this.settings.onRound?.(report);
  }

  private record(r: RepairRoundReport): void {
    const t = this.totals;
    t.rounds += 1;
    t.keysChecked += r.keysChecked;
    t.behind += r.behind;
    t.diverged += r.diverged;
    t.corrupted += r.corrupted;
    t.repaired += r.repaired;
    t.installed += r.installed;
    t.repairFailed += r.repairFailed;
    t.amnesiaCleared += r.amnesiaCleared.length;
    this.lastRound = r;
  }

  /** Compares one group and repairs what differs, batch by batch. */
  private async repairGroup(group: number, tally: RoundTally): Promise<GroupOutcome> {
    const step = await this.yieldPoint();
    if (step !== 'done') return step;
    const ctx = this.host.context();
    if (ctx === undefined) return 'stopped';
    if (ctx.up.filter((u) => u).length < 2) return 'done'; // nothing to compare against
    let mismatches: VerifyMismatch[];
    try {
      // Paced: each replica's scan takes a bounded share of its worker (scan-pacing.ts).
      const scan = await scanGroup(ctx, group, REPAIR_BUCKETS, { paced: true });
      this.host.onGroupScanned?.(group, scan);
      mismatches = scan.mismatches;
      const held = scan.round1.map((a) => a?.keys ?? 0);
      tally.keysChecked += Math.max(0, ...held);
      tally.truncated ||= scan.truncated;
    } catch {
      tally.groupsFailed += 1; // a group went down under the scan: the next round sees it
      return 'done';
    }
    tally.groupsScanned += 1;
    for (const m of mismatches) tally[m.kind] += 1;
    const reads = mismatches.flatMap((m) =>
      repairTargets(m, ctx.up).map((replica) => ({ replica, key: m.internalKey })),
    );
    const outcome = await this.inBatches(reads, 1, (batch) =>
      runBounded(batch, (job) => readOnce(ctx, job.replica, job.key, tally)),
    );
    if (outcome !== 'done') return outcome;
    const diverged = mismatches.filter((m) => m.kind === 'diverged');
    const ask = (
      g: number,
      request: Parameters<typeof digestGroup>[2],
    ): ReturnType<typeof digestGroup> => digestGroup(ctx, g, request);
    const installed = await this.inBatches(diverged, INSTALL_TOKENS, (batch) =>
      installAll(ctx, ask, new Map([[group, batch]]), REPAIR_BUCKETS, tally),
    );
    if (installed !== 'done') return installed;
    // Keys still behind elsewhere do not matter here: the rebuild reads every key anyway.
    await this.maybeClearAmnesia(ctx, group, tally);
    return 'done';
  }

  /** A group whose replicas all agree may hold an amnesic replica that is now rebuilt. */
  private async maybeClearAmnesia(
    ctx: VerifyContext,
    group: number,
    tally: RoundTally,
  ): Promise<void> {
    const cleared = await clearAmnesiaIfRebuilt(ctx, group, (cost) => this.pace(cost)).catch(
      () => [],
    );
    for (const replica of cleared) tally.cleared.push({ replica, group });
  }

  /** Runs jobs in paced batches, looking at the foreground load before each. */
  private async inBatches<T>(
    jobs: readonly T[],
    tokensPerJob: number,
    run: (batch: T[]) => Promise<void>,
  ): Promise<GroupOutcome> {
    const size = Math.max(1, Math.floor(batchKeysFor(this.settings.keysPerSecond) / tokensPerJob));
    for (const batch of batchesOf(jobs, size)) {
      const step = await this.yieldPoint();
      if (step !== 'done') return step;
      await this.pace(batch.length * tokensPerJob);
      if (this.stopped) return 'stopped';
      await run(batch);
    }
    return 'done';
  }

  /** Waits for `cost` tokens, then takes them. */
  private async pace(cost: number): Promise<void> {
    const wait = waitMsFor(this.pacer, Date.now(), cost, this.settings.keysPerSecond);
    if (wait > 0) await this.sleep(wait);
    this.pacer = charge(this.pacer, Date.now(), cost, this.settings.keysPerSecond);
  }

  /** Between two steps: stop when closing, pause while busy (a bounded number of times). */
  private async yieldPoint(): Promise<GroupOutcome> {
    for (let pauses = 0; pauses <= BUSY_PAUSES_MAX; pauses++) {
      if (this.stopped) return 'stopped';
      const step = batchStep(
        this.host.inFlight(),
        this.settings.busyInFlight,
        pauses,
        BUSY_PAUSES_MAX,
      );
      if (step === 'go') return 'done';
      this.totals.busyPauses += 1;
      await this.sleep(BUSY_PAUSE_MS);
    }
    assert(false, 'batchStep goes after the last pause');
  }

  /** A pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakeSleeper = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
