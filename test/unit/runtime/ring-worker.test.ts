/**
 * A real worker thread produces through Outbox + SpscRing + Doorbells while the main thread
 * consumes: every record arrives once, in order, intact, with both sides parking (the ring is
 * small, so the producer fills it and must be woken when space frees up).
 */
import test from 'ava';
import path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { DoorbellReader, Doorbells } from '../../../runtime/doorbell';
import { SpscRing } from '../../../runtime/ring';

const CONSUMER = 0;
const PRODUCER = 1;

function checkRecord(r: Uint8Array, want: number): void {
  const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const seq = view.getUint32(0, true);
  if (seq !== want) throw new Error(`got record ${seq}, expected ${want}`);
  if (r.byteLength !== 4 + (seq % 61)) throw new Error(`record ${seq} has length ${r.byteLength}`);
  for (let i = 4; i < r.byteLength; i++) {
    if (r[i] !== ((seq + i) & 0xff)) throw new Error(`record ${seq} corrupt at byte ${i}`);
  }
}

test('worker producer, main-thread consumer: no loss, no duplication, order kept', async (t) => {
  const count = 200_000;
  const ringSab = SpscRing.allocate(4096);
  const bellSab = Doorbells.allocate(2);
  const ring = new SpscRing(ringSab);
  const bells = new Doorbells(bellSab);
  const reader = new DoorbellReader(bells, CONSUMER);
  const worker = new Worker(path.join(__dirname, 'fixtures', 'ring-producer.js'), {
    workerData: {
      ring: ringSab,
      bells: bellSab,
      count,
      batch: 300,
      producerThread: PRODUCER,
      consumerThread: CONSUMER,
    },
  });
  const done = once(worker, 'message');
  let next = 0;
  const onRecord = (r: Uint8Array): void => checkRecord(r, next++);
  // Bounded by `count`: each pass drains records or parks until the producer rings.
  while (next < count) {
    const drained = ring.drain(onRecord, 1000);
    if (ring.takeSpaceWanted()) bells.ringIfParked(PRODUCER);
    if (drained > 0) continue;
    const wake = reader.park(() => ring.hasRecords());
    if (wake !== null) await wake;
  }
  const [result] = (await done) as [{ done: number; overflowRecords: number; parks: number }];
  await worker.terminate();
  t.is(next, count);
  t.is(result.done, count);
  t.false(ring.hasRecords());
  // The run exercised the full-ring path (overflow, producer parks) and the consumer's parks.
  t.true(result.overflowRecords > 0, 'producer never overflowed');
  t.log(`consumer parks ${reader.parks}, producer parks ${result.parks}`);
});
