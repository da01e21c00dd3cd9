/**
 * The handshake: protocol version plus mutual HMAC-SHA256 challenge-response on a shared
 * cluster secret. Pure: functions and two small state machines over bytes; the socket driver
 * (handshake-driver.ts) does the I/O. Nonces are inputs so tests can fix them.
 *
 *   server → HELLO   [u16 version][32 serverNonce][u8 n][server name]
 *   client → AUTH    [u16 version][u8 role][u8 n][name][32 clientNonce][32 clientProof]
 *   server → WELCOME [32 serverProof]             (or FAILURE [u8 code], then close)
 *
 *   clientProof = HMAC(secret, "paxosstore-net/1 client" | transcript)
 *   serverProof = HMAC(secret, "paxosstore-net/1 server" | transcript)
 *   transcript  = version | serverNonce | clientNonce | role | name | server name (length-prefixed)
 *
 * The server's fresh nonce keeps a recorded AUTH from being replayed; the client's fresh nonce
 * does the same for WELCOME, so the client also learns that the server holds the secret. The
 * two context tags differ so that one side's proof can never be reflected back as the other's.
 */
import * as crypto from 'node:crypto';
import { assert } from '../runtime/assert';
import { NetError } from './errors';
import type { NetErrorCode } from './errors';
import { NetFrameType } from './frame';

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
export const NAME_BYTES_MAX = 255;
export const SECRET_BYTES_MIN = 16;

export type Role = 'peer' | 'client';
const ROLE_BYTE: Record<Role, number> = { peer: 1, client: 2 };

/** Who is at the other end, once the handshake has proven it holds the secret. */
export interface PeerIdentity {
  readonly role: Role;
  readonly name: string;
}

export interface Hello {
  readonly version: number;
  readonly serverNonce: Buffer;
  readonly serverName: string;
}

export interface Auth {
  readonly version: number;
  readonly role: Role;
  readonly name: string;
  readonly clientNonce: Buffer;
  readonly proof: Buffer;
}

/** Codes a FAILURE frame can carry, by wire number. */
const FAILURE_CODES: readonly NetErrorCode[] = [
  'UNAUTHENTICATED',
  'VERSION_MISMATCH',
  'HANDSHAKE_MALFORMED',
  'UNAVAILABLE',
];

export type Secret = string | Uint8Array;

export function checkSecret(secret: Secret): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < SECRET_BYTES_MIN) {
    throw new NetError('INVALID_OPTIONS', `secret of ${bytes.length} bytes < ${SECRET_BYTES_MIN}`);
  }
  return bytes;
}

export function checkName(name: string, what: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > NAME_BYTES_MAX)
    throw new NetError('INVALID_OPTIONS', `${what} of ${bytes.length} bytes > ${NAME_BYTES_MAX}`);
  return bytes;
}

function malformed(what: string): NetError {
  return new NetError('HANDSHAKE_MALFORMED', what);
}

export function encodeHello(hello: Hello): Buffer {
  assert(hello.serverNonce.length === NONCE_BYTES, 'server nonce size');
  const name = checkName(hello.serverName, 'server name');
  const out = Buffer.allocUnsafe(2 + NONCE_BYTES + 1 + name.length);
  out.writeUInt16LE(hello.version, 0);
  hello.serverNonce.copy(out, 2);
  out[2 + NONCE_BYTES] = name.length;
  name.copy(out, 3 + NONCE_BYTES);
  return out;
}

export function decodeHello(payload: Buffer): Hello {
  if (payload.length < 3 + NONCE_BYTES) throw malformed(`hello of ${payload.length} bytes`);
  const nameLength = payload[2 + NONCE_BYTES] ?? 0;
  if (payload.length !== 3 + NONCE_BYTES + nameLength)
    throw malformed(`hello of ${payload.length} bytes, name ${nameLength}`);
  return {
    version: payload.readUInt16LE(0),
    serverNonce: Buffer.from(payload.subarray(2, 2 + NONCE_BYTES)),
    serverName: payload.toString('utf8', 3 + NONCE_BYTES),
  };
}

export function encodeAuth(auth: Auth): Buffer {
  assert(
    auth.clientNonce.length === NONCE_BYTES && auth.proof.length === PROOF_BYTES,
    'auth nonce or proof size',
  );
  const name = checkName(auth.name, 'name');
  const out = Buffer.allocUnsafe(4 + name.length + NONCE_BYTES + PROOF_BYTES);
  out.writeUInt16LE(auth.version, 0);
  out[2] = ROLE_BYTE[auth.role];
  out[3] = name.length;
  name.copy(out, 4);
  auth.clientNonce.copy(out, 4 + name.length);
  auth.proof.copy(out, 4 + name.length + NONCE_BYTES);
  return out;
}

