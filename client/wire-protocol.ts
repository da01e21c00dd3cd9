/**
 * What nodes and clients say to each other inside net/'s authenticated frames: the frame
 * types and their payload codecs. Decoders run on bytes from the network: every one checks
 * bounds and throws a ProtocolError (code PROTOCOL) on anything malformed, and the caller
 * closes that connection. Nothing here does I/O.
 *
 *   PEER_MESSAGES   node → node   [u32 n] n × ([u32 from][u32 to][u32 len][payload])
 *   REQUESTS        client → node [u32 n] n × request (paxos/codec writeRequest; token = id)
 *   RESULTS         node → client [u32 n] n × ([f64 id][u8 ok] ok ? [bytes] : [str code][str message])
 *   CONTROL         client → node JSON { id, op, args? }   (routes, status, partition, heal, chaos)
 *   CONTROL_RESULT  node → client JSON { id, ok, value? , code?, message? }
 *   INSPECT, INSPECT_RESULT          verify, backup and repair queries (inspect-protocol.ts)
 */
import { ByteReader, ByteWriter } from '../runtime/byte-codec';
import { readRequest, readResultBody, writeRequest, writeResultBody } from '../actors/paxos/codec';
import type { ClientRequest } from '../actors/paxos/core/types';
import type { ScanRequest } from '../actors/paxos/engine-scan';

export const FrameType = {
  peerMessages: 16,
  requests: 17,
  results: 18,
  control: 19,
  controlResult: 20,
  /** One inspect request to a group actor, and its answer (client/inspect-protocol.ts). */
  inspect: 21,
  inspectResult: 22,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Messages or requests in one frame, at most (a frame's size is bounded by net/ too). */
export const ITEMS_PER_FRAME_MAX = 1 << 20;

export class ProtocolError extends Error {
  readonly code = 'PROTOCOL';
}

function protocol(run: () => void, what: string): void {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(
      `malformed ${what}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function count(r: ByteReader, what: string): number {
  const n = r.u32();
  if (n > ITEMS_PER_FRAME_MAX) throw new ProtocolError(`${what}: ${n} items`);
  return n;
}

/** One inter-node Paxos message (actor ids are the Set's: replica × groups + group). */
export interface PeerMessage {
  readonly from: number;
  readonly to: number;
  readonly payload: Uint8Array;
}

/** Builds one PEER_MESSAGES payload out of many messages (one frame per flush per peer). */
export class PeerBatch {
  private readonly w = new ByteWriter(64 * 1024);
  private n = 0;

  get count(): number {
    return this.n;
  }

  get bytes(): number {
    return this.w.length;
  }

  add(from: number, to: number, payload: Uint8Array): void {
    if (this.n === 0) this.w.u32(0);
    this.w.u32(from);
    this.w.u32(to);
    this.w.bytes(payload);
    this.n++;
  }

  /** The payload (a copy) and a fresh batch. */
  take(): Uint8Array {
    const out = this.w.finish();
    new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, this.n, true);
    this.w.reset();
    this.n = 0;
    return out;
  }
}

export function readPeerMessages(payload: Uint8Array, each: (m: PeerMessage) => void): number {
  let n = 0;
  protocol(() => {
    const r = new ByteReader(payload);
    n = count(r, 'peer messages');
    const messages: PeerMessage[] = [];
    for (let i = 0; i < n; i++) messages.push({ from: r.u32(), to: r.u32(), payload: r.bytes() });
    if (r.remaining !== 0) throw new ProtocolError(`peer messages: ${r.remaining} trailing bytes`);
    // Only a whole, well-formed frame is delivered: a bad one delivers nothing.
    for (const m of messages) each(m);
  }, 'peer messages');
  return n;
}

/** An engine scan names the group whose local keys it lists (big tables). */
export type WireScan = ScanRequest & { readonly group: number };
export type WireRequest = ClientRequest | WireScan;

/** Groups per replica a scan may name, at most (the store's bound). */
const SCAN_GROUP_MAX = 4096;

export function encodeRequests(requests: readonly WireRequest[]): Uint8Array {
  const w = new ByteWriter(256);
  w.u32(requests.length);
  for (const req of requests) {
    writeRequest(w, req);
    if (req.kind === 'scan') w.u32(req.group);
  }
  return w.finish();
}

export function decodeRequests(payload: Uint8Array): WireRequest[] {
  const out: WireRequest[] = [];
  protocol(() => {
    const r = new ByteReader(payload);
    const n = count(r, 'requests');
    for (let i = 0; i < n; i++) {
      const req = readRequest(r);
      if (!Number.isSafeInteger(req.token) || req.token < 0)
        throw new ProtocolError(`request id ${req.token}`);
      if (req.kind === 'scan') {
        const group = r.u32();
        if (group >= SCAN_GROUP_MAX) throw new ProtocolError(`scan of group ${group}`);
        out.push({ ...req, group });
      } else {
        out.push(req);
      }
    }
    if (r.remaining !== 0) throw new ProtocolError(`requests: ${r.remaining} trailing bytes`);
  }, 'requests');
  return out;
}

/** A result on the wire: the core's, or any store error code (CLOSED, INVALID_ARGUMENT, ...). */
export type WireResult =
  | { readonly id: number; readonly ok: true; readonly result: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

export function encodeResults(results: readonly WireResult[]): Uint8Array {
  const w = new ByteWriter(256);
  w.u32(results.length);
  for (const res of results) {
    w.f64(res.id);
    writeResultBody(w, res);
  }
  return w.finish();
}

export function decodeResults(payload: Uint8Array): WireResult[] {
  const out: WireResult[] = [];
  protocol(() => {
    const r = new ByteReader(payload);
    const n = count(r, 'results');
    for (let i = 0; i < n; i++) {
      const id = r.f64();
      out.push({ id, ...readResultBody(r) });
    }
    if (r.remaining !== 0) throw new ProtocolError(`results: ${r.remaining} trailing bytes`);
  }, 'results');
  return out;
}

export const ControlOp = ['routes', 'info', 'status', 'partition', 'heal', 'chaos'] as const;
export type ControlOp = (typeof ControlOp)[number];

export interface ControlRequest {
  readonly id: number;
  readonly op: ControlOp;
  readonly args?: unknown;
}

export type ControlResult =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: ControlRequest | ControlResult): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function parseJson(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch (error) {
    throw new ProtocolError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`${what}: not an object`);
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    throw new ProtocolError(`${what}: bad id`);
  return value as Record<string, unknown>;
}

export function decodeControl(payload: Uint8Array): ControlRequest {
  const v = parseJson(payload, 'control request');
  const op = v.op;
  if (typeof op !== 'string' || !(ControlOp as readonly string[]).includes(op))
    throw new ProtocolError(`control request: unknown op ${String(op)}`);
  return { id: v.id as number, op: op as ControlOp, args: v.args };
}

export function decodeControlResult(payload: Uint8Array): ControlResult {
  const v = parseJson(payload, 'control result');
  if (v.ok === true) return { id: v.id as number, ok: true, value: v.value };
  if (v.ok === false && typeof v.code === 'string' && typeof v.message === 'string')
    return { id: v.id as number, ok: false, code: v.code, message: v.message };
  throw new ProtocolError('control result: bad shape');
}
