/**
 * `PaxosStore.connect` learns the route table and the nodes' info from a seed over ONE control
 * connection (issue 11: it used to dial the seed twice). A fake seed (net/'s server, answering
 * CONTROL frames) counts the control connections it accepts; the route table names the fake
 * seed itself as the only node, so the client's data link is one more connection, as 'client'.
 */
import test from 'ava';
import { PaxosStore } from '../../index';
import { parseClusterConfig } from '../../cluster/cluster-config';
import { RouteTable } from '../../cluster/route-table';
import { FrameType, decodeControl, encodeJson } from '../../client/wire-protocol';
import type { FramedConnection } from '../../net/connection';
import { SECRET, startServer, waitFor } from './net-helpers';

test('connect asks routes and info on one connection to the seed', async (t) => {
  let routes: unknown;
  const asked: string[] = [];
  const answer = (conn: FramedConnection): void =>
    conn.onFrame((type, payload) => {
      if (type !== FrameType.control) return;
      const req = decodeControl(payload);
      asked.push(req.op);
      const value =
        req.op === 'routes'
          ? routes
          : { engine: 'lsm', layoutEngine: 'lsm', groups: 2, replicas: 1 };
      conn.send(FrameType.controlResult, encodeJson({ id: req.id, ok: true, value }));
    });
  const seed = await startServer({}, answer);
  t.teardown(() => seed.server.close());
  const config = parseClusterConfig(
    JSON.stringify({
      secret: SECRET,
      sets: [{ id: 's0', replicas: [{ node: 'n1', address: `127.0.0.1:${seed.server.port}` }] }],
    }),
    '.',
  );
  routes = RouteTable.fromConfig(config).toData();
  const store = await PaxosStore.connect({
    nodes: [`127.0.0.1:${seed.server.port}`],
    secret: SECRET,
    connectTimeoutMs: 5_000,
  });
  t.teardown(() => store.close());
  await waitFor(() => seed.accepted.length >= 2, 'the data link');
  const control = seed.accepted.filter((a) => a.peer.name === 'control');
  t.is(control.length, 1, 'one control connection');
  t.deepEqual(asked, ['routes', 'info']);
  t.deepEqual(seed.accepted.map((a) => a.peer.name).sort(), ['client', 'control']);
  t.deepEqual(store.stats().nodesUp, ['n1']);
});
