/**
 * Binary layouts of what the Paxos actors exchange: batches of per-key Paxos messages between
 * replicas, client requests and results, and the persisted key record.
 *
 * Every payload starts with a kind byte and a count, so one ring record carries a whole flush
 * for one destination ("network IO aggregated by destination").
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { transientCopy } from '../../runtime/transient-bytes';
import { RECORD_HEADER_BYTES, sealRecordInPlace } from '../../engines/record-codec';
import { engineError } from '../../engines/errors';
import { decodeCompactLayout, encodeCompactLayout } from './compact-layout';
import type {
  ClientRequest,
  ClientResult,
  CoreErrorCode,
  KeyRecord,
  MessageType,
  PaxosMessage,
  Proposal,
} from './core/types';
import type { FetchPurpose } from './core/types';
import type { ScanRequest } from './engine-scan';
import {
  columnsOf,
  instanceAt,
  originAt,
  resultAt,
  seqAt,
  windowLength,
} from './core/recent-window';

/** Omit over each member of a union (TypeScript's Omit merges the members). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const PayloadKind = { paxos: 1, requests: 2, results: 3 } as const;
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind];

const FLAG_OK = 1;
const FLAG_VALUE = 2;
const FLAG_RECORD = 4;

/** Starts a batch payload; returns the offset of its count (patched by `endBatch`). */
export function beginBatch(w: ByteWriter, kind: PayloadKind): number {
  w.reset();
  w.u8(kind);
  const at = w.length;
  w.u32(0);
  return at;
}

/**
 * Ends a batch: a view of the writer's bytes, no copy (ByteWriter.written), valid until the
 * writer's next use. Every sender copies a payload during the send call (the runtime into its
 * ring or local queue, the simulator into its event), so a reused writer allocates nothing.
 */
export function endBatch(w: ByteWriter, countAt: number, count: number): Uint8Array {
  w.patchU32(countAt, count);
  return w.written();
}

export function payloadKind(payload: Uint8Array): PayloadKind {
  const kind = payload[0];
  if (!(kind === 1 || kind === 2 || kind === 3)) assert(false, `unknown payload kind ${kind}`);
  return kind;
}

function writeProposal(w: ByteWriter, p: Proposal): void {
  w.u8(p.origin);
  w.f64(p.seq);
  w.bytes(p.op);
}

function readProposal(r: ByteReader): Proposal {
  return { origin: r.u8(), seq: r.f64(), op: r.bytes() };
}

export function writeMessage(w: ByteWriter, m: PaxosMessage): void {
  const flags =
    (m.ok ? FLAG_OK : 0) |
    (m.value !== null ? FLAG_VALUE : 0) |
    (m.record !== null ? FLAG_RECORD : 0);
  w.u8(m.type);
  w.u8(flags);
  w.u8(m.from);
  w.u8(m.to);
  w.u8(m.purpose);
  w.str(m.key);
  w.f64(m.instance);
  w.f64(m.ballot);
  w.f64(m.promised);
  w.f64(m.acceptedBallot);
  w.f64(m.chosen);
  w.f64(m.chosenOrigin);
  w.f64(m.chosenSeq);
  w.f64(m.requestId);
  if (m.value !== null) writeProposal(w, m.value);
  if (m.record !== null) writeRecord(w, m.record);
}

/** A message with every field at its zero, in the field order of every message's hidden class. */
export function blankMessage(): PaxosMessage {
  return {
    type: 0 as MessageType,
    key: '',
    from: 0,
    to: 0,
    instance: 0,
    ballot: 0,
    ok: false,
    promised: 0,
    acceptedBallot: 0,
    value: null,
    chosen: 0,
    chosenOrigin: 0,
    chosenSeq: 0,
    requestId: 0,
    purpose: 0 as FetchPurpose,
    record: null,
  };
}

export function readMessage(r: ByteReader): PaxosMessage {
  return readMessageInto(r, blankMessage());
}

/**
 * Decodes one message into `m`, every field overwritten: the actor decodes into a pool of
 * message objects it reuses from payload to payload (paxos-actor.ts onPeerPayload), so a
 * decoded message costs its key, its value and its record, not a message object.
 */
