/**
 * Quiescence before close (docs/decisions.md "close() lets the actors quiesce first").
 *
 * An actor's answer can leave before the work it set off is done elsewhere: a Paxos proposer
 * answers its client in the turn its write is durable, while the chosen notice it sent in that
 * turn is still on its way to the other replicas, which persist (and journal) what they learn
 * only when it arrives. close() therefore first stops the ticks and asks every actor, in
 * rounds, to start what it owes now (`Actor.quiesce`) and to say whether it has storage work in
 * flight; it closes the actors once the whole system is quiet, or when a deadline passes.
 *
 * Quiet is decided from per-thread reports gathered in rounds (this file is pure). A round is
 * quiet when every live thread reports itself idle (its actors quiet, its local queue and
 * outboxes empty) and nothing unread in an inbound ring from a live thread. One quiet round
 * proves nothing, since the threads answer at different instants: a message may be in flight
 * between two of them, sent by one after it answered to one that answered before. Two
 * consecutive quiet rounds with the same counters do: each thread did nothing between its two
 * answers (its counters did not move, it had nothing in flight and ticks had stopped), and the
 * second round starts only after the first has ended, so at the instant the first round ended
 * every thread was as it reported, with every ring empty: nothing was in flight anywhere.
 *
 * A thread that is not live (a dead worker, or one being respawned) is left out, with the
 * rings from it: what it left unread or unsent is lost as in a crash, and waiting for it would
 * only spend the deadline.
 */
import { assert } from './assert';

/** One thread's answer in a round. Plain data: it crosses the control plane. */
export interface ThreadQuiet {
  /** A worker index, or the client thread (topology.clientThread). */
  readonly thread: number;
  /** Its actors are quiet, its local queue is empty, its outboxes hold nothing unpublished. */
  readonly idle: boolean;
  /** Unread bytes of each of its inbound rings, by sender thread. */
  readonly ringOccupancyBytes: readonly number[];
  /** Messages read from rings, sent and queued to actors of the same thread, so far. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly localMessages: number;
}

/**
 * The round's signature when it is quiet, else undefined. Two consecutive rounds with the same
 * (defined) signature mean the system was quiet when the first one ended (see above). `live`:
 * the threads that answered; rings from other threads are not looked at.
 */
export function quietSignature(
  reports: readonly ThreadQuiet[],
  live: ReadonlySet<number>,
): string | undefined {
  const parts: string[] = [];
  for (const r of reports) {
    assert(live.has(r.thread), () => `a report from thread ${r.thread}, which is not live`);
    if (!r.idle) return undefined;
    for (let from = 0; from < r.ringOccupancyBytes.length; from++)
      if (live.has(from) && (r.ringOccupancyBytes[from] ?? 0) > 0) return undefined;
    parts.push(`${r.thread}:${r.messagesIn}/${r.messagesOut}/${r.localMessages}`);
  }
  assert(parts.length === live.size, () => `${parts.length} reports for ${live.size} threads`);
  return parts.join(' ');
}
