/**
 * The bound on keys a core holds in memory (STYLE.md §3: everything has a bound). Without it
 * every key ever touched stays in the core's map, and a replica over a disk engine runs out of
 * memory long before its disk fills.
 *
 * Evicting a key is exactly as safe as restarting the replica for that one key, which the
 * protocol already handles: everything that matters is in the key's record on disk, and the
 * next input for the key loads it again. The record on disk may lag the one in memory only by
 * a chosen-only change, which is never written (docs/decisions.md 3) and is settled again
 * from the next message or read round, as after a restart. A key may only go when:
 *
 * - it is settled (`ready`) and idle: no client request, round, read, fetch or recovery;
 * - nothing of it waits to be persisted: not dirty in the core, and not staged or being
 *   written by the shell (the shell's `mayEvict`), so a load can never overtake a write of
 *   the same key and read an older promise.
 *
 * Which keys: CLOCK. Every access sets `touched`; the sweep walks the map in insertion order,
 * moves touched (and busy) keys to the back with the bit cleared, and evicts untouched idle
 * ones. Each sweep is bounded.
 */
import { assert } from '../../../runtime/assert';
import type { CoreContext, KeyState } from './key-state';

/** Keys looked at per sweep, as a multiple of the excess. */
const SWEEP_FACTOR = 4;
/** Sweeps evict down to this share of the bound, so they do not run on every tick. */
const LOW_WATER = 0.9;

export function isIdle(ks: KeyState): boolean {
  return (
    ks.proposal === null && ks.readRound === null && ks.fetch === null && ks.recovery === null &&
    ks.writes.length === 0 && ks.reads.length === 0 && ks.waiting.length === 0
  );
}

/**
 * Evicts untouched idle keys until at most LOW_WATER × `keysMax` remain, looking at no more
 * than SWEEP_FACTOR × the excess keys. Returns how many went.
 */
export function evictKeys(
  keys: Map<string, KeyState>,
  ctx: CoreContext,
  keysMax: number,
  mayEvict: (key: string) => boolean,
  onEvicted?: (key: string) => void,
): number {
  assert(Number.isSafeInteger(keysMax) && keysMax >= 1, () => `keysMax ${keysMax}`);
  if (keys.size <= keysMax) return 0;
  const target = Math.floor(keysMax * LOW_WATER);
  const excess = keys.size - target;
  const scanMax = excess * SWEEP_FACTOR;
  let evicted = 0;
  let scanned = 0;
  // Map iteration visits keys re-inserted at the back too; scanMax bounds the walk.
  for (const ks of keys.values()) {
    if (scanned >= scanMax || keys.size <= target) break;
    scanned += 1;
    const evictable = ks.status === 'ready' && isIdle(ks) && !ctx.dirty.has(ks) && !ctx.active.has(ks) && mayEvict(ks.key);
    if (evictable && !ks.touched) {
      keys.delete(ks.key);
      evicted += 1;
      onEvicted?.(ks.key);
      continue;
    }
    ks.touched = false;
    keys.delete(ks.key);
    keys.set(ks.key, ks);
  }
  assert(evicted <= scanned, () => `evicted ${evicted} of ${scanned} looked at`);
  return evicted;
}
