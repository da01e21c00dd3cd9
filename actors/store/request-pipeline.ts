/**
 * The client side of the data path on the embedding thread: assigns tokens, aggregates requests
 * into one payload per actor per microtask, matches results, and enforces a backstop deadline
 * so no request ever hangs (the core answers first in all but lost-message cases).
 *
 * A batch is sent early once it passes PAYLOAD_SOFT_BYTES_MAX, and a request that would push a
 * non-empty batch past it goes into a fresh one, so payloads stay far below the runtime's
 * mailbox limit (ringBytes/2 - 8, about 2 MiB): a single request (value <= 1 MiB) always fits.
 * A send that throws anyway fails that batch's requests with UNAVAILABLE (nothing was sent);
 * it never throws out of the flush microtask.
 */
import { VERIFY, assert } from '../../runtime/assert';
import { ByteWriter } from '../../runtime/byte-codec';
import type { ClientRequest, ClientResult, ReadRequest, WriteRequest } from '../paxos/core/types';
import {
  PayloadKind,
  beginBatch,
  clientResult,
  endBatch,
  readBatch,
  readResultBody,
  requestBytesBound,
  writeRequestAs,
} from '../paxos/codec';
import type { ByteReader } from '../../runtime/byte-codec';
import { actorIdOf } from '../paxos/placement';
import { groupOfKey } from './routing';
import type { ScanRequest } from '../paxos/engine-scan';

export interface ClientTransport {
  /** Copies `payload` during the call (the pipeline reuses its buffer: codec.ts endBatch). */
  send(to: number, payload: Uint8Array): void;
  onReceive(handler: (from: number, payload: Uint8Array) => void): void;
}

/** An engine scan names its group: it reads one actor's local keys, not one Paxos key. */
export type ScanBody = Omit<ScanRequest, 'token'> & { readonly group: number };
export type RequestBody = Omit<WriteRequest, 'token'> | Omit<ReadRequest, 'token'> | ScanBody;

interface Pending {
  readonly resolve: (r: ClientResult) => void;
  readonly replica: number;
  readonly actor: number;
  readonly write: boolean;
  readonly deadline: number;
  /** The caller copies what it keeps of the result at once: its bytes may come from a slab. */
  readonly transient: boolean;
}

interface Outgoing {
  readonly w: ByteWriter;
  countAt: number;
  count: number;
  /** The tokens in the batch being built, to fail them if it cannot be sent. */
  tokens: number[];
}

/**
 * A batch for one actor is sent as soon as it reaches this many bytes (and a request that would
 * take a non-empty batch past it starts a new one). Well under the runtime's payload limit.
 */
export const PAYLOAD_SOFT_BYTES_MAX = 512 * 1024;

/**
 * Extra time beyond `timeoutMs` before the client gives up on its own. The core answers first
 * (its deadline is two ticks short of timeoutMs); the backstop only matters when a replica
 * stops answering altogether.
 */
