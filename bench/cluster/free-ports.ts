/**
 * Free loopback ports for the bench's servers. Each port is found by listening on port 0 and
 * closing again; all listeners stay open until the last one is found, so the ports are distinct.
 * Another program may still take one before our server binds it: the server then fails to
 * start with a clear line, and the bench stops (a bench may fail loudly; it never hangs).
 */
import * as net from 'node:net';
import { assert } from '../../runtime/assert';

const PORTS_MAX = 64;

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
