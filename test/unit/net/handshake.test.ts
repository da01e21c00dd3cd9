/**
 * net/handshake.ts, pure: the two state machines exchange bytes with no socket. Right secret
 * succeeds both ways; a wrong secret is UNAUTHENTICATED on whichever side checks a proof; a
 * version mismatch is VERSION_MISMATCH; malformed messages are HANDSHAKE_MALFORMED.
 */
import test from 'ava';
import { NetError } from '../../../net/errors';
import { NetFrameType } from '../../../net/frame';
import {
  ClientHandshake,
  NONCE_BYTES,
  ServerHandshake,
  decodeAuth,
  decodeFailure,
  decodeHello,
  encodeAuth,
  encodeHello,
  failureFor,
} from '../../../net/handshake';
import type { ClientHandshakeOptions, HandshakeStep } from '../../../net/handshake';

const SECRET = 'cluster-secret-0123456789';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof NetError) return error.code;
    throw error;
  }
  return undefined;
}

function sent(step: HandshakeStep): { type: number; payload: Buffer } {
  if (step.send === undefined) throw new Error('expected something to send');
  return step.send;
}

function run(serverSecret: string, client: Partial<ClientHandshakeOptions> = {}) {
  const server = new ServerHandshake({ secret: serverSecret, name: 'node-a' });
  const machine = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b', ...client });
  const hello = sent(server.start());
  const auth = sent(machine.step(hello.type, hello.payload));
  const answer = server.step(auth.type, auth.payload);
  const welcome = sent(answer);
  const done = machine.step(welcome.type, welcome.payload);
  return { serverSaw: answer.done, clientSaw: done.done };
}

test('right secret: both sides learn who the other is', (t) => {
  const { serverSaw, clientSaw } = run(SECRET);
  t.deepEqual(serverSaw, { role: 'peer', name: 'node-b' });
  t.deepEqual(clientSaw, { role: 'peer', name: 'node-a' });
  const asClient = run(SECRET, { role: 'client', name: '' });
  t.deepEqual(asClient.serverSaw, { role: 'client', name: '' });
});

test('wrong secret: the server rejects the proof with UNAUTHENTICATED', (t) => {
  t.is(
    codeOf(() => run('another-secret-0123456789')),
    'UNAUTHENTICATED',
  );
});

test('a server without the secret cannot forge WELCOME: the client says UNAUTHENTICATED', (t) => {
  const server = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  const client = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b' });
  const hello = sent(server.start());
  sent(client.step(hello.type, hello.payload));
  t.is(
    codeOf(() => client.step(NetFrameType.WELCOME, Buffer.alloc(32, 9))),
    'UNAUTHENTICATED',
  );
});

test('a proof is bound to the nonces: an AUTH replayed to a new HELLO is UNAUTHENTICATED', (t) => {
  const first = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  const client = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b' });
  const hello = sent(first.start());
  const auth = sent(client.step(hello.type, hello.payload));
  const second = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  second.start();
  t.is(
    codeOf(() => second.step(auth.type, auth.payload)),
    'UNAUTHENTICATED',
  );
});

test('a changed name in AUTH breaks the proof (the name is in the transcript)', (t) => {
  const server = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  const client = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b' });
  const hello = sent(server.start());
  const auth = decodeAuth(sent(client.step(hello.type, hello.payload)).payload);
  const forged = encodeAuth({ ...auth, name: 'node-c' });
  t.is(
    codeOf(() => server.step(NetFrameType.AUTH, forged)),
    'UNAUTHENTICATED',
  );
});

test('version mismatch: the client rejects HELLO, the server rejects AUTH', (t) => {
  const server = new ServerHandshake({ secret: SECRET, name: 'node-a', version: 2 });
  const client = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b' });
  const hello = sent(server.start());
  t.is(
    codeOf(() => client.step(hello.type, hello.payload)),
    'VERSION_MISMATCH',
  );

  const server1 = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  const hello1 = decodeHello(sent(server1.start()).payload);
  const client2 = new ClientHandshake({ secret: SECRET, role: 'peer', name: 'node-b', version: 2 });
  const auth = sent(client2.step(NetFrameType.HELLO, encodeHello({ ...hello1, version: 2 })));
  t.is(
    codeOf(() => server1.step(auth.type, auth.payload)),
    'VERSION_MISMATCH',
  );
});

test('malformed messages and unexpected frame types are HANDSHAKE_MALFORMED', (t) => {
  const cases: [string, () => unknown][] = [
    [
      'short hello',
      () =>
        new ClientHandshake({ secret: SECRET, role: 'client', name: '' }).step(
          NetFrameType.HELLO,
          Buffer.alloc(5),
        ),
    ],
    [
      'auth first',
      () =>
        new ClientHandshake({ secret: SECRET, role: 'client', name: '' }).step(
          NetFrameType.AUTH,
          Buffer.alloc(80),
        ),
    ],
    ['short auth', () => startedServer().step(NetFrameType.AUTH, Buffer.alloc(10))],
    ['app frame', () => startedServer().step(16, Buffer.alloc(10))],
    ['bad role', () => startedServer().step(NetFrameType.AUTH, authWithRoleByte(7))],
    [
      'nameless peer',
      () =>
        startedServer().step(
          NetFrameType.AUTH,
          encodeAuth({
            version: 1,
            role: 'peer',
            name: '',
            clientNonce: Buffer.alloc(NONCE_BYTES),
            proof: Buffer.alloc(32),
          }),
        ),
    ],
  ];
  for (const [name, fn] of cases) t.is(codeOf(fn), 'HANDSHAKE_MALFORMED', name);
});

function startedServer(): ServerHandshake {
  const server = new ServerHandshake({ secret: SECRET, name: 'node-a' });
  server.start();
  return server;
}

function authWithRoleByte(role: number): Buffer {
  const auth = encodeAuth({
    version: 1,
    role: 'client',
    name: 'x',
    clientNonce: Buffer.alloc(NONCE_BYTES),
    proof: Buffer.alloc(32),
  });
  auth[2] = role;
  return auth;
}

test('a FAILURE frame carries its code to the other side', (t) => {
  for (const code of ['UNAUTHENTICATED', 'VERSION_MISMATCH'] as const) {
    const payload = failureFor(new NetError(code, 'x'));
    t.truthy(payload);
    t.is(decodeFailure(payload ?? Buffer.alloc(0)).code, code);
    const client = new ClientHandshake({ secret: SECRET, role: 'client', name: '' });
    t.is(
      codeOf(() => client.step(NetFrameType.FAILURE, payload ?? Buffer.alloc(0))),
      code,
    );
  }
  t.is(decodeFailure(Buffer.from([99])).code, 'HANDSHAKE_MALFORMED');
});

test('options: a short secret, a long name, a nameless peer are INVALID_OPTIONS', (t) => {
  t.is(
    codeOf(() => new ServerHandshake({ secret: 'short', name: 'a' })),
    'INVALID_OPTIONS',
  );
  t.is(
    codeOf(() => new ServerHandshake({ secret: SECRET, name: 'x'.repeat(256) })),
    'INVALID_OPTIONS',
  );
  t.is(
    codeOf(() => new ClientHandshake({ secret: SECRET, role: 'peer', name: '' })),
    'INVALID_OPTIONS',
  );
});
