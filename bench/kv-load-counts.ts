/**
 * Messages per operation for kv-load (issue 10, "messages per write"): the store's traffic
 * counters (`store.stats().traffic`, actors/store/traffic-stats.ts) taken before and after a
 * phase, divided by its completed operations; and each thread's CPU over the phase.
 *
 * - `paxos`: Paxos messages between replicas (accepts, accepted replies, chosen notices, read
 *   queries and replies; the group actors' `messagesSent`).
 * - `peerPayloads` / `resultPayloads`: the payloads those messages and the client results
 *   travelled in; one payload is one runtime record (a ring record or a same-thread delivery).
 * - `ringRecords`: records the worker threads put on rings (messagesOut), `local`: deliveries
 *   between actors of one worker (no ring); the client thread's requests are not in either.
 * - `records`: every runtime record of the operation: worker ring records, local deliveries
 *   and the client thread's request records (`interThreadRecords` + `localDeliveries`).
 * - `wakes`: doorbell wake-ups of worker threads (each one an Atomics.notify by a sender).
 * - `clientRecords` / `clientWakes`: request payloads the client thread sent, and its own
 *   wake-ups (each one a notify paid by a worker that answered while it was parked).
 * - `acked`: writes acknowledged by the cores per operation (1 in a write phase).
 * - `batches` / `persisted` / `persistedBytes`: engine write batches the group actors made
 *   (each one engine `write`, one write(2) or LevelDB batch on libuv's pool: the unit a disk
 *   engine's cost follows), the records in them and their bytes, all replicas together (the
 *   replicas' `batches`, `records` and `recordBytes`); 0 on the volatile memory engine.
 *   `lingered`: batches that waited for more records (actors/paxos/persist-linger.ts).
 *
 * Thread CPU (`threads`): each thread's CPU time over the phase as a share of one core (Linux:
 * /proc/thread-self/schedstat, runtime/thread-cpu.ts), and the rest of the process (V8's GC
 * helpers, libuv) from process.cpuUsage. A worker near 100 % is the bottleneck. Beside each
 * thread: the share of the phase it was runnable but waited for a CPU (`cpu wait`, schedstat's
 * second field: the cores were taken, or a wake-up's scheduling latency) and the share it was
 * parked on its doorbell for want of work (`parked`, doorbell.ts). Run + cpu wait + parked is
 * about 100 % (the rest: the event loop between turns), a little more when wake-ups wait for a
 * CPU (that wait counts in both). Then its GC pauses as a share of a core (perf_hooks 'gc',
 * runtime/gc-stats.ts; the work of V8's helper threads during a pause is in "rest"), and for a
 * worker its turns per second and records drained per turn (the batch a turn works on), and how
 * often its spin governor turned the spin off (runtime/spin-governor.ts: it waited for a CPU).
 * `process` is the whole process's CPU in cores against the machine's cores: when it is near the
 * cores and no worker is near 100 %, the threads compete for the cores (the machine is the
 * limit, not one thread).
 */
import * as os from 'node:os';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import type { PaxosStore } from '../index';
import { gcStats, observeGc } from '../runtime/gc-stats';
import type { WorkerStats } from '../runtime/worker-stats';

export interface PerOpCounts {
  paxos: number;
  peerPayloads: number;
  resultPayloads: number;
  ringRecords: number;
  local: number;
  /** Of `local`, message objects (nothing encoded or decoded). */
  localObjects: number;
  records: number;
  wakes: number;
  clientRecords: number;
  clientWakes: number;
  acked: number;
  batches: number;
  lingered: number;
  persisted: number;
  persistedBytes: number;
  appendsInline: number;
  appendsPooled: number;
  appendStalls: number;
  /** lsm point reads (key loads) on the worker's thread, through the pool, stalled (inline-reads.ts). */
  readsInline: number;
  readsPooled: number;
  readStalls: number;
  /** Share of one core over the phase: the client thread, then each worker; NaN if unknown. */
  threadShares: number[];
  /** Share of the phase each thread (same order) was runnable but waited for a CPU; NaN if unknown. */
  cpuWaitShares: number[];
  /** Share of the phase each thread (same order) was parked for want of work. */
  parkedShares: number[];
  /** The rest of the process (GC helper threads, libuv pool), share of one core. */
  otherShare: number;
  /** GC pause time as a share of one core, same order as threadShares (NaN: unknown). */
  gcShares: number[];
  /** Each worker's mailbox turns per second, and inbound records drained per turn. */
  turnsPerSecond: number[];
  recordsPerTurn: number[];
  /** Each worker's spin-governor switches to "no spin" during the phase (cores contended). */
  spinOffs: number[];
  /** CPU microseconds per operation: each thread (as threadShares), then the rest. */
  threadMicrosPerOp: number[];
  restMicrosPerOp: number;
  /** The whole process's CPU over the phase, in cores, and the machine's cores. */
  processCores: number;
  machineCores: number;
  /**
   * Bytes the client thread's V8 heap allocated per operation over the phase (every object,
   * whether it died young or not; off-heap ArrayBuffer stores not counted), or NaN when not
   * measured: the client side's allocation figure (clientHeapBytes).
   */
  clientHeapBytesPerOp: number;
}

