/**
 * The client side of the data path on the embedding thread: assigns tokens, aggregates requests
 * into one payload per actor per microtask, matches results, and enforces a backstop deadline
 * so no request ever hangs (the core answers first in all but lost-message cases).
 */
import { assert } from '../../runtime/assert';
import { ByteWriter } from '../../runtime/byte-codec';
import type { ClientRequest, ClientResult, ReadRequest, WriteRequest } from '../paxos/core/types';
import { PayloadKind, beginBatch, endBatch, readBatch, readResult, writeRequest } from '../paxos/codec';
import { actorIdOf } from '../paxos/paxos-actor';
import { groupOfKey } from './routing';

export interface ClientTransport {
  send(to: number, payload: Uint8Array): void;
  onReceive(handler: (from: number, payload: Uint8Array) => void): void;
}

export type RequestBody = Omit<WriteRequest, 'token'> | Omit<ReadRequest, 'token'>;

interface Pending {
  readonly resolve: (r: ClientResult) => void;
  readonly replica: number;
  readonly write: boolean;
  readonly deadline: number;
}

interface Outgoing {
  readonly w: ByteWriter;
  countAt: number;
  count: number;
}

/** Extra time the core gets beyond its own timeout before the client gives up. */
const BACKSTOP_GRACE_MS = 1000;
const SWEEP_MS = 100;

export class RequestPipeline {
  private readonly pending = new Map<number, Pending>();
  private readonly order: number[] = [];
  private readonly outgoing = new Map<number, Outgoing>();
  private flushQueued = false;
  private closed = false;
  private nextToken = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly transport: ClientTransport,
    private readonly placement: { replicas: number; groups: number },
    private readonly timeoutMs: number,
  ) {
    transport.onReceive((_from, payload) => this.onPayload(payload));
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  submit(replica: number, body: RequestBody): Promise<ClientResult> {
    const token = this.nextToken++;
    if (this.closed) return Promise.resolve({ token, ok: false, code: 'UNAVAILABLE', message: 'store closed' });
    const request = { ...body, token } as ClientRequest;
    const actor = actorIdOf(replica, groupOfKey(request.key, this.placement.groups), this.placement);
    let out = this.outgoing.get(actor);
    if (out === undefined) {
      const w = new ByteWriter(4096);
      out = { w, countAt: beginBatch(w, PayloadKind.requests), count: 0 };
      this.outgoing.set(actor, out);
    }
    writeRequest(out.w, request);
    out.count += 1;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return new Promise((resolve) => {
      this.pending.set(token, { resolve, replica, write: request.kind === 'write', deadline: Date.now() + this.timeoutMs + BACKSTOP_GRACE_MS });
      this.order.push(token);
    });
  }

  /** Fails every request in flight to a replica (it crashed): writes may or may not apply. */
  failReplica(replica: number, message: string): void {
    for (const [token, p] of this.pending) {
      if (p.replica !== replica) continue;
      this.pending.delete(token);
      p.resolve({ token, ok: false, code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message });
    }
  }

  close(): void {
    // Requests still batched for the next flush are never sent: the transport is going away.
    this.closed = true;
    this.outgoing.clear();
    clearInterval(this.sweeper);
    for (const [token, p] of this.pending) {
      p.resolve({ token, ok: false, code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message: 'store closed' });
    }
    this.pending.clear();
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    for (const [actor, out] of this.outgoing) {
      if (out.count === 0) continue;
      this.transport.send(actor, endBatch(out.w, out.countAt, out.count));
      out.countAt = beginBatch(out.w, PayloadKind.requests);
      out.count = 0;
    }
  }

  private onPayload(payload: Uint8Array): void {
    readBatch(payload, PayloadKind.results, readResult, (res) => {
      const p = this.pending.get(res.token);
      if (p === undefined) return; // Already failed by the backstop or a crash.
      this.pending.delete(res.token);
      p.resolve(res);
    });
  }

  /** The backstop: tokens are pushed in deadline order, so the sweep stops at the first live one. */
  private sweep(): void {
    const now = Date.now();
    let i = 0;
    for (; i < this.order.length; i++) {
      const token = this.order[i];
      assert(token !== undefined);
      const p = this.pending.get(token);
      if (p === undefined) continue;
      if (p.deadline > now) break;
      this.pending.delete(token);
      p.resolve({ token, ok: false, code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message: 'no answer from the replica in time' });
    }
    this.order.splice(0, i);
  }
}
