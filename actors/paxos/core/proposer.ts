/**
 * The proposer side of one key's PaxosLog on this replica: one round in flight per key, client
 * writes queued behind it, no-op rounds that settle an instance a read found unfinished.
 *
 * Write path (DESIGN.md §4): catch up if behind → pre-authorized Accept (we originated the value
 * chosen at the previous instance) or Prepare then Accept of the highest accepted value seen,
 * else our own → chosen on a majority of Accepts → apply → reply. When another value wins the
 * instance, our value is proposed again at the next one.
 *
 * The proposer is also an acceptor. It promises/accepts locally first, and its messages to
 * peers wait for that local record to be durable (`sendAfterPersist`): a restarted proposer
 * can then never reuse a ballot (reserved or not) for a different value, and counting its own
 * vote is safe because no peer can answer before the local write is durable.
 */
import { assert } from '../../../runtime/assert';
import { isPreauthorized, nextBallot, preauthorizedBallot } from './ballot';
import { homeReplicaOf } from './key-hash';
import { ownsSeq, takeSeq } from './ids';
import { applyChosen, findAppliedResult } from './key-record';
import { windowHasInstance } from './recent-window';
import type { CoreContext, KeyState, ProposerRound } from './key-state';
import {
  count,
  dataOwner,
  deliver,
  markActive,
  markChosenOnly,
  markDirty,
  message,
  NO_WRITES,
  noteApplied,
  peersOf,
  popcount,
  refuse,
} from './key-state';
import { serveReadsUpTo, maybeStartRead } from './reader';
import type { PaxosMessage, Proposal } from './types';
import { CoreErrorCodes, MessageType } from './types';

/** Starts a round when the key is ready, idle, and has a write or a no-op to propose. */
export function maybePropose(ctx: CoreContext, ks: KeyState): void {
  if (ks.status !== 'ready' || ks.proposal !== null || ks.fetch !== null) return;
  resolveFinishedWrites(ctx, ks);
  const own = nextOwnValue(ctx, ks);
  if (own === null) return;
  const rec = ks.rec;
  const instance = rec.chosen + 1;
  markActive(ctx, ks);
  const canSkipPrepare = rec.promised === 0 && rec.acceptedBallot === 0 && preauthorized(ctx, ks);
  if (canSkipPrepare) {
    const round = newRound(ctx, instance, preauthorizedBallot(ctx.me, ctx.replicas), own);
    ks.proposal = round;
    count(ctx, 'preauthorizedRounds');
    startAccept(ctx, ks, own);
    return;
  }
  startPrepare(ctx, ks, own, ks.ballotFloor);
  // A round may finish at once (a quorum of one) and the next one start: either way only the
  // next undecided instance has a round.
  checkRoundIsNext(ks);
}

function checkRoundIsNext(ks: KeyState): void {
  const round = ks.proposal;
  if (round !== null && round.instance !== ks.rec.chosen + 1) {
    assert(false, `round at ${round.instance} on ${ks.key}, chosen ${ks.rec.chosen}`);
  }
}

/**
 * Pre-authorization (DESIGN.md §4): this replica may skip Prepare for chosen + 1 when it
 * originated the value chosen at `chosen` — in this incarnation, since a past incarnation's
 * reserved-ballot messages may still be on the wire — or, for instance 1, when it is the key's
 * home and has never forgotten anything.
 */
function preauthorized(ctx: CoreContext, ks: KeyState): boolean {
  const rec = ks.rec;
  if (rec.chosen === 0) return !ctx.amnesic && homeReplicaOf(ks.key, ctx.replicas) === ctx.me;
  return rec.chosenOrigin === ctx.me && ownsSeq(ctx.ids, rec.chosenSeq);
}

function nextOwnValue(ctx: CoreContext, ks: KeyState): Proposal | null {
  const head = ks.writes[0];
  if (head !== undefined) {
    // Queued writes carry values this replica originated (onWriteRequest), never a peer's.
    if (head.proposal.origin !== ctx.me)
      assert(false, `queued value of replica ${head.proposal.origin} on ${ctx.me}`);
    return head.proposal;
  }
  if (ks.noopTarget > ks.rec.chosen) {
    // A spent id range (ids.ts) leaves the no-op for later: the reads waiting on it time out.
    const seq = takeSeq(ctx.ids);
    return seq === undefined ? null : { origin: ctx.me, seq, op: new Uint8Array(0) };
  }
  ks.noopTarget = 0;
  return null;
}

function newRound(
  ctx: CoreContext,
  instance: number,
  ballot: number,
  own: Proposal,
): ProposerRound {
  if (instance < 1 || ballot < 1 || own.origin !== ctx.me) {
    assert(
      false,
      `round at instance ${instance}, ballot ${ballot}, for a value of replica ${own.origin}`,
    );
  }
  return {
    instance,
    ballot,
    phase: 'prepare',
    own,
    value: null,
    votes: 0,
    highestAcceptedBallot: 0,
    highestAccepted: null,
    highestRejected: 0,
    startedTick: ctx.roundNow,
    retryAtTick: 0,
  };
}

