/**
 * Linearizable reads without a lease (DESIGN.md §4). The reading replica asks the others for
 * their state of the key. If a majority (itself included) has nothing chosen or accepted beyond
 * its own last chosen instance, it answers locally. A peer with a newer chosen instance means
 * catch up and ask again. An accepted but unchosen value at the next instance means finish that
 * instance (a no-op round adopts and completes it) and then answer: any write acknowledged
 * before the read started is at or below that instance.
 *
 * Reads that arrive while a round is out join the next round (a round must start after the
 * read's invocation), so one round answers every read queued behind it; reads that arrive
 * before the round's queries have left join that round (joinRound).
 */
import { assert } from '../../../runtime/assert';
import type { CoreContext, KeyState, PendingRead, ReadRound } from './key-state';
import {
  addRead,
  anyDeadlinePassed,
  count,
  deliver,
  markActive,
  message,
  NO_READS,
  peersByRecency,
  pendingReads,
  popcount,
  refuse,
} from './key-state';
import { takeRequestId } from './ids';
import { maybePropose } from './proposer';
import { watchRound } from './read-watch';
import type { PaxosMessage, ReadRequest } from './types';
import { CoreErrorCodes, MessageType } from './types';

export function onReadRequest(ctx: CoreContext, ks: KeyState, request: ReadRequest): void {
  if (ks.status !== 'ready') assert(false, `read on ${ks.status} key ${ks.key}`);
  if (request.consistency === 'local') {
    serveOne(ctx, ks, request);
    count(ctx, 'localReads');
    return;
  }
  if (pendingReads(ks) >= ctx.limits.pendingReadsPerKeyMax) {
    count(ctx, 'readsRejectedOverloaded');
    refuse(ctx, request.token, CoreErrorCodes.OVERLOADED, `too many reads pending on ${ks.key}`);
    return;
  }
  const read = { request, deadlineTick: ctx.tickNow + ctx.limits.requestTimeoutTicks };
  const round = ks.readRound;
  if (round !== null && round.readyEpoch === ctx.readyEpoch) {
    joinRound(ctx, round, read);
    return;
  }
  addRead(ks, read);
  // No markActive: the round's watch (read-watch.ts) or maybeStartRead keeps the read timed.
  maybeStartRead(ctx, ks);
  if (!(ks.readRound !== null || ks.reads.length === 0 || ks.active))
    assert(false, `${ks.key}: reads waiting with no round and no tick`);
}

/**
 * A read joins a round whose queries have not left yet (started since the shell last took a
 * Ready) instead of waiting for the next round: a hot key's reads in one turn share one round.
 * Linearizable because the round still starts after this read's invocation in every way that
 * counts. A peer answers the query only after it leaves, so after this read arrived. And this
 * replica's own part (its state when the round started) misses only what it did since in this
 * turn, none of which has left it: no accepted reply, notice or client answer built in this
 * turn can have acknowledged a write before this read began (docs/decisions.md "Reads of one
 * key in one turn share a round").
 */
function joinRound(ctx: CoreContext, round: ReadRound, read: PendingRead): void {
  if (!(round.out && round.waitForInstance === 0))
    assert(false, `${round.ks.key}: joining a done round`);
  if (!(round.replied === 1 << ctx.me))
    assert(false, `${round.ks.key}: a reply before the query left`);
  round.reads.push(read);
  count(ctx, 'readsJoinedRound');
}

/**
 * Starts a round for the key's pending reads when none is out. Reads that cannot start one
 * now (a catch-up in flight, request ids spent) make the key active: the tick keeps their
 * deadlines and starts their round later. A round that starts is watched (read-watch.ts).
 */
export function maybeStartRead(ctx: CoreContext, ks: KeyState): void {
  if (ks.status !== 'ready' || ks.readRound !== null || ks.reads.length === 0) return;
  if (ks.fetch !== null) {
    markActive(ctx, ks);
    return;
  }
  // A spent id range (ids.ts) holds the reads until the shell renews it or they time out.
  const id = takeRequestId(ctx.ids);
  if (id === undefined) {
    markActive(ctx, ks);
    return;
  }
  const round: ReadRound = {
    id,
    ks,
    baseChosen: ks.rec.chosen,
    reads: ks.reads,
    out: true,
    readyEpoch: ctx.readyEpoch,
    replied: 1 << ctx.me,
    maxChosen: ks.rec.chosen,
    pendingFound: ks.rec.acceptedBallot > 0,
    waitForInstance: 0,
    startedTick: ctx.roundNow,
  };
  ks.reads = NO_READS;
  ks.readRound = round;
  watchRound(ctx, round);
  count(ctx, 'readRounds');
  // A majority is this replica plus quorum - 1 others: ask just that many (rotating), which
  // halves read traffic with three replicas. A round that stalls is retried asking everyone.
  // Peers heard from recently first: a replica that is down would stall the round.
  const peers = peersByRecency(ctx, round.id);
  const ask = ks.readAskAll ? peers.length : ctx.quorum - 1;
  for (let i = 0; i < ask; i++) {
    const peer = peers[i];
    assert(peer !== undefined);
    const query = message(ctx, ks, MessageType.readQuery, peer);
    query.requestId = round.id;
    ctx.out.send.push(query);
  }
  if (ctx.quorum === 1) decideRead(ctx, ks, round);
}

