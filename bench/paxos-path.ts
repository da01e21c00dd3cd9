/**
 * The CPU cost of the Paxos data path alone, without threads: three real PaxosGroupActors (one
 * group, memory records) on this thread, wired by a synchronous in-order queue that copies each
 * payload as the runtime does, and passes message objects as they are (the runtime's
 * same-thread path, ActorHost.sendObject). Closed-loop "clients" send linearizable writes (then reads) to each
 * key's home replica. Prints CPU microseconds per operation and the messages and payloads per
 * operation, and the V8 heap bytes allocated per operation.
 *
 * Heap bytes per operation are the load-independent figure (CPU per operation moves 2× with the
 * machine's load): a `node:v8` GCProfiler runs over each slice, and the bytes allocated are the
 * growth of `usedHeapSize` between collections (before each GC minus after the previous one,
 * plus the growth after the last). Every object the JavaScript heap allocates counts, whether
 * it dies young or not; ArrayBuffer backing stores outside the heap (payloads past V8's
 * on-heap limit) do not. With no timing in the loop the figure repeats within ~3 % between runs.
 *
 * Why: kv-load's `cpu us/op` on a shared machine moves with the load (smaller batches, more
 * wake-ups when other processes take the cores). This bench has no scheduling in it, so a change
 * to the codec, the core or the shell shows up in its figure with little noise. It leaves out
 * the rings, doorbells, the request pipeline and the public API (kv-load measures those).
 *
 * `--engine memory-log|bitcask|lsm` persists every record through that engine (sync 'batch', in
 * sections, as a store's group does) in a temporary directory, and `--groups N` spreads the keys
 * over N groups per replica (a store's default is 8): the CPU a persisted write adds, on one
 * thread plus libuv's pool, without the rings' scheduling noise.
 *
 *   node dist/bench/paxos-path.js [--ops 200000] [--clients 256] [--keys 100000] [--value-bytes 100] [--slices 10]
 *     [--engine none|memory-log|bitcask|lsm] [--groups 1]
 *     [--cache-keys N] [--new-keys]
 *
 * `--cache-keys N` bounds each replica's key cache (as kv-load's stores do) and ticks the actors
 * every 10 ms; `--new-keys` makes every write use a key never seen before, so the writes take
 * the key cache's new-key path (load empty, probation segment, eviction to the record store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { PaxosGroupActor } from '../actors/paxos/paxos-actor';
import { EngineRecordPort } from '../actors/paxos/record-port';
import type { RecordPort } from '../actors/paxos/record-port';
import { SectionedRecordPort } from '../actors/paxos/sectioned-record-port';
import { KeptRecordPort } from '../actors/paxos/kept-record-port';
import { VolatileRecordPort } from '../actors/paxos/volatile-record-port';
import { groupOfKey } from '../actors/store/routing';
import { createEngine } from '../engines/create-engine';
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  readResult,
  writeRequest,
} from '../actors/paxos/codec';
import { homeReplicaOf } from '../actors/paxos/core/key-hash';
import { actorIdOf } from '../actors/paxos/placement';
import type { ClientRequest } from '../actors/paxos/core/types';
import { allModels } from '../models/all-models';
import { ModelTag } from '../models/model-tags';
import { tagged } from '../models/registry';
import { KV_GET_QUERY, encodeKvOp } from '../models/kv/kv';
import { ByteWriter } from '../runtime/byte-codec';
import { CLIENT_ADDRESS } from '../runtime/actor';
import type { ActorHost } from '../runtime/actor';
import { assert } from '../runtime/assert';
import { transientCopy } from '../runtime/transient-bytes';
import { parseBenchArgsOrExit, positiveIntFlag, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

const REPLICAS = 3;
const ENGINES = ['none', 'memory-log', 'bitcask', 'lsm'] as const;
type PathEngine = (typeof ENGINES)[number];
/** With an engine, a round that delivered nothing waits for a send at most this long. */
const IO_WAIT_MS = 1;
/** Delivery rounds per phase at most: every round delivers something or the phase is stuck. */
const ROUNDS_MAX = 100_000_000;

