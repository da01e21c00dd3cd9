/**
 * Who talks to whom: thread numbering, the ring matrix, actor placement and record framing.
 *
 * Threads are numbered 0..workers-1 for the worker threads and `workers` for the client thread
 * (the one that started the system). There is one SPSC ring per ordered pair of distinct
 * threads, so every ring has exactly one producer and one consumer, as SpscRing requires.
 * Everything here is plain data so it crosses to a worker in `workerData` (SharedArrayBuffers
 * are shared, not copied).
 */
import { assert } from './assert';
import { CLIENT_ADDRESS } from './actor';
import { Doorbells } from './doorbell';
import { SpscRing } from './ring';

/** Ring records are framed `[u32 from][u32 to][payload]`, little-endian. */
export const FRAME_HEADER_BYTES = 8;

export interface Topology {
  readonly workers: number;
  /** Thread number of the client thread (always `workers`). */
  readonly clientThread: number;
  /** rings[from][to]: the ring from thread `from` to thread `to`; null on the diagonal. */
  readonly rings: readonly (readonly (SharedArrayBuffer | null)[])[];
  /** One doorbell per thread (see doorbell.ts). */
  readonly bells: SharedArrayBuffer;
  /**
   * The worker of each actor id below its length, chosen by the embedder (the store places a
   * group's replicas together: docs/decisions.md "Replicas of a group on one worker"); ids
   * past the end are placed by hash (`hashPlacement`). Empty: every actor by hash.
   */
  readonly placement: readonly number[];
}

export function allocateTopology(
  workers: number,
  ringBytes: number,
  placement: readonly number[] = [],
): Topology {
  assert(Number.isInteger(workers) && workers >= 1, `bad worker count ${workers}`);
  assert(checkPlacement(placement, workers) === undefined, () => 'bad placement');
  const threads = workers + 1;
  const rings: (SharedArrayBuffer | null)[][] = [];
  for (let from = 0; from < threads; from++) {
    const row: (SharedArrayBuffer | null)[] = [];
    for (let to = 0; to < threads; to++) {
      row.push(from === to ? null : SpscRing.allocate(ringBytes));
    }
    rings.push(row);
  }
  return {
    workers,
    clientThread: workers,
    rings,
    bells: Doorbells.allocate(threads),
    placement: [...placement],
  };
}

/** Why `placement` is not a worker per actor id for `workers` workers, or undefined. */
export function checkPlacement(placement: readonly number[], workers: number): string | undefined {
  if (!Array.isArray(placement)) return 'placement must be an array';
  if (placement.length > PLACEMENT_IDS_MAX) return `placement longer than ${PLACEMENT_IDS_MAX}`;
  for (let id = 0; id < placement.length; id++) {
    const w = placement[id];
    if (!Number.isInteger(w) || w === undefined || w < 0 || w >= workers) {
      return `placement[${id}] = ${String(w)} is not a worker in [0, ${workers})`;
    }
  }
  return undefined;
}

/** Actor ids an explicit placement may cover (it crosses to every worker in workerData). */
export const PLACEMENT_IDS_MAX = 1 << 16;

export function ringBuffer(topology: Topology, from: number, to: number): SharedArrayBuffer {
  const sab = topology.rings[from]?.[to];
  assert(sab !== undefined && sab !== null, `no ring from thread ${from} to thread ${to}`);
  return sab;
}

/** True for ids an actor may have: u32 integers other than the client address. */
export function isActorId(id: number): boolean {
  // 0xffffffff is reserved: it marks fragment records (fragments.ts).
  return Number.isInteger(id) && id >= 0 && id < 0xffff_ffff && id !== CLIENT_ADDRESS;
}

/** The worker an actor is pinned to: the topology's placement, else its hash. */
export function workerOfActor(actorId: number, topology: Topology): number {
  const placed = topology.placement[actorId];
  if (placed !== undefined) return placed;
  return hashPlacement(actorId, topology.workers);
}

/**
 * The worker of an actor the embedder did not place. A mixing hash (murmur3's finalizer)
 * rather than `id % n`, so ids that share a stride (e.g. one group per replica set) still
 * spread over the workers.
 */
export function hashPlacement(actorId: number, workers: number): number {
  if (!isActorId(actorId)) assert(false, `bad actor id ${actorId}`);
  if (!(workers >= 1)) assert(false, `bad worker count ${workers}`);
  let h = actorId >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h % workers;
}

/** The thread a message to `to` must go to. */
export function threadOfAddress(to: number, topology: Topology): number {
  return to === CLIENT_ADDRESS ? topology.clientThread : workerOfActor(to, topology);
}

export function writeFrameHeader(header: Uint8Array, from: number, to: number): void {
  assert(header.byteLength === FRAME_HEADER_BYTES, 'frame header must be 8 bytes');
  header[0] = from & 0xff;
  header[1] = (from >>> 8) & 0xff;
  header[2] = (from >>> 16) & 0xff;
  header[3] = from >>> 24;
  header[4] = to & 0xff;
  header[5] = (to >>> 8) & 0xff;
  header[6] = (to >>> 16) & 0xff;
  header[7] = to >>> 24;
}

/** Reads the u32 at `at` (little-endian) without allocating a DataView per record. */
export function readU32(bytes: Uint8Array, at: number): number {
  const a = bytes[at];
  const b = bytes[at + 1];
  const c = bytes[at + 2];
  const d = bytes[at + 3];
  assert(d !== undefined && a !== undefined && b !== undefined && c !== undefined, 'short read');
  return (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
}