export interface Totals {
  paxos: number;
  peerPayloads: number;
  resultPayloads: number;
  ringRecords: number;
  local: number;
  localObjects: number;
  wakes: number;
  clientRecords: number;
  clientWakes: number;
  acked: number;
  batches: number;
  lingered: number;
  persisted: number;
  persistedBytes: number;
  /** Bitcask-family appends on the worker's thread, through the pool, and stalled (inline-writes.ts). */
  appendsInline: number;
  appendsPooled: number;
  appendStalls: number;
  /** lsm point reads (key loads) on the worker's thread, through the pool, stalled (inline-reads.ts). */
  readsInline: number;
  readsPooled: number;
  readStalls: number;
  /** Thread CPU in microseconds: the client thread, then each worker (NaN: unknown). */
  threadCpu: number[];
  /** Microseconds runnable but waiting for a CPU, and parked, same order (NaN: unknown). */
  threadCpuWait: number[];
  parked: number[];
  /** GC pause milliseconds, same order as threadCpu (NaN: unknown). */
  gcMs: number[];
  /** Each worker's mailbox turns and inbound records. */
  turns: number[];
  recordsIn: number[];
  spinOffs: number[];
  processCpu: number;
  atMs: number;
}

export async function takeTotals(store: PaxosStore): Promise<Totals> {
  observeGc(); // this (the client) thread's pauses; idempotent
  const stats = await store.stats();
  const t = stats.traffic;
  const cpu = process.cpuUsage();
  const threadCpu = [stats.client.cpuMicros ?? NaN];
  const threadCpuWait = [stats.client.cpuWaitMicros ?? NaN];
  const parked = [stats.client.parkedMicros];
  const gcMs = [gcStats().totalMs];
  const turns: number[] = [];
  const recordsIn: number[] = [];
  const spinOffs: number[] = [];
  const appends = { inline: 0, pooled: 0, stalls: 0 };
  const reads = { inline: 0, pooled: 0, stalls: 0 };
  const add = (sum: typeof appends, c: Readonly<Record<string, number>> | undefined): void => {
    sum.inline += c?.['inline'] ?? 0;
    sum.pooled += c?.['pooled'] ?? 0;
    sum.stalls += c?.['stalls'] ?? 0;
  };
  for (const w of stats.workers) {
    add(appends, (w as WorkerStats).moduleCounters?.['inlineAppends']);
    add(reads, (w as WorkerStats).moduleCounters?.['inlineReads']);
    const ws = w as Partial<WorkerStats>;
    spinOffs.push((w as { spinOffs?: number }).spinOffs ?? NaN);
    const m = w as { messagesIn?: number };
    threadCpu.push(ws.cpuMicros ?? NaN);
    threadCpuWait.push(ws.cpuWaitMicros ?? NaN);
    parked.push(ws.parkedMicros ?? NaN);
    gcMs.push(ws.gc?.totalMs ?? NaN);
    turns.push(ws.turns ?? NaN);
    recordsIn.push(m.messagesIn ?? NaN);
  }
  const replicaSum = (name: string): number =>
    stats.replicas.reduce((sum, counters) => sum + (counters?.[name] ?? 0), 0);
  return {
    gcMs,
    turns,
    recordsIn,
    spinOffs,
    paxos: t.paxosMessages,
    peerPayloads: t.peerPayloads,
    resultPayloads: t.resultPayloads,
    ringRecords: t.interThreadRecords - stats.client.messagesOut,
    local: t.localDeliveries,
    localObjects: t.localObjects,
    wakes: t.workerWakes,
    clientRecords: stats.client.messagesOut,
    clientWakes: t.clientWakes,
    acked: t.writesAcknowledged,
    batches: replicaSum('batches'),
    lingered: replicaSum('batchesLingered'),
    persisted: replicaSum('records'),
    persistedBytes: replicaSum('recordBytes'),
    appendsInline: appends.inline,
    appendsPooled: appends.pooled,
    appendStalls: appends.stalls,
    readsInline: reads.inline,
    readsPooled: reads.pooled,
    readStalls: reads.stalls,
    threadCpu,
    threadCpuWait,
    parked,
    processCpu: cpu.user + cpu.system,
    atMs: performance.now(),
  };
}