export interface Options {
  ops: number;
  clients: number;
  keys: number;
  valueBytes: number;
  slices: number;
  /** The actors' key cache bound (cachedKeysMax); undefined: no bound and no ticks (default). */
  cacheKeys: number | undefined;
  /** Writes go to keys never used before (the key cache's probation path), not to `keys`. */
  newKeys: boolean;
  engine: PathEngine;
  groups: number;
}

/** Host time between the actors' ticks when a cache bound is set (the runtime's default). */
const TICK_MS = 10;

interface Envelope {
  from: number;
  to: number;
  /** Bytes (a copy the receiver owns), or a message object (ActorHost.sendObject). */
  payload: Uint8Array | object;
}

class Wire {
  readonly queue: Envelope[] = [];
  head = 0;
  payloads = 0;
  results = 0;
  onResult: (() => void) | undefined;
  /** Resolves the wait of a round that delivered nothing (engine mode): something was sent. */
  wake: (() => void) | undefined;

  host(actorId: number): ActorHost {
    return {
      actorId,
      now: () => performance.now(),
      send: (to, payload) => {
        this.payloads += 1;
        if (to === CLIENT_ADDRESS) {
          this.results += readBatch(payload, PayloadKind.results, readResult, () =>
            this.onResult?.(),
          );
          return;
        }
        // As the runtime's local queue: a copy from a slab, owned by the receiver.
        this.queue.push({ from: actorId, to, payload: transientCopy(payload) });
        this.wake?.();
      },
      // Every actor here shares this thread, as a group's replicas share a worker.
      sendObject: (to, message) => {
        if (to === CLIENT_ADDRESS) return false;
        this.payloads += 1;
        this.queue.push({ from: actorId, to, payload: message });
        this.wake?.();
        return true;
      },
    };
  }
}

export interface PhaseResult {
  phase: 'write' | 'read';
  ops: number;
  cpuMicrosPerOp: number;
  messagesPerOp: number;
  payloadsPerOp: number;
  heapBytesPerOp: number;
  /**
   * Heap bytes the scavenges copied per operation: what was still alive in the young
   * generation at a scavenge (kept in it, or promoted to the old generation). A scavenge's cost
   * follows these bytes, not the bytes allocated.
   */
  survivedBytesPerOp: number;
}

/** Heap bytes allocated while `profiler` ran: growth of the used heap between collections. */
function allocatedBytes(
  usedAtStart: number,
  profiler: GCProfiler,
): { allocated: number; survived: number } {
  const usedAtEnd = getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let bytes = 0;
  let survived = 0;
  let prev = usedAtStart;
  for (const gc of statistics) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - prev;
    prev = gc.afterGC.heapStatistics.usedHeapSize;
    if (gc.gcType === 'Scavenge') survived += scavengeSurvivors(gc);
  }
  return { allocated: bytes + usedAtEnd - prev, survived };
}

type GcEntry = ReturnType<GCProfiler['stop']>['statistics'][number];

/** What one scavenge copied: the young generation's bytes after it, plus the old space's growth. */
function scavengeSurvivors(gc: GcEntry): number {
  const used = (stats: GcEntry['beforeGC'], name: string): number =>
    stats.heapSpaceStatistics.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0;
  const promoted = used(gc.afterGC, 'old_space') - used(gc.beforeGC, 'old_space');
  return used(gc.afterGC, 'new_space') + Math.max(0, promoted);
}