/**
 * Each answer (and this replica's own state at the round's start) reports a chosen instance
 * and whether it holds an accepted value beyond it. Any write acknowledged before the read
 * began was accepted by a member of this majority, so it sits at or below the highest chosen
 * instance reported (`maxChosen`) — or at maxChosen + 1 if a member at maxChosen holds an
 * accepted value (`pendingFound`).
 */
export function onReadReply(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const round = ks.readRound;
  if (round === null || round.id !== m.requestId || round.waitForInstance !== 0) return;
  // Quorums count replicas, never replies: a duplicated reply changes nothing.
  const bit = 1 << m.from;
  if ((round.replied & bit) !== 0) {
    count(ctx, 'duplicateReadReplies');
    return;
  }
  round.replied |= bit;
  if (m.chosen > round.maxChosen) {
    round.maxChosen = m.chosen;
    round.pendingFound = m.acceptedBallot > 0;
  } else if (m.chosen === round.maxChosen && m.acceptedBallot > 0) {
    round.pendingFound = true;
  }
  // This replica is one of the majority (its bit is set from the start).
  if (m.from === ctx.me) assert(false, `read reply from self on ${ks.key}`);
  if (popcount(round.replied) === ctx.quorum) decideRead(ctx, ks, round);
}

/**
 * Serve once the local chosen instance reaches what the majority reported: at once if it
 * already does (learn() may have settled it from our own accepted value), after the catch-up
 * learn() started if we are behind, and after finishing the open instance (a no-op round
 * adopts and completes it) if one was found.
 */
function decideRead(ctx: CoreContext, ks: KeyState, round: ReadRound): void {
  if (ks.readRound !== round) assert(false, `deciding a stale read round on ${ks.key}`);
  round.waitForInstance = round.pendingFound ? round.maxChosen + 1 : Math.max(1, round.maxChosen);
  if (ks.rec.chosen >= round.waitForInstance || (!round.pendingFound && round.maxChosen === 0)) {
    serveRound(ctx, ks, round);
    return;
  }
  if (round.pendingFound) {
    count(ctx, 'readRoundsFinishing');
    ks.noopTarget = Math.max(ks.noopTarget, round.waitForInstance);
    maybePropose(ctx, ks);
  } else {
    count(ctx, 'readRoundsBehind');
  }
}

/** Called when the chosen instance moves: a round waiting for an instance may now answer. */
export function serveReadsUpTo(ctx: CoreContext, ks: KeyState): void {
  const round = ks.readRound;
  if (round !== null && round.waitForInstance !== 0 && ks.rec.chosen >= round.waitForInstance) {
    serveRound(ctx, ks, round);
  }
}

function serveRound(ctx: CoreContext, ks: KeyState, round: ReadRound): void {
  ks.readRound = null;
  ks.readAskAll = false;
  const reads = endRound(round);
  for (const read of reads) serveOne(ctx, ks, read.request);
  count(ctx, 'linearizableReads', reads.length);
  maybeStartRead(ctx, ks);
}

function serveOne(ctx: CoreContext, ks: KeyState, request: ReadRequest): void {
  // An owned state may be written into later this turn, before the answer is encoded.
  const result = ctx.model.read(ks.rec.data, ks.rec.version, request.query, ks.ownedData !== null);
  deliver(ctx, { token: request.token, ok: true, result });
}

/** Timer work: fail reads past their deadline, restart a stalled round. */
export function tickReads(ctx: CoreContext, ks: KeyState): void {
  const round = ks.readRound;
  if (round !== null && ctx.roundNow - round.startedTick >= ctx.limits.roundTimeoutTicks) {
    ks.readRound = null;
    // The round's reads go first: they arrived before the ones queued behind it.
    const reads = endRound(round);
    for (const read of ks.reads) reads.push(read);
    ks.reads = reads;
    ks.readAskAll = true;
    count(ctx, 'readRoundsRetried');
  }
  // Reads past their deadline fail; the array is rebuilt only when one does.
  if (anyDeadlinePassed(ks.reads, ctx.tickNow)) expireReads(ctx, ks);
  maybeStartRead(ctx, ks);
  // A stalled round was dropped above; whatever round runs now started within the timeout.
  if (!(
    ks.readRound === null || ctx.roundNow - ks.readRound.startedTick < ctx.limits.roundTimeoutTicks
  ))
    assert(false, `stalled read round kept on ${ks.key}`);
}

/**
 * The round is no longer the key's: its watch skips it, and it lets go of its reads (it stays
 * in the watch until its timeout passes, and should not keep requests alive that long).
 */
function endRound(round: ReadRound): PendingRead[] {
  if (!round.out) assert(false, `${round.ks.key}: read round ${round.id} ended twice`);
  const reads = round.reads;
  round.out = false;
  round.reads = NO_READS;
  return reads;
}

function expireReads(ctx: CoreContext, ks: KeyState): void {
  const keep: PendingRead[] = [];
  for (const read of ks.reads) {
    if (ctx.tickNow < read.deadlineTick) keep.push(read);
    else {
      refuse(
        ctx,
        read.request.token,
        CoreErrorCodes.UNAVAILABLE,
        `no majority answered a read of ${ks.key} in time`,
      );
    }
  }
  if (!(keep.length < ks.reads.length)) assert(false, `${ks.key}: no read expired`);
  ks.reads = keep.length === 0 ? NO_READS : keep;
}
