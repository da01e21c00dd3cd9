/**
 * The client side of the data path on the embedding thread: assigns tokens, aggregates requests
 * into one payload per actor per microtask, matches results, and enforces a backstop deadline
 * so no request ever hangs (the core answers first in all but lost-message cases).
 *
 * Each request is answered exactly once, through its Completion (below), whatever ends it: its
 * result, a failed send, a stopped actor or replica, the backstop, close. The requests in
 * flight live in a PendingTable (pending-table.ts), indexed by token.
 *
 * A batch is sent early once it passes PAYLOAD_SOFT_BYTES_MAX, and a request that would push a
 * non-empty batch past it goes into a fresh one, so payloads stay far below the runtime's
 * mailbox limit (ringBytes/2 - 8, about 2 MiB): a single request (value <= 1 MiB) always fits.
 * A send that throws anyway fails that batch's requests with UNAVAILABLE (nothing was sent);
 * it never throws out of the flush microtask.
 */
import { ReusedList } from '../../runtime/reused-list';
import { VERIFY, assert } from '../../runtime/assert';
import { ByteWriter } from '../../runtime/byte-codec';
import type {
  ClientRequest,
  ClientResult,
  CoreErrorCode,
  ReadRequest,
  WriteRequest,
} from '../paxos/core/types';
import type { KeyParts } from '../paxos/codec';
import {
  PayloadKind,
  beginBatch,
  endBatch,
  readBatch,
  requestBytesBound,
  writeRequestAs,
} from '../paxos/codec';
import { PendingTable } from './pending-table';
import type { PendingRequest, Settle } from './pending-table';
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
/** KeyParts: the key as a namespace's prefix and the caller's key, when the caller has them. */
export type RequestBody = (Omit<WriteRequest, 'token'> | Omit<ReadRequest, 'token'> | ScanBody) &
  KeyParts;

/** How a completion is handed a result's bytes (Completion.bytes). */
export type ResultBytes = 'copy' | 'transient' | 'borrowed';

/**
 * How a request's outcome becomes its caller's answer, run by the pipeline as the outcome
 * arrives, so a call through the public API costs one promise (the caller's) and no async layer
 * per handle (issue 10, seventh session). One completion serves every request of its kind: a
 * request's own details come as arguments, never in a closure per request. `ok` and `failed`
 * return the answer or throw the error the call rejects with; `refused` maps an error thrown
 * before the request was sent (a closed store, a down replica) to the one the call rejects with.
 */
export interface Completion<T> {
  /**
   * 'copy': the result's bytes are the answer's own; 'transient': a view into a slab, which the
   * answer may keep for a short while (transient-bytes.ts); 'borrowed': a view of the received
   * payload, valid only during `ok` (read it there and keep nothing of it).
   */
  readonly bytes: ResultBytes;
  ok(result: Uint8Array, token: number, key: string, shownKey: string): T;
  failed(code: string, message: string, token: number, key: string, shownKey: string): T;
  refused(error: unknown, shownKey: string): unknown;
}

/** The core's result as it is (`submit`), its bytes a copy of their own. */
const RAW: Completion<ClientResult> = {
  bytes: 'copy',
  ok: (result, token) => ({ token, ok: true, result }),
  failed: (code, message, token) => ({ token, ok: false, code: code as CoreErrorCode, message }),
  refused: (error) => error,
};
/** `submit` with `transientResult`: the bytes from a slab. */
const RAW_TRANSIENT: Completion<ClientResult> = { ...RAW, bytes: 'transient' };

/** The completion that answers with the core's result as it is (`submit`'s). */
export function resultAsIs(transientResult: boolean): Completion<ClientResult> {
  return transientResult ? RAW_TRANSIENT : RAW;
}

/**
 * The resolve and reject functions of the promise being made: one shared executor instead of a
 * closure per request (`new Promise(capture)` runs it synchronously).
 */
let capturedResolve: Settle | undefined;
let capturedReject: Settle | undefined;
function capture(resolve: Settle, reject: Settle): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

interface Outgoing {
  readonly w: ByteWriter;
  countAt: number;
  count: number;
  /** The tokens in the batch being built, to fail them if it cannot be sent (reused). */
  readonly tokens: ReusedList<number>;
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
/**
 * Submits that share one reading of the clock for their backstop deadlines (see submitFor):
 * `Date.now()` is a call into the runtime, ~40 ns, and was ~4 % of the client path per request.
 */
const CLOCK_SHARED_SUBMITS_MAX = 64;

export class RequestPipeline {
  private readonly pending = new PendingTable<Completion<unknown>>();
  /** One record that every answer is taken into (PendingTable.take): no object per answer. */
  private readonly taken = emptyRequest();
  private readonly outgoing = new Map<number, Outgoing>();
  private flushQueued = false;
  private closed = false;
  private nextToken = 1;
  /** The clock as read for the batch being built, and how many more submits may share it. */
  private clockMs = 0;
  private clockSubmitsLeft = 0;
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
    return this.submitFor(replica, body, keyGroup, resultAsIs(transientResult), body.key);
  }

