/**
 * The acceptor side of one key's PaxosLog: promises, accepts, learning chosen values from the
 * chosen state every message carries, and answering peers' read queries and fetches.
 *
 * Durability rule (DESIGN.md §4): a promise or an accept is persisted before it is answered,
 * so those replies go to `sendAfterPersist`. Rejections change nothing and go out at once.
 */
import { assert } from '../../../runtime/assert';
import { ballotOwner, isPreauthorized } from './ballot';
import { homeReplicaOf } from './key-hash';
import { applyChosen, sameValue, snapshotRecord } from './key-record';
import type { CoreContext, KeyState } from './key-state';
import {
  count,
  dataOwner,
  lendData,
  markDirty,
  markChosenOnly,
  message,
  noteApplied,
} from './key-state';
import { afterChosenAdvanced } from './proposer';
import { startCatchUp } from './recovery';
import type { PaxosMessage } from './types';
import { FetchPurpose, MessageType } from './types';

/**
 * Uses the sender's chosen state. One instance behind and holding the very value that was
 * chosen (same origin and seq): settle it locally, no data transfer. Further behind: fetch the
 * chosen state from the sender.
 */
export function learn(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const rec = ks.rec;
  if (m.chosen <= rec.chosen) return;
  if (
    m.chosen === rec.chosen + 1 &&
    rec.accepted !== null &&
    sameValue(rec.accepted, m.chosenOrigin, m.chosenSeq)
  ) {
    const versionBefore = rec.version;
    const dataBefore = rec.data;
    const value = rec.accepted;
    applyChosen(rec, value, ctx.model, dataOwner(ctx, ks));
    noteApplied(ctx, ks, value.op, versionBefore, dataBefore);
    markChosenOnly(ctx, ks);
    count(ctx, 'settledLocally');
    if (rec.chosen !== m.chosen) assert(false, `settled ${rec.chosen} != ${m.chosen}`);
    afterChosenAdvanced(ctx, ks);
    return;
  }
  startCatchUp(ctx, ks, m.from);
}

export function onPrepare(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const rec = ks.rec;
  if (isPreauthorized(m.ballot, ctx.replicas))
    assert(false, `prepare with reserved ballot ${m.ballot}`);
  // An instance we are behind on: the catch-up started by learn() comes first.
  if (m.instance > rec.chosen + 1) return;
  if (m.instance <= rec.chosen || m.ballot < rec.promised) {
    // Decided already, or promised higher: reject with our state so the proposer moves on.
    ctx.out.send.push(reply(ctx, ks, m, MessageType.promise, false));
    count(ctx, 'promiseRejected');
    return;
  }
  rec.promised = m.ballot;
  markDirty(ctx, ks);
  const promise = message(ctx, ks, MessageType.promise, m.from, m.instance, m.ballot);
  promise.ok = true;
  promise.acceptedBallot = rec.acceptedBallot;
  promise.value = rec.accepted;
  ctx.out.sendAfterPersist.push(promise);
  if (!(rec.promised >= rec.acceptedBallot))
    assert(false, `promised ${rec.promised} < accepted ${rec.acceptedBallot}`);
}

/**
 * A pre-authorized ballot (1..N) is taken only from the replica that originated the value
 * chosen at the previous instance (for instance 1: the key's home), and only while we have promised and accepted nothing for
 * this instance (taking it counts as a promise at that ballot).
 */
function mayAccept(ctx: CoreContext, ks: KeyState, m: PaxosMessage): boolean {
  const rec = ks.rec;
  // The caller answered instances we decided or are behind on; this is the one we vote in.
  if (m.instance !== rec.chosen + 1)
    assert(false, `mayAccept for instance ${m.instance} at chosen ${rec.chosen}`);
  if (isPreauthorized(m.ballot, ctx.replicas)) {
    // Instance 1 has no originator: the key's home holds its reserved ballot instead.
    const entitled = rec.chosen === 0 ? homeReplicaOf(ks.key, ctx.replicas) : rec.chosenOrigin;
    return (
      entitled === ballotOwner(m.ballot, ctx.replicas) &&
      ((rec.promised === 0 && rec.acceptedBallot === 0) ||
        (rec.promised === m.ballot &&
          sameValue(rec.accepted, m.value?.origin ?? -1, m.value?.seq ?? -1)))
    );
  }
  return m.ballot >= rec.promised;
}

export function onAccept(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const rec = ks.rec;
  if (m.value === null) assert(false, `accept without value for ${ks.key}`);
  if (m.instance > rec.chosen + 1) return;
  if (m.instance <= rec.chosen || !mayAccept(ctx, ks, m)) {
    ctx.out.send.push(reply(ctx, ks, m, MessageType.accepted, false));
    count(ctx, 'acceptRejected');
    return;
  }
  rec.promised = m.ballot;
  rec.acceptedBallot = m.ballot;
  rec.accepted = m.value;
  markDirty(ctx, ks);
  const accepted = message(ctx, ks, MessageType.accepted, m.from, m.instance, m.ballot);
  accepted.ok = true;
  ctx.out.sendAfterPersist.push(accepted);
  if (rec.acceptedBallot !== rec.promised)
    assert(false, `accepted ${rec.acceptedBallot} != promised ${rec.promised}`);
}

function reply(
  ctx: CoreContext,
  ks: KeyState,
  m: PaxosMessage,
  type: typeof MessageType.promise | typeof MessageType.accepted,
  ok: boolean,
): PaxosMessage {
  const answer = message(ctx, ks, type, m.from, m.instance, m.ballot);
  answer.ok = ok;
  answer.promised = ks.rec.promised;
  return answer;
}

/** A read query: report our chosen instance and whether we hold an unchosen accepted value. */
export function onReadQuery(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  const answer = message(ctx, ks, MessageType.readReply, m.from);
  answer.requestId = m.requestId;
  answer.acceptedBallot = ks.rec.acceptedBallot;
  ctx.out.send.push(answer);
}

/**
 * A peer asks for our whole record: to catch up (it adopts the chosen state) or to recover
 * from amnesia (it also adopts our promise and accepted value, so those must be durable
 * first: the reply waits for the persist).
 */
export function onFetch(ctx: CoreContext, ks: KeyState, m: PaxosMessage): void {
  if (ks.status !== 'ready') assert(false, `fetch answered from ${ks.status} key ${ks.key}`);
  // The reply carries the data by reference until it is encoded, maybe after a persist.
  lendData(ks);
  const record = snapshotRecord(ks.rec);
  const answer = message(ctx, ks, MessageType.fetchReply, m.from);
  answer.requestId = m.requestId;
  answer.purpose = m.purpose;
  answer.record = record;
  if (m.purpose === FetchPurpose.recover) ctx.out.sendAfterPersist.push(answer);
  else ctx.out.send.push(answer);
}
