/**
 * Free loopback ports for the bench's servers. Each port is found by listening on port 0 and
 * closing again; all listeners stay open until the last one is found, so the ports are distinct.
 * Another program may still take one before our server binds it (the ports are in the ephemeral
 * range, so even an outgoing connection can be given one): the server then fails to start with
 * a clear line, and `startOnFreshPorts` starts the whole cluster again on new ports and a new
 * temp dir, a bounded number of times (a bench may fail loudly; it never hangs).
 */
import * as net from 'node:net';
import { assert } from '../../runtime/assert';

const PORTS_MAX = 64;
/** Cluster starts before a bench gives up on ports that keep being taken (a bound). */
export const START_ATTEMPTS = 3;
/** How a lost port reads in a start error: PaxosStore's `serve` line, Go's (etcd's) bind error. */
const ADDRESS_IN_USE = /ADDRESS_IN_USE|address already in use|EADDRINUSE/;

export async function freePorts(count: number): Promise<number[]> {
  assert(
    Number.isInteger(count) && count >= 1 && count <= PORTS_MAX,
    `port count ${count} not in 1..${PORTS_MAX}`,
  );
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      assert(address !== null && typeof address === 'object', 'listening server has no address');
      ports.push(address.port);
    }
    assert(new Set(ports).size === count, `ports not distinct: ${ports.join(',')}`);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Runs `start` (which picks its own ports and cleans up after itself when it throws) again when
 * it failed because a port was taken between the pick and the bind; any other error is thrown.
 */
export async function startOnFreshPorts<T>(
  start: () => Promise<T>,
  log: (line: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !ADDRESS_IN_USE.test(String(error))) throw error;
      log(`a port was taken while the cluster started (attempt ${attempt}): new ports`);
    }
  }
}
