/**
 * The read rounds this core has out, oldest first, for the tick to find the ones that stalled
 * (issue 10: a read no longer makes its key active). A linearizable read used to put its key in
 * `ctx.active`, so every tick walked every key read since the last one: a cold KeyState (and
 * its record and arrays) touched once more per read, and a Set add and delete per key. But a
 * read needs the tick only when its round stalls (a peer down, a message lost) or when its
 * reads wait with no round out (a catch-up in flight, request ids spent). So a round is
 * watched here instead, and the tick marks its key active only once the round has been out for
 * `roundTimeoutTicks`: exactly when tickReads would have retried it. Reads waiting without a
 * round mark their key active as before (reader.ts maybeStartRead).
 *
 * Rounds start in `roundNow` order, so the watch is a FIFO and each tick stops at the first
 * round still young. Bounded: past READ_ROUNDS_WATCHED_MAX rounds, a new round's key is marked
 * active instead (the old way), so a tick that runs late never grows the watch without end.
 *
 * The watch holds a round's key, id and start, not the round: a round answered in a
 * millisecond must not be kept for the whole timeout (objects kept that long outlive young
 * collections and are copied, then promoted). A watched round is still out when its key's
 * `readRound` is out and has its id (ids are unique per core).
 */
import { assert } from '../../../runtime/assert';
import type { CoreContext, KeyState, ReadRound } from './key-state';
import { markActive } from './key-state';

/** Rounds watched at most; the rest fall back to the active set. */
export const READ_ROUNDS_WATCHED_MAX = 1 << 16;

export interface ReadWatch {
  /** Per watched round, oldest first: its key, its id and the roundNow it started at. */
  readonly keys: KeyState[];
  readonly ids: number[];
  readonly started: number[];
  /** Rounds before this index were looked at by a tick already. */
  head: number;
}

export function newReadWatch(): ReadWatch {
  return { keys: [], ids: [], started: [], head: 0 };
}

/** A round just started: the tick looks at it once it may have stalled. */
export function watchRound(ctx: CoreContext, round: ReadRound): void {
  const watch = ctx.readWatch;
  if (!(round.out && round.ks.readRound === round))
    assert(false, `watching a read round that is not out on ${round.ks.key}`);
  const n = watch.keys.length;
  if (n - watch.head >= READ_ROUNDS_WATCHED_MAX) {
    markActive(ctx, round.ks);
    return;
  }
  const last = watch.started[n - 1];
  if (last !== undefined && last > round.startedTick)
    assert(false, `read round of tick ${round.startedTick} after one of ${last}`);
  watch.keys.push(round.ks);
  watch.ids.push(round.id);
  watch.started.push(round.startedTick);
}

/**
 * Tick work, before the pass over the active keys: every watched round that has been out for
 * the round timeout and is still out marks its key active, so this tick's tickReads retries it.
 */
export function watchReadRounds(ctx: CoreContext): void {
  const watch = ctx.readWatch;
  const { keys, ids, started } = watch;
  let i = watch.head;
  for (; i < keys.length; i++) {
    if (ctx.roundNow - (started[i] as number) < ctx.limits.roundTimeoutTicks) break;
    const ks = keys[i];
    assert(ks !== undefined);
    const round = ks.readRound;
    if (round !== null && round.out && round.id === ids[i]) markActive(ctx, ks);
  }
  if (i === keys.length) {
    keys.length = 0;
    ids.length = 0;
    started.length = 0;
    watch.head = 0;
  } else if (i * 2 > keys.length) {
    keys.splice(0, i);
    ids.splice(0, i);
    started.splice(0, i);
    watch.head = 0;
  } else {
    watch.head = i;
  }
  if (!(watch.head <= keys.length && keys.length === ids.length && ids.length === started.length))
    assert(false, `read watch head ${watch.head} of ${keys.length}`);
}
