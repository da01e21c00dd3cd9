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
 * round still young. A round answered before then is skipped through its `out` flag, without
 * touching its key. Bounded: past READ_ROUNDS_WATCHED_MAX rounds, a new round's key is marked
 * active instead (the old way), so a tick that runs late never grows the watch without end.
 */
import { assert } from '../../../runtime/assert';
import type { CoreContext, ReadRound } from './key-state';
import { markActive } from './key-state';

/** Rounds watched at most; the rest fall back to the active set. */
export const READ_ROUNDS_WATCHED_MAX = 1 << 16;

export interface ReadWatch {
  readonly rounds: ReadRound[];
  /** Rounds before this index were looked at by a tick already. */
  head: number;
}

export function newReadWatch(): ReadWatch {
  return { rounds: [], head: 0 };
}

/** A round just started: the tick looks at it once it may have stalled. */
export function watchRound(ctx: CoreContext, round: ReadRound): void {
  const watch = ctx.readWatch;
  if (!round.out) assert(false, `watching a finished read round on ${round.ks.key}`);
  if (watch.rounds.length - watch.head >= READ_ROUNDS_WATCHED_MAX) {
    markActive(ctx, round.ks);
    return;
  }
  const last = watch.rounds[watch.rounds.length - 1];
  if (last !== undefined && last.startedTick > round.startedTick)
    assert(false, `read round of tick ${round.startedTick} after one of ${last.startedTick}`);
  watch.rounds.push(round);
}

/**
 * Tick work, before the pass over the active keys: every watched round that has been out for
 * the round timeout and is still out marks its key active, so this tick's tickReads retries it.
 */
export function watchReadRounds(ctx: CoreContext): void {
  const watch = ctx.readWatch;
  const rounds = watch.rounds;
  let i = watch.head;
  for (; i < rounds.length; i++) {
    const round = rounds[i];
    assert(round !== undefined);
    if (ctx.roundNow - round.startedTick < ctx.limits.roundTimeoutTicks) break;
    if (round.out) markActive(ctx, round.ks);
  }
  if (i === rounds.length) {
    rounds.length = 0;
    watch.head = 0;
  } else if (i * 2 > rounds.length) {
    rounds.splice(0, i);
    watch.head = 0;
  } else {
    watch.head = i;
  }
  if (!(watch.head <= rounds.length))
    assert(false, `read watch head ${watch.head} of ${rounds.length}`);
}
