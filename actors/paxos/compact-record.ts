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
import { keptBytes, keptCopyOf } from '../../runtime/kept-bytes';
import type { AppliedEntry, KeyRecord, Proposal, RequestEntry } from './core/types';
import { decodeRecord, encodeRecord } from './codec';
import type { DigestFieldsOut } from './record-port';

const FORMAT_SEALED = 0;
const FORMAT_COMPACT = 1;
/**
 * Bounds a decoded record's lists (a damaged record must not make the decoder loop long): far
 * above the core's windows (RECENT_WINDOW 16, REQUESTS_REMEMBERED_MAX 128).
 */
const RECENT_ENTRIES_MAX = 1 << 16;
const REQUEST_ENTRIES_MAX = 1 << 16;
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

/** A difference that fits the signed varint below (|d| ≤ 2^51). */
const DELTA_MAX = 2 ** 51;

function isDelta(d: number): boolean {
  return Number.isSafeInteger(d) && Math.abs(d) <= DELTA_MAX;
}

/** The recent window as this layout writes it: instances rising, none past `chosen`. */
function recentCompactable(rec: KeyRecord): boolean {
  let previous: AppliedEntry | undefined;
  for (const e of rec.recent) {
    if (!isVarint(e.instance) || !isVarint(e.origin) || !isVarint(e.seq)) return false;
    if (e.instance > rec.chosen) return false;
    if (
      previous !== undefined &&
      (e.instance <= previous.instance || !isDelta(e.seq - previous.seq))
    )
      return false;
    previous = e;
  }
  return true;
}

/**
 * Every number of the record fits this layout (origins shifted by one: -1 means none): else
 * the record is kept in the sealed layout, so the form is exact for any record.
 */
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
    recentCompactable(rec)
  );
}

function signedDelta(d: number): void {
  varint(d >= 0 ? d * 2 : -d * 2 - 1);
}

/**
 * A result as a difference from the previous entry's (results of one key look alike: a kv
 * write answers 17 bytes of status, version and value, of which a later write changes one or
 * two): 0 then the whole result, or 1 + the length of the prefix both share, the length of the
 * suffix both share, and the bytes between (the length is the previous result's).
 */
function result(previous: Uint8Array | undefined, r: Uint8Array): void {
  if (previous === undefined || previous.length !== r.length) {
    varint(0);
    return bytes(r);
  }
  let prefix = 0;
  while (prefix < r.length && r[prefix] === previous[prefix]) prefix++;
  let suffix = 0;
  while (suffix < r.length - prefix && r[r.length - 1 - suffix] === previous[r.length - 1 - suffix])
    suffix++;
  varint(1 + prefix);
  varint(suffix);
  const middle = r.subarray(prefix, r.length - suffix);
  need(middle.length);
  scratch.set(middle, pos);
  pos += middle.length;
}

/** Flags of the compact layout. */
const HAS_DATA = 1;
const HAS_ACCEPTED = 2;
/** The chosen value's id is the newest recent entry's (a key's usual state): not written twice. */
const CHOSEN_IS_NEWEST = 4;

function chosenIsNewest(rec: KeyRecord): boolean {
  const newest = rec.recent[rec.recent.length - 1];
  return (
    newest !== undefined &&
    newest.instance === rec.chosen &&
    newest.origin === rec.chosenOrigin &&
    newest.seq === rec.chosenSeq
  );
}

/**
 * The recent window: the first entry's instance as its distance below `chosen`, the later
 * ones' as the gap after the previous one (consecutive instances: 0); seqs after the first as
 * signed differences from the previous entry's; results as differences (`result`).
 */
function writeRecent(rec: KeyRecord): void {
  varint(rec.recent.length);
  let previous: AppliedEntry | undefined;
  for (const e of rec.recent) {
    varint(previous === undefined ? rec.chosen - e.instance : e.instance - previous.instance - 1);
    varint(e.origin);
    if (previous === undefined) varint(e.seq);
    else signedDelta(e.seq - previous.seq);
    result(previous?.result, e.result);
    previous = e;
  }
}