export function readMessageInto(r: ByteReader, m: PaxosMessage): PaxosMessage {
  m.type = r.u8() as MessageType;
  const flags = r.u8();
  m.from = r.u8();
  m.to = r.u8();
  m.purpose = r.u8() as FetchPurpose;
  m.key = r.str();
  m.instance = r.f64();
  m.ballot = r.f64();
  m.promised = r.f64();
  m.acceptedBallot = r.f64();
  m.chosen = r.f64();
  m.chosenOrigin = r.f64();
  m.chosenSeq = r.f64();
  m.requestId = r.f64();
  m.ok = (flags & FLAG_OK) !== 0;
  m.value = (flags & FLAG_VALUE) !== 0 ? readProposal(r) : null;
  m.record = (flags & FLAG_RECORD) !== 0 ? readRecord(r) : null;
  return m;
}

/**
 * Record layouts: 1 (no request window), 2 (1 + the request window at the end), 3 (the compact
 * layout of compact-layout.ts: varints, the window as differences; decision "Persisted records
 * in the compact layout"), 4 (3 with each result's difference as runs of differing bytes;
 * decision "The durable write path: result runs"). All four are read, so directories written
 * by any earlier version keep loading. Persisted records are written as 4 (encodeSealedRecord),
 * or as 2 when a record does not fit the compact layout or holds a MiB of data; a record inside
 * a message or a change entry (writeRecord, readRecord) is always 2, so peers of an older
 * version read what we send.
 */
const RECORD_LAYOUT = 2;
/** The compact layout with results as prefix, suffix and middle (read, no longer written). */
const RECORD_LAYOUT_COMPACT = 3;
/** The compact layout with results as runs of differing bytes (written). */
const RECORD_LAYOUT_COMPACT_RUNS = 4;

export function writeRecord(w: ByteWriter, rec: KeyRecord): void {
  w.u8(RECORD_LAYOUT);
  w.f64(rec.chosen);
  w.f64(rec.chosenOrigin);
  w.f64(rec.chosenSeq);
  w.u8(rec.data === null ? 0 : 1);
  if (rec.data !== null) w.bytes(rec.data);
  w.f64(rec.version);
  w.f64(rec.promised);
  w.f64(rec.acceptedBallot);
  w.u8(rec.accepted === null ? 0 : 1);
  if (rec.accepted !== null) writeProposal(w, rec.accepted);
  const n = windowLength(rec);
  w.u8(n);
  for (let i = 0; i < n; i++) {
    w.f64(instanceAt(rec, i));
    w.u8(originAt(rec, i));
    w.f64(seqAt(rec, i));
    w.bytes(resultAt(rec, i));
  }
  w.u8(rec.requests.length);
  for (const e of rec.requests) {
    w.str(e.id);
    w.bytes(e.result);
  }
}

export function readRecord(r: ByteReader): KeyRecord {
  const layout = r.u8();
  if (!(layout === 1 || layout === RECORD_LAYOUT)) assert(false, `record layout ${layout}`);
  const chosen = r.f64();
  const chosenOrigin = r.f64();
  const chosenSeq = r.f64();
  // The data state and results live on in the key's record: copies, never views of a payload.
  const data = r.u8() === 1 ? r.bytesKept() : null;
  const version = r.f64();
  const promised = r.f64();
  const acceptedBallot = r.f64();
  const accepted = r.u8() === 1 ? readProposal(r) : null;
  const n = r.u8();
  const recentIds: number[] = [];
  const recentResults: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    recentIds.push(r.f64(), r.u8(), r.f64());
    recentResults.push(r.bytesKept());
  }
  const requests = [];
  const m = layout === 1 ? 0 : r.u8();
  for (let i = 0; i < m; i++) requests.push({ id: r.str(), result: r.bytesKept() });
  return {
    chosen,
    chosenOrigin,
    chosenSeq,
    data,
    version,
    promised,
    acceptedBallot,
    accepted,
    ...columnsOf(recentIds, recentResults),
    requests,
  };
}

const recordWriter = new ByteWriter(4096);
const HEADER_SPACE = new Uint8Array(RECORD_HEADER_BYTES);

/**
 * Records with this much data are encoded in a writer of their own, sized for them, in the
 * plain layout: the shared writer or the compact layout's scratch would copy a big table twice
 * more (growing, then copying out) and keep a buffer of twice the biggest record alive for
 * good; next to a MiB of data, the windows' bytes the compact layout saves do not matter.
 */
const RECORD_OWN_WRITER_DATA_BYTES = 1 << 20;
/** Room beyond the data for the record's fields and windows (more only doubles once). */
const RECORD_FIELDS_BYTES_GUESS = 256 * 1024;

