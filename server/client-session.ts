/**
 * A node serving one authenticated client connection (a `PaxosStore.connect` client, or
 * another node forwarding a request for a key of this node's Set). REQUESTS are answered in
 * RESULTS frames, batched per microtask; a key of another Set is forwarded through this
 * node's own router ("nodes also proxy"). CONTROL requests (route table, status, fault
 * injection) are answered with CONTROL_RESULT. A malformed frame throws ProtocolError and
 * the caller closes the connection; the node goes on serving everyone else.
 */
import type { ClientResult } from '../actors/paxos/core/types';
import type { ScanBody } from '../actors/store/request-pipeline';
import { validateKey } from '../actors/store/model-client';
import { isInstallOp } from '../models/install-op';
import { splitRequestId } from '../models/request-id';
import type { RequestBody } from '../actors/store/model-client';
import {
  FrameType,
  ProtocolError,
  decodeControl,
  decodeRequests,
  encodeJson,
  encodeResults,
} from '../client/wire-protocol';
import type { ControlRequest, WireRequest, WireResult } from '../client/wire-protocol';
import { decodeInspect, encodeInspectAnswer } from '../client/inspect-protocol';
import type { InspectFrame } from '../client/inspect-protocol';
import type { InspectResult } from '../runtime/actor';

export interface SessionConnection {
  /** False when the frame was not taken (the connection is closing or its queue is full). */
  send(type: number, payload: Uint8Array): boolean;
  close(reason: string): void;
}

export interface SessionServices {
  /** True when this node's Set serves `key`. */
  ownsKey(key: string): boolean;
  /** A request for this node's Set, proposed by its replica. */
  local(body: RequestBody): Promise<ClientResult>;
  /** A request for another Set's key, forwarded to a node of that Set. */
  forward(body: RequestBody): Promise<ClientResult>;
  /** An engine scan of one of this node's groups (big tables); the client picked this node. */
  scan(body: ScanBody): Promise<ClientResult>;
  control(request: ControlRequest): Promise<unknown>;
  /** An inspect request to one of this node's groups (server/node-inspect.ts); never rejects. */
  inspect(frame: InspectFrame): Promise<InspectResult>;
}

/** A RESULTS frame is sent once its results pass this many bytes. */
const RESULTS_FRAME_SOFT_MAX = 4 * 1024 * 1024;

/** Requests one connection may have in flight; more answer UNAVAILABLE at once. */
export const SESSION_IN_FLIGHT_MAX = 16_384;

export class ClientSession {
  private inFlight = 0;
  private results: WireResult[] = [];
  private flushQueued = false;
  private closed = false;

  constructor(
    private readonly conn: SessionConnection,
    private readonly services: SessionServices,
  ) {}

  /** Throws ProtocolError on a frame a client may not send. */
  onFrame(type: number, payload: Uint8Array): void {
    if (type === FrameType.requests) {
      for (const req of decodeRequests(payload)) this.serve(req);
    } else if (type === FrameType.control) {
      void this.serveControl(decodeControl(payload));
    } else if (type === FrameType.inspect) {
      this.serveInspect(decodeInspect(payload));
    } else {
      throw new ProtocolError(`frame type ${type} from a client`);
    }
  }

  /** The connection is gone: answers still running are dropped when they arrive. */
  onClose(): void {
    this.closed = true;
    this.results = [];
  }

  private serve(req: WireRequest): void {
    if (this.inFlight >= SESSION_IN_FLIGHT_MAX) {
      this.answer({
        id: req.token,
        ok: false,
        code: 'UNAVAILABLE',
        message: `more than ${SESSION_IN_FLIGHT_MAX} requests in flight on this connection`,
      });
      return;
    }
    const refusal = refuse(req);
    if (refusal !== undefined) {
      this.answer({ id: req.token, ok: false, code: 'INVALID_ARGUMENT', message: refusal });
      return;
    }
    this.inFlight++;
    const { token, ...body } = req;
    const run =
      body.kind === 'scan'
        ? this.services.scan(body)
        : this.services.ownsKey(body.key)
          ? this.services.local(body)
          : this.services.forward(body);
    run
      .then(
        (res) => this.answer(toWire(token, res)),
        (error: unknown) => this.answer(failed(token, error, body.kind === 'write')),
      )
      .finally(() => {
        this.inFlight--;
      });
  }