function writeCompact(rec: KeyRecord): void {
  varint(FORMAT_COMPACT);
  varint(rec.chosen);
  const newest = chosenIsNewest(rec);
  varint(
    (rec.data !== null ? HAS_DATA : 0) |
      (rec.accepted !== null ? HAS_ACCEPTED : 0) |
      (newest ? CHOSEN_IS_NEWEST : 0),
  );
  if (!newest) {
    varint(rec.chosenOrigin + 1);
    varint(rec.chosenSeq);
  }
  if (rec.data !== null) bytes(rec.data);
  varint(rec.version);
  varint(rec.promised);
  varint(rec.acceptedBallot);
  if (rec.accepted !== null) {
    varint(rec.accepted.origin);
    varint(rec.accepted.seq);
    bytes(rec.accepted.op);
  }
  writeRecent(rec);
  varint(rec.requests.length);
  let previous: Uint8Array | undefined;
  for (const e of rec.requests) {
    bytes(utf8.encode(e.id));
    result(previous, e.result);
    previous = e.result;
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

  /**
   * A copy (never a view of the arena slab, which a later set or delete may rewrite), from a
   * kept slab (kept-bytes.ts): the decoded record is the key's again.
   */
  bytes(): Uint8Array {
    const n = this.varint();
    assert(this.at + n <= this.buf.length, () => `compact record field of ${n} bytes past its end`);
    const out = keptCopyOf(this.buf, this.at, this.at + n);
    this.at += n;
    return out;
  }

  signedDelta(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A result written by `result` (a new array, never shared with `previous`). */
  result(previous: Uint8Array | undefined): Uint8Array {
    const mode = this.varint();
    if (mode === 0) return this.bytes();
    assert(previous !== undefined, 'compact record result differs from no previous one');
    const prefix = mode - 1;
    const suffix = this.varint();
    const n = previous.length;
    assert(prefix + suffix <= n, () => `compact result of ${prefix} + ${suffix} shared of ${n}`);
    const middle = n - prefix - suffix;
    assert(this.at + middle <= this.buf.length, 'compact result past the record end');
    const out = keptBytes(n);
    out.set(previous.subarray(0, prefix));
    out.set(this.buf.subarray(this.at, this.at + middle), prefix);
    out.set(previous.subarray(n - suffix), n - suffix);
    this.at += middle;
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  rest(): Uint8Array {
    return this.buf.subarray(this.at);
  }
}

function readRecent(r: CompactReader, chosen: number): AppliedEntry[] {
  const recent: AppliedEntry[] = [];
  const n = r.varint();
  assert(n <= RECENT_ENTRIES_MAX, () => `compact record with ${n} recent entries`);
  let previous: AppliedEntry | undefined;
  for (let i = 0; i < n; i++) {
    const gap = r.varint();
    const instance = previous === undefined ? chosen - gap : previous.instance + 1 + gap;
    const origin = r.varint();
    const seq = previous === undefined ? r.varint() : previous.seq + r.signedDelta();
    const entry = { instance, origin, seq, result: r.result(previous?.result) };
    recent.push(entry);
    previous = entry;
  }
  return recent;
}

function readRequests(r: CompactReader): RequestEntry[] {
  const requests: RequestEntry[] = [];
  const m = r.varint();
  assert(m <= REQUEST_ENTRIES_MAX, () => `compact record with ${m} request entries`);
  let previous: Uint8Array | undefined;
  for (let i = 0; i < m; i++) {
    const id = utf8Decoder.decode(r.bytes());
    const entry = { id, result: r.result(previous) };
    requests.push(entry);
    previous = entry.result;
  }
  return requests;
}

function readCompact(r: CompactReader): KeyRecord {
  const chosen = r.varint();
  const flags = r.varint();
  assert(flags < 8, () => `compact record flags ${flags}`);
  let chosenOrigin = 0;
  let chosenSeq = 0;
  if ((flags & CHOSEN_IS_NEWEST) === 0) {
    chosenOrigin = r.varint() - 1;
    chosenSeq = r.varint();
  }
  const data = (flags & HAS_DATA) !== 0 ? r.bytes() : null;
  const version = r.varint();
  const promised = r.varint();
  const acceptedBallot = r.varint();
  const accepted =
    (flags & HAS_ACCEPTED) !== 0 ? { origin: r.varint(), seq: r.varint(), op: r.bytes() } : null;
  const recent = readRecent(r, chosen);
  if ((flags & CHOSEN_IS_NEWEST) !== 0) {
    const newest = recent[recent.length - 1];
    assert(newest !== undefined, 'compact record names a newest entry it does not hold');
    chosenOrigin = newest.origin;
    chosenSeq = newest.seq;
  }
  const requests = readRequests(r);
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

/** Where the in-place reader stands (one thread, no re-entrance: no object per record). */
let readAt = 0;

function readVarintAt(b: Uint8Array): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_BYTES_MAX + 1; i++) {
    const byte = b[readAt++];
    assert(byte !== undefined, 'compact record ends inside a varint');
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return n;
    scale *= 0x80;
  }
  assert(false, 'compact record varint too long');
}

/** Skips a length-prefixed field; returns its length. */
function skipBytesAt(b: Uint8Array): number {
  const n = readVarintAt(b);
  assert(readAt + n <= b.length, () => `compact record field of ${n} bytes past its end`);
  readAt += n;
  return n;
}

/** Skips a result written by `result`; returns its length (the previous one's when shared). */
function skipResultAt(b: Uint8Array, previousLength: number): number {
  const mode = readVarintAt(b);
  if (mode === 0) return skipBytesAt(b);
  const suffix = readVarintAt(b);
  const middle = previousLength - (mode - 1) - suffix;
  assert(middle >= 0 && readAt + middle <= b.length, () => `compact result middle ${middle}`);
  readAt += middle;
  return previousLength;
}

/** The newest recent entry's origin and seq (walking the window without building it). */
function newestIdAt(b: Uint8Array, out: DigestFieldsOut): void {
  const n = readVarintAt(b);
  assert(n >= 1 && n <= RECENT_ENTRIES_MAX, () => `compact record with ${n} recent entries`);
  let seq = 0;
  let resultLength = -1;
  for (let i = 0; i < n; i++) {
    readVarintAt(b); // instance gap
    out.chosenOrigin = readVarintAt(b);
    if (i === 0) seq = readVarintAt(b);
    else {
      const z = readVarintAt(b);
      seq += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    resultLength = skipResultAt(b, resultLength);
  }
  out.chosenSeq = seq;
}

/**
 * The digest's fields of a compact record, read in place: no record is built and `data` is a
 * view of `bytes` (the digest scan hashes it at once, from a snapshot nobody changes). False for
 * a record kept in the sealed layout: the caller decodes it whole (decodeCompactRecord).
 */
export function readDigestFields(bytes: Uint8Array, out: DigestFieldsOut): boolean {
  readAt = 0;
  const format = readVarintAt(bytes);
  assert(
    format === FORMAT_COMPACT || format === FORMAT_SEALED,
    () => `compact record format ${format}`,
  );
  if (format === FORMAT_SEALED) return false;
  out.chosen = readVarintAt(bytes);
  const flags = readVarintAt(bytes);
  assert(flags < 8, () => `compact record flags ${flags}`);
  const newest = (flags & CHOSEN_IS_NEWEST) !== 0;
  if (!newest) {
    out.chosenOrigin = readVarintAt(bytes) - 1;
    out.chosenSeq = readVarintAt(bytes);
  }
  out.data = null;
  if ((flags & HAS_DATA) !== 0) {
    const n = skipBytesAt(bytes);
    out.data = bytes.subarray(readAt - n, readAt);
  }
  out.version = readVarintAt(bytes);
  if (!newest) return true;
  readVarintAt(bytes); // promised
  readVarintAt(bytes); // acceptedBallot
  if ((flags & HAS_ACCEPTED) !== 0) {
    readVarintAt(bytes);
    readVarintAt(bytes);
    skipBytesAt(bytes);
  }
  newestIdAt(bytes, out);
  return true;
}
