/** Shared pieces of the net/ loopback tests: a server that records its connections, polling. */
import * as net from 'node:net';
import type { FramedConnection } from '../../net/connection';
import type { LogLevel } from '../../net/errors';
import { listen } from '../../net/server';
import type { ListenOptions, NetServer } from '../../net/server';
import type { PeerIdentity } from '../../net/handshake';

export const SECRET = 'test-cluster-secret-0123456789';

export interface LogLine {
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export interface TestServer {
  server: NetServer;
  accepted: { connection: FramedConnection; peer: PeerIdentity }[];
  logs: LogLine[];
}

export async function startServer(
  options: Partial<ListenOptions> = {},
  onConnection?: (c: FramedConnection) => void,
): Promise<TestServer> {
  const accepted: TestServer['accepted'] = [];
  const logs: LogLine[] = [];
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    secret: SECRET,
    name: 'server-node',
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    ...options,
    onConnection: (connection, peer) => {
      accepted.push({ connection, peer });
      if (onConnection !== undefined) onConnection(connection);
      else connection.onFrame(() => {});
    },
  });
  return { server, accepted, logs };
}

/** Polls `cond` every 5 ms; rejects after `timeoutMs` (a bound, not a timing assertion). */
export async function waitFor(
  cond: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

export function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}