async function runPhase(
  o: Options,
  kind: 'write' | 'read',
  actors: PaxosGroupActor[],
  wire: Wire,
): Promise<PhaseResult> {
  const op = tagged(ModelTag.kv, encodeKvOp({ type: 'put', value: Buffer.alloc(o.valueBytes, 7) }));
  const query = tagged(ModelTag.kv, KV_GET_QUERY);
  const writers = actors.map(() => new ByteWriter(4096));
  const batches = actors.map(() => [] as ClientRequest[]);
  let token = 1;
  let sent = 0;
  let fresh = 0;
  let done = 0;
  const submit = (): void => {
    if (sent >= o.ops) return;
    sent += 1;
    const key =
      o.newKeys && kind === 'write'
        ? `n${newKeySerial++}.${fresh++}`
        : `k${Math.floor(Math.random() * o.keys)}`;
    const home = actorIdOf(homeReplicaOf(key, REPLICAS), groupOfKey(key, o.groups), placementOf(o));
    const req: ClientRequest =
      kind === 'write'
        ? { kind: 'write', token: token++, key, op }
        : { kind: 'read', token: token++, key, query, consistency: 'linearizable' };
    batches[home]?.push(req);
  };
  wire.onResult = () => {
    done += 1;
    submit();
    wire.wake?.();
  };
  const messagesBefore = countMessages(actors);
  const payloadsBefore = wire.payloads;
  const profiler = new GCProfiler();
  profiler.start();
  const usedAtStart = getHeapStatistics().used_heap_size;
  const cpu = process.cpuUsage();
  for (let c = 0; c < o.clients; c++) submit();
  let tickedAt = performance.now();
  for (let round = 0; round < ROUNDS_MAX && done < o.ops; round++) {
    if (o.cacheKeys !== undefined && performance.now() - tickedAt >= TICK_MS) {
      tickedAt = performance.now();
      for (const a of actors) a.tick();
    }
    sendBatches(actors, writers, batches, wire);
    const delivered = deliverAll(actors, wire);
    // The memory record port answers loads from a microtask: let them run. An engine's
    // writes complete on libuv's pool: wait for a send rather than spin.
    if (delivered === 0 && o.engine === 'none') await new Promise((r) => setImmediate(r));
    else if (delivered === 0) await ioWait(wire);
  }
  const used = process.cpuUsage(cpu);
  const heap = allocatedBytes(usedAtStart, profiler);
  assert(done >= o.ops, `${kind} phase stopped at ${done} of ${o.ops}`);
  return {
    phase: kind,
    ops: done,
    cpuMicrosPerOp: (used.user + used.system) / done,
    messagesPerOp: (countMessages(actors) - messagesBefore) / done,
    payloadsPerOp: (wire.payloads - payloadsBefore) / done,
    heapBytesPerOp: heap.allocated / done,
    survivedBytesPerOp: heap.survived / done,
  };
}

/** Serial of the new keys (`--new-keys`), over the whole run: every write key is new. */
let newKeySerial = 0;
function ioWait(wire: Wire): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, IO_WAIT_MS);
    function done(): void {
      clearTimeout(timer);
      wire.wake = undefined;
      resolve();
    }
    wire.wake = done;
  });
}

function placementOf(o: Options): { replicas: number; groups: number } {
  return { replicas: REPLICAS, groups: o.groups };
}

/** The record port of one replica's group: volatile, or the engine in sections (actor-entry). */
function recordPortOf(o: Options, root: string | undefined, id: number): RecordPort {
  if (o.engine === 'none' || root === undefined) return new VolatileRecordPort();
  const dir = path.join(root, `actor-${id}`);
  const kind = o.engine === 'memory-log' ? 'memory' : o.engine;
  const persist = o.engine === 'memory-log';
  const engine = createEngine(kind, { dir, persist, holdRecords: persist ? false : undefined });
  const sectioned = new SectionedRecordPort(new EngineRecordPort(engine, 'batch'));
  return persist ? new KeptRecordPort(sectioned) : sectioned;
}

