/** Table tests for the pure helpers of topology.ts and for LocalQueue. */
import test from 'ava';
import fc from 'fast-check';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import { LocalQueue } from '../../../runtime/local-queue';
import {
  FRAME_HEADER_BYTES,
  allocateTopology,
  checkPlacement,
  hashPlacement,
  isActorId,
  readU32,
  workerOfActor,
  writeFrameHeader,
} from '../../../runtime/topology';

test('isActorId accepts u32 integers except the client address and the fragment mark', (t) => {
  const table: [number, boolean][] = [
    [0, true],
    [1, true],
    [0xffff_fffd, true],
    [0xffff_ffff, false],
    [CLIENT_ADDRESS, false],
    [-1, false],
    [1.5, false],
    [2 ** 32, false],
    [Number.NaN, false],
  ];
  for (const [id, want] of table) t.is(isActorId(id), want, `id ${id}`);
});

test('frame headers round-trip every u32 pair', (t) => {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  fc.assert(
    fc.property(fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), (from, to) => {
      writeFrameHeader(header, from, to);
      return readU32(header, 0) === from && readU32(header, 4) === to;
    }),
  );
  t.pass();
});

test('hashPlacement is stable, in range, and spreads strided ids over the workers', (t) => {
  for (const workers of [1, 2, 3, 8]) {
    const load = new Array<number>(workers).fill(0);
    for (let i = 0; i < 8000; i++) {
      const w = hashPlacement(i * workers, workers); // a stride equal to the worker count
      t.is(w, hashPlacement(i * workers, workers));
      load[w] = (load[w] ?? 0) + 1;
    }
    // A plain `id % workers` would put every one of these ids on worker 0.
    for (const n of load) t.true(n > (8000 / workers) * 0.8, `load ${load.join(',')}`);
  }
});

test('workerOfActor follows the placement for the ids it covers, the hash beyond', (t) => {
  const topology = allocateTopology(2, 256, [1, 1, 0]);
  t.deepEqual(
    [0, 1, 2].map((id) => workerOfActor(id, topology)),
    [1, 1, 0],
  );
  for (const id of [3, 7, 1000]) t.is(workerOfActor(id, topology), hashPlacement(id, 2));
  const hashed = allocateTopology(2, 256);
  for (const id of [0, 1, 2, 1000]) t.is(workerOfActor(id, hashed), hashPlacement(id, 2));
});

test('checkPlacement refuses what is not a worker per id', (t) => {
  t.is(checkPlacement([0, 1, 1], 2), undefined);
  t.is(checkPlacement([], 1), undefined);
  for (const bad of [[2], [-1], [0.5], [Number.NaN]]) {
    t.regex(checkPlacement(bad, 2) ?? '', /is not a worker/, `${bad[0]}`);
  }
  t.throws(() => allocateTopology(2, 256, [0, 3]));
});

test('allocateTopology has one ring per ordered pair of distinct threads', (t) => {
  const topology = allocateTopology(3, 256);
  t.is(topology.clientThread, 3);
  for (let from = 0; from < 4; from++) {
    for (let to = 0; to < 4; to++) t.is(topology.rings[from]?.[to] === null, from === to);
  }
  const all = topology.rings.flat().filter((r) => r !== null);
  t.is(new Set(all).size, 12);
});

test('LocalQueue delivers in order, bounded, and defers what deliveries enqueue', (t) => {
  const queue = new LocalQueue();
  const source = Uint8Array.of(1);
  for (let i = 0; i < 5; i++) queue.push(i, 100 + i, source);
  source[0] = 9; // push copied the payload
  const seen: number[] = [];
  const first = queue.deliver(3, (from, to, payload) => {
    seen.push(from);
    t.is(to, 100 + from);
    if (!(payload instanceof Uint8Array)) throw new Error('bytes came back as an object');
    t.is(payload[0], 1);
    queue.push(50 + from, 0, payload); // must wait for a later deliver()
  });
  t.is(first, 3);
  t.deepEqual(seen, [0, 1, 2]);
  t.is(
    queue.deliver(10, (from) => seen.push(from)),
    5,
  );
  t.deepEqual(seen, [0, 1, 2, 3, 4, 50, 51, 52]);
  t.is(queue.length, 0);
  t.is(queue.lengthHighWater, 5); // each deferred push followed a delivery
});
