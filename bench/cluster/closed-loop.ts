/**
 * The load of the cluster bench, the same for every system: `clients` closed-loop requests
 * (each sends its next request when the last one settles) over `keys` uniformly random keys,
 * for a fixed time; latency per request in an HDR histogram; CPU per operation for the whole
 * cluster (the server processes through the target, plus this load process).
 */
import * as hdr from 'hdr-histogram-js';
import { assert } from '../../runtime/assert';
import { splitThreadCpu } from './thread-cpu-split';
import type { ThreadCpu, ThreadCpuSplit } from './thread-cpu-split';

/** One system under test, as the load sees it. */
export interface KvTarget {
  put(key: string, value: Buffer): Promise<void>;
  /** Linearizable read; true when the key has a value. */
  get(key: string): Promise<boolean>;
  /** CPU time of the server processes so far (user + system, microseconds). */
  serverCpuMicros(): number;
  /**
   * Every server thread's CPU so far, and how many of each process's non-main threads are its
   * workers (the busiest ones): the split by thread. Absent for etcd (one Go runtime).
   */
  readonly serverThreads?: { read(): ThreadCpu[]; readonly workers: number };
}

export type PhaseName = 'write' | 'read';

export interface PhaseResult {
  readonly phase: PhaseName;
  readonly ops: number;
  readonly errors: Record<string, number>;
  readonly notFound: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** (server CPU + load-process CPU) / ops. */
  readonly cpuMicrosPerOp: number;
  /** The servers' part of cpuMicrosPerOp. */
  readonly serverCpuMicrosPerOp: number;
  /** serverCpuMicrosPerOp by thread (main, workers, the rest), when the target says. */
  readonly serverThreads: ThreadCpuSplit | undefined;
}

export interface LoadShape {
  readonly seconds: number;
  readonly clients: number;
  readonly keys: number;
  readonly values: readonly Buffer[];
}

/** A bound on one client's loop: no request finishes in under 100 ns. */
const REQUESTS_PER_SECOND_MAX = 10_000_000;

function threadSplit(
  target: KvTarget,
  atStart: readonly ThreadCpu[] | undefined,
  ops: number,
): ThreadCpuSplit | undefined {
  const threads = target.serverThreads;
  if (threads === undefined || atStart === undefined || ops === 0) return undefined;
  return splitThreadCpu(atStart, threads.read(), threads.workers, ops);
}

export function keyOf(i: number): string {
  return `key-${i.toString().padStart(8, '0')}`;
}

export function benchValues(clients: number, valueBytes: number): Buffer[] {
  return Array.from({ length: clients }, (_, c) => {
    const v = Buffer.alloc(valueBytes);
    for (let i = 0; i < v.length; i++) v[i] = (c * 31 + i * 7) & 0xff;
    return v;
  });
}

export function errorCode(e: unknown): string {
  if (e !== null && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return String(code);
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'UNKNOWN';
}

function histogram(): hdr.Histogram {
  // microseconds, 1 us .. 120 s, 3 significant digits (as bench/kv-load.ts)
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs one measured phase; `written` marks the keys written (the read phase's pre-warm uses it). */
export async function runPhase(
  target: KvTarget,
  shape: LoadShape,
  phase: PhaseName,
  written: Uint8Array,
): Promise<PhaseResult> {
  assert(
    shape.values.length >= shape.clients,
    `values ${shape.values.length} < clients ${shape.clients}`,
  );
  assert(written.length === shape.keys, `written ${written.length} != keys ${shape.keys}`);
  const h = histogram();
  const errors: Record<string, number> = {};
  let ops = 0;
  let notFound = 0;
  const start = performance.now();
  const end = start + shape.seconds * 1000;
  const loopMax = Math.ceil(shape.seconds * REQUESTS_PER_SECOND_MAX);
  const serverCpuStart = target.serverCpuMicros();
  const threadsAtStart = target.serverThreads?.read();
  const loadCpuStart = process.cpuUsage();
  const client = async (c: number): Promise<void> => {
    const value = shape.values[c];
    assert(value !== undefined, `no value for client ${c}`);
    for (let i = 0; i < loopMax; i++) {
      const k = Math.floor(Math.random() * shape.keys);
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        if (phase === 'read') {
          if (!(await target.get(keyOf(k)))) notFound += 1;
        } else {
          await target.put(keyOf(k), value);
          written[k] = 1;
        }
        h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        ops += 1;
      } catch (e) {
        const code = errorCode(e);
        errors[code] = (errors[code] ?? 0) + 1;
        // An immediate rejection must not spin the microtask queue.
        await yieldTurn();
      }
    }
  };
  await Promise.all(Array.from({ length: shape.clients }, (_, c) => client(c)));
  const seconds = (performance.now() - start) / 1000;
  const serverCpu = target.serverCpuMicros() - serverCpuStart;
  const loadCpu = process.cpuUsage(loadCpuStart);
  const ms = (us: number): number => us / 1000;
  const result: PhaseResult = {
    phase,
    ops,
    errors,
    notFound,
    seconds,
    opsPerSecond: ops / seconds,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    cpuMicrosPerOp: ops > 0 ? (serverCpu + loadCpu.user + loadCpu.system) / ops : NaN,
    serverCpuMicrosPerOp: ops > 0 ? serverCpu / ops : NaN,
    serverThreads: threadSplit(target, threadsAtStart, ops),
  };
  h.destroy();
  return result;
}

/** Writes every key not written yet (unmeasured), so the read phase finds a value for each. */
export async function prewarm(
  target: KvTarget,
  shape: LoadShape,
  written: Uint8Array,
): Promise<number> {
  const missing: number[] = [];
  for (let k = 0; k < shape.keys; k++) if (written[k] === 0) missing.push(k);
  let next = 0;
  const client = async (c: number): Promise<void> => {
    const value = shape.values[c];
    assert(value !== undefined, `no value for client ${c}`);
    while (next < missing.length) {
      const k = missing[next++];
      assert(k !== undefined, `missing[${next - 1}] undefined`);
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await target.put(keyOf(k), value);
          written[k] = 1;
          break;
        } catch {
          await yieldTurn();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: shape.clients }, (_, c) => client(c)));
  return missing.length;
}
