/**
 * Ballot arithmetic (DESIGN.md §4, decision 15).
 *
 * A ballot names its proposer: the replica and the incarnation (epoch) of that replica's core
 * that may use it. Ballots are ordered by (round, epoch, replica) and packed into one safe
 * integer:
 *
 *     ballot = (round × EPOCH_SPAN + epoch) × N + replicaId + 1
 *
 * so `(ballot - 1) mod N` is still the proposer's replica. Round 0 with epoch 0 gives the
 * ballots 1..N, reserved for pre-authorization. Every other ballot a core makes has round ≥ 1
 * and carries its own epoch, so two incarnations of one replica never make the same ballot:
 * a Prepare or Accept that a past incarnation left on the wire can never be mistaken for (or
 * answered as) one of the current incarnation's, whatever promises were forgotten. Safety
 * needs no clock and no floor: uniqueness of ballots per proposer is all Paxos asks.
 *
 * Records written before epochs existed hold ballots `round × N + id + 1`; read with this
 * layout they are round 0 with a small epoch, which no core makes any more, below every new
 * ballot: still unique, still ordered consistently.
 */
import { assert } from '../../../runtime/assert';

/** Epochs (incarnation numbers) lie in [0, EPOCH_SPAN). */
export const EPOCH_SPAN = 2 ** 21;

export function quorumSize(replicas: number): number {
  if (!(Number.isInteger(replicas) && replicas >= 1))
    assert(false, `replicas ${replicas} must be >= 1`);
  return Math.floor(replicas / 2) + 1;
}

export function ballotOf(round: number, replicaId: number, replicas: number, epoch = 0): number {
  if (!(replicaId >= 0 && replicaId < replicas))
    assert(false, `replica ${replicaId} outside 0..${replicas - 1}`);
  if (!(round >= 0 && Number.isSafeInteger(round))) assert(false, `bad round ${round}`);
  if (!(Number.isInteger(epoch) && epoch >= 0 && epoch < EPOCH_SPAN))
    assert(false, `bad epoch ${epoch}`);
  const ballot = (round * EPOCH_SPAN + epoch) * replicas + replicaId + 1;
  if (!Number.isSafeInteger(ballot))
    assert(false, `ballot of round ${round} epoch ${epoch} is not a safe integer`);
  return ballot;
}

/** The replica whose ballot this is. */
export function ballotOwner(ballot: number, replicas: number): number {
  if (!(ballot >= 1)) assert(false, `ballot ${ballot} has no owner`);
  return (ballot - 1) % replicas;
}

/** The round of a ballot (0 for reserved ballots and for ballots of the old layout). */
export function ballotRound(ballot: number, replicas: number): number {
  if (!(ballot >= 1)) assert(false, `ballot ${ballot} has no round`);
  return Math.floor((ballot - 1) / replicas / EPOCH_SPAN);
}

/** The epoch (incarnation) of the core that made a ballot. */
export function ballotEpoch(ballot: number, replicas: number): number {
  if (!(ballot >= 1)) assert(false, `ballot ${ballot} has no epoch`);
  return Math.floor((ballot - 1) / replicas) % EPOCH_SPAN;
}

/** The reserved pre-authorization ballot of a replica (round 0, epoch 0). */
export function preauthorizedBallot(replicaId: number, replicas: number): number {
  return ballotOf(0, replicaId, replicas);
}

export function isPreauthorized(ballot: number, replicas: number): boolean {
  return ballot >= 1 && ballot <= replicas;
}

/**
 * The smallest ballot of (`replicaId`, `epoch`) with round >= 1 that is strictly greater than
 * `above`.
 */
export function nextBallot(above: number, replicaId: number, replicas: number, epoch = 0): number {
  if (!(above >= 0 && Number.isSafeInteger(above))) assert(false, `bad ballot ${above}`);
  let round = Math.max(1, Math.floor(above / replicas / EPOCH_SPAN));
  let ballot = ballotOf(round, replicaId, replicas, epoch);
  // At most two steps: one round spans EPOCH_SPAN × N ballots.
  for (let i = 0; i < 2 && ballot <= above; i++) {
    round += 1;
    ballot = ballotOf(round, replicaId, replicas, epoch);
  }
  if (!(ballot > above && ballot > replicas))
    assert(false, `next ballot ${ballot} not above ${above}`);
  if (!(ballotEpoch(ballot, replicas) === epoch))
    assert(false, `ballot ${ballot} lost its epoch ${epoch}`);
  return ballot;
}