  private async serveControl(req: ControlRequest): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = encodeJson({ id: req.id, ok: true, value: await this.services.control(req) });
    } catch (error) {
      const code = codeOf(error) ?? 'INVALID_ARGUMENT';
      payload = encodeJson({
        id: req.id,
        ok: false,
        code,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    if (!this.closed && !this.conn.send(FrameType.controlResult, payload))
      this.conn.close('control result not taken');
  }

  /** Counted with the requests in flight: an inspect holds a page of data until it is sent. */
  private serveInspect(frame: InspectFrame): void {
    if (this.inFlight >= SESSION_IN_FLIGHT_MAX) {
      this.sendInspect({
        id: frame.id,
        ok: false,
        code: 'UNAVAILABLE',
        message: `more than ${SESSION_IN_FLIGHT_MAX} requests in flight on this connection`,
      });
      return;
    }
    this.inFlight++;
    void this.services
      .inspect(frame)
      .then((res) => this.sendInspect({ id: frame.id, ...res }))
      // An answer that cannot be encoded is a bug to see, not a reason to stop the node.
      .catch((error: unknown) => this.conn.close(`inspect answer failed: ${String(error)}`))
      .finally(() => {
        this.inFlight--;
      });
  }

  private sendInspect(answer: InspectResult & { id: number }): void {
    if (this.closed) return;
    if (!this.conn.send(FrameType.inspectResult, encodeInspectAnswer(answer))) {
      this.conn.close('inspect result not taken: the client does not read');
      this.closed = true;
    }
  }

  private answer(res: WireResult): void {
    if (this.closed) return;
    this.results.push(res);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed || this.results.length === 0) return;
    const batch = this.results;
    this.results = [];
    // Frames stay far below net/'s bound: a result is at most about one value (1 MiB).
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      bytes += resultBytesBound(batch[i]);
      if (bytes < RESULTS_FRAME_SOFT_MAX) continue;
      if (!this.sendResults(batch.slice(start, i + 1))) return;
      start = i + 1;
      bytes = 0;
    }
    if (start < batch.length) this.sendResults(batch.slice(start));
  }

  private sendResults(results: WireResult[]): boolean {
    // A client that does not read its results fills the bounded send queue: drop it rather
    // than grow memory (its requests in flight answer as a lost connection on its side).
    if (this.conn.send(FrameType.results, encodeResults(results))) return true;
    this.conn.close('results not taken: the client does not read');
    this.closed = true;
    return false;
  }
}

/**
 * What a node refuses from a client before proposing anything: keys the handles would refuse,
 * and install ops (verify's repair writes whole states; only a node proposes them).
 */
function refuse(req: WireRequest): string | undefined {
  if (req.kind === 'scan') return undefined;
  try {
    validateKey(req.key);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (req.kind === 'write' && isInstallOp(splitRequestId(req.op).op))
    return 'install ops are not accepted from clients';
  return undefined;
}

function resultBytesBound(res: WireResult | undefined): number {
  if (res === undefined) return 0;
  return res.ok ? 16 + res.result.length : 16 + (res.code.length + res.message.length) * 3;
}

function toWire(id: number, res: ClientResult): WireResult {
  return res.ok
    ? { id, ok: true, result: res.result }
    : { id, ok: false, code: res.code, message: res.message };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A request that threw on the node: a write may have left, a read certainly did nothing. */
function failed(id: number, error: unknown, write: boolean): WireResult {
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error) ?? (write ? 'UNKNOWN_OUTCOME' : 'UNAVAILABLE');
  return { id, ok: false, code, message };
}