  /**
   * Sends a request and answers it through `completion` (see Completion): the returned promise
   * settles exactly once, with the completion's answer or error, whatever happens to the
   * request (an answer, a failed send, a crash, the backstop, close).
   */
  submitFor<T>(
    replica: number,
    body: RequestBody,
    keyGroup: number | undefined,
    completion: Completion<T>,
    shownKey: string,
  ): Promise<T> {
    const token = this.nextToken++;
    const promise = new Promise<unknown>(capture) as Promise<T>;
    const resolve = capturedResolve;
    const reject = capturedReject;
    assert(resolve !== undefined && reject !== undefined, 'the promise executor ran');
    capturedResolve = capturedReject = undefined;
    if (this.closed) {
      settleFailed(
        completion,
        resolve,
        reject,
        'UNAVAILABLE',
        'store closed',
        token,
        body.key,
        shownKey,
      );
      return promise;
    }
    // The body is written with its token (no copy of it: a spread per request was ~3 % of the
    // client thread).
    const group =
      body.kind === 'scan' ? body.group : (keyGroup ?? groupOfKey(body.key, this.placement.groups));
    if (VERIFY && body.kind !== 'scan') this.checkKey(body, group);
    const r = this.taken;
    r.resolve = resolve;
    r.reject = reject;
    r.completion = completion as Completion<unknown>;
    r.key = body.key;
    r.shownKey = shownKey;
    r.replica = replica;
    r.actor = actorIdOf(replica, group, this.placement);
    r.write = body.kind === 'write';
    r.deadline = this.submitClockMs() + this.timeoutMs + BACKSTOP_GRACE_MS;
    this.pending.add(token, r);
    this.enqueue(r.actor, token, body);
    return promise;
  }

  /**
   * The submit time of a backstop deadline. The first request of a batch reads the clock; the
   * others of the batch share that reading, up to CLOCK_SHARED_SUBMITS_MAX of them. They are
   * all submitted before the batch's flush microtask runs, i.e. in one run of the microtask
   * queue, so a shared reading is at most that run's length old (and bounded in requests too);
   * a deadline that early by some microseconds changes nothing: the backstop has a grace of
   * BACKSTOP_GRACE_MS beyond the core's own deadline, and its sweep runs every SWEEP_MS.
   */
  private submitClockMs(): number {
    if (!this.flushQueued || this.clockSubmitsLeft <= 0) {
      this.clockMs = Date.now();
      this.clockSubmitsLeft = CLOCK_SHARED_SUBMITS_MAX;
    }
    this.clockSubmitsLeft -= 1;
    return this.clockMs;
  }

  /**
   * The group a caller gave is the key's, and the key's parts make the key (in a function of
   * its own: no closure in submitFor; O(key) and a flattened key, so behind VERIFY).
   */
  private checkKey(body: RequestBody, group: number): void {
    const key = body.key;
    const expected = groupOfKey(key, this.placement.groups);
    assert(group === expected, () => `${key}: group ${group}, expected ${expected}`);
    const { keyPrefix, keyName } = body;
    assert(
      (keyPrefix === undefined) === (keyName === undefined),
      () => `${key}: key prefix ${String(keyPrefix)} without a name, or a name without one`,
    );
    if (keyPrefix !== undefined && keyName !== undefined)
      assert(key === keyPrefix + keyName, () => `${key} is not ${keyPrefix} + ${keyName}`);
  }

  /** Writes the request into its actor's batch, sending the batch when it is full. */
  private enqueue(actor: number, token: number, body: RequestBody): void {
    let out = this.outgoing.get(actor);
    if (out === undefined) {
      const w = new ByteWriter(4096);
      out = { w, countAt: beginBatch(w, PayloadKind.requests), count: 0, tokens: new ReusedList() };
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
      queueMicrotask(this.flushBound);
    }
  }

