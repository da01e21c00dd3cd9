/**
 * net/ over loopback sockets (127.0.0.1, port 0): frames both ways, authentication failures on
 * both sides, hostile input (garbage, oversized frames) dropping one connection while another
 * keeps working, the send-queue bound under a paused reader, and dead-peer detection.
 */
import test from 'ava';
import * as net from 'node:net';
import { ClientHandshake } from '../../net/handshake';
import { driveHandshake } from '../../net/handshake-driver';
import type { FramedConnection } from '../../net/connection';
import type { CloseReason } from '../../net/connection';
import { dial } from '../../net/dialer';
import type { DialOptions } from '../../net/dialer';
import { encodeFrame } from '../../net/frame';
import { SECRET, closed, codeOf, rawConnect, startServer, waitFor } from './net-helpers';

function dialOptions(port: number, extra: Partial<DialOptions> = {}): DialOptions {
  return { host: '127.0.0.1', port, secret: SECRET, role: 'peer', name: 'client-node', ...extra };
}

function closeReason(connection: FramedConnection): Promise<CloseReason> {
  return new Promise((resolve) => connection.onClose((reason) => resolve(reason)));
}

test('many frames both ways arrive in order and intact; identities are exchanged', async (t) => {
  const received: number[] = [];
  const srv = await startServer({}, (c) =>
    c.onFrame((type, payload) => {
      received.push(payload.readUInt32LE(0));
      c.send(type, payload); // echo
    }),
  );
  const client = await dial(dialOptions(srv.server.port));
  t.deepEqual(client.peer, { role: 'peer', name: 'server-node' });
  const echoed: number[] = [];
  client.onFrame((type, payload) => {
    t.is(type, 40);
    t.is(payload.length, 4 + (payload.readUInt32LE(0) % 200));
    echoed.push(payload.readUInt32LE(0));
  });
  const count = 20_000;
  for (let i = 0; i < count; i++) {
    const payload = Buffer.alloc(4 + (i % 200), i & 0xff);
    payload.writeUInt32LE(i, 0);
    while (client.send(40, payload) === 'BACKPRESSURE') await client.whenDrained();
  }
  await waitFor(() => echoed.length === count, 'echoes');
  t.deepEqual(
    echoed,
    Array.from({ length: count }, (_, i) => i),
  );
  t.deepEqual(received, echoed);
  t.deepEqual(srv.accepted[0]?.peer, { role: 'peer', name: 'client-node' });
  t.true(client.stats.framesOut >= count && client.stats.framesIn >= count);
  t.is(client.stats.badFrames, 0);
  client.close();
  await srv.server.close();
});

test('wrong secret: dial rejects UNAUTHENTICATED, the server counts and logs it', async (t) => {
  const srv = await startServer();
  const error = await t.throwsAsync(
    dial(dialOptions(srv.server.port, { secret: 'not-the-cluster-secret-42' })),
  );
  t.is(codeOf(error), 'UNAUTHENTICATED');
  await waitFor(() => srv.server.stats.unauthenticated === 1, 'server count');
  t.is(srv.accepted.length, 0);
  t.true(srv.logs.some((l) => l.level === 'warn' && l.fields?.code === 'UNAUTHENTICATED'));
  await srv.server.close();
});

test('version mismatch over a socket: both sides see VERSION_MISMATCH', async (t) => {
  const srv = await startServer();
  const socket = await rawConnect(srv.server.port);
  const machine = new ClientHandshake({ secret: SECRET, role: 'client', name: '', version: 9 });
  const error = await t.throwsAsync(driveHandshake(socket, machine, undefined, 5_000));
  t.is(codeOf(error), 'VERSION_MISMATCH');
  await waitFor(() => srv.server.stats.versionMismatches === 1, 'server count');
  await closed(socket);
  await srv.server.close();
});

test('a client that never completes the handshake is dropped at the deadline', async (t) => {
  const srv = await startServer({ handshakeTimeoutMs: 100 });
  const socket = await rawConnect(srv.server.port);
  socket.on('data', () => {}); // reads HELLO, answers nothing
  await closed(socket);
  t.is(srv.server.stats.handshakeTimeouts, 1);
  t.is(srv.accepted.length, 0);
  await srv.server.close();
});

test('refused connection: dial rejects UNAVAILABLE', async (t) => {
  const srv = await startServer();
  const port = srv.server.port;
  await srv.server.close();
  const error = await t.throwsAsync(dial(dialOptions(port, { connectTimeoutMs: 2_000 })));
  t.is(codeOf(error), 'UNAVAILABLE');
});

