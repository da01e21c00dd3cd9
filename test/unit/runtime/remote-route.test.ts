/**
 * The transport seam: two ActorSystems in one process stand for two cluster nodes; each
 * hosts its node's actors and hands messages for the other node's actors to its gateway
 * (onRemote), which here delivers them straight into the other system (deliverRemote). The
 * echo actors do not know their peer is remote.
 */
import test from 'ava';
import path from 'node:path';
import { ActorSystem } from '../../../runtime/actor-system';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import { isRemoteActor, nodeOfActor } from '../../../runtime/remote-route';
import { Op, frame } from './fixtures/echo-actor';
import { Inbox } from './fixtures/inbox';

const ECHO_MODULE = path.join(__dirname, 'fixtures', 'echo-actor.js');
const layout = { actorsPerNode: 4, nodes: 2 };

function startNode(localNode: number): Promise<ActorSystem> {
  const first = localNode * layout.actorsPerNode;
  return ActorSystem.start({
    workers: 2,
    actorModule: ECHO_MODULE,
    actorConfig: {},
    actors: [first, first + 1, first + 2, first + 3],
    remote: { ...layout, localNode },
  });
}

test('the layout: node of an actor, remote or local, the client endpoint never remote', (t) => {
  const route = { ...layout, localNode: 0 };
  t.deepEqual(
    [0, 3, 4, 7, 8].map((a) => nodeOfActor(a, route)),
    [0, 0, 1, 1, undefined],
  );
  t.deepEqual(
    [0, 3, 4, 7, 8, CLIENT_ADDRESS].map((a) => isRemoteActor(a, route)),
    [false, false, true, true, false, false],
  );
  t.false(isRemoteActor(5, undefined), 'no route: everything is local');
});

test('a message to an actor of another node leaves through the gateway and its answer comes back', async (t) => {
  const a = await startNode(0);
  const b = await startNode(1);
  try {
    const seen: [number, number][] = [];
    a.onRemote((from, to, payload) => {
      seen.push([from, to]);
      t.true(b.deliverRemote(from, to, payload.slice()));
    });
    b.onRemote((from, to, payload) => {
      seen.push([from, to]);
      t.true(a.deliverRemote(from, to, payload.slice()));
    });
    const inbox = new Inbox(a);
    // Actor 1 (node 0) relays an ECHO to actor 6 (node 1); 6 replies to 1; 1 forwards to the client.
    const echo = frame(Op.echo, 42);
    const relay = new Uint8Array(5 + echo.length);
    relay.set(frame(Op.relay, 6));
    relay.set(echo, 5);
    a.send(1, relay);
    await inbox.waitFor(() => inbox.count(Op.reply, 1) === 1, 'the reply through both gateways');
    t.deepEqual(seen, [
      [1, 6],
      [6, 1],
    ]);
    t.is(a.clientStats().remoteOut, 1);
    t.is(a.clientStats().remoteIn, 1);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('deliverRemote refuses what the network may not say: a local sender, a remote target, the client', async (t) => {
  const a = await startNode(0);
  try {
    t.false(a.deliverRemote(1, 2, frame(Op.echo)), 'from a local actor');
    t.false(a.deliverRemote(5, 6, frame(Op.echo)), 'to a remote actor');
    t.false(a.deliverRemote(5, CLIENT_ADDRESS, frame(Op.echo)), 'to the client endpoint');
    t.false(a.deliverRemote(CLIENT_ADDRESS, 1, frame(Op.echo)), 'from the client endpoint');
    t.false(a.deliverRemote(9, 1, frame(Op.echo)), 'from beyond the layout');
    t.is(a.clientStats().remoteRefused, 5);
    t.is(a.clientStats().remoteIn, 0);
  } finally {
    await a.close();
  }
});

test('a remote route refuses actors of another node at start', async (t) => {
  await t.throwsAsync(
    ActorSystem.start({
      workers: 1,
      actorModule: ECHO_MODULE,
      actorConfig: {},
      actors: [1, 5],
      remote: { ...layout, localNode: 0 },
    }),
    { code: 'PXS_INVALID_OPTIONS' },
  );
});