  /** Fails every request in flight to a replica (it crashed): writes may or may not apply. */
  failReplica(replica: number, message: string): void {
    this.failInFlight((r) => r.replica === replica, message);
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
      for (let i = 0; i < out.tokens.length; i++)
        this.settle(out.tokens.get(i), 'UNAVAILABLE', `${message} (not sent)`);
      out.countAt = beginBatch(out.w, PayloadKind.requests);
      out.count = 0;
      out.tokens.clear();
    }
    this.failInFlight((r) => actors.has(r.actor), message);
  }

  /**
   * Fails the requests in flight that `matches` picks, in submission order: a write that was
   * sent may or may not have applied (UNKNOWN_OUTCOME), a read did not (UNAVAILABLE).
   */
  private failInFlight(
    matches: (r: PendingRequest<Completion<unknown>>) => boolean,
    message: string,
  ): void {
    const r = this.taken;
    for (const token of this.pending.tokensInFlight()) {
      if (this.pending.peek(token, r) && matches(r))
        this.settle(token, r.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE', message);
    }
  }

  /** Answers request `token` with a failure, if it is still in flight (exactly once). */
  private settle(token: number, code: 'UNAVAILABLE' | 'UNKNOWN_OUTCOME', message: string): void {
    const r = this.taken;
    if (!this.pending.take(token, r)) return;
    settleFailed(r.completion, r.resolve, r.reject, code, message, token, r.key, r.shownKey);
  }

  close(): void {
    // Requests still batched for the next flush are never sent: the transport is going away.
    this.closed = true;
    this.outgoing.clear();
    clearInterval(this.sweeper);
    this.failInFlight(() => true, 'store closed');
    assert(this.pending.size === 0, () => `${this.pending.size} requests left at close`);
  }

  private readonly flushBound = (): void => this.flush();

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    for (const [actor, out] of this.outgoing) {
      if (out.count > 0) this.sendBatch(actor, out);
    }
  }

  /** Sends `out`'s batch and starts a new one; never throws (a failed send fails its requests). */
  private sendBatch(actor: number, out: Outgoing): void {
    try {
      this.transport.send(actor, endBatch(out.w, out.countAt, out.count));
    } catch (error) {
      const message = `request batch to actor ${actor} not sent: ${error instanceof Error ? error.message : String(error)}`;
      console.error(`paxosstore: ${message}`);
      // Nothing reached a replica, so not even a write can have applied.
      for (let i = 0; i < out.tokens.length; i++)
        this.settle(out.tokens.get(i), 'UNAVAILABLE', message);
    } finally {
      out.countAt = beginBatch(out.w, PayloadKind.requests);
      out.count = 0;
      out.tokens.clear();
    }
  }

  private onPayload(payload: Uint8Array): void {
    readBatch(payload, PayloadKind.results, this.takeResult, ignore);
  }

  /**
   * One result of a payload (codec.ts writeResult: the token, then the body, [1][bytes] or
   * [0][code][message]), answered through its request's completion while the payload is read,
   * so a 'borrowed' view of it is valid there.
   */
  private readonly takeResult = (reader: ByteReader): void => {
    const token = reader.f64();
    // The request leaves the table only once its result is read whole: a result that cannot be
    // read (an assert) leaves it in flight, for the backstop to answer.
    const completion = this.pending.completionOf(token);
    const ok = reader.u8();
    if (ok === 0) {
      const code = reader.str();
      const message = reader.str();
      const r = this.taken;
      if (completion !== undefined && this.pending.take(token, r))
        settleFailed(r.completion, r.resolve, r.reject, code, message, token, r.key, r.shownKey);
      return;
    }
    if (ok !== 1) assert(false, `result flag ${ok}`);
    // Not in flight: already failed by the backstop or a crash; its bytes are skipped.
    const mode = completion === undefined ? 'borrowed' : completion.bytes;
    const result =
      mode === 'borrowed'
        ? reader.bytesBorrowed()
        : mode === 'transient'
          ? reader.bytesTransient()
          : reader.bytes();
    const r = this.taken;
    if (completion === undefined || !this.pending.take(token, r)) return;
    let answer: unknown;
    try {
      answer = r.completion.ok(result, token, r.key, r.shownKey);
    } catch (error) {
      r.reject(error);
      return;
    }
    r.resolve(answer);
  };

  /** The backstop: the requests whose deadline has passed, oldest first (PendingTable). */
  private sweep(): void {
    const now = Date.now();
    const r = this.taken;
    // Bounded: each turn answers one request in flight.
    for (let left = this.pending.size; left > 0; left--) {
      const token = this.pending.nextExpired(now);
      if (token === 0) break;
      const found = this.pending.peek(token, r);
      assert(found, () => `expired token ${token} is not in flight`);
      this.settle(
        token,
        r.write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE',
        'no answer from the replica in time',
      );
    }
  }
}

/** A failure's answer through `completion` (its value, or the error it throws). */
function settleFailed<T>(
  completion: Completion<T>,
  resolve: Settle,
  reject: Settle,
  code: string,
  message: string,
  token: number,
  key: string,
  shownKey: string,
): void {
  let answer: T;
  try {
    answer = completion.failed(code, message, token, key, shownKey);
  } catch (error) {
    reject(error);
    return;
  }
  resolve(answer);
}

function emptyRequest(): PendingRequest<Completion<unknown>> {
  return {
    resolve: ignore,
    reject: ignore,
    completion: RAW,
    key: '',
    shownKey: '',
    replica: 0,
    actor: 0,
    write: false,
    deadline: 0,
  };
}

function ignore(): void {}