const BACKSTOP_GRACE_MS = 250;
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

  /**
   * `keyGroup`: the key's group when the caller has it already (groupOfKey), not for scans.
   * `transientResult`: the caller copies what it keeps of the result's bytes before its next
   * await (a kv get), so they may be a view into a slab (transient-bytes.ts) instead of a copy
   * of their own: past 64 bytes that copy is an off-heap ArrayBuffer (issue 10).
   */
  submit(
    replica: number,
    body: RequestBody,
    keyGroup?: number,
    transientResult = false,
  ): Promise<ClientResult> {
    const token = this.nextToken++;
    if (this.closed)
      return Promise.resolve({ token, ok: false, code: 'UNAVAILABLE', message: 'store closed' });
    // The body is written with its token (no copy of it: a spread per request was ~3 % of the
    // client thread).
    const group =
      body.kind === 'scan' ? body.group : (keyGroup ?? groupOfKey(body.key, this.placement.groups));
    if (VERIFY && body.kind !== 'scan') {
      const expected = groupOfKey(body.key, this.placement.groups);
      assert(group === expected, () => `${body.key}: group ${group}, expected ${expected}`);
    }
    const actor = actorIdOf(replica, group, this.placement);
    const result = new Promise<ClientResult>((resolve) => {
      this.pending.set(token, {
        resolve,
        replica,
        actor,
        write: body.kind === 'write',
        deadline: Date.now() + this.timeoutMs + BACKSTOP_GRACE_MS,
        transient: transientResult,
      });
      this.order.push(token);
    });
    let out = this.outgoing.get(actor);
    if (out === undefined) {
      const w = new ByteWriter(4096);
      out = { w, countAt: beginBatch(w, PayloadKind.requests), count: 0, tokens: [] };
      this.outgoing.set(actor, out);
    } else if (out.count > 0 && out.w.length + requestBytesBound(body) > PAYLOAD_SOFT_BYTES_MAX) {
      this.sendBatch(actor, out);
    }
    writeRequestAs(out.w, token, body);
    out.count += 1;
    out.tokens.push(token);
    if (out.w.length >= PAYLOAD_SOFT_BYTES_MAX) {
      this.sendBatch(actor, out);
    } else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return result;
  }

  /** Fails every request in flight to a replica (it crashed): writes may or may not apply. */
  failReplica(replica: number, message: string): void {
    for (const [token, p] of this.pending) {
      if (p.replica !== replica) continue;
      this.pending.delete(token);
      p.resolve({ token, ok: false, code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message });
    }
  }

  /**
   * The supervisor stopped these actors after a failure (an exception, a storage failure, the
   * death of their worker): no answer will come for what they held. A write that was sent may
   * have reached acceptors, so it answers UNKNOWN_OUTCOME; a read answers UNAVAILABLE. Requests
   * still batched here were never sent: UNAVAILABLE, whatever their kind.
   */
  failActors(actors: ReadonlySet<number>, message: string): void {
    for (const actor of actors) {
      const out = this.outgoing.get(actor);
      if (out === undefined || out.count === 0) continue;
      for (const token of out.tokens) this.settle(token, 'UNAVAILABLE', `${message} (not sent)`);
      out.countAt = beginBatch(out.w, PayloadKind.requests);
      out.count = 0;
      out.tokens = [];
    }
    for (const [token, p] of this.pending) {
      if (actors.has(p.actor))
        this.settle(token, p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message);
    }
  }

  private settle(token: number, code: 'UNAVAILABLE' | 'UNKNOWN_OUTCOME', message: string): void {
    const p = this.pending.get(token);
    if (p === undefined) return;
    this.pending.delete(token);
    p.resolve({ token, ok: false, code, message });
  }

  close(): void {
    // Requests still batched for the next flush are never sent: the transport is going away.
    this.closed = true;
    this.outgoing.clear();
    clearInterval(this.sweeper);
    for (const [token, p] of this.pending) {
      p.resolve({
        token,
        ok: false,
        code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE',
        message: 'store closed',
      });
    }
    this.pending.clear();
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    for (const [actor, out] of this.outgoing) {
      if (out.count > 0) this.sendBatch(actor, out);
    }
  }

  /** Sends `out`'s batch and starts a new one; never throws (a failed send fails its requests). */
  private sendBatch(actor: number, out: Outgoing): void {
    const tokens = out.tokens;
    try {
      this.transport.send(actor, endBatch(out.w, out.countAt, out.count));
    } catch (error) {
      const message = `request batch to actor ${actor} not sent: ${error instanceof Error ? error.message : String(error)}`;
      console.error(`paxosstore: ${message}`);
      for (const token of tokens) {
        const p = this.pending.get(token);
        if (p === undefined) continue;
        this.pending.delete(token);
        // Nothing reached a replica, so not even a write can have applied.
        p.resolve({ token, ok: false, code: 'UNAVAILABLE', message });
      }
    } finally {
      out.countAt = beginBatch(out.w, PayloadKind.requests);
      out.count = 0;
      out.tokens = [];
    }
  }

  private onPayload(payload: Uint8Array): void {
    readBatch(payload, PayloadKind.results, this.takeResult, ignore);
  }

  /** One result of a payload: its token first, so its bytes are decoded as its caller asked. */
  private readonly takeResult = (r: ByteReader): void => {
    const token = r.f64();
    const p = this.pending.get(token);
    const body = readResultBody(r, p !== undefined && p.transient);
    if (p === undefined) return; // Already failed by the backstop or a crash.
    this.pending.delete(token);
    p.resolve(clientResult(token, body));
  };

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
      p.resolve({
        token,
        ok: false,
        code: p.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE',
        message: 'no answer from the replica in time',
      });
    }
    this.order.splice(0, i);
  }
}

function ignore(): void {}
