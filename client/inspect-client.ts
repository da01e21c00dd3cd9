/**
 * Inspect requests to the nodes (inspect-protocol.ts) over the links a client or node already
 * keeps (the request router's). Each call is answered once: by the node, by the link going
 * down (nothing in flight on it will be answered), by its deadline, or by close(). Calls in
 * flight are bounded; past the bound a call fails UNAVAILABLE at once.
 */
import { assert } from '../runtime/assert';
import type { InspectResult } from '../runtime/actor';
import { FrameType } from './wire-protocol';
import { decodeInspectAnswer, encodeInspect } from './inspect-protocol';
import type { InspectFrame } from './inspect-protocol';
import type { NodeLink } from './request-router';
import { inspectTimeoutOf } from '../actors/store/verify';

/** Inspect calls in flight at most (over every link). */
export const INSPECT_IN_FLIGHT_MAX = 1024;

interface Pending {
  readonly node: string;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (r: InspectResult) => void;
}

export interface InspectClientStats {
  calls: number;
  failures: number;
  badFrames: number;
}

export class InspectClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  readonly stats: InspectClientStats = { calls: 0, failures: 0, badFrames: 0 };

  constructor(
    private readonly links: ReadonlyMap<string, NodeLink>,
    private readonly timeoutMs: number,
  ) {
    assert(timeoutMs > 0, () => `inspect timeout ${timeoutMs}`);
    for (const link of links.values()) {
      link.onFrame((type, payload) => this.onFrame(type, payload));
      link.onDown((reason) => this.failNode(link.name, `connection lost (${reason})`));
    }
  }

  /** One inspect request to `group` of the replica `node` hosts. Never rejects. */
  inspect(node: string, group: number, request: InspectFrame['request']): Promise<InspectResult> {
    const link = this.links.get(node);
    if (this.closed) return Promise.resolve(unavailable('the client is closed'));
    if (link === undefined || !link.isUp())
      return Promise.resolve(unavailable(`${node}: not connected`));
    if (this.pending.size >= INSPECT_IN_FLIGHT_MAX)
      return Promise.resolve(unavailable(`more than ${INSPECT_IN_FLIGHT_MAX} inspects in flight`));
    const id = this.nextId++;
    this.stats.calls++;
    return new Promise((resolve) => {
      // A paced digest scan (background repair) is slow on purpose: its own, longer bound.
      const timeoutMs = inspectTimeoutOf(request) ?? this.timeoutMs;
      const timer = setTimeout(
        () => this.settle(id, unavailable(`${node}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(id, { node, timer, resolve });
      if (!link.send(FrameType.inspect, encodeInspect({ id, group, request })))
        this.settle(id, unavailable(`${node}: could not send`));
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, unavailable('the client is closed'));
    assert(this.pending.size === 0, 'inspects left after close');
  }

  private onFrame(type: number, payload: Uint8Array): void {
    if (type !== FrameType.inspectResult) return;
    let answer;
    try {
      answer = decodeInspectAnswer(payload);
    } catch {
      this.stats.badFrames++; // a result we cannot read: its call ends at its deadline
      return;
    }
    this.settle(
      answer.id,
      answer.ok
        ? { ok: true, value: answer.value }
        : { ok: false, code: answer.code, message: answer.message },
    );
  }

  private failNode(node: string, why: string): void {
    for (const [id, p] of [...this.pending]) if (p.node === node) this.settle(id, unavailable(why));
  }

  private settle(id: number, result: InspectResult): void {
    const p = this.pending.get(id);
    if (p === undefined) return; // answered already (late answer, or a duplicate id)
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!result.ok) this.stats.failures++;
    p.resolve(result);
  }
}

function unavailable(message: string): InspectResult {
  return { ok: false, code: 'UNAVAILABLE', message };
}