/** Phase 1 with a ballot above everything we have promised or seen rejected. */
export function startPrepare(
  ctx: CoreContext,
  ks: KeyState,
  own: Proposal,
  rejectedAbove: number,
): void {
  const rec = ks.rec;
  const above = Math.max(rec.promised, rejectedAbove);
  const ballot = nextBallot(above, ctx.me, ctx.replicas, ctx.epoch);
  // Phase 1 never reuses a promise: its ballot beats all we know of, and is never a reserved one.
  if (!(ballot > above && !isPreauthorized(ballot, ctx.replicas)))
    assert(false, `prepare ballot ${ballot} not above ${above}`);
  const round = newRound(ctx, rec.chosen + 1, ballot, own);
  ks.proposal = round;
  // Our own promise, durable before any Prepare leaves (see the file comment).
  rec.promised = ballot;
  markDirty(ctx, ks);
  round.votes = 1 << ctx.me;
  round.highestAcceptedBallot = rec.acceptedBallot;
  round.highestAccepted = rec.accepted;
  count(ctx, 'prepareRounds');
  for (const peer of peersOf(ctx)) {
    ctx.out.sendAfterPersist.push(
      message(ctx, ks, MessageType.prepare, peer, round.instance, ballot),
    );
  }
  if (popcount(round.votes) >= ctx.quorum) startAccept(ctx, ks, round.highestAccepted ?? own);
}

/** Phase 2: accept locally, then ask the peers. */
function startAccept(ctx: CoreContext, ks: KeyState, value: Proposal): void {
  const rec = ks.rec;
  const round = ks.proposal;
  if (!(round !== null && round.instance === rec.chosen + 1))
    assert(false, `accept for stale round on ${ks.key}`);
  if (rec.promised > round.ballot) {
    // A higher Prepare reached our own acceptor during phase 1: this round is pre-empted.
    round.highestRejected = Math.max(round.highestRejected, rec.promised);
    if (round.retryAtTick === 0) round.retryAtTick = ctx.roundNow + 1 + ctx.me;
    count(ctx, 'roundsPreempted');
    return;
  }
  round.phase = 'accept';
  round.value = value;
  round.votes = 1 << ctx.me;
  rec.promised = round.ballot;
  rec.acceptedBallot = round.ballot;
  rec.accepted = value;
  markDirty(ctx, ks);
  const head = ks.writes[0];
  if (
    head !== undefined &&
    head.proposal === value &&
    head.pendingAt[head.pendingAt.length - 1] !== round.instance
  ) {
    // A write's first instance in an array of its own size: a push onto the empty array would
    // reserve 17 elements (~150 heap bytes per write) that almost every write leaves unused.
    if (head.pendingAt.length === 0) head.pendingAt = [round.instance];
    else head.pendingAt.push(round.instance);
  }
  for (const peer of peersOf(ctx)) {
    const accept = message(ctx, ks, MessageType.accept, peer, round.instance, round.ballot);
    accept.value = value;
    ctx.out.sendAfterPersist.push(accept);
  }
  if (popcount(round.votes) >= ctx.quorum) onChosenHere(ctx, ks, value);
}

export function onPromise(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const round = ks.proposal;
  if (
    round === null ||
    round.phase !== 'prepare' ||
    m.instance !== round.instance ||
    m.ballot !== round.ballot
  ) {
    return;
  }
  if (!m.ok) {
    rejected(ctx, ks, round, m);
    return;
  }
  // Our own promise is counted when the round starts (startPrepare): a quorum includes us.
  if ((round.votes & (1 << ctx.me)) === 0)
    assert(false, `prepare round on ${ks.key} without our own vote`);
  round.votes |= 1 << m.from;
  if (m.value !== null && m.acceptedBallot > round.highestAcceptedBallot) {
    round.highestAcceptedBallot = m.acceptedBallot;
    round.highestAccepted = m.value;
  }
  if (popcount(round.votes) >= ctx.quorum) startAccept(ctx, ks, round.highestAccepted ?? round.own);
}

export function onAccepted(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const round = ks.proposal;
  if (
    round === null ||
    round.phase !== 'accept' ||
    m.instance !== round.instance ||
    m.ballot !== round.ballot
  ) {
    return;
  }
  if (!m.ok) {
    rejected(ctx, ks, round, m);
    return;
  }
  round.votes |= 1 << m.from;
  if (round.value === null) assert(false, `accept round without value on ${ks.key}`);
  if (popcount(round.votes) >= ctx.quorum) onChosenHere(ctx, ks, round.value);
}

/**
 * A rejection. If the peer has already decided the instance, learn() has started a catch-up
 * and the round is simply dropped; otherwise retry later with a higher ballot. The backoff is
 * staggered by replica id so dueling proposers stop colliding.
 */
