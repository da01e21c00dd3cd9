/**
 * A token bucket as plain data and pure functions of explicit times: no clock of its own, so
 * its users test it as tables. One arithmetic for the two pacers that share it: the digest
 * scans' thread time (actors/paxos/scan-pacing.ts, in ms of scan time) and the background
 * repair's keys (actors/store/repair-pacing.ts, in keys). How long to wait for a level stays
 * with each (its units decide how it rounds).
 *
 * - It refills at `ratePerSecond` units per second of the caller's clock (in ms), up to `cap`:
 *   an idle spell does not save up a burst. A clock that went back refills nothing.
 * - A spend may take it into debt, at most `debtMax` deep: work charged after the fact (a
 *   slice that ran long, a scan) is waited off before the next, and a stretched one does not
 *   stall its user for long.
 */
import { assert } from './assert';

export interface TokenBucket {
  /** Units available (negative: debt). */
  readonly level: number;
  /** When `level` was computed, in ms of the caller's clock. */
  readonly atMs: number;
}

/** The bucket at `nowMs`, refilled at `ratePerSecond`, never above `cap` (never lowered). */
export function refillBucket(
  b: TokenBucket,
  nowMs: number,
  ratePerSecond: number,
  cap: number,
): TokenBucket {
  assert(ratePerSecond > 0 && Number.isFinite(ratePerSecond), () => `rate ${ratePerSecond}`);
  const elapsedMs = Math.max(0, nowMs - b.atMs);
  // A level already above the cap (a cap that shrank) stays until spent.
  const level = Math.max(b.level, Math.min(cap, b.level + (elapsedMs * ratePerSecond) / 1000));
  assert(level >= b.level, () => `refill lowered ${b.level} to ${level}`);
  return { level, atMs: Math.max(nowMs, b.atMs) };
}

/** Takes `cost` units out, into debt at most `debtMax` deep. */
export function spendBucket(b: TokenBucket, cost: number, debtMax: number): TokenBucket {
  assert(cost >= 0 && Number.isFinite(cost), () => `spend of ${cost}`);
  assert(debtMax >= 0, () => `debt bound ${debtMax}`);
  const level = Math.max(-debtMax, b.level - cost);
  assert(level <= b.level || level === -debtMax, () => `spend raised ${b.level} to ${level}`);
  return { level, atMs: b.atMs };
}
