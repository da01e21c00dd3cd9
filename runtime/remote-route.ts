/**
 * The transport seam between nodes (issue 8 item 1, issue 9). Actors are grouped into nodes by
 * a pure rule: node n holds the actor ids [n·actorsPerNode, (n+1)·actorsPerNode) (the store
 * places one replica's groups per node this way). In an embedded store every node lives in
 * this process and the rings carry everything. In a cluster node process only `localNode`
 * lives here: a worker sends a message for an actor of another node to the client thread
 * (the node's gateway), which hands it to the network (ActorSystem.onRemote), and messages
 * that arrive from the network enter the rings through ActorSystem.deliverRemote. The
 * actors never know which: they send to actor ids, as before.
 */
import { assert } from './assert';
import { CLIENT_ADDRESS } from './actor';
import type { ActorId } from './actor';

/** Plain data (structured-clonable): crosses to every worker in its init. */
export interface RemoteRoute {
  /** Consecutive actor ids per node. */
  readonly actorsPerNode: number;
  /** Nodes in the layout (ids beyond them are refused). */
  readonly nodes: number;
  /** The node this process hosts. */
  readonly localNode: number;
}

export function checkRemoteRoute(route: RemoteRoute): void {
  const { actorsPerNode, nodes, localNode } = route;
  assert(
    Number.isInteger(actorsPerNode) && actorsPerNode >= 1,
    () => `actorsPerNode ${actorsPerNode}`,
  );
  assert(
    Number.isInteger(nodes) && nodes >= 1 && nodes * actorsPerNode < 0xffff_fff0,
    () => `nodes ${nodes}`,
  );
  assert(
    Number.isInteger(localNode) && localNode >= 0 && localNode < nodes,
    () => `localNode ${localNode} of ${nodes}`,
  );
}

/** The node of an actor id (undefined for the client endpoint and ids beyond the layout). */
export function nodeOfActor(actor: ActorId, route: RemoteRoute): number | undefined {
  if (actor === CLIENT_ADDRESS) return undefined;
  const node = Math.floor(actor / route.actorsPerNode);
  return node < route.nodes ? node : undefined;
}

/** True when `actor` lives on another node of the layout (the client endpoint never does). */
export function isRemoteActor(actor: ActorId, route: RemoteRoute | undefined): boolean {
  if (route === undefined || actor === CLIENT_ADDRESS) return false;
  const node = nodeOfActor(actor, route);
  return node !== undefined && node !== route.localNode;
}