test('garbage before and after the handshake drops that connection; another keeps working', async (t) => {
  const srv = await startServer({}, (c) => c.onFrame((type, payload) => c.send(type, payload)));
  const good = await dial(dialOptions(srv.server.port));
  let echoes = 0;
  good.onFrame(() => (echoes += 1));

  const early = await rawConnect(srv.server.port);
  early.on('data', () => {});
  early.write(Buffer.alloc(64, 0xab)); // no frame at all: the handshake fails, the socket closes
  await closed(early);

  const late = await rawConnect(srv.server.port);
  await driveHandshake(
    late,
    new ClientHandshake({ secret: SECRET, role: 'client', name: 'bad' }),
    undefined,
    5_000,
  );
  await waitFor(() => srv.accepted.length === 2, 'second accept');
  const victim = srv.accepted[1]?.connection;
  t.truthy(victim);
  const reason = victim === undefined ? Promise.resolve(undefined) : closeReason(victim);
  late.resume();
  late.write(Buffer.from('this is not a frame, not even close'));
  t.is(await reason, 'BAD_FRAME');
  t.is(victim?.stats.badFrames, 1);
  t.true(
    ['FRAME_TOO_LARGE', 'FRAME_CRC', 'FRAME_MALFORMED'].includes(victim?.stats.closeCode ?? ''),
  );
  await closed(late);

  t.is(srv.server.stats.handshakesFailed, 1);
  for (let i = 0; i < 100; i++) t.is(good.send(16, Buffer.from([i])), 'OK');
  await waitFor(() => echoes === 100, 'echoes on the good connection');
  t.false(good.isClosed);
  good.close();
  await srv.server.close();
});

test("a frame over the receiver's maximum closes the connection with FRAME_TOO_LARGE", async (t) => {
  const srv = await startServer({
    connection: { frameBytesMax: 1024, sendQueueBytesMax: 1 << 20 },
  });
  const client = await dial(
    dialOptions(srv.server.port, { connection: { frameBytesMax: 64 * 1024 } }),
  );
  client.onFrame(() => {});
  const clientClosed = closeReason(client);
  await waitFor(() => srv.accepted.length === 1, 'accept');
  const serverSide = srv.accepted[0]?.connection;
  const serverClosed =
    serverSide === undefined ? Promise.resolve(undefined) : closeReason(serverSide);
  t.is(client.send(16, Buffer.alloc(1023)), 'OK', 'at the maximum: delivered');
  t.is(client.send(16, Buffer.alloc(1024)), 'OK', 'one byte over: queued here, refused there');
  t.is(await serverClosed, 'BAD_FRAME');
  t.is(serverSide?.stats.closeCode, 'FRAME_TOO_LARGE');
  t.is(serverSide?.stats.framesIn, 1);
  t.true(['REMOTE', 'ERROR'].includes(await clientClosed));
  await srv.server.close();
});

