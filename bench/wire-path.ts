/**
 * The JavaScript a cluster node runs per request and per Paxos message on its main thread, in
 * one process with no sockets, rings or workers (issue 10, "Over TCP"): what the cluster bench
 * cannot resolve on a shared machine, since it is a few µs of a write's ~300 µs.
 *
 *   session: REQUESTS frames (`--batch` writes each) into a ClientSession whose local store
 *            answers at once: decode, the checks, the ring's `ownsKey`, the answer, RESULTS;
 *   peer:    PeerTraffic out (batch per peer, one frame payload per flush) and in (decode,
 *            check every sender and target, deliver), per message.
 *
 * Run: `node dist/bench/wire-path.js [--rounds 6] [--requests 200000] [--batch 64]`. Prints
 * CPU µs per request / message for each round (process.cpuUsage); the cheapest round is the
 * figure that repeats on a shared machine (other processes only ever add).
 */
import { parseArgs } from 'node:util';
import { ClientSession } from '../server/client-session';
import { PeerTraffic } from '../server/peer-traffic';
import type { PeerGateway, PeerLink } from '../server/peer-traffic';
import type { RemoteHandler } from '../runtime/actor-system';
import type { ClientResult } from '../actors/paxos/core/types';
import { FrameType, PeerBatch, encodeRequests } from '../client/wire-protocol';
import type { WireRequest } from '../client/wire-protocol';
import { RouteTable } from '../cluster/route-table';
import { assert } from '../runtime/assert';

interface Options {
  readonly rounds: number;
  readonly requests: number;
  readonly batch: number;
}

const GROUPS = 8;
const KEYS = 10_000;
const VALUE_BYTES = 120;

function options(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string', default: '6' },
      requests: { type: 'string', default: '200000' },
      batch: { type: 'string', default: '64' },
    },
  });
  const n = (name: string, text: string, max: number): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} in 1..${max}`);
    return v;
  };
  return {
    rounds: n('rounds', values.rounds, 100),
    requests: n('requests', values.requests, 10_000_000),
    batch: n('batch', values.batch, 4096),
  };
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

const key = (i: number): string => `bench\u0000key-${String(i % KEYS).padStart(8, '0')}`;

/** One Set of three nodes, as the cluster bench runs. */
function routes(): RouteTable {
  const replicas = [1, 2, 3].map((i) => ({
    node: `n${i}`,
    address: `127.0.0.1:${i}`,
    host: '127.0.0.1',
    port: i,
    zone: undefined,
  }));
  return RouteTable.fromConfig({
    vnodes: 128,
    groups: undefined,
    secret: 'x'.repeat(24),
    sets: [{ id: 's0', replicas }],
  });
}

async function sessionRound(o: Options, frames: readonly Uint8Array[]): Promise<number> {
  const table = routes();
  let resultFrames = 0;
  const answer: ClientResult = { token: 0, ok: true, result: new Uint8Array(8) };
  const session = new ClientSession(
    { send: () => ++resultFrames > 0, close: () => assert(false, 'session closed') },
    {
      ownsKey: (k) => table.setOfKey(k).id === 's0',
      local: () => Promise.resolve(answer),
      forward: () => Promise.reject(new Error('one Set: nothing is forwarded')),
      scan: () => Promise.reject(new Error('no scans here')),
      control: () => Promise.resolve(undefined),
      inspect: () => Promise.resolve({ ok: false, code: 'UNAVAILABLE', message: 'none' }),
    },
  );
  const start = process.cpuUsage();
  let served = 0;
  for (let i = 0; served < o.requests; i++) {
    const frame = frames[i % frames.length];
    assert(frame !== undefined, 'a frame');
    session.onFrame(FrameType.requests, frame);
    served += o.batch;
    // Let the answers settle and leave, as a turn of the event loop would.
    if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert(resultFrames > 0, 'the session answered');
  return cpuMicros(start) / served;
}

function requestFrames(o: Options): Uint8Array[] {
  const op = new Uint8Array(VALUE_BYTES);
  return Array.from({ length: 32 }, (_, f) =>
    encodeRequests(
      Array.from({ length: o.batch }, (_, i): WireRequest => ({
        kind: 'write',
        token: f * o.batch + i,
        key: key(f * o.batch + i),
        op,
      })),
    ),
  );
}

/** A gateway for PeerTraffic: replica `replica` of three, messages counted. */
function gateway(
  replica: number,
  counts: { delivered: number },
  onRemote: (handler: RemoteHandler) => void,
): PeerGateway {
  return { replica, onRemote, deliverRemote: () => ++counts.delivered > 0 };
}

function peerRound(o: Options): { out: number; in: number } {
  const counts = { delivered: 0 };
  let send: RemoteHandler | undefined;
  const payloads: Uint8Array[] = [];
  const link: PeerLink = { isUp: () => true, send: (_t, p) => payloads.push(p) > 0 };
  const out = new PeerTraffic(
    gateway(0, counts, (h) => (send = h)),
    [undefined, link, link],
    GROUPS,
  );
  assert(send !== undefined, 'PeerTraffic registered its handler');
  const message = new Uint8Array(180);
  const perTurn = o.batch;
  let start = process.cpuUsage();
  let sent = 0;
  for (; sent < o.requests; sent += perTurn) {
    for (let i = 0; i < perTurn; i++)
      send(i % GROUPS, GROUPS + (i % GROUPS) + (i % 2) * GROUPS, message);
    out.flush();
    payloads.length = 0;
  }
  const outMicros = cpuMicros(start) / sent;
  const batch = new PeerBatch();
  for (let i = 0; i < perTurn; i++) batch.add(i % GROUPS, GROUPS + (i % GROUPS), message);
  const frame = batch.take();
  const inbound = new PeerTraffic(
    gateway(1, counts, () => undefined),
    [link, undefined, link],
    GROUPS,
  );
  start = process.cpuUsage();
  let received = 0;
  for (; received < o.requests; received += perTurn) inbound.inbound(0, frame);
  assert(counts.delivered === received, `delivered ${counts.delivered} of ${received}`);
  return { out: outMicros, in: cpuMicros(start) / received };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const frames = requestFrames(o);
  for (let round = 1; round <= o.rounds; round++) {
    const session = await sessionRound(o, frames);
    const peer = peerRound(o);
    console.log(
      `round ${round}: session ${session.toFixed(2)} us/request, ` +
        `peer out ${peer.out.toFixed(3)} in ${peer.in.toFixed(3)} us/message`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
