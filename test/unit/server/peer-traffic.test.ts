/**
 * Paxos traffic between the nodes of a Set: one frame per peer per turn, messages for a down
 * peer dropped and counted, and inbound frames checked against the sending peer's identity.
 */
import test from 'ava';
import { PeerTraffic } from '../../../server/peer-traffic';
import type { PeerLink } from '../../../server/peer-traffic';
import { FrameType, PeerBatch, readPeerMessages } from '../../../client/wire-protocol';
import type { NodeGateway } from '../../../actors/store/paxos-store';
import type { RemoteHandler } from '../../../runtime/actor-system';
import { LinkFaults, newLinkFaults } from '../../../runtime/link-faults';

const GROUPS = 4;

function fakeGateway(replica: number): {
  gateway: NodeGateway;
  delivered: [number, number][];
  emit: RemoteHandler;
} {
  const delivered: [number, number][] = [];
  let handler: RemoteHandler = () => undefined;
  const gateway: NodeGateway = {
    replica,
    onRemote: (h) => {
      handler = h;
    },
    deliverRemote: (from, to) => {
      delivered.push([from, to]);
      return true;
    },
    call: () => Promise.reject(new Error('unused')),
    scan: () => Promise.reject(new Error('unused')),
    links: new LinkFaults(newLinkFaults(3, GROUPS)),
    inspect: () => Promise.resolve({ ok: false, code: 'UNAVAILABLE', message: 'unused' }),
    inFlight: () => 0,
  };
  return { gateway, delivered, emit: (from, to, p) => handler(from, to, p) };
}

class Link implements PeerLink {
  up = true;
  readonly frames: Uint8Array[] = [];
  isUp(): boolean {
    return this.up;
  }
  send(type: number, payload: Uint8Array): boolean {
    if (type === FrameType.peerMessages) this.frames.push(payload);
    return this.up;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('messages of one turn leave as one frame per peer, in order', async (t) => {
  const { gateway, emit } = fakeGateway(0);
  const to1 = new Link();
  const to2 = new Link();
  const traffic = new PeerTraffic(gateway, [undefined, to1, to2], GROUPS);
  emit(1, 5, new Uint8Array([1]));
  emit(2, 9, new Uint8Array([2]));
  emit(1, 6, new Uint8Array([3]));
  await turn();
  t.is(to1.frames.length, 1);
  t.is(to2.frames.length, 1);
  const got: number[] = [];
  readPeerMessages(to1.frames[0] ?? new Uint8Array(), (m) => got.push(m.to, m.payload[0] ?? -1));
  t.deepEqual(got, [5, 1, 6, 3]);
  t.like(traffic.stats, { messagesOut: 3, framesOut: 2 });
});

test('a peer that is down: its messages are dropped and counted, the other peer still gets its own', async (t) => {
  const { gateway, emit } = fakeGateway(0);
  const to1 = new Link();
  const to2 = new Link();
  to1.up = false;
  const traffic = new PeerTraffic(gateway, [undefined, to1, to2], GROUPS);
  emit(0, 4, new Uint8Array([1]));
  emit(0, 8, new Uint8Array([1]));
  await turn();
  t.is(to2.frames.length, 1);
  t.is(traffic.stats.droppedLinkDown, 1);
});

function frameOf(messages: [number, number][]): Uint8Array {
  const batch = new PeerBatch();
  for (const [from, to] of messages) batch.add(from, to, new Uint8Array([9]));
  return batch.take();
}

test("inbound: only messages from the peer's own actors to this node's actors; a bad frame delivers nothing", (t) => {
  const { gateway, delivered } = fakeGateway(1);
  const traffic = new PeerTraffic(gateway, [new Link(), undefined, new Link()], GROUPS);
  traffic.inbound(
    0,
    frameOf([
      [0, 4],
      [3, 7],
    ]),
  );
  t.deepEqual(delivered, [
    [0, 4],
    [3, 7],
  ]);
  // Replica 0 claiming to speak for replica 2's actor 8: refused, and nothing of the frame lands.
  t.throws(
    () =>
      traffic.inbound(
        0,
        frameOf([
          [1, 5],
          [8, 5],
        ]),
      ),
    { code: 'PROTOCOL' },
  );
  t.throws(
    () => traffic.inbound(0, frameOf([[1, 9]])),
    { code: 'PROTOCOL' },
    'to an actor of another node',
  );
  t.throws(
    () => traffic.inbound(0, new Uint8Array([1, 0, 0, 0, 7])),
    { code: 'PROTOCOL' },
    'truncated',
  );
  t.is(delivered.length, 2);
});
