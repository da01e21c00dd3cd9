/**
 * Mailbox benchmark: SPSC ring (the runtime's ThreadMailbox, doorbell and all) against
 * `postMessage`, in the same run, between the main thread and one worker.
 *
 *   one-way: the main thread sends small records as fast as it can; throughput is counted
 *            until the worker reports it has them all. postMessage is windowed by acks so
 *            its queue stays bounded; the ring is paced by its own overflow queue. Each
 *            transport runs `repeats` times and the best run counts: on a shared machine the
 *            best run is the one least disturbed by other load.
 *   round trip: one record out, one back, repeated; p50/p99 from an HDR histogram.
 *
 * Run: `node dist/bench/mailbox.js`. A bench runner calls `runMailboxBench`.
 */
import path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { assert } from '../runtime/assert';
import { ThreadMailbox } from '../runtime/thread-mailbox';
import { allocateTopology } from '../runtime/topology';
import type { Topology } from '../runtime/topology';
import { ACK_EVERY, Kind } from './mailbox-worker';
import type { BenchWorkerData } from './mailbox-worker';

export interface MailboxBenchOptions {
  /** One-way records through the ring. */
  ringMessages?: number;
  /** One-way messages through postMessage (slower, so fewer keep the run short). */
  postMessages?: number;
  roundTrips?: number;
  /** Payload bytes per record (16-64 is the interesting range). */
  recordBytes?: number;
  ringBytes?: number;
  /** One-way runs per transport; the best one is reported. */
  repeats?: number;
}

export interface TransportResult {
  name: 'spsc-ring' | 'postMessage';
  oneWayMessages: number;
  oneWaySeconds: number;
  oneWayMessagesPerSecond: number;
  roundTrips: number;
  rttP50Micros: number;
  rttP99Micros: number;
}

export interface MailboxBenchResult {
  recordBytes: number;
  ring: TransportResult;
  postMessage: TransportResult;
  /** ring one-way throughput / postMessage one-way throughput. */
  throughputRatio: number;
  /** postMessage p50 round trip / ring p50 round trip. */
  rttP50Ratio: number;
}

const DEFAULTS = {
  ringMessages: 1_000_000,
  postMessages: 200_000,
  roundTrips: 20_000,
  recordBytes: 32,
  ringBytes: 4 * 1024 * 1024,
  repeats: 3,
};
const WARMUP_ROUND_TRIPS = 2_000;
const SEND_CHUNK = 4096;
const POST_WINDOW = 4 * ACK_EVERY;

function spawnWorker(data: BenchWorkerData): Worker {
  return new Worker(path.join(__dirname, 'mailbox-worker.js'), { workerData: data });
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function histogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1, // nanoseconds
    highestTrackableValue: 60e9,
    numberOfSignificantValueDigits: 3,
  });
}

/** The main thread's side of the ring transport: its mailbox and a way to await replies. */
class RingClient {
  readonly mailbox: ThreadMailbox;
  private waiting: ((kind: number) => void) | undefined;

  constructor(topology: Topology) {
    this.mailbox = new ThreadMailbox(topology, topology.clientThread, {
      beforeDrain: () => false,
      deliver: (_from, _to, payload) => this.waiting?.(payload[0] ?? 0),
      afterDrain: () => undefined,
      hasLocalWork: () => false,
    });
    this.mailbox.start();
  }

  next(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = (kind) => {
        this.waiting = undefined;
        resolve(kind);
      };
    });
  }
}

async function ringOneWay(client: RingClient, count: number, record: Uint8Array): Promise<number> {
  const done = client.next();
  const start = performance.now();
  let sent = 0;
  // Bounded by `count`: each chunk sends SEND_CHUNK records, then lets the pumps run.
  while (sent < count) {
    const end = Math.min(count, sent + SEND_CHUNK);
    for (; sent < end; sent++) client.mailbox.send(0, 1, 2, record);
    client.mailbox.flushOutboxes();
    // Pace on the ring's own backpressure: wait while records sit in the overflow queue.
    while (client.mailbox.stats().overflowBytes > 0) await yieldTurn();
    await yieldTurn();
  }
  assert((await done) === Kind.done, 'ring one-way did not end with done');
  return (performance.now() - start) / 1000;
}

function recordSince(h: hdr.Histogram, startMs: number): void {
  h.recordValue(Math.max(1, Math.round((performance.now() - startMs) * 1e6)));
}

async function ringRoundTrips(
  client: RingClient,
  count: number,
  ping: Uint8Array,
): Promise<hdr.Histogram> {
  const h = histogram();
  for (let i = 0; i < WARMUP_ROUND_TRIPS + count; i++) {
    const reply = client.next();
    const start = performance.now();
    client.mailbox.send(0, 1, 2, ping);
    client.mailbox.flushOutboxes();
    assert((await reply) === Kind.pong, 'ring round trip got no pong');
    if (i >= WARMUP_ROUND_TRIPS) recordSince(h, start);
  }
  return h;
}

