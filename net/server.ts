/**
 * listen(): accepts TCP connections, runs the server side of the handshake under a deadline,
 * and hands each authenticated FramedConnection with the peer's identity to `onConnection`.
 * Failed handshakes are counted and reported through the injectable log, never the console.
 */
import * as net from 'node:net';
import { assert } from '../runtime/assert';
import { NetError, silentLog } from './errors';
import type { NetLog } from './errors';
import { FramedConnection, resolveConnectionOptions } from './connection';
import type { ConnectionOptions } from './connection';
import { ServerHandshake, checkName, checkSecret } from './handshake';
import type { PeerIdentity, Secret } from './handshake';
import { HANDSHAKE_TIMEOUT_MS_DEFAULT, driveHandshake } from './handshake-driver';

export const CONNECTIONS_MAX_DEFAULT = 1024;

export interface ListenOptions {
  readonly host: string;
  /** 0 picks a free port; read it from `server.port`. */
  readonly port: number;
  readonly secret: Secret;
  /** This node's name, sent in HELLO. */
  readonly name: string;
  readonly handshakeTimeoutMs?: number;
  /** Connections beyond this (in handshake or open) are refused at once. */
  readonly connectionsMax?: number;
  readonly connection?: ConnectionOptions;
  readonly log?: NetLog;
  readonly onConnection: (connection: FramedConnection, peer: PeerIdentity) => void;
}

export interface ServerStats {
  accepted: number;
  authenticated: number;
  /** Handshakes that failed, by any cause; the next three split the common ones. */
  handshakesFailed: number;
  unauthenticated: number;
  versionMismatches: number;
  handshakeTimeouts: number;
  refusedOverLimit: number;
  open: number;
}

export class NetServer {
  readonly stats: ServerStats = {
    accepted: 0,
    authenticated: 0,
    handshakesFailed: 0,
    unauthenticated: 0,
    versionMismatches: 0,
    handshakeTimeouts: 0,
    refusedOverLimit: 0,
    open: 0,
  };
  private readonly sockets = new Set<net.Socket>();
  /** Sockets still in their handshake (a subset of `sockets`). */
  private readonly handshaking = new Set<net.Socket>();
  private readonly connections = new Set<FramedConnection>();
  private readonly log: NetLog;

  constructor(
    private readonly server: net.Server,
    private readonly options: ListenOptions,
  ) {
    this.log = options.log ?? silentLog;
    server.on('connection', (socket) => this.onSocket(socket));
  }

  get port(): number {
    const address = this.server.address();
    assert(address !== null && typeof address === 'object', 'server has no address');
    return address.port;
  }

  /**
   * Stops accepting, drops sockets still in their handshake and closes open connections
   * gracefully (queued frames are still written; each socket is destroyed after a grace period
   * at most). Resolves once every socket has closed.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.handshaking) socket.destroy();
    for (const connection of this.connections) connection.close();
    await closed;
  }

  private onSocket(socket: net.Socket): void {
    this.stats.accepted += 1;
    const limit = this.options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
    if (this.sockets.size >= limit) {
      this.stats.refusedOverLimit += 1;
      this.log('warn', 'connection refused: over the limit', {
        limit,
        remote: socket.remoteAddress,
      });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.stats.open = this.sockets.size;
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.stats.open = this.sockets.size;
    });
    const machine = new ServerHandshake({ secret: this.options.secret, name: this.options.name });
    const timeoutMs = this.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT;
    this.handshaking.add(socket);
    driveHandshake(socket, machine, machine.start(), timeoutMs).then(
      ({ peer, decoder }) => {
        this.handshaking.delete(socket);
        this.stats.authenticated += 1;
        const connection = new FramedConnection(socket, decoder, peer, {
          log: this.log,
          ...this.options.connection,
        });
        this.connections.add(connection);
        connection.onClose(() => this.connections.delete(connection));
        this.log('info', 'peer authenticated', {
          role: peer.role,
          name: peer.name,
          remote: socket.remoteAddress,
        });
        this.options.onConnection(connection, peer);
      },
      (error: unknown) => {
        this.handshaking.delete(socket);
        this.onHandshakeFailed(error, socket);
      },
    );
  }

  private onHandshakeFailed(error: unknown, socket: net.Socket): void {
    if (!(error instanceof NetError)) throw error;
    this.stats.handshakesFailed += 1;
    if (error.code === 'UNAUTHENTICATED') this.stats.unauthenticated += 1;
    if (error.code === 'VERSION_MISMATCH') this.stats.versionMismatches += 1;
    if (error.code === 'HANDSHAKE_TIMEOUT') this.stats.handshakeTimeouts += 1;
    this.log('warn', 'handshake failed', {
      code: error.code,
      remote: socket.remoteAddress,
      message: error.message,
    });
  }
}

/** Starts listening; resolves once the port is bound. */
export async function listen(options: ListenOptions): Promise<NetServer> {
  checkSecret(options.secret);
  checkName(options.name, 'server name');
  resolveConnectionOptions(options.connection);
  const connectionsMax = options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
  if (!Number.isInteger(connectionsMax) || connectionsMax < 1)
    throw new NetError('INVALID_OPTIONS', `connectionsMax ${connectionsMax}`);
  const timeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new NetError('INVALID_OPTIONS', `handshakeTimeoutMs ${timeoutMs}`);
  const server = net.createServer({ noDelay: true, pauseOnConnect: false });
  const wrapped = new NetServer(server, options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new NetError(
          'UNAVAILABLE',
          `listen on ${options.host}:${options.port}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen({ host: options.host, port: options.port }, () => resolve());
  });
  return wrapped;
}
