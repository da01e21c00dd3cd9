/**
 * The store's traffic since open, summed over replicas, workers and the client thread, for
 * issue 10's "messages per write": take two snapshots around a load and divide the
 * differences by `writesAcknowledged` (or by the operations the caller completed).
 */
import type { ClientStats } from '../../runtime/actor-system';

export interface TrafficStats {
  /** Client writes answered ok by their home's core (every replica that is up). */
  readonly writesAcknowledged: number;
  /** Paxos messages between replicas (accepts, replies, chosen notices, read queries, ...). */
  readonly paxosMessages: number;
  /** Payloads those messages travelled in (one runtime record each). */
  readonly peerPayloads: number;
  /** Result payloads from the group actors to the client thread. */
  readonly resultPayloads: number;
  /**
   * Records put on inter-thread rings: by the workers (peer and result payloads to another
   * thread) and by the client thread (request payloads).
   */
  readonly interThreadRecords: number;
  /** Deliveries between actors of one worker (its local queue, no ring). */
  readonly localDeliveries: number;
  /** Of `localDeliveries`, message objects (same-thread replicas: nothing encoded or decoded). */
  readonly localObjects: number;
  /**
   * Records handed to the wire layer (a cluster node's messages to remote replicas: each
   * leaves in a frame of the link, several records per frame under load); 0 when embedded.
   */
  readonly wireRecords: number;
  /** Doorbell wake-ups: of the workers, and of the client thread. */
  readonly workerWakes: number;
  readonly clientWakes: number;
}

interface WorkerCounters {
  readonly messagesOut?: number;
  readonly localMessages?: number;
  readonly localObjects?: number;
  readonly wakes?: number;
}

export function trafficOf(
  replicas: readonly (Record<string, number> | null)[],
  workers: readonly unknown[],
  client: ClientStats,
): TrafficStats {
  let writesAcknowledged = 0;
  let paxosMessages = 0;
  let peerPayloads = 0;
  let resultPayloads = 0;
  for (const r of replicas) {
    if (r === null) continue;
    writesAcknowledged += r['writesAcknowledged'] ?? 0;
    paxosMessages += r['messagesSent'] ?? 0;
    peerPayloads += r['peerPayloadsSent'] ?? 0;
    resultPayloads += r['resultPayloadsSent'] ?? 0;
  }
  let interThreadRecords = client.messagesOut;
  let localDeliveries = 0;
  let localObjects = 0;
  let workerWakes = 0;
  for (const w of workers) {
    const s = w as WorkerCounters;
    interThreadRecords += s.messagesOut ?? 0;
    localDeliveries += s.localMessages ?? 0;
    localObjects += s.localObjects ?? 0;
    workerWakes += s.wakes ?? 0;
  }
  return {
    writesAcknowledged,
    paxosMessages,
    peerPayloads,
    resultPayloads,
    interThreadRecords,
    localDeliveries,
    localObjects,
    wireRecords: client.remoteOut,
    workerWakes,
    clientWakes: client.wakes,
  };
}