async function benchRing(o: typeof DEFAULTS): Promise<TransportResult> {
  const topology = allocateTopology(1, o.ringBytes);
  const worker = spawnWorker({ mode: 'ring', topology, oneWayMessages: o.ringMessages });
  await once(worker, 'online');
  const client = new RingClient(topology);
  try {
    const record = new Uint8Array(o.recordBytes).fill(Kind.oneWay);
    let seconds = Infinity;
    for (let run = 0; run < o.repeats; run++) {
      seconds = Math.min(seconds, await ringOneWay(client, o.ringMessages, record));
    }
    const ping = new Uint8Array(o.recordBytes).fill(Kind.ping);
    const h = await ringRoundTrips(client, o.roundTrips, ping);
    return result('spsc-ring', o.ringMessages, seconds, o.roundTrips, h);
  } finally {
    client.mailbox.stop();
    await worker.terminate();
  }
}

async function postOneWay(worker: Worker, count: number, bytes: number): Promise<number> {
  let acked = 0;
  let wake: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    worker.on('message', (m: number | Uint8Array) => {
      if (typeof m === 'number') acked = m;
      else if (m[0] === Kind.done) resolve();
      wake?.();
    });
  });
  const record = new Uint8Array(bytes).fill(Kind.oneWay);
  const start = performance.now();
  for (let sent = 0; sent < count;) {
    const end = Math.min(count, sent + SEND_CHUNK, acked + POST_WINDOW);
    for (; sent < end; sent++) worker.postMessage(record);
    if (sent - acked >= POST_WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    else await yieldTurn();
  }
  await done;
  worker.removeAllListeners('message');
  return (performance.now() - start) / 1000;
}

async function postRoundTrips(
  worker: Worker,
  count: number,
  bytes: number,
): Promise<hdr.Histogram> {
  const h = histogram();
  const ping = new Uint8Array(bytes).fill(Kind.ping);
  for (let i = 0; i < WARMUP_ROUND_TRIPS + count; i++) {
    const start = performance.now();
    worker.postMessage(ping);
    await once(worker, 'message');
    if (i >= WARMUP_ROUND_TRIPS) recordSince(h, start);
  }
  return h;
}

async function benchPost(o: typeof DEFAULTS): Promise<TransportResult> {
  const topology = allocateTopology(1, 1024);
  const worker = spawnWorker({ mode: 'post', topology, oneWayMessages: o.postMessages });
  await once(worker, 'online');
  try {
    let seconds = Infinity;
    for (let run = 0; run < o.repeats; run++) {
      seconds = Math.min(seconds, await postOneWay(worker, o.postMessages, o.recordBytes));
    }
    const h = await postRoundTrips(worker, o.roundTrips, o.recordBytes);
    return result('postMessage', o.postMessages, seconds, o.roundTrips, h);
  } finally {
    await worker.terminate();
  }
}

function result(
  name: TransportResult['name'],
  messages: number,
  seconds: number,
  roundTrips: number,
  h: hdr.Histogram,
): TransportResult {
  assert(seconds > 0, `${name}: non-positive duration`);
  return {
    name,
    oneWayMessages: messages,
    oneWaySeconds: seconds,
    oneWayMessagesPerSecond: messages / seconds,
    roundTrips,
    rttP50Micros: h.getValueAtPercentile(50) / 1000,
    rttP99Micros: h.getValueAtPercentile(99) / 1000,
  };
}

export async function runMailboxBench(opts: MailboxBenchOptions = {}): Promise<MailboxBenchResult> {
  const o = { ...DEFAULTS, ...opts };
  assert(o.recordBytes >= 1 && o.recordBytes <= 4096, `recordBytes ${o.recordBytes} out of range`);
  assert(Number.isInteger(o.repeats) && o.repeats >= 1, `repeats ${o.repeats} must be >= 1`);
  const ring = await benchRing(o);
  const postMessage = await benchPost(o);
  return {
    recordBytes: o.recordBytes,
    ring,
    postMessage,
    throughputRatio: ring.oneWayMessagesPerSecond / postMessage.oneWayMessagesPerSecond,
    rttP50Ratio: postMessage.rttP50Micros / ring.rttP50Micros,
  };
}

function formatTable(r: MailboxBenchResult): string {
  const rows = [r.ring, r.postMessage].map((t) =>
    [
      t.name.padEnd(12),
      Math.round(t.oneWayMessagesPerSecond).toLocaleString('en-US').padStart(14),
      t.rttP50Micros.toFixed(1).padStart(10),
      t.rttP99Micros.toFixed(1).padStart(10),
    ].join(' '),
  );
  return [
    `mailbox bench: ${r.recordBytes}-byte records, main thread <-> 1 worker`,
    [
      'transport'.padEnd(12),
      'one-way msg/s'.padStart(14),
      'rtt p50 us'.padStart(10),
      'rtt p99 us'.padStart(10),
    ].join(' '),
    ...rows,
    `ring / postMessage: one-way throughput x${r.throughputRatio.toFixed(1)}, ` +
      `p50 round trip x${r.rttP50Ratio.toFixed(1)} faster`,
  ].join('\n');
}

if (require.main === module) {
  runMailboxBench()
    .then((r) => console.log(formatTable(r)))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
