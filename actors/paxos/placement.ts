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
  // The message is built in a failing branch, not a closure: a closure capturing the arguments
  // costs a context allocation per call (twice per request on the client thread, issue 10).
  if (!(replica >= 0 && replica < p.replicas && group >= 0 && group < p.groups))
    assert(false, `actor ${replica}/${group}`);
  return replica * p.groups + group;
}

export function replicaOfActor(id: ActorId, p: GroupPlacement): number {
  return Math.floor(id / p.groups);
}

export function groupOfActor(id: ActorId, p: GroupPlacement): number {
  return id % p.groups;
}

/**
 * The worker thread of each actor id (index = actor id), for the runtime's placement
 * (docs/decisions.md "Replicas of a group on one worker").
 *
 * - `together`: every replica of group g on worker g mod workers. A write's accepts, replies
 *   and chosen notices, and a read's queries, are then deliveries inside one worker (no ring,
 *   no doorbell), each worker serves its own groups, and workers scale by group.
 * - `spread`: replica r of group g on worker (g + r) mod workers, so no worker holds more
 *   replicas of a group than round-robin must. Chosen where a worker's death loses the state
 *   of the replicas it hosts (the memory engine without `persist`, or `sync: 'none'`) and the
 *   workers are enough that no worker holds a majority of any group: then a dead worker costs
 *   each group at most a minority, which the amnesia rule recovers from the others.
 */
export function workerPlacement(
  p: GroupPlacement,
  workers: number,
  layout: 'together' | 'spread',
): number[] {
  assert(Number.isInteger(workers) && workers >= 1, () => `workers ${workers}`);
  const byId: number[] = [];
  for (let r = 0; r < p.replicas; r++) {
    for (let g = 0; g < p.groups; g++) {
      byId[actorIdOf(r, g, p)] = layout === 'together' ? g % workers : (g + r) % workers;
    }
  }
  assert(byId.length === p.replicas * p.groups, () => `placement of ${byId.length} actors`);
  return byId;
}

/**
 * `together` unless a worker's death loses its replicas' state and `spread` can keep every
 * group's majority alive through it (ceil(replicas / workers) < majority). With fewer workers
 * (3 replicas on 2 workers) no placement can: some worker holds two replicas of each group,
 * whatever the layout, and its death leaves that group without a majority that kept its state;
 * grouping the replicas loses no group that a spread layout would keep.
 */
export function placementLayout(
  replicas: number,
  workers: number,
  stateSurvivesWorkerDeath: boolean,
): 'together' | 'spread' {
  if (stateSurvivesWorkerDeath) return 'together';
  const majority = Math.floor(replicas / 2) + 1;
  return Math.ceil(replicas / workers) < majority ? 'spread' : 'together';
}