export function perOp(before: Totals, after: Totals, ops: number): PerOpCounts {
  const d = (
    k: Exclude<
      keyof Totals,
      'threadCpu' | 'threadCpuWait' | 'parked' | 'gcMs' | 'turns' | 'recordsIn' | 'spinOffs'
    >,
  ): number => (ops > 0 ? (after[k] - before[k]) / ops : NaN);
  const wallMicros = (after.atMs - before.atMs) * 1000;
  const threadMicros = after.threadCpu.map((us, i) => us - (before.threadCpu[i] ?? NaN));
  const known = threadMicros.filter((us) => Number.isFinite(us));
  const processMicros = after.processCpu - before.processCpu;
  const rest = processMicros - known.reduce((a, b) => a + b, 0);
  const diff = (a: number[], b: number[]): number[] => a.map((v, i) => v - (b[i] ?? NaN));
  const turns = diff(after.turns, before.turns);
  const recordsIn = diff(after.recordsIn, before.recordsIn);
  const share = (us: number): number => us / wallMicros;
  return {
    cpuWaitShares: diff(after.threadCpuWait, before.threadCpuWait).map(share),
    parkedShares: diff(after.parked, before.parked).map(share),
    gcShares: diff(after.gcMs, before.gcMs).map((ms) => (ms * 1000) / wallMicros),
    turnsPerSecond: turns.map((n) => (n * 1e6) / wallMicros),
    recordsPerTurn: recordsIn.map((n, i) => n / (turns[i] ?? NaN)),
    spinOffs: diff(after.spinOffs, before.spinOffs),
    threadMicrosPerOp: threadMicros.map((us) => us / ops),
    restMicrosPerOp: known.length === threadMicros.length ? rest / ops : NaN,
    processCores: processMicros / wallMicros,
    machineCores: os.availableParallelism(),
    clientHeapBytesPerOp: NaN,
    paxos: d('paxos'),
    peerPayloads: d('peerPayloads'),
    resultPayloads: d('resultPayloads'),
    ringRecords: d('ringRecords'),
    local: d('local'),
    localObjects: d('localObjects'),
    records: d('ringRecords') + d('local') + d('clientRecords'),
    wakes: d('wakes'),
    clientRecords: d('clientRecords'),
    clientWakes: d('clientWakes'),
    acked: d('acked'),
    batches: d('batches'),
    lingered: d('lingered'),
    persisted: d('persisted'),
    persistedBytes: d('persistedBytes'),
    appendsInline: d('appendsInline'),
    appendsPooled: d('appendsPooled'),
    appendStalls: after.appendStalls - before.appendStalls,
    readsInline: d('readsInline'),
    readsPooled: d('readsPooled'),
    readStalls: after.readStalls - before.readStalls,
    threadShares: threadMicros.map((us) => us / wallMicros),
    otherShare: known.length === threadMicros.length ? rest / wallMicros : NaN,
  };
}

/**
 * The cpu us/op of each thread and of the rest of the process: "client 4.1, w0 10.6, w1 10.7,
 * rest 5.1" (`clientNote` follows the client's figure).
 */
export function cpuByThread(c: PerOpCounts, clientNote = ''): string {
  const us = (n: number | undefined): string => (n ?? NaN).toFixed(1);
  const perThread = c.threadMicrosPerOp.map(
    (n, i) => `${i === 0 ? 'client' : `w${i - 1}`} ${us(n)}${i === 0 ? clientNote : ''}`,
  );
  return `${perThread.join(', ')}, rest ${us(c.restMicrosPerOp)}`;
}