test('backpressure: with the reader paused the send queue never exceeds its bound, then drains', async (t) => {
  let received = 0;
  const srv = await startServer({}, (c) => {
    c.onFrame(() => (received += 1));
    c.pause();
  });
  const bound = 256 * 1024;
  const client = await dial(
    dialOptions(srv.server.port, {
      connection: { frameBytesMax: 64 * 1024, sendQueueBytesMax: bound },
    }),
  );
  client.onFrame(() => {});
  let sent = 0;
  let refusedTurns = 0;
  const payload = Buffer.alloc(16 * 1024, 1);
  // Bounded: stop once sends have been refused for 20 turns in a row (kernel buffers full).
  for (let turn = 0; turn < 5_000 && refusedTurns < 20; turn++) {
    let refused = false;
    for (let i = 0; i < 64; i++) {
      const status = client.send(16, payload);
      t.true(client.queuedBytes <= bound);
      if (status === 'BACKPRESSURE') {
        refused = true;
        break;
      }
      t.is(status, 'OK');
      sent += 1;
    }
    refusedTurns = refused ? refusedTurns + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  t.is(refusedTurns, 20, 'the queue filled up');
  t.true(client.stats.sendsRefused >= 20);
  t.true(
    client.stats.queuedBytesHigh <= bound,
    `high water ${client.stats.queuedBytesHigh} <= ${bound}`,
  );
  t.true(client.stats.queuedBytesHigh > bound / 2);
  const drained = client.whenDrained();
  srv.accepted[0]?.connection.resume();
  await drained;
  await waitFor(() => received === sent, `all ${sent} frames received`);
  t.is(received, sent);
  client.close();
  await srv.server.close();
});

test('dead peer: a server that stops reading and answering pings is closed with TIMEOUT', async (t) => {
  // The server neither pings (deadAfterMs 0) nor reads (so never answers a ping).
  const srv = await startServer({ connection: { deadAfterMs: 0 } }, (c) => {
    c.onFrame(() => {});
    c.pause();
  });
  const client = await dial(dialOptions(srv.server.port, { connection: { deadAfterMs: 90 } }));
  client.onFrame(() => {});
  t.is(await closeReason(client), 'TIMEOUT');
  t.is(client.stats.closeReason, 'TIMEOUT');
  t.true(client.stats.pingsOut >= 1);
  await srv.server.close();
});

test('idle connections stay up: pings and pongs keep both sides alive', async (t) => {
  const srv = await startServer({ connection: { deadAfterMs: 600 } });
  const client = await dial(dialOptions(srv.server.port, { connection: { deadAfterMs: 600 } }));
  client.onFrame(() => {});
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.false(client.isClosed);
  const serverSide = srv.accepted[0]?.connection;
  t.false(serverSide?.isClosed);
  // Whichever side's timer runs first pings; the other's pong then counts as its traffic.
  t.true(client.stats.pingsOut + (serverSide?.stats.pingsOut ?? 0) >= 1, 'someone pinged');
  t.true(
    client.stats.framesIn >= 1 && (serverSide?.stats.framesIn ?? 0) >= 1,
    'both heard something',
  );
  client.close();
  await srv.server.close();
});

test('invalid options are INVALID_OPTIONS, thrown before any socket', async (t) => {
  const bad: Partial<DialOptions>[] = [
    { secret: 'short' },
    { connection: { frameBytesMax: 1 << 20, sendQueueBytesMax: 1024 } },
    { connection: { deadAfterMs: -1 } },
    { role: 'peer', name: '' },
  ];
  for (const extra of bad)
    t.is(codeOf(await t.throwsAsync(dial(dialOptions(1, extra)))), 'INVALID_OPTIONS');
});

test('the framed stream after a handshake may begin in the same chunk as WELCOME', async (t) => {
  // The server sends an application frame the instant it accepts; the client must still get it.
  const srv = await startServer({}, (c) => {
    c.onFrame(() => {});
    c.send(33, Buffer.from('first'));
    c.flush();
  });
  const client = await dial(dialOptions(srv.server.port));
  const got = await new Promise<string>((resolve) =>
    client.onFrame((_type, payload) => resolve(payload.toString())),
  );
  t.is(got, 'first');
  client.close();
  await srv.server.close();
});

test('raw bytes helper sanity: encodeFrame output is accepted by a connection', async (t) => {
  const srv = await startServer();
  const socket = await rawConnect(srv.server.port);
  await driveHandshake(
    socket,
    new ClientHandshake({ secret: SECRET, role: 'client', name: 'raw' }),
    undefined,
    5_000,
  );
  const frames: string[] = [];
  await waitFor(() => srv.accepted.length === 1, 'accept');
  srv.accepted[0]?.connection.onFrame((_type, payload) => frames.push(payload.toString()));
  socket.resume();
  socket.write(
    Buffer.concat([encodeFrame(16, Buffer.from('a')), encodeFrame(17, Buffer.from('b'))]),
  );
  await waitFor(() => frames.length === 2, 'frames');
  t.deepEqual(frames, ['a', 'b']);
  socket.destroy();
  await srv.server.close();
});

test('a server that accepts but never says HELLO: dial rejects UNAVAILABLE at its deadline', async (t) => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const error = await t.throwsAsync(dial(dialOptions(port, { handshakeTimeoutMs: 100 })));
  t.is(codeOf(error), 'UNAVAILABLE');
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

test('connections over connectionsMax are refused and counted', async (t) => {
  const srv = await startServer({ connectionsMax: 1 });
  const first = await dial(dialOptions(srv.server.port));
  first.onFrame(() => {});
  const error = await t.throwsAsync(dial(dialOptions(srv.server.port)));
  t.is(codeOf(error), 'UNAVAILABLE');
  t.is(srv.server.stats.refusedOverLimit, 1);
  first.close();
  await srv.server.close();
});

test('whenDrained rejects with CLOSED when the connection closes first; send then says CLOSED', async (t) => {
  const srv = await startServer({}, (c) => {
    c.onFrame(() => {});
    c.pause();
  });
  const client = await dial(
    dialOptions(srv.server.port, {
      connection: { frameBytesMax: 64 * 1024, sendQueueBytesMax: 128 * 1024 },
    }),
  );
  client.onFrame(() => {});
  const payload = Buffer.alloc(32 * 1024);
  // Bounded: the queue and the kernel buffers fill within a few thousand sends.
  for (let i = 0; i < 100_000 && client.send(16, payload) === 'OK'; i++) {
    if (i % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  t.true(client.stats.sendsRefused >= 1);
  const drained = client.whenDrained();
  t.is(client.whenDrained(), drained, 'one shared promise');
  client.close();
  t.is(codeOf(await t.throwsAsync(drained)), 'CLOSED');
  t.is(client.send(16, payload), 'CLOSED');
  await srv.server.close();
});
