/**
 * The client side of a cluster's data path (used by `PaxosStore.connect` and by a node that
 * forwards a request for another Set's key): picks a node for each request (the key's Set by
 * the ring, its home replica first), batches requests per node link per microtask into one
 * REQUESTS frame, matches RESULTS, fails over, and never lets a request hang.
 *
 * Failover keeps the store's guarantees. A request that was never sent (the link is down) or
 * that a node answered UNAVAILABLE (nothing applied, README "Errors") goes to the next node of
 * the Set. A write whose link went down after it was sent may have applied: it answers
 * UNKNOWN_OUTCOME (retry with the same requestId); a read in that case goes to the next node.
 * Every attempt is bounded by the deadline of the whole call.
 */
import { assert } from '../runtime/assert';
import type { ClientResult } from '../actors/paxos/core/types';
import { requestBytesBound } from '../actors/paxos/codec';
import type { RequestBody } from '../actors/store/model-client';
import type { ScanBody } from '../actors/store/request-pipeline';
import { FrameType, decodeResults, encodeRequests } from './wire-protocol';
import type { WireRequest } from './wire-protocol';

/** One node as the router sees it: net/'s reconnecting link, behind an adapter. */
export interface NodeLink {
  readonly name: string;
  isUp(): boolean;
  /** False when the frame was not taken (the link is down or its send queue is full). */
  send(type: number, payload: Uint8Array): boolean;
  /** Frames from the node (after the handshake). */
  onFrame(handler: (type: number, payload: Uint8Array) => void): void;
  /** The connection was lost: nothing in flight on it will be answered. */
  onDown(handler: (reason: string) => void): void;
  /** Resolves true once the link is up, false after `timeoutMs` (it may reconnect meanwhile). */
  whenUp(timeoutMs: number): Promise<boolean>;
}

/** Which nodes may serve a key, best first (its Set's home replica first). */
export type NodesForKey = (key: string) => readonly string[];

interface Pending {
  readonly id: number;
  readonly link: string;
  readonly write: boolean;
  readonly deadline: number;
  readonly resolve: (outcome: Attempt) => void;
}

/** How one attempt ended: a result to return, or a reason to try the next node. */
type Attempt = { readonly done: ClientResult } | { readonly next: string };

const SWEEP_MS = 100;
/** Beyond timeoutMs, how long an attempt waits for the node's own answer before giving up. */
const ATTEMPT_GRACE_MS = 250;
/** Requests per REQUESTS frame. */
const REQUESTS_PER_FRAME_MAX = 4096;
/**
 * A REQUESTS frame is sent once its requests pass this many bytes, far below net/'s frame
 * bound (16 MiB): one request (a value of at most 1 MiB) always fits.
 */
export const FRAME_PAYLOAD_SOFT_MAX = 4 * 1024 * 1024;

/** An upper bound on the bytes one request adds to a REQUESTS frame. */
/** Bytes one request adds to a REQUESTS frame: its encoding, and a scan's group. */
function requestFrameBytes(body: RequestBody | ScanBody): number {
  return requestBytesBound(body) + (body.kind === 'scan' ? 4 : 0);
}

export interface RouterStats {
  requests: number;
  framesOut: number;
  failovers: number;
  linkLosses: number;
  /** Calls that found every node of the key's Set down and waited for one to come back. */
  waitsForLink: number;
  /** RESULTS frames that did not decode (ignored). */
  badFrames: number;
}

export class RequestRouter {
  private readonly pending = new Map<number, Pending>();
  private readonly outgoing = new Map<string, { requests: WireRequest[]; bytes: number }>();
  private flushQueued = false;
  private nextId = 1;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  readonly stats: RouterStats = {
    requests: 0,
    framesOut: 0,
    failovers: 0,
    linkLosses: 0,
    waitsForLink: 0,
    badFrames: 0,
  };