export function formatPerOp(label: string, c: PerOpCounts): string {
  const f = (n: number): string => n.toFixed(3);
  const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '?');
  const gc = (i: number): string => `gc ${pct(c.gcShares[i] ?? NaN)}`;
  // Where a thread was when it did not run: on a run queue, or parked for want of work.
  const off = (i: number): string =>
    `cpu wait ${pct(c.cpuWaitShares[i] ?? NaN)}, parked ${pct(c.parkedShares[i] ?? NaN)}`;
  const workers = c.threadShares.slice(1).map((s, i) => {
    const turns = (c.turnsPerSecond[i] ?? NaN).toFixed(0);
    const batch = (c.recordsPerTurn[i] ?? NaN).toFixed(2);
    const offs = (c.spinOffs[i] ?? NaN).toFixed(0);
    return `w${i} ${pct(s)} (${off(i + 1)}, ${gc(i + 1)}, ${turns} turns/s, ${batch} records/turn, spin off ${offs}x)`;
  });
  const cores = `process ${c.processCores.toFixed(2)} of ${c.machineCores} cores: ${bottleneck(c)}`;
  const heap = Number.isFinite(c.clientHeapBytesPerOp)
    ? ` (heap ${Math.round(c.clientHeapBytesPerOp).toLocaleString('en-US')} B/op)`
    : '';
  // The bitcask family's appends (engines/fs/inline-writes.ts); lsm has none.
  const appends =
    c.appendsInline + c.appendsPooled > 0
      ? `; appends inline ${f(c.appendsInline)}, pooled ${f(c.appendsPooled)}, ${c.appendStalls} stalls`
      : '';
  // lsm's key loads (engines/inline-reads.ts): calls, not keys.
  const reads =
    c.readsInline + c.readsPooled > 0
      ? `; read calls inline ${f(c.readsInline)}, pooled ${f(c.readsPooled)}, ${c.readStalls} stalls`
      : '';
  const persist =
    c.batches > 0
      ? [
          `${label}  persist per op: engine batches ${f(c.batches)}, records ${f(c.persisted)}, bytes ${c.persistedBytes.toFixed(0)} (${(c.persisted / c.batches).toFixed(1)} records per batch, ${f(c.lingered)} lingered${appends}${reads})`,
        ]
      : [];
  return [
    `${label}  per op: paxos msgs ${f(c.paxos)}, peer payloads ${f(c.peerPayloads)}, result payloads ${f(c.resultPayloads)}, worker ring records ${f(c.ringRecords)}, local ${f(c.local)} (objects ${f(c.localObjects)}), wakes ${f(c.wakes)}; client: request payloads ${f(c.clientRecords)}, wakes ${f(c.clientWakes)}; all records ${f(c.records)}, acked writes ${f(c.acked)}`,
    `${label}  thread CPU (share of a core): client ${pct(c.threadShares[0] ?? NaN)} (${off(0)}, ${gc(0)}), ${workers.join(', ')}, rest of process ${pct(c.otherShare)}; ${cores}`,
    `${label}  cpu us/op by thread: ${cpuByThread(c, heap)}`,
    ...persist,
  ].join('\n');
}

/**
 * Counts the bytes this thread's V8 heap allocates while it runs (`node:v8` GCProfiler): the
 * growth of the used heap between collections (before each one minus after the previous one,
 * plus the growth after the last), as bench/paxos-path.ts does. `stop()` returns the bytes.
 */
export function clientHeapBytes(): { stop(): number } {
  const profiler = new GCProfiler();
  profiler.start();
  const usedAtStart = getHeapStatistics().used_heap_size;
  return {
    stop(): number {
      const usedAtEnd = getHeapStatistics().used_heap_size;
      const { statistics } = profiler.stop();
      let bytes = 0;
      let previous = usedAtStart;
      for (const gc of statistics) {
        bytes += gc.beforeGC.heapStatistics.usedHeapSize - previous;
        previous = gc.afterGC.heapStatistics.usedHeapSize;
      }
      return bytes + usedAtEnd - previous;
    },
  };
}

/** Share of a core above which a thread counts as saturated. */
const SATURATED = 0.9;
/** Process CPU above this share of the machine's cores: the cores are full. */
const CORES_FULL = 0.85;

/** A worker parked for longer than this share of the phase ran out of work often. */
const PARKED_MUCH = 0.1;

/**
 * One phrase for the thread line: which thread is saturated; else, when workers were parked for
 * want of work for a good share of the phase, how much they were parked and how much they
 * waited for a CPU (the pipeline's round trips and the shared cores hold them back together);
 * else whether the process filled the machine's cores (threads compete for cores, none is the
 * limit on its own) or left them idle (something outside the process took them).
 */
export function bottleneck(c: PerOpCounts): string {
  const names = c.threadShares.map((_, i) => (i === 0 ? 'client' : `w${i - 1}`));
  let busiest = 0;
  c.threadShares.forEach((s, i) => {
    if (s > (c.threadShares[busiest] ?? -1)) busiest = i;
  });
  const top = c.threadShares[busiest] ?? NaN;
  if (!Number.isFinite(top)) return 'thread CPU unknown';
  if (top >= SATURATED) return `${names[busiest] ?? '?'} saturated`;
  const range = (shares: number[]): string => {
    const known = shares.filter((s) => Number.isFinite(s)).map((s) => Math.round(s * 100));
    if (known.length === 0) return '?';
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    return lo === hi ? `${lo}%` : `${lo}–${hi}%`;
  };
  const parked = c.parkedShares.slice(1);
  if (parked.some((s) => s >= PARKED_MUCH)) {
    const waited = range(c.cpuWaitShares.slice(1));
    return `no thread saturated: workers parked ${range(parked)} for want of work, waited for a CPU ${waited}`;
  }
  if (c.processCores >= c.machineCores * CORES_FULL)
    return `cores full, no thread saturated (GC helpers and client share the cores)`;
  return `cores not full, no thread saturated (other processes take the cores)`;
}