function rejected(ctx: CoreContext, ks: KeyState, round: ProposerRound, m: PaxosMessage): void {
  round.highestRejected = Math.max(round.highestRejected, m.promised);
  count(ctx, 'roundsRejected');
  if (m.chosen >= round.instance) {
    ks.proposal = null;
    return;
  }
  if (round.retryAtTick === 0) round.retryAtTick = ctx.roundNow + 1 + ctx.me;
}

/** Our round got a majority: the value is chosen at round.instance. */
function onChosenHere(ctx: CoreContext, ks: KeyState, value: Proposal): void {
  const rec = ks.rec;
  const round = ks.proposal;
  if (!(round !== null && round.instance === rec.chosen + 1))
    assert(false, `chosen for stale round on ${ks.key}`);
  const versionBefore = rec.version;
  const dataBefore = rec.data;
  applyChosen(rec, value, ctx.model, dataOwner(ctx, ks));
  noteApplied(ctx, ks, value.op, versionBefore, dataBefore);
  markChosenOnly(ctx, ks);
  count(ctx, 'chosenHere');
  // The peers are owed a notice, so they settle from their accepted value. It is not sent
  // now: the next message about the key to a peer carries the chosen state (the next accept,
  // usually, when the key is busy), and the next tick sends whatever is still owed
  // (decisions.md "Chosen notices ride on the next message"). Safe at any time: the value
  // is durable on a majority; a lost notice is a lost message like any other.
  if (ks.noticePeers === 0) ctx.noticesDue.push(ks);
  ks.noticePeers = ctx.peersMask;
  afterChosenAdvanced(ctx, ks);
}

/** Called whenever the key's chosen instance moves (chosen here, settled, caught up). */
export function afterChosenAdvanced(ctx: CoreContext, ks: KeyState): void {
  const round = ks.proposal;
  if (round !== null && round.instance <= ks.rec.chosen) ks.proposal = null;
  serveReadsUpTo(ctx, ks);
  maybePropose(ctx, ks);
  maybeStartRead(ctx, ks);
}

/**
 * Answers the head write once its value is known chosen (found in the recent window), or fails
 * it with UNKNOWN_OUTCOME when an instance it was proposed at is decided but no longer in the
 * window (its winner cannot be told). Instances decided for another value are dropped; when
 * none is left the value is proposed again. Never re-proposes a value that may be chosen.
 */
function resolveFinishedWrites(ctx: CoreContext, ks: KeyState): void {
  for (let i = 0; i < ctx.limits.queuedWritesPerKeyMax && ks.writes.length > 0; i++) {
    const head = ks.writes[0];
    assert(head !== undefined);
    if (head.pendingAt.length === 0) return;
    const result = findAppliedResult(ks.rec, head.proposal.origin, head.proposal.seq);
    if (result !== undefined) {
      deliver(ctx, { token: head.request.token, ok: true, result });
      count(ctx, 'writesAcknowledged');
    } else if (dropLostInstances(ks, head.pendingAt)) {
      return; // Not chosen anywhere decided so far: keep proposing it.
    } else {
      refuse(
        ctx,
        head.request.token,
        CoreErrorCodes.UNKNOWN_OUTCOME,
        `write to ${ks.key} may or may not have been applied`,
      );
    }
    ks.writes.shift();
    if (ks.writes.length === 0) ks.writes = NO_WRITES;
  }
}

/**
 * Removes from `pendingAt` the decided instances whose chosen value the window shows (and is
 * not ours). Returns false when a decided instance fell out of the window: outcome unknown.
 */
function dropLostInstances(ks: KeyState, pendingAt: number[]): boolean {
  const rec = ks.rec;
  let kept = 0;
  for (const instance of pendingAt) {
    if (instance > rec.chosen) pendingAt[kept++] = instance;
    else if (!windowHasInstance(rec, instance)) return false;
  }
  pendingAt.length = kept;
  return true;
}

/** Timer work for the proposer: retry stalled or rejected rounds. */
export function tickProposer(ctx: CoreContext, ks: KeyState): void {
  const round = ks.proposal;
  if (round === null) return;
  const stalled = ctx.roundNow - round.startedTick >= ctx.limits.roundTimeoutTicks;
  const backoffOver = round.retryAtTick !== 0 && ctx.roundNow >= round.retryAtTick;
  if (!stalled && !backoffOver) return;
  count(ctx, 'roundsRetried');
  // The head write keeps its seq: the retry re-proposes the same value (at most once), with a
  // ballot above every promise a rejection told us about.
  ks.ballotFloor = Math.max(ks.ballotFloor, round.highestRejected);
  ks.proposal = null;
  maybePropose(ctx, ks);
  // A retry is a new round (a new ballot, or none while the key waits): never the stale one.
  if (ks.proposal === round) assert(false, `stalled round on ${ks.key} kept`);
}
