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
 *
 * Thread CPU (`threads`): each thread's CPU time over the phase as a share of one core (Linux:
 * /proc/thread-self/schedstat, runtime/thread-cpu.ts), and the rest of the process (V8's GC
 * helpers, libuv) from process.cpuUsage. A worker near 100 % is the bottleneck.
 */
import type { PaxosStore } from '../index';

export interface PerOpCounts {
  paxos: number;
  peerPayloads: number;
  resultPayloads: number;
  ringRecords: number;
  local: number;
  records: number;
  wakes: number;
  clientRecords: number;
  clientWakes: number;
  acked: number;
  /** Share of one core over the phase: the client thread, then each worker; NaN if unknown. */
  threadShares: number[];
  /** The rest of the process (GC helper threads, libuv pool), share of one core. */
  otherShare: number;
}

export interface Totals {
  paxos: number;
  peerPayloads: number;
  resultPayloads: number;
  ringRecords: number;
  local: number;
  wakes: number;
  clientRecords: number;
  clientWakes: number;
  acked: number;
  /** Thread CPU in microseconds: the client thread, then each worker (NaN: unknown). */
  threadCpu: number[];
  processCpu: number;
  atMs: number;
}

export async function takeTotals(store: PaxosStore): Promise<Totals> {
  const stats = await store.stats();
  const t = stats.traffic;
  const cpu = process.cpuUsage();
  const threadCpu = [stats.client.cpuMicros ?? NaN];
  for (const w of stats.workers) threadCpu.push((w as { cpuMicros?: number }).cpuMicros ?? NaN);
  return {
    paxos: t.paxosMessages,
    peerPayloads: t.peerPayloads,
    resultPayloads: t.resultPayloads,
    ringRecords: t.interThreadRecords - stats.client.messagesOut,
    local: t.localDeliveries,
    wakes: t.workerWakes,
    clientRecords: stats.client.messagesOut,
    clientWakes: t.clientWakes,
    acked: t.writesAcknowledged,
    threadCpu,
    processCpu: cpu.user + cpu.system,
    atMs: performance.now(),
  };
}

export function perOp(before: Totals, after: Totals, ops: number): PerOpCounts {
  const d = (k: Exclude<keyof Totals, 'threadCpu'>): number =>
    ops > 0 ? (after[k] - before[k]) / ops : NaN;
  const wallMicros = (after.atMs - before.atMs) * 1000;
  const threadMicros = after.threadCpu.map((us, i) => us - (before.threadCpu[i] ?? NaN));
  const known = threadMicros.filter((us) => Number.isFinite(us));
  const rest = after.processCpu - before.processCpu - known.reduce((a, b) => a + b, 0);
  return {
    paxos: d('paxos'),
    peerPayloads: d('peerPayloads'),
    resultPayloads: d('resultPayloads'),
    ringRecords: d('ringRecords'),
    local: d('local'),
    records: d('ringRecords') + d('local') + d('clientRecords'),
    wakes: d('wakes'),
    clientRecords: d('clientRecords'),
    clientWakes: d('clientWakes'),
    acked: d('acked'),
    threadShares: threadMicros.map((us) => us / wallMicros),
    otherShare: known.length === threadMicros.length ? rest / wallMicros : NaN,
  };
}

export function formatPerOp(label: string, c: PerOpCounts): string {
  const f = (n: number): string => n.toFixed(3);
  const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '?');
  const workers = c.threadShares.slice(1).map((s, i) => `w${i} ${pct(s)}`);
  return [
    `${label}  per op: paxos msgs ${f(c.paxos)}, peer payloads ${f(c.peerPayloads)}, result payloads ${f(c.resultPayloads)}, worker ring records ${f(c.ringRecords)}, local ${f(c.local)}, wakes ${f(c.wakes)}; client: request payloads ${f(c.clientRecords)}, wakes ${f(c.clientWakes)}; all records ${f(c.records)}, acked writes ${f(c.acked)}`,
    `${label}  thread CPU (share of a core): client ${pct(c.threadShares[0] ?? NaN)}, ${workers.join(', ')}, rest of process ${pct(c.otherShare)}`,
  ].join('\n');
}
