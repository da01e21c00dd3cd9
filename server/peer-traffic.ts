/**
 * Paxos messages between the nodes of one Set. Outbound: what the node's actors send to other
 * replicas' actors (the gateway) is batched per peer and leaves as one PEER_MESSAGES frame per
 * peer per turn of the event loop ("network IO aggregated by IP"). A message for a peer whose
 * link is down or full is dropped and counted: Paxos already tolerates lost messages, and a
 * queue that grew while a peer is away would only deliver stale rounds. Inbound: a frame from
 * an authenticated peer is delivered only if every message in it comes from that peer's own
 * actors and goes to this node's actors; anything else closes the connection (the caller).
 */
import { assert } from '../runtime/assert';
import type { NodeGateway } from '../actors/store/paxos-store';
import { FrameType, PeerBatch, ProtocolError, readPeerMessages } from '../client/wire-protocol';

/** What PeerTraffic uses of the node's gateway (a bench or test gives just these). */
export type PeerGateway = Pick<NodeGateway, 'replica' | 'onRemote' | 'deliverRemote'>;

/** How a peer's outbound link is reached (net/'s reconnecting link behind an adapter). */
export interface PeerLink {
  isUp(): boolean;
  send(type: number, payload: Uint8Array): boolean;
}

export interface PeerTrafficStats {
  messagesOut: number;
  framesOut: number;
  messagesIn: number;
  framesIn: number;
  droppedLinkDown: number;
  refusedIn: number;
}

/** A batch this large leaves at once rather than at the end of the turn. */
const BATCH_BYTES_SOFT_MAX = 1 << 20;

export class PeerTraffic {
  private readonly batches: (PeerBatch | undefined)[];
  private flushQueued = false;
  readonly stats: PeerTrafficStats = {
    messagesOut: 0,
    framesOut: 0,
    messagesIn: 0,
    framesIn: 0,
    droppedLinkDown: 0,
    refusedIn: 0,
  };

  /**
   * `links[r]`: the outbound link to replica r of the Set (undefined for this node's own).
   * `groups`: actor id = replica × groups + group.
   */
  constructor(
    private readonly gateway: PeerGateway,
    private readonly links: readonly (PeerLink | undefined)[],
    private readonly groups: number,
  ) {
    assert(links[gateway.replica] === undefined, 'no link to oneself');
    this.batches = links.map((l) => (l === undefined ? undefined : new PeerBatch()));
    gateway.onRemote((from, to, payload) => this.outbound(from, to, payload));
  }

  private outbound(from: number, to: number, payload: Uint8Array): void {
    const replica = Math.floor(to / this.groups);
    const batch = this.batches[replica];
    if (batch === undefined) assert(false, `message for replica ${replica}, which has no link`);
    batch.add(from, to, payload);
    this.stats.messagesOut++;
    if (batch.bytes >= BATCH_BYTES_SOFT_MAX) this.flushPeer(replica);
    else if (!this.flushQueued) {
      this.flushQueued = true;
      // After this turn's other messages: one frame carries all of them.
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushQueued = false;
    for (let r = 0; r < this.batches.length; r++) this.flushPeer(r);
  }

  private flushPeer(replica: number): void {
    const batch = this.batches[replica];
    const link = this.links[replica];
    if (batch === undefined || link === undefined || batch.count === 0) return;
    const n = batch.count;
    const payload = batch.take();
    if (link.isUp() && link.send(FrameType.peerMessages, payload)) this.stats.framesOut++;
    else this.stats.droppedLinkDown += n;
  }

  /**
   * A PEER_MESSAGES frame from replica `peer` of the Set. Throws ProtocolError (the caller
   * closes that connection) if any message does not come from the peer's actors or does not go
   * to this node's actors; nothing of such a frame is delivered.
   */
  inbound(peer: number, payload: Uint8Array): void {
    const me = this.gateway.replica;
    const g = this.groups;
    const messages: { from: number; to: number; payload: Uint8Array }[] = [];
    readPeerMessages(payload, (m) => {
      if (Math.floor(m.from / g) !== peer || Math.floor(m.to / g) !== me) {
        this.stats.refusedIn++;
        throw new ProtocolError(
          `replica ${peer} sent a message from actor ${m.from} to actor ${m.to}`,
        );
      }
      messages.push(m);
    });
    this.stats.framesIn++;
    for (const m of messages) {
      if (this.gateway.deliverRemote(m.from, m.to, m.payload)) this.stats.messagesIn++;
      else this.stats.refusedIn++;
    }
  }
}
