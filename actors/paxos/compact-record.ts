/**
 * The compact in-memory form of a settled key's record on the memory engine (decision 28):
 * the whole KeyRecord, exactly, as bytes (kept in the port's arena, record-arena.ts). Nothing
 * here is persisted or sent, so the layout may change with any build.
 *
 * Why not the sealed disk record (codec.ts)? It writes every number as an 8-byte float and
 * carries a 9-byte checksum header: ~90 bytes beyond the value for a key written once, where
 * this layout needs ~25 (numbers as base-128 varints: an instance or a version takes one or
 * two bytes, a proposal seq seven or eight). At 10 M keys × 3 replicas that difference is
 * ~2 GB. A record with a number that is not a non-negative safe integer (none is, today) is
 * kept in the sealed form behind a format byte instead, so the form is exact for any record.
 */
import { assert } from '../../runtime/assert';
import type { KeyRecord, Proposal } from './core/types';
import { decodeRecord, encodeRecord } from './codec';

const FORMAT_SEALED = 0;
const FORMAT_COMPACT = 1;
/** Longest varint of a safe integer (53 bits, 7 per byte). */
const VARINT_BYTES_MAX = 8;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A growable scratch buffer, reused by every encode (one thread, no re-entrance). */
let scratch = Buffer.allocUnsafeSlow(4096);
let pos = 0;

function need(n: number): void {
  if (pos + n <= scratch.length) return;
  const next = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, pos + n));
  scratch.copy(next, 0, 0, pos);
  scratch = next;
}

function isVarint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function varint(n: number): void {
  need(VARINT_BYTES_MAX);
  let v = n;
  while (v >= 0x80) {
    scratch[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  scratch[pos++] = v;
}

function bytes(b: Uint8Array): void {
  varint(b.length);
  need(b.length);
  scratch.set(b, pos);
  pos += b.length;
}

/** Every number of the record fits a varint (origins shifted by one: -1 means none). */
function compactable(rec: KeyRecord): boolean {
  const proposalOk = (p: Proposal | null): boolean =>
    p === null || (isVarint(p.origin) && isVarint(p.seq));
  return (
    isVarint(rec.chosen) &&
    isVarint(rec.chosenOrigin + 1) &&
    isVarint(rec.chosenSeq) &&
    isVarint(rec.version) &&
    isVarint(rec.promised) &&
    isVarint(rec.acceptedBallot) &&
    proposalOk(rec.accepted) &&
    rec.recent.every((e) => isVarint(e.instance) && isVarint(e.origin) && isVarint(e.seq))
  );
}

function writeProposal(p: Proposal | null): void {
  if (p === null) return varint(0);
  varint(1);
  varint(p.origin);
  varint(p.seq);
  bytes(p.op);
}

function writeCompact(rec: KeyRecord): void {
  varint(FORMAT_COMPACT);
  varint(rec.chosen);
  varint(rec.chosenOrigin + 1);
  varint(rec.chosenSeq);
  if (rec.data === null) varint(0);
  else {
    varint(1);
    bytes(rec.data);
  }
  varint(rec.version);
  varint(rec.promised);
  varint(rec.acceptedBallot);
  writeProposal(rec.accepted);
  varint(rec.recent.length);
  for (const e of rec.recent) {
    varint(e.instance);
    varint(e.origin);
    varint(e.seq);
    bytes(e.result);
  }
  varint(rec.requests.length);
  for (const e of rec.requests) {
    bytes(utf8.encode(e.id));
    bytes(e.result);
  }
}

/**
 * The record's compact bytes: a view of a scratch buffer that the next encode reuses (the
 * caller copies it, as the arena does).
 */
export function encodeCompactRecord(rec: KeyRecord): Uint8Array {
  pos = 0;
  if (compactable(rec)) writeCompact(rec);
  else {
    varint(FORMAT_SEALED);
    const whole = encodeRecord(rec);
    need(whole.length);
    scratch.set(whole, pos);
    pos += whole.length;
  }
  assert(pos > 0 && pos <= scratch.length, () => `compact record of ${pos} bytes`);
  // A plain Uint8Array view, not a Buffer: a Buffer's slice() is a view, a Uint8Array's a copy.
  return new Uint8Array(scratch.buffer, scratch.byteOffset, pos);
}

class CompactReader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX + 1; i++) {
      const b = this.buf[this.at++];
      assert(b !== undefined, 'compact record ends inside a varint');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    assert(false, 'compact record varint too long');
  }

  /** A copy (never a view of the arena slab, which a later set or delete may rewrite). */
  bytes(): Uint8Array {
    const n = this.varint();
    assert(this.at + n <= this.buf.length, () => `compact record field of ${n} bytes past its end`);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }

  proposal(): Proposal | null {
    if (this.varint() === 0) return null;
    return { origin: this.varint(), seq: this.varint(), op: this.bytes() };
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  rest(): Uint8Array {
    return this.buf.subarray(this.at);
  }
}

function readCompact(r: CompactReader): KeyRecord {
  const chosen = r.varint();
  const chosenOrigin = r.varint() - 1;
  const chosenSeq = r.varint();
  const data = r.varint() === 0 ? null : r.bytes();
  const version = r.varint();
  const promised = r.varint();
  const acceptedBallot = r.varint();
  const accepted = r.proposal();
  const recent = [];
  const n = r.varint();
  for (let i = 0; i < n; i++)
    recent.push({ instance: r.varint(), origin: r.varint(), seq: r.varint(), result: r.bytes() });
  const requests = [];
  const m = r.varint();
  for (let i = 0; i < m; i++)
    requests.push({ id: utf8Decoder.decode(r.bytes()), result: r.bytes() });
  return {
    chosen,
    chosenOrigin,
    chosenSeq,
    data,
    version,
    promised,
    acceptedBallot,
    accepted,
    recent,
    requests,
  };
}

/** The record the bytes of encodeCompactRecord hold (every field a copy, never a view). */
export function decodeCompactRecord(bytes: Uint8Array): KeyRecord {
  const r = new CompactReader(bytes);
  const format = r.varint();
  assert(
    format === FORMAT_COMPACT || format === FORMAT_SEALED,
    () => `compact record format ${format}`,
  );
  if (format === FORMAT_SEALED) return decodeRecord(r.rest().slice());
  const rec = readCompact(r);
  assert(r.remaining === 0, () => `compact record has ${r.remaining} trailing bytes`);
  return rec;
}