/** What precedes a compact record's body: room for the checksum header, then its layout. */
const COMPACT_SEALED_PREFIX = new Uint8Array(RECORD_HEADER_BYTES + 1);
COMPACT_SEALED_PREFIX[RECORD_HEADER_BYTES] = RECORD_LAYOUT_COMPACT_RUNS;

/**
 * The record sealed with its checksum header, in one allocation (the persist hot path): in the
 * compact layout (4) when it fits, encoded after room for the header so that it is copied once,
 * from the encoder's scratch to a slab, and sealed there.
 */
export function encodeSealedRecord(rec: KeyRecord): Uint8Array {
  const dataBytes = rec.data?.length ?? 0;
  if (dataBytes >= RECORD_OWN_WRITER_DATA_BYTES) {
    const own = new ByteWriter(RECORD_HEADER_BYTES + dataBytes + RECORD_FIELDS_BYTES_GUESS);
    own.raw(HEADER_SPACE);
    writeRecord(own, rec);
    return sealRecordInPlace(own.written());
  }
  // A record lives until its engine has written it (a batch): from a slab (transient-bytes.ts).
  const compact = encodeCompactLayout(COMPACT_SEALED_PREFIX, rec);
  if (compact !== undefined) return sealRecordInPlace(transientCopy(compact));
  recordWriter.reset();
  recordWriter.raw(HEADER_SPACE);
  writeRecord(recordWriter, rec);
  return sealRecordInPlace(transientCopy(recordWriter.written()));
}

/**
 * The sealed record (layout 4) whose compact body is `body[from..]`, without decoding it: the
 * body copied behind the envelope and the layout byte, and sealed. For a body the current
 * encoder wrote (compact-record.ts keeps evicted records in it), so the record is exactly the
 * one encodeSealedRecord would make.
 */
export function sealCompactBody(body: Uint8Array, from: number): Uint8Array {
  assert(from >= 0 && from < body.length, () => `compact body at ${from} of ${body.length}`);
  const out = new Uint8Array(RECORD_HEADER_BYTES + 1 + body.length - from);
  out[RECORD_HEADER_BYTES] = RECORD_LAYOUT_COMPACT_RUNS;
  out.set(body.subarray(from), RECORD_HEADER_BYTES + 1);
  return sealRecordInPlace(out);
}

export function encodeRecord(rec: KeyRecord): Uint8Array {
  const w = new ByteWriter(64 + (rec.data?.length ?? 0));
  writeRecord(w, rec);
  return w.finish();
}

/**
 * The record a sealed record's payload holds, in any layout. A compact record (layout 3, 4) that
 * does not decode throws CORRUPTED: it passed its checksum, so it was written damaged or by a
 * faulty build, and its key is recovered from peers like one that fails its checksum.
 */
export function decodeRecord(bytes: Uint8Array): KeyRecord {
  const layout = bytes[0];
  if (layout === RECORD_LAYOUT_COMPACT_RUNS || layout === RECORD_LAYOUT_COMPACT)
    return decodeCompactPayload(bytes, layout === RECORD_LAYOUT_COMPACT_RUNS);
  const r = new ByteReader(bytes);
  const rec = readRecord(r);
  if (r.remaining !== 0) assert(false, `record has ${r.remaining} trailing bytes`);
  return rec;
}

function decodeCompactPayload(bytes: Uint8Array, runs: boolean): KeyRecord {
  try {
    return decodeCompactLayout(bytes, 1, runs);
  } catch (err) {
    throw engineError('CORRUPTED', `compact record: ${(err as Error).message}`);
  }
}

/** An upper bound on the bytes writeRequest adds for a request (token, key, kind, body). */
export function requestBytesBound(
  req:
    | { readonly kind: 'write'; readonly key: string; readonly op: Uint8Array }
    | { readonly kind: 'read' | 'scan'; readonly key: string; readonly query: Uint8Array },
): number {
  const body = req.kind === 'write' ? req.op : req.query;
  return 8 + 4 + req.key.length * 3 + 1 + 4 + body.length;
}

export function writeRequest(w: ByteWriter, req: ClientRequest | ScanRequest): void {
  writeRequestAs(w, req.token, req);
}

/**
 * A request body's key in two parts, when its caller has them (`key === keyPrefix + keyName`,
 * a namespace's prefix and the caller's key): the key is then written from the parts, so the
 * concatenated string is never flattened on the client's path (ByteWriter.str2). Same bytes.
 */
