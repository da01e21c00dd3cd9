/**
 * Ballot arithmetic (DESIGN.md §4): ballot = round * N + replicaId + 1, so the proposer is
 * recoverable from the ballot, and ballots 1..N (round 0) are reserved for pre-authorization.
 */
import { assert } from '../../../runtime/assert';

export function quorumSize(replicas: number): number {
  assert(Number.isInteger(replicas) && replicas >= 1, () => `replicas ${replicas} must be >= 1`);
  return Math.floor(replicas / 2) + 1;
}

export function ballotOf(round: number, replicaId: number, replicas: number): number {
  assert(replicaId >= 0 && replicaId < replicas, () => `replica ${replicaId} outside 0..${replicas - 1}`);
  assert(round >= 0 && Number.isSafeInteger(round), () => `bad round ${round}`);
  return round * replicas + replicaId + 1;
}

/** The replica whose ballot this is. */
export function ballotOwner(ballot: number, replicas: number): number {
  assert(ballot >= 1, () => `ballot ${ballot} has no owner`);
  return (ballot - 1) % replicas;
}

/** The reserved pre-authorization ballot of a replica (round 0). */
export function preauthorizedBallot(replicaId: number, replicas: number): number {
  return ballotOf(0, replicaId, replicas);
}

export function isPreauthorized(ballot: number, replicas: number): boolean {
  return ballot >= 1 && ballot <= replicas;
}

/** The smallest ballot of `replicaId` with round >= 1 that is strictly greater than `above`. */
export function nextBallot(above: number, replicaId: number, replicas: number): number {
  assert(above >= 0, () => `negative ballot ${above}`);
  let round = Math.max(1, Math.floor(above / replicas));
  let ballot = ballotOf(round, replicaId, replicas);
  // At most two steps: ballots of one replica are N apart.
  for (let i = 0; i < 2 && ballot <= above; i++) {
    round += 1;
    ballot = ballotOf(round, replicaId, replicas);
  }
  assert(ballot > above && ballot > replicas, () => `next ballot ${ballot} not above ${above}`);
  return ballot;
}