export function decodeAuth(payload: Buffer): Auth {
  if (payload.length < 4 + NONCE_BYTES + PROOF_BYTES)
    throw malformed(`auth of ${payload.length} bytes`);
  const nameLength = payload[3] ?? 0;
  if (payload.length !== 4 + nameLength + NONCE_BYTES + PROOF_BYTES)
    throw malformed(`auth of ${payload.length} bytes`);
  const roleByte = payload[2];
  const role: Role | undefined = roleByte === 1 ? 'peer' : roleByte === 2 ? 'client' : undefined;
  if (role === undefined) throw malformed(`role byte ${roleByte}`);
  const nonceAt = 4 + nameLength;
  return {
    version: payload.readUInt16LE(0),
    role,
    name: payload.toString('utf8', 4, nonceAt),
    clientNonce: Buffer.from(payload.subarray(nonceAt, nonceAt + NONCE_BYTES)),
    proof: Buffer.from(payload.subarray(nonceAt + NONCE_BYTES)),
  };
}

export function encodeFailure(code: NetErrorCode): Buffer {
  const index = FAILURE_CODES.indexOf(code);
  assert(index >= 0, () => `no wire number for ${code}`);
  return Buffer.from([index + 1]);
}

/** The error a FAILURE frame reports (a malformed one is HANDSHAKE_MALFORMED itself). */
export function decodeFailure(payload: Buffer): NetError {
  const code = payload.length === 1 ? FAILURE_CODES[(payload[0] ?? 0) - 1] : undefined;
  if (code === undefined) return malformed(`failure frame of ${payload.length} bytes`);
  return new NetError(code, 'the server refused the handshake');
}

type ProofSide = 'client' | 'server';

/** HMAC-SHA256 over the context tag and the length-prefixed transcript. */
export function handshakeProof(
  secret: Buffer,
  side: ProofSide,
  hello: Hello,
  role: Role,
  name: string,
  clientNonce: Buffer,
): Buffer {
  assert(
    hello.serverNonce.length === NONCE_BYTES && clientNonce.length === NONCE_BYTES,
    'nonce sizes',
  );
  const nameBytes = checkName(name, 'name');
  const serverNameBytes = checkName(hello.serverName, 'server name');
  const fixed = Buffer.allocUnsafe(2 + 1 + 1);
  fixed.writeUInt16LE(hello.version, 0);
  fixed[2] = ROLE_BYTE[role];
  fixed[3] = nameBytes.length;
  const proof = crypto
    .createHmac('sha256', secret)
    .update(`paxosstore-net/1 ${side}\0`)
    .update(fixed)
    .update(hello.serverNonce)
    .update(clientNonce)
    .update(nameBytes)
    .update(Buffer.from([serverNameBytes.length]))
    .update(serverNameBytes)
    .digest();
  assert(proof.length === PROOF_BYTES, 'sha256 size');
  return proof;
}

function proofsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** What a state machine step asks the driver to do. */
export interface HandshakeStep {
  readonly send?: { readonly type: NetFrameType; readonly payload: Buffer };
  /** Set when the handshake is complete: the identity of the other end. */
  readonly done?: PeerIdentity;
}

export interface ServerHandshakeOptions {
  readonly secret: Secret;
  readonly name: string;
  readonly version?: number;
  readonly serverNonce?: Buffer;
}

/**
 * The server side: `start()` gives HELLO; `step(AUTH)` verifies the proof and gives WELCOME and
 * the client's identity, or throws UNAUTHENTICATED / VERSION_MISMATCH / HANDSHAKE_MALFORMED.
 * The driver answers such an error with `failureFor(error)` and closes.
 */
export class ServerHandshake {
  private readonly secret: Buffer;
  private readonly hello: Hello;
  private state: 'new' | 'sent-hello' | 'done' | 'failed' = 'new';

  constructor(options: ServerHandshakeOptions) {
    this.secret = checkSecret(options.secret);
    checkName(options.name, 'server name');
    const serverNonce = options.serverNonce ?? crypto.randomBytes(NONCE_BYTES);
    assert(serverNonce.length === NONCE_BYTES, 'server nonce size');
    this.hello = {
      version: options.version ?? PROTOCOL_VERSION,
      serverNonce,
      serverName: options.name,
    };
  }

  start(): HandshakeStep {
    assert(this.state === 'new', () => `server handshake start in ${this.state}`);
    this.state = 'sent-hello';
    return { send: { type: NetFrameType.HELLO, payload: encodeHello(this.hello) } };
  }

