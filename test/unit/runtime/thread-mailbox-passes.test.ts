/**
 * A worker's turn in passes (MailboxOptions.passBytes): the records published when the turn
 * began are worked on in passes of about `passBytes`, each pass but the last followed by
 * `afterDrain` and a flush; records published during the turn wait for the next turn.
 */
import test from 'ava';
import { SpscRing } from '../../../runtime/ring';
import type { RemoteRoute } from '../../../runtime/remote-route';
import {
  MAILBOX_DEFAULTS,
  ThreadMailbox,
  WORKER_PASS_BYTES,
} from '../../../runtime/thread-mailbox';
import { defaultPassBytes } from '../../../runtime/worker-runtime';
import type { MailboxHooks } from '../../../runtime/thread-mailbox';
import { allocateTopology, ringBuffer } from '../../../runtime/topology';

/** Publishes `count` framed records of `bytes` payload bytes, from `first` (their word0) on. */
function publish(ring: SpscRing, count: number, bytes: number, first: number): void {
  for (let i = 0; i < count; i++) {
    if (!ring.tryStageFramed(first + i, 0, new Uint8Array(bytes))) throw new Error('ring full');
  }
  ring.publish();
}

interface Log {
  events: string[];
}

function hooks(log: Log, onDeliver?: (from: number) => void): MailboxHooks {
  return {
    beforeDrain: () => false,
    deliver: (from) => {
      log.events.push(`d${from}`);
      onDeliver?.(from);
    },
    afterDrain: () => log.events.push('after'),
    hasLocalWork: () => false,
  };
}

async function oneTurn(mailbox: ThreadMailbox): Promise<void> {
  mailbox.start();
  await new Promise((resolve) => setImmediate(resolve));
  mailbox.stop();
}

test('records are worked on in passes of passBytes, afterDrain after each', async (t) => {
  const topology = allocateTopology(1, 64 * 1024);
  const fromClient = new SpscRing(ringBuffer(topology, topology.clientThread, 0));
  // Five payloads of 100 bytes; passes of 250 bytes take three, then two.
  publish(fromClient, 5, 100, 1);
  const log: Log = { events: [] };
  const mailbox = new ThreadMailbox(topology, 0, hooks(log), {
    ...MAILBOX_DEFAULTS,
    passBytes: 250,
  });
  await oneTurn(mailbox);
  t.deepEqual(log.events.slice(0, 7), ['d1', 'd2', 'd3', 'after', 'd4', 'd5', 'after']);
});

test('without passes a turn drains everything, then runs afterDrain once', async (t) => {
  const topology = allocateTopology(1, 64 * 1024);
  const fromClient = new SpscRing(ringBuffer(topology, topology.clientThread, 0));
  publish(fromClient, 5, 100, 1);
  const log: Log = { events: [] };
  const mailbox = new ThreadMailbox(topology, 0, hooks(log), MAILBOX_DEFAULTS);
  await oneTurn(mailbox);
  t.deepEqual(log.events.slice(0, 6), ['d1', 'd2', 'd3', 'd4', 'd5', 'after']);
});

test('records published during a turn in passes wait for the next turn', async (t) => {
  const topology = allocateTopology(1, 64 * 1024);
  const fromClient = new SpscRing(ringBuffer(topology, topology.clientThread, 0));
  publish(fromClient, 2, 100, 1);
  const log: Log = { events: [] };
  // The first delivery publishes two more records, as a fast partner answering would.
  let answered = false;
  const onDeliver = (): void => {
    if (answered) return;
    answered = true;
    publish(fromClient, 2, 100, 10);
  };
  const mailbox = new ThreadMailbox(topology, 0, hooks(log, onDeliver), {
    ...MAILBOX_DEFAULTS,
    passBytes: 50,
  });
  mailbox.start();
  await new Promise((resolve) => setImmediate(resolve));
  // The first turn: the two records it began with, a pass each.
  t.deepEqual(log.events.slice(0, 4), ['d1', 'after', 'd2', 'after']);
  await new Promise((resolve) => setImmediate(resolve));
  mailbox.stop();
  t.deepEqual(log.events.slice(4, 8), ['d10', 'after', 'd11', 'after']);
});

test("an embedded store's workers turn in passes; a cluster node's workers do not", (t) => {
  t.is(defaultPassBytes({ remote: undefined }), WORKER_PASS_BYTES);
  t.true(WORKER_PASS_BYTES > 0);
  const remote: RemoteRoute = { actorsPerNode: 8, nodes: 3, localNode: 0 };
  t.is(defaultPassBytes({ remote }), 0);
});
