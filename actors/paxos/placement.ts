/**
 * Where a replica group's actor is: actor id = replica × groups + group. Pure arithmetic shared
 * by the shell, the store's request routing, verification and the simulator harness; the
 * runtime's link faults group the same ids into nodes (one node per replica).
 */
import { assert } from '../../runtime/assert';
import type { ActorId } from '../../runtime/actor';

export interface GroupPlacement {
  readonly replicas: number;
  readonly groups: number;
}

export function actorIdOf(replica: number, group: number, p: GroupPlacement): ActorId {
  assert(
    replica >= 0 && replica < p.replicas && group >= 0 && group < p.groups,
    () => `actor ${replica}/${group}`,
  );
  return replica * p.groups + group;
}

export function replicaOfActor(id: ActorId, p: GroupPlacement): number {
  return Math.floor(id / p.groups);
}

export function groupOfActor(id: ActorId, p: GroupPlacement): number {
  return id % p.groups;
}