  step(type: number, payload: Buffer): HandshakeStep {
    assert(this.state === 'sent-hello', () => `server handshake step in ${this.state}`);
    this.state = 'failed';
    if (type === NetFrameType.FAILURE) throw decodeFailure(payload);
    if (type !== NetFrameType.AUTH) throw malformed(`frame type ${type} before auth`);
    const auth = decodeAuth(payload);
    if (auth.version !== this.hello.version) {
      throw new NetError(
        'VERSION_MISMATCH',
        `client speaks version ${auth.version}, server ${this.hello.version}`,
      );
    }
    if (auth.role === 'peer' && auth.name.length === 0) throw malformed('a peer without a name');
    const expected = handshakeProof(
      this.secret,
      'client',
      this.hello,
      auth.role,
      auth.name,
      auth.clientNonce,
    );
    if (!proofsEqual(expected, auth.proof))
      throw new NetError('UNAUTHENTICATED', `bad proof from ${auth.role} '${auth.name}'`);
    const welcome = handshakeProof(
      this.secret,
      'server',
      this.hello,
      auth.role,
      auth.name,
      auth.clientNonce,
    );
    this.state = 'done';
    return {
      send: { type: NetFrameType.WELCOME, payload: welcome },
      done: { role: auth.role, name: auth.name },
    };
  }
}

export interface ClientHandshakeOptions {
  readonly secret: Secret;
  readonly role: Role;
  /** The node name of a peer (required); a client's may be empty. */
  readonly name: string;
  readonly version?: number;
  readonly clientNonce?: Buffer;
}

/**
 * The client side: `step(HELLO)` gives AUTH; `step(WELCOME)` verifies the server's proof and
 * gives the server's identity (role 'peer', its name). Errors as for the server; a FAILURE
 * frame from the server throws the code it carries.
 */
export class ClientHandshake {
  private readonly secret: Buffer;
  private readonly version: number;
  private readonly clientNonce: Buffer;
  private hello: Hello | undefined;
  private state: 'new' | 'sent-auth' | 'done' | 'failed' = 'new';

  constructor(private readonly options: ClientHandshakeOptions) {
    this.secret = checkSecret(options.secret);
    checkName(options.name, 'name');
    if (options.role === 'peer' && options.name.length === 0)
      throw new NetError('INVALID_OPTIONS', 'a peer needs a name');
    this.version = options.version ?? PROTOCOL_VERSION;
    this.clientNonce = options.clientNonce ?? crypto.randomBytes(NONCE_BYTES);
    assert(this.clientNonce.length === NONCE_BYTES, 'client nonce size');
  }

  step(type: number, payload: Buffer): HandshakeStep {
    assert(
      this.state === 'new' || this.state === 'sent-auth',
      () => `client handshake step in ${this.state}`,
    );
    const state = this.state;
    this.state = 'failed';
    if (type === NetFrameType.FAILURE) throw decodeFailure(payload);
    if (state === 'new') return this.onHello(type, payload);
    return this.onWelcome(type, payload);
  }

  private onHello(type: number, payload: Buffer): HandshakeStep {
    if (type !== NetFrameType.HELLO) throw malformed(`frame type ${type} instead of hello`);
    const hello = decodeHello(payload);
    if (hello.version !== this.version) {
      throw new NetError(
        'VERSION_MISMATCH',
        `server speaks version ${hello.version}, client ${this.version}`,
      );
    }
    const { role, name } = this.options;
    const proof = handshakeProof(this.secret, 'client', hello, role, name, this.clientNonce);
    this.hello = hello;
    this.state = 'sent-auth';
    const auth = encodeAuth({
      version: this.version,
      role,
      name,
      clientNonce: this.clientNonce,
      proof,
    });
    return { send: { type: NetFrameType.AUTH, payload: auth } };
  }

  private onWelcome(type: number, payload: Buffer): HandshakeStep {
    const hello = this.hello;
    assert(hello !== undefined, 'welcome before hello');
    if (type !== NetFrameType.WELCOME) throw malformed(`frame type ${type} instead of welcome`);
    if (payload.length !== PROOF_BYTES) throw malformed(`welcome of ${payload.length} bytes`);
    const expected = handshakeProof(
      this.secret,
      'server',
      hello,
      this.options.role,
      this.options.name,
      this.clientNonce,
    );
    if (!proofsEqual(expected, payload))
      throw new NetError('UNAUTHENTICATED', `bad proof from server '${hello.serverName}'`);
    this.state = 'done';
    return { done: { role: 'peer', name: hello.serverName } };
  }
}

/** The FAILURE frame a driver sends before closing on `error`, if the code has a wire number. */
export function failureFor(error: NetError): Buffer | undefined {
  return FAILURE_CODES.includes(error.code) ? encodeFailure(error.code) : undefined;
}