function sendBatches(
  actors: PaxosGroupActor[],
  writers: ByteWriter[],
  batches: ClientRequest[][],
  wire: Wire,
): void {
  batches.forEach((batch, id) => {
    const w = writers[id];
    const actor = actors[id];
    if (batch.length === 0 || w === undefined || actor === undefined) return;
    const at = beginBatch(w, PayloadKind.requests);
    for (const req of batch) writeRequest(w, req);
    const payload = endBatch(w, at, batch.length);
    batch.length = 0;
    wire.payloads += 1;
    actor.receive(CLIENT_ADDRESS, payload);
    actor.flush();
  });
}

/** Delivers what is queued, each actor flushed after its share (as a runtime turn does). */
function deliverAll(actors: PaxosGroupActor[], wire: Wire): number {
  const end = wire.queue.length;
  let n = 0;
  const touched = new Set<PaxosGroupActor>();
  for (; wire.head < end; wire.head++, n++) {
    const e = wire.queue[wire.head];
    assert(e !== undefined, 'queued envelope');
    const actor = actors[e.to];
    assert(actor !== undefined, `no actor ${e.to}`);
    if (e.payload instanceof Uint8Array) actor.receive(e.from, e.payload, true);
    else actor.receiveObject(e.from, e.payload);
    touched.add(actor);
  }
  for (const actor of touched) actor.flush();
  if (wire.head === wire.queue.length) {
    wire.queue.length = 0;
    wire.head = 0;
  }
  return n;
}

