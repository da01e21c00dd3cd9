/**
 * A cluster on loopback: three `paxosstore serve` processes (one replica each), a client through
 * `PaxosStore.connect`, a request entering through a chosen node, a node killed and the Set
 * still serving, and a wrong secret refused. Every process is stopped by pid at the end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PaxosStore, PaxosStoreError } from '../index';

const SECRET = 'example-cluster-secret-0123';
const CLI = path.join(__dirname, '..', 'bin', 'paxosstore.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts one node and resolves once it logs `"msg":"ready"` (bounded). */
function startNode(config: string, node: string, dir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--config',
      config,
      '--node',
      node,
      '--dir',
      dir,
      '--engine',
      'bitcask',
      '--sync',
      'batch',
      '--workers',
      '1',
      '--groups',
      '4',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${node} not ready in 15 s`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"msg":"ready"')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`${node} exited with ${String(code)}`)));
  });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-example-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const config = path.join(root, 'cluster.json');
  const replicas = ports.map((port, i) => ({
    node: `n${i + 1}`,
    address: `127.0.0.1:${port}`,
    zone: 'abc'[i],
  }));
  fs.writeFileSync(
    config,
    JSON.stringify({ secret: SECRET, sets: [{ id: 's0', replicas }] }, null, 2),
  );
  const nodes: ChildProcess[] = [];
  try {
    for (const r of replicas) nodes.push(await startNode(config, r.node, path.join(root, r.node)));
    const store = await PaxosStore.connect({ nodes: [replicas[0]?.address ?? ''], secret: SECRET });
    try {
      const users = store.kv('users');
      console.log('put alice                    ->', await users.put('alice', 'hello'));
      console.log(
        'get alice through n3         ->',
        (await store.node('n3').kv('users').get('alice'))?.value.toString(),
      );
      console.log('queue push                   ->', await store.queue('jobs').push('a', 'b'));
      nodes[0]?.kill('SIGKILL');
      // A write in flight to a node that dies answers UNKNOWN_OUTCOME: retry it with the same
      // requestId (through any node) until it succeeds; it then applied exactly once.
      let attempt = 0;
      for (;;) {
        try {
          const r = await users.put('bob', 'still here', { requestId: 'put-bob-1' });
          console.log(`n1 killed; put bob (try ${attempt + 1})   ->`, r);
          break;
        } catch (error) {
          if (
            !(error instanceof PaxosStoreError) ||
            error.code !== 'UNKNOWN_OUTCOME' ||
            ++attempt > 5
          )
            throw error;
        }
      }
      console.log('get bob                      ->', (await users.get('bob'))?.value.toString());
    } finally {
      await store.close();
    }
    try {
      await PaxosStore.connect({
        nodes: [replicas[1]?.address ?? ''],
        secret: 'not-the-cluster-secret',
      });
    } catch (error) {
      if (!(error instanceof PaxosStoreError) || error.code !== 'UNAUTHENTICATED') throw error;
      console.log('wrong secret                 ->', error.code);
    }
  } finally {
    for (const child of nodes)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(
      nodes.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise((r) => c.once('exit', r)),
      ),
    );
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
