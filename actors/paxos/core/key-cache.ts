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
 * On the memory engine there is no disk: the shell's record store keeps the evicted record
 * itself, encoded (`onEvicted` hands it over, volatile-record-port.ts), and the
 * next input loads it back from there, the same path as a disk load. That record is the live
 * one, so nothing is lost at all, not even a chosen-only change.
 *
 * Which keys: 2Q over CLOCK. A key that loads with no record (a new key) enters a probation
 * segment, a FIFO bounded to PROBATION_SHARE of the bound (2Q's A1in), trimmed once the cache
 * has been over its bound (then for good: a cache with room keeps every key, as a working set
 * that fits should stay whole). A key past the segment's bound goes as soon as it is settled and idle, however often it was used meanwhile (those
 * uses belong to its first rounds: one write touches a key on every replica several times). A
 * key that loads with a record was evicted before and is used again: it is held by the main
 * cache, CLOCK. Every access sets `touched`; the main sweep walks the map in insertion order,
 * moves touched (and busy) keys to the back with the bit cleared, and evicts untouched idle
 * ones. Each sweep is bounded.
 *
 * Why the probation segment (docs/decisions.md "A probation segment in the key cache"): under a
 * stream of keys written once, plain CLOCK keeps each new key for two turns of the whole cache,
 * long enough for V8 to promote its full KeyState to the old generation, where it then dies;
 * the old generation's collections were what made writes slow down as keys accumulated. In
 * probation a new key lives for an eighth of the cache's turnover and dies young, and one-shot
 * keys no longer push hot keys out of the main cache. A new key that is hot costs one extra
 * load (its second use after probation finds it in the record store, then it is held by the
 * main cache).
 */
import { assert } from '../../../runtime/assert';
import type { CoreContext, KeyState } from './key-state';
import type { KeyRecord } from './types';

/** Keys looked at per sweep, as a multiple of the excess. */
const SWEEP_FACTOR = 4;
/** Sweeps evict down to this share of the bound, so they do not run on every tick. */
const LOW_WATER = 0.9;

/** The probation segment's bound, as a share of the cache's bound. */
export const PROBATION_SHARE = 1 / 8;

/** Keys with an empty record looked at per call of evictEmpty (a bound per tick). */
export const EMPTY_SWEEP_MAX = 4096;

/**
 * A record that holds nothing: no chosen value, no promise, nothing accepted, no data. Forgetting
 * it is the same as never having seen the key, on any engine (an acceptor that promised
 * nothing and accepted nothing has no vote to keep), so such keys need not stay in memory —
 * not even on the memory engine, where every other key must (issue 13: reads of keys that were
 * never written kept state forever).
 */
export function isEmptyRecord(ks: KeyState): boolean {
  const r = ks.rec;
  return (
    r.chosen === 0 &&
    r.promised === 0 &&
    r.acceptedBallot === 0 &&
    r.data === null &&
    r.version === 0 &&
    r.recentResults.length === 0 &&
    r.requests.length === 0
  );
}

/** The conditions of any eviction (see above): settled, idle, nothing dirty, staged or written. */
function evictable(ks: KeyState, ctx: CoreContext, mayEvict: (key: string) => boolean): boolean {
  return ks.status === 'ready' && isIdle(ks) && !ks.dirty && !ks.active && mayEvict(ks.key);
}

/**
 * Evicts keys of `candidates` (keys that loaded empty) that are still empty, settled, idle and
 * untouched since the last call; drops candidates that are no longer empty; keeps the rest for
 * the next call. Looks at no more than EMPTY_SWEEP_MAX candidates.
 */
export function evictEmpty(
  keys: Map<string, KeyState>,
  ctx: CoreContext,
  candidates: Set<KeyState>,
  mayEvict: (key: string) => boolean,
  probation?: Set<KeyState>,
): number {
  let evicted = 0;
  let looked = 0;
  for (const ks of candidates) {
    if (looked >= EMPTY_SWEEP_MAX) break;
    looked += 1;
    if (keys.get(ks.key) !== ks || (ks.status === 'ready' && !isEmptyRecord(ks))) {
      candidates.delete(ks);
      continue;
    }
    if (ks.touched || !evictable(ks, ctx, mayEvict)) {
      ks.touched = false;
      continue;
    }
    candidates.delete(ks);
    probation?.delete(ks); // the segment holds only held keys until it is first trimmed
    keys.delete(ks.key);
    evicted += 1;
  }
  if (!(evicted <= looked)) assert(false, `evicted ${evicted} of ${looked}`);
  return evicted;
}

export function isIdle(ks: KeyState): boolean {
  return (
    ks.proposal === null &&
    ks.readRound === null &&
    ks.fetch === null &&
    ks.recovery === null &&
    ks.writes.length === 0 &&
    ks.reads.length === 0 &&
    ks.waiting.length === 0 &&
    ks.noticePeers === 0
  );
}

/** The probation segment's bound for a cache of `keysMax` keys (at least one key). */
export function probationMax(keysMax: number): number {
  if (!(Number.isSafeInteger(keysMax) && keysMax >= 1)) assert(false, `keysMax ${keysMax}`);
  return Math.max(1, Math.floor(keysMax * PROBATION_SHARE));
}

/**
 * Trims the probation segment (new keys, oldest first) to LOW_WATER × its bound: evicts the
 * settled idle ones whatever their `touched` bit, moves busy ones to its back, drops entries of
 * keys already gone. Looks at no more than SWEEP_FACTOR × the excess entries. A key whose record
 * is still empty is forgotten without `onEvicted` (nothing to keep, as in evictEmpty).
 */
export function evictProbation(
  keys: Map<string, KeyState>,
  ctx: CoreContext,
  probation: Set<KeyState>,
  keysMax: number,
  mayEvict: (key: string) => boolean,
  onEvicted?: (key: string, rec: KeyRecord) => void,
): number {
  const max = probationMax(keysMax);
  if (probation.size <= max) return 0;
  const target = Math.floor(max * LOW_WATER);
  const scanMax = (probation.size - target) * SWEEP_FACTOR;
  let evicted = 0;
  let scanned = 0;
  for (const ks of probation) {
    if (scanned >= scanMax || probation.size <= target) break;
    scanned += 1;
    probation.delete(ks);
    // Gone already: evicted by the main sweep or as an empty key (maybe loaded again since).
    if (keys.get(ks.key) !== ks) continue;
    if (!evictable(ks, ctx, mayEvict)) {
      probation.add(ks); // still in its first rounds: to the back, Set order is insertion order
      continue;
    }
    keys.delete(ks.key);
    evicted += 1;
    if (!isEmptyRecord(ks)) onEvicted?.(ks.key, ks.rec);
  }
  if (!(evicted <= scanned)) assert(false, `evicted ${evicted} of ${scanned} looked at`);
  if (!(scanned <= scanMax)) assert(false, `looked at ${scanned} > ${scanMax}`);
  return evicted;
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
  onEvicted?: (key: string, rec: KeyRecord) => void,
): number {
  if (!(Number.isSafeInteger(keysMax) && keysMax >= 1)) assert(false, `keysMax ${keysMax}`);
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
    if (!ks.touched && evictable(ks, ctx, mayEvict)) {
      keys.delete(ks.key);
      evicted += 1;
      onEvicted?.(ks.key, ks.rec);
      continue;
    }
    ks.touched = false;
    keys.delete(ks.key);
    keys.set(ks.key, ks);
  }
  if (!(evicted <= scanned)) assert(false, `evicted ${evicted} of ${scanned} looked at`);
  return evicted;
}
