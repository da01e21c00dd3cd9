/**
 * Catch-up of a replica that is behind, and recovery from amnesia (DESIGN.md §4).
 *
 * Catch-up: pull the whole record from a peer with a newer chosen instance and adopt its
 * chosen state.
 *
 * The amnesia rule: a replica that restarted without its state takes no part in any instance
 * of a key until it has fetched that key's state from a majority of the Set not counting
 * itself, and adopted the newest chosen state and the highest promise and accepted value among
 * them. That majority intersects every quorum the replica belonged to before it forgot.
 */
import { assert } from '../../../runtime/assert';
import { adoptChosen, checkRecord } from './key-record';
import type { CoreContext, KeyState } from './key-state';
import { count, markActive, markDirty, message, peersOf } from './key-state';
import { afterChosenAdvanced } from './proposer';
import { takeRequestId } from './ids';
import type { KeyRecord, PaxosMessage } from './types';
import { FetchPurpose, MessageType } from './types';

export function startCatchUp(ctx: CoreContext, ks: KeyState, peer: number): void {
  if (ks.fetch !== null || ks.status !== 'ready') return;
  if (peer === ctx.me) assert(false, `catch up from self on ${ks.key}`);
  // A spent id range (ids.ts): no catch-up now; the next message that shows us behind retries.
  const id = takeRequestId(ctx.ids);
  if (id === undefined) return;
  ks.fetch = { id, peer, sentTick: ctx.roundNow };
  markActive(ctx, ks);
  count(ctx, 'catchUps');
  const fetch = message(ctx, ks, MessageType.fetch, peer);
  fetch.requestId = ks.fetch.id;
  fetch.purpose = FetchPurpose.catchUp;
  ctx.out.send.push(fetch);
}

export function onCatchUpReply(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const fetch = ks.fetch;
  // Only the peer asked, answering the request this incarnation sent (ids never repeat).
  if (fetch === null || fetch.id !== m.requestId || fetch.peer !== m.from) return;
  if (m.record === null) assert(false, `fetch reply without record for ${ks.key}`);
  ks.fetch = null;
  if (m.record.chosen > ks.rec.chosen) {
    adoptChosen(ks.rec, m.record);
    markDirty(ctx, ks);
    count(ctx, 'caughtUp');
  }
  afterChosenAdvanced(ctx, ks);
}

export function startRecovery(ctx: CoreContext, ks: KeyState): void {
  if (ks.status !== 'loading') assert(false, `recovery of ${ks.status} key ${ks.key}`);
  ks.status = 'recovering';
  ks.recovery = { id: takeRequestId(ctx.ids) ?? 0, replies: new Map(), sentTick: ctx.roundNow };
  markActive(ctx, ks);
  count(ctx, 'recoveries');
  sendRecoveryFetches(ctx, ks);
}

function sendRecoveryFetches(ctx: CoreContext, ks: KeyState): void {
  const recovery = ks.recovery;
  assert(recovery !== null);
  if (recovery.id === 0) recovery.id = takeRequestId(ctx.ids) ?? 0;
  if (recovery.id === 0) return; // A spent id range: retried at the next tick.
  for (const peer of peersOf(ctx)) {
    if (recovery.replies.has(peer)) continue;
    const fetch = message(ctx, ks, MessageType.fetch, peer);
    fetch.requestId = recovery.id;
    fetch.purpose = FetchPurpose.recover;
    ctx.out.send.push(fetch);
  }
}

/** Returns true when this reply completed the recovery (the key is ready now). */
export function onRecoverReply(ctx: CoreContext, ks: KeyState, m: PaxosMessage): boolean {
  const recovery = ks.recovery;
  // A reply to a request this incarnation sent (request ids never repeat across incarnations:
  // a reply meant for our past self must not complete our recovery).
  if (recovery === null || recovery.id === 0 || recovery.id !== m.requestId || m.from === ctx.me)
    return false;
  if (m.record === null) assert(false, `recover reply without record for ${ks.key}`);
  // Keyed by replica: a duplicated reply is the same replica, never a second one.
  recovery.replies.set(m.from, m.record);
  if (recovery.replies.size < ctx.quorum) return false;
  if (recovery.replies.has(ctx.me)) assert(false, `recovery of ${ks.key} counted itself`);
  adoptRecovered(ks.rec, [...recovery.replies.values()]);
  checkRecord(ks.rec, ks.key);
  ks.recovery = null;
  ks.status = 'ready';
  markDirty(ctx, ks);
  count(ctx, 'recovered');
  return true;
}

/**
 * Merges our own (possibly stale) record with the peers': the newest chosen state, then the
 * highest promise and highest accepted value among the records at that chosen instance.
 */
export function adoptRecovered(own: KeyRecord, replies: KeyRecord[]): void {
  let newest = own;
  for (const r of replies) if (r.chosen > newest.chosen) newest = r;
  if (newest !== own) adoptChosen(own, newest);
  for (const r of replies) {
    if (r.chosen !== own.chosen) continue;
    own.promised = Math.max(own.promised, r.promised);
    if (r.acceptedBallot > own.acceptedBallot) {
      own.acceptedBallot = r.acceptedBallot;
      own.accepted = r.accepted;
    }
  }
  own.promised = Math.max(own.promised, own.acceptedBallot);
  // The merged record knows everything a majority promised, accepted or saw chosen.
  if (!(own.chosen >= newest.chosen))
    assert(false, `recovered chosen ${own.chosen} < ${newest.chosen}`);
  if (!(own.acceptedBallot <= own.promised))
    assert(false, `recovered accepted ${own.acceptedBallot} > promised ${own.promised}`);
}

/** Timer work: resend unanswered recovery fetches; give up a stalled catch-up. */
export function tickRecovery(ctx: CoreContext, ks: KeyState): void {
  const recovery = ks.recovery;
  if (recovery !== null && ctx.roundNow - recovery.sentTick >= ctx.limits.roundTimeoutTicks) {
    recovery.sentTick = ctx.roundNow;
    count(ctx, 'recoveryRetries');
    sendRecoveryFetches(ctx, ks);
  }
  const fetch = ks.fetch;
  if (fetch !== null && ctx.roundNow - fetch.sentTick >= ctx.limits.roundTimeoutTicks) {
    ks.fetch = null;
    count(ctx, 'catchUpTimeouts');
    afterChosenAdvanced(ctx, ks);
  }
  assert(
    recovery === null || ctx.roundNow - recovery.sentTick < ctx.limits.roundTimeoutTicks,
    'recovery fetch overdue after tick',
  );
}
