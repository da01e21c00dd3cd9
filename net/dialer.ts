/**
 * dial(): one outbound connection, authenticated. Rejects with a NetError whose code is
 * UNAVAILABLE (refused, unreachable, connect or handshake timeout, closed during the
 * handshake), UNAUTHENTICATED, VERSION_MISMATCH or HANDSHAKE_MALFORMED.
 */
import * as net from 'node:net';
import { NetError } from './errors';
import { FramedConnection, resolveConnectionOptions } from './connection';
import type { ConnectionOptions } from './connection';
import { ClientHandshake } from './handshake';
import type { Role, Secret } from './handshake';
import { HANDSHAKE_TIMEOUT_MS_DEFAULT, driveHandshake } from './handshake-driver';
import type { NetLog } from './errors';

export const CONNECT_TIMEOUT_MS_DEFAULT = 5_000;

export interface DialOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Secret;
  readonly role: Role;
  /** This node's name (a peer); a client's may be empty. */
  readonly name: string;
  readonly connectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly connection?: ConnectionOptions;
  readonly log?: NetLog;
}

export async function dial(options: DialOptions): Promise<FramedConnection> {
  // Validate everything before touching the network: bad options are INVALID_OPTIONS, thrown.
  const machine = new ClientHandshake({
    secret: options.secret,
    role: options.role,
    name: options.name,
  });
  const connectionOptions = { log: options.log, ...options.connection };
  resolveConnectionOptions(connectionOptions);
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1)
    throw new NetError('INVALID_OPTIONS', `connectTimeoutMs ${connectTimeoutMs}`);
  const socket = await connect(options.host, options.port, connectTimeoutMs);
  try {
    const { peer, decoder } = await driveHandshake(socket, machine, undefined, handshakeTimeoutMs);
    return new FramedConnection(socket, decoder, peer, connectionOptions);
  } catch (error) {
    socket.destroy();
    // To the dialer a server that never finishes the handshake is simply not available.
    if (error instanceof NetError && error.code === 'HANDSHAKE_TIMEOUT')
      throw new NetError('UNAVAILABLE', error.message);
    throw error;
  }
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new NetError('UNAVAILABLE', `connect to ${host}:${port}: no answer within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new NetError('UNAVAILABLE', `connect to ${host}:${port}: ${error.code ?? error.message}`),
      );
    });
  });
}
