/**
 * Messages per operation for kv-load (issue 10, "messages per write"): store counters taken
 * before and after a phase, divided by its completed operations.
 *
 * - `paxos`: Paxos messages between replicas (accepts, accepted replies, chosen notices, read
 *   queries and replies; the group actors' `messagesSent`).
 * - `peerPayloads` / `resultPayloads`: the payloads those messages and the client results
 *   travelled in; one payload is one runtime record (a ring record or a same-thread delivery).
 * - `ringRecords`: records the worker threads put on rings (messagesOut), `local`: deliveries
 *   between actors of one worker (no ring); the client thread's requests are not in either.
 * - `wakes`: doorbell wake-ups of worker threads (each one an Atomics.notify by a sender).
 * - `clientRecords` / `clientWakes`: request payloads the client thread sent, and its own
 *   wake-ups (each one a notify paid by a worker that answered while it was parked).
 */
import type { PaxosStore } from '../index';

export interface PerOpCounts {
  paxos: number;
  peerPayloads: number;
  resultPayloads: number;
  ringRecords: number;
  local: number;
  wakes: number;
  clientRecords: number;
  clientWakes: number;
}

type Totals = PerOpCounts;

export async function takeTotals(store: PaxosStore): Promise<Totals> {
  const stats = await store.stats();
  const t: Totals = {
    paxos: 0,
    peerPayloads: 0,
    resultPayloads: 0,
    ringRecords: 0,
    local: 0,
    wakes: 0,
    clientRecords: stats.client.messagesOut,
    clientWakes: stats.client.wakes,
  };
  for (const r of stats.replicas) {
    if (r === null) continue;
    t.paxos += r['messagesSent'] ?? 0;
    t.peerPayloads += r['peerPayloadsSent'] ?? 0;
    t.resultPayloads += r['resultPayloadsSent'] ?? 0;
  }
  for (const w of stats.workers) {
    const s = w as { messagesOut?: number; localMessages?: number; wakes?: number };
    t.ringRecords += s.messagesOut ?? 0;
    t.local += s.localMessages ?? 0;
    t.wakes += s.wakes ?? 0;
  }
  return t;
}

export function perOp(before: Totals, after: Totals, ops: number): PerOpCounts {
  const d = (k: keyof Totals): number => (ops > 0 ? (after[k] - before[k]) / ops : NaN);
  return {
    paxos: d('paxos'),
    peerPayloads: d('peerPayloads'),
    resultPayloads: d('resultPayloads'),
    ringRecords: d('ringRecords'),
    local: d('local'),
    wakes: d('wakes'),
    clientRecords: d('clientRecords'),
    clientWakes: d('clientWakes'),
  };
}

export function formatPerOp(label: string, c: PerOpCounts): string {
  const f = (n: number): string => n.toFixed(3);
  return `${label}  per op: paxos msgs ${f(c.paxos)}, peer payloads ${f(c.peerPayloads)}, result payloads ${f(c.resultPayloads)}, worker ring records ${f(c.ringRecords)}, local ${f(c.local)}, wakes ${f(c.wakes)}; client: request payloads ${f(c.clientRecords)}, wakes ${f(c.clientWakes)}`;
}
