/**
 * net/reconnecting-link.ts over loopback: the link comes up, goes down when the server stops
 * (sends fail fast with UNAVAILABLE meanwhile, nothing is queued), and comes back up on its own
 * once a server listens on the same port again.
 */
import test from 'ava';
import type { FramedConnection } from '../../net/connection';
import { ReconnectingLink } from '../../net/reconnecting-link';
import type { TestServer } from './net-helpers';
import { SECRET, startServer, waitFor } from './net-helpers';

test('reconnects after the server restarts on the same port', async (t) => {
  const received: string[] = [];
  const onConnection = (c: FramedConnection): void =>
    c.onFrame((_type, payload) => received.push(payload.toString()));
  let srv: TestServer = await startServer({}, onConnection);
  const port = srv.server.port;
  const events: string[] = [];
  const link = new ReconnectingLink({
    dial: { host: '127.0.0.1', port, secret: SECRET, role: 'peer', name: 'linker' },
    backoffMsMin: 10,
    backoffMsMax: 100,
    random: () => 0.5,
    onUp: (peer) => events.push(`up ${peer.name}`),
    onDown: (reason) => events.push(`down ${reason}`),
  });
  await waitFor(() => link.isUp, 'first up');
  t.is(link.send(16, Buffer.from('one')), 'OK');
  await waitFor(() => received.length === 1, 'first frame');

  await srv.server.close();
  await waitFor(() => !link.isUp, 'down');
  t.is(link.send(16, Buffer.from('lost')), 'UNAVAILABLE', 'fails fast while down');
  t.true(link.stats.sendsUnavailable >= 1);
  // Let a few dials fail against the closed port before the server returns.
  await waitFor(() => link.stats.dialFailures >= 2, 'failed redials');

  srv = await startServer({ port }, onConnection);
  await waitFor(() => link.isUp, 'up again');
  t.is(link.send(16, Buffer.from('two')), 'OK');
  await waitFor(() => received.length === 2, 'frame after reconnect');
  t.deepEqual(received, ['one', 'two'], 'nothing sent while down is delivered later');
  t.is(events[0], 'up server-node');
  t.regex(events[1] ?? '', /^down (REMOTE|ERROR)$/);
  t.is(events[events.length - 1], 'up server-node');
  t.is(link.stats.ups, 2);

  link.close();
  await waitFor(() => srv.accepted[0]?.connection.isClosed === true, 'server side closed');
  await srv.server.close();
});

test('a link with the wrong secret never comes up and keeps backing off', async (t) => {
  const srv = await startServer();
  const link = new ReconnectingLink({
    dial: {
      host: '127.0.0.1',
      port: srv.server.port,
      secret: 'wrong-secret-wrong-secret',
      role: 'peer',
      name: 'x',
    },
    backoffMsMin: 5,
    backoffMsMax: 20,
  });
  await waitFor(() => link.stats.dialFailures >= 3, 'three failed dials');
  t.false(link.isUp);
  t.true(srv.server.stats.unauthenticated >= 3);
  t.is(link.send(16, Buffer.from('x')), 'UNAVAILABLE');
  link.close();
  await srv.server.close();
});