export function median(xs: number[]): number {
  assert(xs.length > 0, 'median of no slices');
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function countMessages(actors: PaxosGroupActor[]): number {
  let n = 0;
  // Paxos messages sent between replicas (older builds without the counter: NaN).
  for (const a of actors) n += a.coreStats()['messagesSent'] ?? NaN;
  return n;
}

/** Three replicas wired together, warmed up: each `slice` runs one measured phase of `ops`. */
export interface PaxosPathRig {
  slice(kind: 'write' | 'read', ops: number): Promise<PhaseResult>;
  close(): Promise<void>;
}

export async function openPaxosPath(o: Options): Promise<PaxosPathRig> {
  const wire = new Wire();
  const actors: PaxosGroupActor[] = [];
  const root = o.engine === 'none' ? undefined : mkdtempSync(path.join(tmpdir(), 'paxos-path-'));
  for (let id = 0; id < REPLICAS * o.groups; id++) {
    actors.push(
      new PaxosGroupActor(id, wire.host(id), recordPortOf(o, root, id), {
        ...placementOf(o),
        sync: 'batch',
        model: allModels,
        cachedKeysMax: o.cacheKeys,
        tickMs: o.cacheKeys === undefined ? undefined : TICK_MS,
        incarnation: 1,
        amnesic: false,
      }),
    );
  }
  // Warm-up: every key once, so the measured phases see settled keys and a warm JIT.
  await runPhase({ ...o, ops: o.keys }, 'write', actors, wire);
  return {
    slice: (kind, ops) => runPhase({ ...o, ops }, kind, actors, wire),
    close: async () => {
      await Promise.all(actors.map((a) => a.close()));
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function runPaxosPath(o: Options): Promise<PhaseResult[]> {
  const rig = await openPaxosPath(o);
  // Alternating slices; the cheapest slice of each kind is reported: other processes on the
  // machine only ever add CPU time (cache misses, migrations), so the minimum is the most
  // repeatable figure on a shared machine.
  // Heap bytes per operation barely move between slices: the median slice's is reported.
  const best = new Map<'write' | 'read', PhaseResult>();
  const heap = { write: [] as number[], read: [] as number[] };
  const survived = { write: [] as number[], read: [] as number[] };
  for (let slice = 0; slice < o.slices; slice++) {
    for (const kind of ['write', 'read'] as const) {
      const r = await rig.slice(kind, Math.ceil(o.ops / o.slices));
      heap[kind].push(r.heapBytesPerOp);
      survived[kind].push(r.survivedBytesPerOp);
      const seen = best.get(kind);
      if (seen === undefined || r.cpuMicrosPerOp < seen.cpuMicrosPerOp) best.set(kind, r);
    }
  }
  for (const [kind, r] of best) {
    r.heapBytesPerOp = median(heap[kind]);
    r.survivedBytesPerOp = median(survived[kind]);
  }
  await rig.close();
  return [...best.values()];
}

/** The workload's defaults; paxos-path-ab runs shorter ones. */
export interface WorkloadDefaults {
  readonly ops: number;
  readonly keys: number;
  readonly slices: number;
}

/** The workload's flags, shared by paxos-path and paxos-path-ab. */
export function workloadFlags(d: WorkloadDefaults): BenchFlags {
  return {
    ops: { type: 'string', help: ['<n>', String(d.ops), 'operations per measured phase'] },
    clients: { type: 'string', help: ['<n>', '256', 'operations outstanding'] },
    keys: {
      type: 'string',
      help: ['<n>', String(d.keys), 'keyspace (each key written once first, unmeasured)'],
    },
    'value-bytes': { type: 'string', help: ['<n>', '100', 'value size'] },
    'cache-keys': {
      type: 'string',
      help: ['<n>', 'none', 'key cache bound per replica (ticks the actors every 10 ms)'],
    },
    'new-keys': { type: 'boolean', help: ['', 'off', 'write phases write keys never used before'] },
    slices: {
      type: 'string',
      help: [
        '<n>',
        String(d.slices),
        'each phase runs in this many alternating slices; the cheapest is reported',
      ],
    },
    engine: {
      type: 'string',
      help: ['<e>', 'none', 'persist records: none | memory-log | bitcask | lsm (sync batch)'],
    },
    groups: { type: 'string', help: ['<n>', '1', 'groups per replica'] },
  };
}

/** The workload's options from parsed flags. */
export function workloadOptions(args: ParsedBenchArgs, d: WorkloadDefaults): Options {
  const int = (name: string, dflt: number): number => positiveIntFlag(args, name, dflt);
  return {
    engine: engineOf(stringFlag(args, 'engine') ?? 'none'),
    groups: int('groups', 1),
    ops: int('ops', d.ops),
    clients: int('clients', 256),
    keys: int('keys', d.keys),
    valueBytes: int('value-bytes', 100),
    slices: int('slices', d.slices),
    cacheKeys: stringFlag(args, 'cache-keys') === undefined ? undefined : int('cache-keys', 1),
    newKeys: args.values['new-keys'] === true,
  };
}

const DEFAULTS: WorkloadDefaults = { ops: 200_000, keys: 100_000, slices: 10 };

const FLAGS: BenchFlags = workloadFlags(DEFAULTS);

function engineOf(name: string): PathEngine {
  const found = ENGINES.find((e) => e === name);
  if (found === undefined) throw new TypeError(`--engine must be one of ${ENGINES.join(', ')}`);
  return found;
}

async function main(): Promise<void> {
  const o = parseBenchArgsOrExit(
    'paxos-path',
    'node dist/bench/paxos-path.js [flags]',
    FLAGS,
    process.argv.slice(2),
    (args) => workloadOptions(args, DEFAULTS),
  );
  const results = await runPaxosPath(o);
  console.log('phase   ops        cpu us/op  msgs/op  payloads/op  heap B/op  survived B/op');
  for (const r of results) {
    console.log(
      `${r.phase.padEnd(7)} ${String(r.ops).padEnd(10)} ${r.cpuMicrosPerOp.toFixed(2).padStart(9)}  ${r.messagesPerOp.toFixed(2).padStart(7)}  ${r.payloadsPerOp.toFixed(3).padStart(11)}  ${r.heapBytesPerOp.toFixed(0).padStart(9)}  ${r.survivedBytesPerOp.toFixed(0).padStart(13)}`,
    );
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