  constructor(
    private readonly links: ReadonlyMap<string, NodeLink>,
    private readonly nodesForKey: NodesForKey,
    private readonly timeoutMs: number,
  ) {
    assert(timeoutMs > 0, 'timeoutMs');
    for (const link of links.values()) {
      link.onFrame((type, payload) => this.onFrame(link.name, type, payload));
      link.onDown((reason) => this.onDown(link.name, reason));
    }
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `body` to the key's nodes in order (or only to `via`), failing over as above. */
  async call(body: RequestBody, via?: string): Promise<ClientResult> {
    const deadline = Date.now() + this.timeoutMs * 2;
    const candidates = via === undefined ? this.nodesForKey(body.key) : [via];
    const reasons: string[] = [];
    for (let pass = 0; pass < 2 && !this.closed; pass++) {
      let tried = false;
      for (const name of candidates) {
        if (this.closed || Date.now() >= deadline) break;
        const link = this.links.get(name);
        if (link === undefined || !link.isUp()) {
          reasons.push(`${name}: not connected`);
          continue;
        }
        tried = true;
        const outcome = await this.attempt(link, body, deadline);
        if ('done' in outcome) return outcome.done;
        reasons.push(`${name}: ${outcome.next}`);
        this.stats.failovers++;
      }
      // Every node of the key's Set unreachable (restarting, reconnecting): wait, within the
      // deadline, for one to come back rather than failing at once (a caller retrying in a
      // tight loop would otherwise never let the links reconnect).
      if (tried || this.closed) break;
      const wait = Math.min(this.timeoutMs, deadline - Date.now());
      const links = candidates
        .map((n) => this.links.get(n))
        .filter((l): l is NodeLink => l !== undefined);
      if (wait <= 0 || links.length === 0) break;
      this.stats.waitsForLink++;
      await Promise.race(links.map((l) => l.whenUp(wait)));
    }
    const why = this.closed ? 'the client is closed' : `no node answered (${reasons.join('; ')})`;
    return { token: 0, ok: false, code: 'UNAVAILABLE', message: why };
  }

  /**
   * An engine scan of one group on one node (big tables): no failover, the caller picks its
   * sources and needs a majority of them.
   */
  async scan(node: string, body: ScanBody): Promise<ClientResult> {
    const link = this.links.get(node);
    if (this.closed || link === undefined || !link.isUp()) {
      return { token: 0, ok: false, code: 'UNAVAILABLE', message: `${node}: not connected` };
    }
    const outcome = await this.attempt(link, body, Date.now() + this.timeoutMs * 2);
    return 'done' in outcome
      ? outcome.done
      : { token: 0, ok: false, code: 'UNAVAILABLE', message: `${node}: ${outcome.next}` };
  }

  private attempt(
    link: NodeLink,
    body: RequestBody | ScanBody,
    deadline: number,
  ): Promise<Attempt> {
    const id = this.nextId++;
    const write = body.kind === 'write';
    this.stats.requests++;
    // One attempt waits one request deadline (the node's core answers first), within the call's.
    const attemptDeadline = Math.min(deadline, Date.now() + this.timeoutMs + ATTEMPT_GRACE_MS);
    const done = new Promise<Attempt>((resolve) => {
      this.pending.set(id, { id, link: link.name, write, deadline: attemptDeadline, resolve });
    });
    let batch = this.outgoing.get(link.name);
    if (batch === undefined) {
      batch = { requests: [], bytes: 0 };
      this.outgoing.set(link.name, batch);
    }
    batch.requests.push({ ...body, token: id });
    batch.bytes += requestFrameBytes(body);
    if (batch.requests.length >= REQUESTS_PER_FRAME_MAX || batch.bytes >= FRAME_PAYLOAD_SOFT_MAX)
      this.flushLink(link.name);
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.flushQueued = false;
    for (const name of [...this.outgoing.keys()]) this.flushLink(name);
  }

  private flushLink(name: string): void {
    const entry = this.outgoing.get(name);
    if (entry === undefined || entry.requests.length === 0) return;
    this.outgoing.delete(name);
    const batch = entry.requests;
    const link = this.links.get(name);
    const sent = link !== undefined && link.send(FrameType.requests, encodeRequests(batch));
    if (sent) {
      this.stats.framesOut++;
      return;
    }
    // Never left this process: not even a write can have applied.
    for (const req of batch)
      this.finish(req.token, { next: 'not sent (link down or send queue full)' });
  }

  private onFrame(link: string, type: number, payload: Uint8Array): void {
    if (type !== FrameType.results) return;
    let results;
    try {
      results = decodeResults(payload);
    } catch {
      // A node that sends garbage: its requests in flight time out (writes UNKNOWN_OUTCOME).
      this.stats.badFrames++;
      return;
    }
    for (const res of results) {
      const p = this.pending.get(res.id);
      if (p === undefined || p.link !== link) continue;
      if (!res.ok && (res.code === 'UNAVAILABLE' || res.code === 'CLOSED')) {
        // Nothing was applied (README "Errors"; a closing node refuses before proposing):
        // another replica may have a majority.
        this.finish(res.id, { next: `UNAVAILABLE: ${res.message}` });
        continue;
      }
      const result = res.ok
        ? { token: res.id, ok: true as const, result: res.result }
        : // A store code (CLOSED, INVALID_ARGUMENT, ...) travels as is; handles type it.
          ({
            token: res.id,
            ok: false as const,
            code: res.code,
            message: res.message,
          } as ClientResult);
      this.finish(res.id, { done: result });
    }
  }

  private onDown(link: string, reason: string): void {
    this.stats.linkLosses++;
    for (const p of [...this.pending.values()]) {
      if (p.link !== link) continue;
      if (p.write)
        this.finish(p.id, {
          done: unknownOutcome(
            p.id,
            `connection to ${link} lost after the write was sent (${reason})`,
          ),
        });
      else this.finish(p.id, { next: `connection lost (${reason})` });
    }
  }

  private finish(id: number, outcome: Attempt): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.resolve(outcome);
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of [...this.pending.values()]) {
      if (p.deadline > now) continue;
      // A paused or overloaded node: a write may still apply there, a read can ask another node.
      if (p.write)
        this.finish(p.id, { done: unknownOutcome(p.id, `no answer from ${p.link} in time`) });
      else this.finish(p.id, { next: 'no answer in time' });
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.outgoing.clear();
    for (const p of [...this.pending.values()]) {
      this.finish(p.id, {
        done: p.write
          ? unknownOutcome(p.id, 'client closed')
          : { token: p.id, ok: false, code: 'UNAVAILABLE', message: 'client closed' },
      });
    }
  }
}

function unknownOutcome(token: number, message: string): ClientResult {
  return { token, ok: false, code: 'UNKNOWN_OUTCOME', message };
}
