/**
 * Worker side of bench/mailbox.ts. In 'ring' mode it runs the runtime's ThreadMailbox (the
 * real pump: drain, spin, park on the doorbell); in 'post' mode it listens on parentPort.
 * Either way it counts one-way records, answers 'done' when it has them all, and echoes pings.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { assert } from '../runtime/assert';
import { ThreadMailbox } from '../runtime/thread-mailbox';
import type { Topology } from '../runtime/topology';

export const Kind = { oneWay: 1, ping: 2, pong: 3, done: 4 } as const;
export const ACK_EVERY = 16_384;

export interface BenchWorkerData {
  mode: 'ring' | 'post';
  topology: Topology;
  oneWayMessages: number;
}

function runRing(data: BenchWorkerData): void {
  const client = data.topology.clientThread;
  let received = 0;
  const reply = new Uint8Array(8);
  const mailbox: ThreadMailbox = new ThreadMailbox(data.topology, 0, {
    beforeDrain: () => false,
    deliver: (from, to, payload) => {
      if (payload[0] === Kind.oneWay) {
        if (++received === data.oneWayMessages) {
          received = 0; // the next run starts over
          reply[0] = Kind.done;
          mailbox.send(client, to, from, reply);
        }
      } else {
        assert(payload[0] === Kind.ping, `bench worker got kind ${String(payload[0])}`);
        reply[0] = Kind.pong;
        mailbox.send(client, to, from, reply);
      }
    },
    afterDrain: () => undefined,
    hasLocalWork: () => false,
  });
  // Atomics.waitAsync does not keep a worker alive; this ref'd interval does.
  setInterval(() => undefined, 1000);
  mailbox.start();
}

function runPost(data: BenchWorkerData): void {
  const port = parentPort;
  assert(port !== null, 'bench worker needs a parentPort');
  let received = 0;
  port.on('message', (message: Uint8Array) => {
    if (message[0] === Kind.oneWay) {
      received++;
      if (received % ACK_EVERY === 0) port.postMessage(received);
      if (received === data.oneWayMessages) {
        received = 0; // the next run starts over
        port.postMessage(Uint8Array.of(Kind.done));
      }
    } else {
      port.postMessage(Uint8Array.of(Kind.pong));
    }
  });
}

// bench/mailbox.ts imports the constants above on the main thread: run only in the worker.
if (!isMainThread) {
  const data = workerData as BenchWorkerData;
  if (data.mode === 'ring') runRing(data);
  else runPost(data);
}
