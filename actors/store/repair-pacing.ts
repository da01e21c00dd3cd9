/**
 * Pacing of the background repair (background-repair.ts): pure functions of explicit times and
 * counts, no clock of their own, so they are tested as tables.
 *
 * - A token bucket in keys (runtime/token-bucket.ts, shared with the digest scans' pacing):
 *   a repair read costs one token per key, an install a few (the bucket may go into debt,
 *   bounded, and the next step waits the debt off). The bucket holds one batch at most, so an
 *   idle store does not save up a burst. A group's digest scan is not charged here: each
 *   replica's scan paces itself to a share of its worker (actors/paxos/scan-pacing.ts), where
 *   its cost is.
 * - When to start a round, and whether to go on with the next batch, from the requests the
 *   store has in flight: the repair yields to foreground load, and never gives up to it (a
 *   store written without pause must still find and repair damage).
 */
import { assert } from '../../runtime/assert';
import { refillBucket, spendBucket } from '../../runtime/token-bucket';
import type { TokenBucket } from '../../runtime/token-bucket';

/** Keys repaired per batch at most (one batch runs its reads concurrently, then paces). */
export const REPAIR_BATCH_KEYS_MAX = 64;
/** Tokens an install costs: settle reads through every replica, a state round, one write. */
export const INSTALL_TOKENS = 4;
/** The deepest debt, in seconds of refill: a huge group scan waits at most this long after. */
const DEBT_SECONDS_MAX = 10;

/** Tokens available (`level`; negative: debt), as of `atMs` (the caller's clock). */
export type PacerState = TokenBucket;

/** Keys per batch for a rate: a tenth of a second's worth, 1..REPAIR_BATCH_KEYS_MAX. */
export function batchKeysFor(keysPerSecond: number): number {
  assert(keysPerSecond > 0, () => `keysPerSecond ${keysPerSecond}`);
  const keys = Math.min(REPAIR_BATCH_KEYS_MAX, Math.max(1, Math.ceil(keysPerSecond / 10)));
  assert(keys >= 1 && keys <= REPAIR_BATCH_KEYS_MAX, () => `batch of ${keys} keys`);
  return keys;
}

/** A full bucket at `nowMs`. */
export function newPacer(nowMs: number, keysPerSecond: number): PacerState {
  return { level: batchKeysFor(keysPerSecond), atMs: nowMs };
}

/** The bucket at `nowMs`: refilled at keysPerSecond, never above one batch. */
export function refill(state: PacerState, nowMs: number, keysPerSecond: number): PacerState {
  return refillBucket(state, nowMs, keysPerSecond, batchKeysFor(keysPerSecond));
}

/** How long to wait at `nowMs` before `cost` tokens are there (0: at once). */
export function waitMsFor(
  state: PacerState,
  nowMs: number,
  cost: number,
  keysPerSecond: number,
): number {
  assert(cost >= 0 && cost <= REPAIR_BATCH_KEYS_MAX * INSTALL_TOKENS, () => `cost ${cost}`);
  const now = refill(state, nowMs, keysPerSecond);
  // A cost above the bucket's size waits only until the bucket is full.
  const needed = Math.min(cost, batchKeysFor(keysPerSecond));
  if (now.level >= needed) return 0;
  const waitMs = Math.ceil(((needed - now.level) * 1000) / keysPerSecond);
  assert(waitMs > 0, () => `wait ${waitMs} with ${now.level} < ${needed} tokens`);
  return waitMs;
}

/** Takes `cost` tokens at `nowMs`; the bucket may go into debt, at most DEBT_SECONDS_MAX deep. */
export function charge(
  state: PacerState,
  nowMs: number,
  cost: number,
  keysPerSecond: number,
): PacerState {
  return spendBucket(refill(state, nowMs, keysPerSecond), cost, DEBT_SECONDS_MAX * keysPerSecond);
}

export type RoundStart = 'run' | 'wait';

/**
 * Whether a round starts at `nowMs`: not before `intervalMs` after the last one ended. Load does
 * not hold a round back (it used to be skipped above `busyInFlight`: under a steady load of
 * more writers than that, no round ever ran); it slows the round down instead.
 */
export function roundStart(nowMs: number, lastRoundEndMs: number, intervalMs: number): RoundStart {
  assert(intervalMs > 0, () => `interval ${intervalMs}`);
  return nowMs - lastRoundEndMs < intervalMs ? 'wait' : 'run';
}

export type BatchStep = 'go' | 'pause';

/**
 * Between two batches of repairs: go on while the foreground is light; pause (and look again)
 * while it is busy, up to `pausesMax` pauses in a row, then go on with one batch anyway (the
 * token bucket still bounds the rate), so a busy store is repaired slowly, never not at all.
 */
export function batchStep(
  inFlight: number,
  busyInFlight: number,
  pausesInARow: number,
  pausesMax: number,
): BatchStep {
  assert(
    pausesInARow >= 0 && pausesInARow <= pausesMax,
    () => `pause ${pausesInARow} of ${pausesMax}`,
  );
  assert(busyInFlight >= 0, () => `busy ${busyInFlight}`);
  return inFlight > busyInFlight && pausesInARow < pausesMax ? 'pause' : 'go';
}

/** Splits jobs into batches of at most `size`, in order. */
export function batchesOf<T>(jobs: readonly T[], size: number): T[][] {
  assert(Number.isInteger(size) && size >= 1, () => `batch size ${size}`);
  const out: T[][] = [];
  for (let at = 0; at < jobs.length; at += size) out.push(jobs.slice(at, at + size));
  assert(out.reduce((n, b) => n + b.length, 0) === jobs.length, 'batches lost a job');
  return out;
}