export interface KeyParts {
  readonly keyPrefix?: string | undefined;
  readonly keyName?: string | undefined;
}

/** A request without its token, written with `token` (no copy of the request to add it). */
export function writeRequestAs(
  w: ByteWriter,
  token: number,
  req: DistributiveOmit<ClientRequest | ScanRequest, 'token'> & KeyParts,
): void {
  w.f64(token);
  if (req.keyPrefix !== undefined && req.keyName !== undefined) w.str2(req.keyPrefix, req.keyName);
  else w.str(req.key);
  if (req.kind === 'write') {
    w.u8(0);
    w.bytes(req.op);
  } else if (req.kind === 'scan') {
    w.u8(3);
    w.bytes(req.query);
  } else {
    w.u8(req.consistency === 'local' ? 2 : 1);
    w.bytes(req.query);
  }
}

export function readRequest(r: ByteReader): ClientRequest | ScanRequest {
  const token = r.f64();
  const key = r.str();
  const kind = r.u8();
  const body = r.bytes();
  if (kind === 0) return { kind: 'write', token, key, op: body };
  if (kind === 3) return { kind: 'scan', token, key, query: body };
  if (!(kind === 1 || kind === 2)) assert(false, `request kind ${kind}`);
  return {
    kind: 'read',
    token,
    key,
    query: body,
    consistency: kind === 2 ? 'local' : 'linearizable',
  };
}

/**
 * A result after its token: the core's, or (between a cluster node and its clients,
 * client/wire-protocol.ts) any store error code. One layout for both.
 */
export type ResultBody =
  | { readonly ok: true; readonly result: Uint8Array }
  | { readonly ok: false; readonly code: string; readonly message: string };

export function writeResultBody(w: ByteWriter, res: ResultBody): void {
  if (res.ok) {
    w.u8(1);
    w.bytes(res.result);
  } else {
    w.u8(0);
    w.str(res.code);
    w.str(res.message);
  }
}

/**
 * `transient`: the result's bytes come from a slab (ByteReader.bytesTransient), for a caller
 * that copies what it keeps before its next await (request-pipeline.ts).
 */
export function readResultBody(r: ByteReader, transient = false): ResultBody {
  const ok = r.u8();
  if (ok === 1) return { ok: true, result: transient ? r.bytesTransient() : r.bytes() };
  if (ok !== 0) assert(false, `result flag ${ok}`);
  return { ok: false, code: r.str(), message: r.str() };
}

export function writeResult(w: ByteWriter, res: ClientResult): void {
  w.f64(res.token);
  writeResultBody(w, res);
}

export function readResult(r: ByteReader): ClientResult {
  const token = r.f64();
  return clientResult(token, readResultBody(r));
}

/** The result of request `token`, from its decoded body. */
export function clientResult(token: number, body: ResultBody): ClientResult {
  if (body.ok) return { token, ok: true, result: body.result };
  return { token, ok: false, code: body.code as CoreErrorCode, message: body.message };
}

/**
 * How readBatch treats a payload's bytes. 'copy-fields': each byte field is a copy of its own
 * (the payload is borrowed). 'copy-once': the payload is copied once and byte fields (ops,
 * queries, proposals) are views of that copy, instead of one allocation per field; for the
 * actor's inbound payloads, whose items are short-lived (a value lives until it is applied,
 * and apply copies what it keeps), so the copy comes from a slab (transient-bytes.ts).
 * 'owned': the payload is already the caller's own copy (a same-worker delivery): byte fields
 * are views of it, with no copy at all.
 */
export type BatchBytes = 'copy-fields' | 'copy-once' | 'owned';

/** Decodes a batch payload item by item (bounded by its count). */
export function readBatch<T>(
  payload: Uint8Array,
  expected: PayloadKind,
  item: (r: ByteReader) => T,
  each: (t: T) => void,
  bytes: BatchBytes = 'copy-fields',
): number {
  const r =
    bytes === 'copy-fields'
      ? new ByteReader(payload)
      : new ByteReader(bytes === 'owned' ? payload : transientCopy(payload), true);
  const kind = r.u8();
  if (kind !== expected) assert(false, `payload kind ${kind}, expected ${expected}`);
  const n = r.u32();
  for (let i = 0; i < n; i++) each(item(r));
  if (r.remaining !== 0) assert(false, `batch has ${r.remaining} trailing bytes`);
  return n;
}
