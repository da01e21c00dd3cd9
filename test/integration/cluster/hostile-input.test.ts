/**
 * Issue 9, hostile input against real node processes: a wrong secret is refused
 * (UNAUTHENTICATED from connect and from a control call); raw garbage, an oversized length
 * prefix and a bad CRC — before and after authentication, as a client and as a peer — each
 * get their connection closed by the node, while a client connected beforehand keeps working
 * and the node keeps running.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as net from 'node:net';
import * as crypto from 'node:crypto';
import { PaxosStore } from '../../../index';
import type { RemoteStore } from '../../../client/remote-store';
import { controlCall } from '../../../client/control-call';
import { FrameType } from '../../../client/wire-protocol';
import { encodeFrame } from '../../../net/frame';
import { ClientHandshake } from '../../../net/handshake';
import type { Role } from '../../../net/handshake';
import { driveHandshake } from '../../../net/handshake-driver';
import { codeOf, eventually } from '../helpers';
import { Cluster, withTimeout } from './harness';

const CLOSE_WAIT_MS = 10_000;

function rawSocket(t: ExecutionContext, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    t.teardown(() => socket.destroy());
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A socket past the handshake (the node knows it as `role` `name`), reading and discarding. */
async function authenticatedSocket(
  t: ExecutionContext,
  port: number,
  secret: string,
  role: Role,
  name: string,
): Promise<net.Socket> {
  const socket = await rawSocket(t, port);
  await driveHandshake(socket, new ClientHandshake({ secret, role, name }), undefined, 5_000);
  socket.on('data', () => undefined);
  socket.resume();
  return socket;
}

/** Resolves true when the node closed the socket within the bound. */
function closedByNode(socket: net.Socket): Promise<boolean> {
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  socket.resume();
  const closed = new Promise<true>((r) =>
    socket.destroyed ? r(true) : socket.once('close', () => r(true)),
  );
  return withTimeout(closed, CLOSE_WAIT_MS).then((x) => x === true);
}

function header(length: number, crc: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(length, 0);
  h.writeUInt32LE(crc, 4);
  return h;
}

/** A well-formed frame with its CRC flipped. */
function badCrcFrame(type: number, payload: Buffer): Buffer {
  const frame = encodeFrame(type, payload);
  frame.writeUInt32LE((frame.readUInt32LE(4) ^ 0xdeadbeef) >>> 0, 4);
  return frame;
}

const HOSTILE: Record<string, () => Buffer> = {
  garbage: () => crypto.randomBytes(4096),
  'oversized length prefix': () => header(0xfffffff0, 0),
  'bad CRC': () => badCrcFrame(FrameType.requests, crypto.randomBytes(64)),
  'zero length': () => header(0, 0),
};

/** Hostile frames a connection may only send after the handshake (well framed, bad content). */
const AFTER_AUTH: Record<string, () => Buffer> = {
  ...HOSTILE,
  'unknown frame type': () => encodeFrame(200, Buffer.from('x')),
  'requests frame with a garbage payload': () =>
    encodeFrame(FrameType.requests, crypto.randomBytes(256)),
  'control frame with a garbage payload': () =>
    encodeFrame(FrameType.control, Buffer.from('{"id":')),
};

async function stillServes(t: ExecutionContext, store: RemoteStore, tag: string): Promise<void> {
  const kv = store.node('n1').kv('hostile');
  const { version } = await kv.put('k', tag);
  const got = await kv.get('k');
  t.is(got?.value.toString(), tag, `the connected client still works after ${tag}`);
  t.is(got?.version, version);
}

/** A client, a control call and a peer with a wrong secret are all refused, and logged. */
async function wrongSecretRefused(
  t: ExecutionContext,
  cluster: Cluster,
  port: number,
): Promise<void> {
  const wrong = 'not-the-cluster-secret-at-all';
  const connected = await PaxosStore.connect({
    nodes: [cluster.node('n1').info.address],
    secret: wrong,
    connectTimeoutMs: 5_000,
  }).then(
    async (s) => (await s.close(), 'CONNECTED'),
    (error: unknown) => codeOf(error),
  );
  t.is(connected, 'UNAUTHENTICATED', 'connect with a wrong secret');
  const control = await controlCall(
    { host: '127.0.0.1', port, secret: wrong, timeoutMs: 5_000 },
    'status',
  ).then(
    () => 'ANSWERED',
    (error: unknown) => codeOf(error),
  );
  t.is(control, 'UNAUTHENTICATED', 'a control call with a wrong secret');
  const peerSocket = await rawSocket(t, port);
  const peer = await driveHandshake(
    peerSocket,
    new ClientHandshake({ secret: wrong, role: 'peer', name: 'n2' }),
    undefined,
    5_000,
  ).then(
    () => 'AUTHENTICATED',
    (error: unknown) => codeOf(error),
  );
  t.is(peer, 'UNAUTHENTICATED', 'a peer with a wrong secret');
  const logged = await eventually(
    async () =>
      /"msg":"handshake failed"[^\n]*"code":"UNAUTHENTICATED"|"code":"UNAUTHENTICATED"[^\n]*"msg":"handshake failed"/.test(
        cluster.node('n1').proc?.stdout ?? '',
      ),
    100,
    50,
  );
  t.true(logged, 'the node logs the refused handshakes');
}

test('wrong secret, garbage, oversized and bad-CRC frames: refused, the node serves on', async (t) => {
  t.timeout(120_000);
  const cluster = await Cluster.start(t, { engine: 'bitcask', sync: 'batch' });
  const store = await cluster.connect();
  const port = cluster.node('n1').info.port;
  await stillServes(t, store, 'before');

  await wrongSecretRefused(t, cluster, port);

  for (const [name, bytes] of Object.entries(HOSTILE)) {
    const socket = await rawSocket(t, port);
    socket.write(bytes());
    t.true(await closedByNode(socket), `unauthenticated ${name}: connection closed`);
  }
  for (const role of ['client', 'peer'] as const) {
    for (const [name, bytes] of Object.entries(AFTER_AUTH)) {
      // As a peer, the socket claims to be n2 (it holds the secret, so the node believes it).
      const socket = await authenticatedSocket(
        t,
        port,
        cluster.secret,
        role,
        role === 'peer' ? 'n2' : 'evil',
      );
      socket.write(bytes());
      t.true(await closedByNode(socket), `authenticated ${role}, ${name}: connection closed`);
    }
    const peerGarbage = await authenticatedSocket(
      t,
      port,
      cluster.secret,
      role,
      role === 'peer' ? 'n2' : 'evil',
    );
    peerGarbage.write(encodeFrame(FrameType.peerMessages, crypto.randomBytes(512)));
    t.true(
      await closedByNode(peerGarbage),
      `authenticated ${role}, peer messages with a garbage payload: connection closed`,
    );
    await stillServes(t, store, `hostile ${role} input`);
  }
  const badFrameLogged = await eventually(
    async () => /"msg":"bad frame, closing connection"/.test(cluster.node('n1').proc?.stdout ?? ''),
    100,
    50,
  );
  t.true(badFrameLogged, 'the node logs the bad frames');
  t.true(cluster.node('n1').proc?.running, 'n1 is still running');
  const status = (await cluster.control('n1', 'status')) as { up?: unknown };
  t.is(status.up, true, 'n1 answers status');
  const exits = await cluster.stopAll();
  t.deepEqual(
    exits.map((e) => e.code),
    [0, 0, 0],
  );
});
