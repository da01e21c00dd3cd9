/** What `status` answers for one node (the CLI's `paxosstore status` table is built from it). */
import type { ClusterNode } from './cluster-node';
import type { NodeRepairStatus } from './node-repair';

export interface NodeStatus {
  readonly node: string;
  readonly set: string;
  readonly zone: string | undefined;
  readonly replica: number;
  readonly up: true;
  /** Keys this replica holds in memory (over all its groups). */
  readonly keys: number;
  /** Groups of this replica that are not running now (restarting or failed). */
  readonly groupsDown: number;
  /** Peers of this Set the node has a connection to. */
  readonly peersUp: readonly string[];
  readonly counters: Record<string, number>;
  readonly traffic: Record<string, number>;
  /**
   * Groups of this replica whose digests differ from a majority of the Set's replicas, as the
   * background repair scan last found them (server/groups-behind.ts); null until the scan has
   * compared every group once (or when it is disabled).
   */
  readonly groupsBehind: number | null;
  /** The background repair scan: progress, totals, the last round (server/node-repair.ts). */
  readonly repair: NodeRepairStatus;
}

export async function nodeStatus(node: ClusterNode): Promise<NodeStatus> {
  const stats = await node.store.stats();
  const counters = stats.replicas[node.place.replicaIndex] ?? {};
  const { traffic, peersUp, chaos } = node.peerStats();
  const repair = node.repair.status();
  return {
    node: node.place.node.node,
    set: node.place.set.id,
    zone: node.place.node.zone,
    replica: node.place.replicaIndex,
    up: true,
    keys: counters.keys ?? 0,
    groupsDown: stats.supervision.restarting.length + stats.supervision.failed.length,
    peersUp,
    counters,
    // Messages per frame: how well one frame per peer per turn aggregates ("IO by IP").
    traffic: {
      ...traffic,
      chaosDropped: chaos.dropped,
      chaosDuplicated: chaos.duplicated,
      chaosDelayed: chaos.delayed,
      messagesPerFrame: traffic.framesOut === 0 ? 0 : traffic.messagesOut / traffic.framesOut,
    },
    groupsBehind: repair.groupsBehind,
    repair,
  };
}
