/**
 * The compact layout of a KeyRecord: numbers as base-128 varints, the recent window as gaps and
 * differences, results as differences from the previous one. Two users:
 *
 * - the memory engine's in-memory form of a settled key (compact-record.ts, decision 28), and
 * - the persisted record, layout 3 of codec.ts (decision "Persisted records in the compact
 *   layout"): on disk, so **this layout never changes**. A change is a new record layout in
 *   codec.ts (and a new format byte in compact-record.ts), and this one stays readable.
 *
 * Body (after whatever prefix its user writes first):
 *
 *   chosen, flags (HAS_DATA | HAS_ACCEPTED | CHOSEN_IS_NEWEST)
 *   [chosenOrigin + 1, chosenSeq]            unless CHOSEN_IS_NEWEST
 *   [data: length, bytes]                    if HAS_DATA
 *   version, promised, acceptedBallot
 *   [origin, seq, op: length, bytes]         if HAS_ACCEPTED
 *   recent count, then per entry: instance gap, origin, seq (first) or signed seq difference,
 *     result (0, length, bytes; or a difference from the previous entry's result, below)
 *   requests count, then per entry: id (length, UTF-8), result (as above)
 *
 * Two forms of a result's difference, one per record layout (`runs` in the reader):
 * - layout 3 (the first, read only): 1 + the prefix both share, the suffix both share, and
 *   the bytes between;
 * - layout 4 (written), whichever of two is shorter: 1 + 2 × the shared prefix, the shared
 *   suffix and the bytes between (layout 3's, one run); or 2 + 2 × k, then k runs, each the
 *   count of equal bytes before it (from the end of the previous run), its length (at least 1)
 *   and its bytes, the rest equal. A kv put's result holds its version twice, so two runs of a
 *   byte or two, where layout 3 carried the ~17 bytes between them (docs/decisions.md "The
 *   durable write path: result runs").
 *
 * Only a record whose numbers are all non-negative safe integers (origins shifted by one) and
 * whose window rises to at most `chosen` fits (`encodeCompactLayout` answers undefined for any
 * other); every record the core makes does. The reader bounds every count, length and
 * varint: a damaged body throws, never loops.
 */
import { assert } from '../../runtime/assert';
import { keptBytes, keptCopyOf } from '../../runtime/kept-bytes';
import type { KeyRecord, RequestEntry } from './core/types';
import type { RecentColumns } from './core/recent-window';
import {
  columnsOf,
  instanceAt,
  originAt,
  resultAt,
  seqAt,
  windowLength,
} from './core/recent-window';
import type { DigestFieldsOut } from './record-port';

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

const TWO_POW_31 = 2 ** 31;
/** A difference that fits the signed varint (|d| ≤ 2^51). */
const DELTA_MAX = 2 ** 51;
/** Room for an entry's numbers: gap, origin, seq (signed) and a result's two lengths. */
const ENTRY_NUMBERS_BYTES_MAX = 5 * VARINT_BYTES_MAX;

/** Equal bytes a run carries rather than end there (a new run's header costs two bytes). */
const RUN_GAP_MAX = 2;
/** A span of differing bytes up to this long is written whole, never looked at for runs. */
const RUNS_SPAN_MIN = 5;
/** Results longer than this are written as a span, never as runs (see `result`). */
const RUNS_RESULT_MAX = 120;

/** Flags of the compact layout. */
const HAS_DATA = 1;
const HAS_ACCEPTED = 2;
/** The chosen value's id is the newest recent entry's (a key's usual state): not written twice. */
const CHOSEN_IS_NEWEST = 4;
const FLAGS_ALL = 7;

/** A signed difference from its varint (as CompactWriter.signedDelta writes d: 2d, or −2d − 1). */
function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/**
 * The encoder: a growable scratch buffer reused by every encode (one per thread, no
 * re-entrance), its position and its verdict in an object's fields rather than module
 * variables, which every use would reach through the module's context with a hole check.
 */
class CompactWriter {
  buf = new Uint8Array(4096);
  pos = 0;
  /**
   * Cleared by a number this layout cannot hold (negative, fractional, past 2^53, a window out
   * of order): the encode is then abandoned and its user keeps the plain layout. Checked while
   * writing: no separate pass of checks.
   */
  fits = true;
  /** What `touch` read, kept so that the compiler cannot drop its loads. */
  touched = 0;

  /** Room for `n` more bytes: callers reserve for a group of fields, then write unchecked. */
  need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Clears `fits` unless `n` is a non-negative safe integer. */
  check(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) this.fits = false;
  }

  /** A non-negative safe integer, 7 bits a byte, low first (room reserved by the caller). */
  varint(n: number): void {
    const buf = this.buf;
    // Most numbers of a record (gaps, origins, lengths, flags) take one byte; `& 0x7f` is n
    // itself only for the integers 0..127.
    if ((n & 0x7f) === n) {
      buf[this.pos++] = n;
      return;
    }
    this.check(n);
    if (!this.fits) return; // abandoned: and a loop below would not end on Infinity
    let v = n;
    let at = this.pos;
    for (; v >= TWO_POW_31; v = Math.floor(v / 0x80)) buf[at++] = (v % 0x80) | 0x80;
    for (; v >= 0x80; v >>>= 7) buf[at++] = (v & 0x7f) | 0x80;
    buf[at++] = v;
    this.pos = at;
  }

  signedDelta(d: number): void {
    if (!(d >= -DELTA_MAX && d <= DELTA_MAX)) this.fits = false;
    this.varint(d >= 0 ? d * 2 : -d * 2 - 1);
  }

  /** Copies bytes in (room reserved by the caller); a short one byte by byte, past a call. */
  raw(b: Uint8Array): void {
    const n = b.length;
    const buf = this.buf;
    const at = this.pos;
    if (n <= 32) for (let i = 0; i < n; i++) buf[at + i] = b[i] as number;
    else buf.set(b, at);
    this.pos = at + n;
  }

  bytes(b: Uint8Array): void {
    this.need(VARINT_BYTES_MAX + b.length);
    this.varint(b.length);
    this.raw(b);
  }

  /**
   * A result as a difference from the previous entry's (results of one key look alike: a kv
   * write answers status, version and value, of which a later write changes a few bytes): 0
   * then the whole result, or the span from the first differing byte to the last (layout 3's
   * form), or, when that span holds equal bytes enough to pay for run headers, its runs (layout
   * 4, above). Runs are tried only for a span of more than RUNS_SPAN_MIN bytes in a result of at
   * most RUNS_RESULT_MAX (every count then takes one byte): written in one pass, and replaced by
   * the span when they come out no shorter. So a result that differs in one place costs what
   * layout 3's did.
   */
  result(previous: Uint8Array | undefined, r: Uint8Array): void {
    const n = r.length;
    if (previous === undefined || previous.length !== n) {
      this.need(1);
      this.varint(0);
      return this.bytes(r);
    }
    let prefix = 0;
    while (prefix < n && r[prefix] === previous[prefix]) prefix++;
    let suffix = 0;
    while (suffix < n - prefix && r[n - 1 - suffix] === previous[n - 1 - suffix]) suffix++;
    const to = n - suffix;
    if (to - prefix <= RUNS_SPAN_MIN || n > RUNS_RESULT_MAX) return this.span(r, prefix, to);
    // Runs, one pass: a mode byte, then per run its skip, its length (each < 128) and bytes.
    this.need(1 + 3 * (to - prefix));
    const buf = this.buf;
    const modeAt = this.pos;
    let at = modeAt + 1;
    let runs = 0;
    let end = 0;
    for (let start = prefix; start < to;) {
      let last = start;
      for (let k = start + 1; k < to && k - last <= RUN_GAP_MAX + 1; k++)
        if (r[k] !== previous[k]) last = k;
      buf[at++] = start - end;
      buf[at++] = last + 1 - start;
      for (let i = start; i <= last; i++) buf[at++] = r[i] as number;
      runs += 1;
      end = last + 1;
      start = end;
      while (start < to && r[start] === previous[start]) start++;
    }
    // The span's size: its mode, its suffix (both < 128 here) and its bytes.
    if (at - modeAt >= 2 + (to - prefix)) {
      this.pos = modeAt;
      return this.span(r, prefix, to);
    }
    if (!(runs >= 2 && 2 + 2 * runs < 0x80)) assert(false, `compact result of ${runs} runs`);
    buf[modeAt] = 2 + 2 * runs;
    this.pos = at;
  }

  /** The result as the prefix it shares before `from`, the suffix after `to`, and the rest. */
  span(r: Uint8Array, from: number, to: number): void {
    const n = r.length;
    this.need(2 * VARINT_BYTES_MAX + (to - from));
    this.varint(1 + 2 * from);
    this.varint(n - to);
    const buf = this.buf;
    let at = this.pos;
    for (let i = from; i < to; i++) buf[at++] = r[i] as number;
    this.pos = at;
  }

  /**
   * The recent window: the first entry's instance as its distance below `chosen`, the later
   * ones' as the gap after the previous one (consecutive instances: 0); seqs after the first as
   * signed differences from the previous entry's; results as differences (`result`). Instances
   * must rise and none pass `chosen`, else the record does not fit.
   */
  recent(rec: KeyRecord): void {
    const n = windowLength(rec);
    this.need(VARINT_BYTES_MAX);
    this.varint(n);
    for (let i = 0; i < n; i++) {
      const instance = instanceAt(rec, i);
      const origin = originAt(rec, i);
      const seq = seqAt(rec, i);
      this.need(ENTRY_NUMBERS_BYTES_MAX);
      this.check(instance);
      if (!(instance <= rec.chosen)) this.fits = false;
      if (i === 0) {
        this.varint(rec.chosen - instance);
        this.varint(origin);
        this.varint(seq);
      } else {
        const previousInstance = instanceAt(rec, i - 1);
        if (!(instance > previousInstance)) this.fits = false;
        this.varint(instance - previousInstance - 1);
        this.varint(origin);
        this.check(seq);
        this.signedDelta(seq - seqAt(rec, i - 1));
      }
      this.result(i === 0 ? undefined : resultAt(rec, i - 1), resultAt(rec, i));
    }
  }

  /** A string as its UTF-8 length and bytes; an ASCII one (request ids) without an encoder. */
  str(s: string): void {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (!ascii) return this.bytes(utf8.encode(s));
    this.need(VARINT_BYTES_MAX + n);
    this.varint(n);
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.pos = at + n;
  }

  requests(rec: KeyRecord): void {
    this.need(VARINT_BYTES_MAX);
    this.varint(rec.requests.length);
    let previous: Uint8Array | undefined;
    for (const e of rec.requests) {
      this.str(e.id);
      this.result(previous, e.result);
      previous = e.result;
    }
  }

  /**
   * Reads every object the encode will read, in a loop short enough that the processor has
   * many of their cache misses in flight at once (a key's record is cold: its window entries,
   * their seqs and results are scattered over the heap). The encode's loops do more work per
   * object and would take the misses nearly one at a time: measured ~1 us more per record
   * (bench/README.md "Persisted records in the compact layout").
   */
  touch(rec: KeyRecord): void {
    const results = rec.recentResults;
    const ids = rec.recentIds;
    const data = rec.data;
    // The data's bytes and the ids' backing store are cold too (`raw` and `chosenIsNewest`
    // took their misses one at a time after the loop): their first and last bytes, 100 B of
    // data or 48 ids spanning a few cache lines.
    let touched = (ids[0] ?? 0) + (ids[ids.length - 1] ?? 0) + (rec.accepted?.op.length ?? 0);
    if (data !== null) touched += (data[0] ?? 0) + (data[data.length - 1] ?? 0);
    for (let i = 0; i < results.length; i++) {
      const result = results[i] as Uint8Array;
      touched += result.length + (result[0] ?? 0);
    }
    this.touched = touched;
  }

  body(rec: KeyRecord): void {
    this.touch(rec);
    // The fixed fields: chosen, flags, chosen id, version, promised, acceptedBallot.
    this.need(8 * VARINT_BYTES_MAX);
    this.varint(rec.chosen);
    const newest = chosenIsNewest(rec);
    this.varint(
      (rec.data !== null ? HAS_DATA : 0) |
        (rec.accepted !== null ? HAS_ACCEPTED : 0) |
        (newest ? CHOSEN_IS_NEWEST : 0),
    );
    if (!newest) {
      this.varint(rec.chosenOrigin + 1);
      this.varint(rec.chosenSeq);
    }
    if (rec.data !== null) this.bytes(rec.data);
    this.need(5 * VARINT_BYTES_MAX);
    this.varint(rec.version);
    this.varint(rec.promised);
    this.varint(rec.acceptedBallot);
    if (rec.accepted !== null) {
      this.varint(rec.accepted.origin);
      this.varint(rec.accepted.seq);
      this.bytes(rec.accepted.op);
    }
    this.recent(rec);
    this.requests(rec);
  }
}

function chosenIsNewest(rec: KeyRecord): boolean {
  const newest = windowLength(rec) - 1;
  return (
    newest >= 0 &&
    instanceAt(rec, newest) === rec.chosen &&
    originAt(rec, newest) === rec.chosenOrigin &&
    seqAt(rec, newest) === rec.chosenSeq
  );
}

const writer = new CompactWriter();

/**
 * `prefix` then the compact body of `rec`: a view of a scratch buffer that the next encode, by
 * either user, reuses (the caller copies it first), or undefined when a number of the record
 * does not fit the layout (none the core makes). The prefix lets a caller leave room for a
 * header and a layout byte, so the record is copied once, from here to where it lives.
 */
export function encodeCompactLayout(prefix: Uint8Array, rec: KeyRecord): Uint8Array | undefined {
  const w = writer;
  w.pos = 0;
  w.fits = true;
  w.need(prefix.length);
  w.raw(prefix);
  w.body(rec);
  if (!w.fits) return undefined;
  if (!(w.pos > prefix.length && w.pos <= w.buf.length))
    assert(false, `compact record of ${w.pos} bytes`);
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos);
}

/** Reads a body; every failure on damaged bytes is an AssertionError with the reason. */
class CompactReader {
  constructor(
    private readonly buf: Uint8Array,
    private at: number,
    /** Results differ in runs (layout 4), not as prefix, suffix and middle (layout 3). */
    private readonly runs: boolean,
  ) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX + 1; i++) {
      const b = this.buf[this.at++];
      if (b === undefined) assert(false, 'compact record ends inside a varint');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    assert(false, 'compact record varint too long');
  }

  /**
   * A copy (never a view of the arena slab, which a later set or delete may rewrite, nor of a
   * buffer read from disk), from a kept slab (kept-bytes.ts): the decoded record is the key's.
   */
  bytes(): Uint8Array {
    const n = this.varint();
    if (!(this.at + n <= this.buf.length))
      assert(false, `compact record field of ${n} bytes past its end`);
    const out = keptCopyOf(this.buf, this.at, this.at + n);
    this.at += n;
    return out;
  }

  signedDelta(): number {
    return unzigzag(this.varint());
  }

  /** A result written by `result` (a new array, never shared with `previous`). */
  result(previous: Uint8Array | undefined): Uint8Array {
    const mode = this.varint();
    if (mode === 0) return this.bytes();
    if (previous === undefined) assert(false, 'compact record result differs from no previous');
    // Layout 4: odd modes are layout 3's form with the prefix doubled, even ones runs.
    if (this.runs && mode % 2 === 0) return this.resultRuns(previous, (mode - 2) / 2);
    const prefix = this.runs ? (mode - 1) / 2 : mode - 1;
    const suffix = this.varint();
    const n = previous.length;
    if (!(prefix + suffix <= n)) assert(false, `compact result of ${prefix} + ${suffix} of ${n}`);
    const middle = n - prefix - suffix;
    if (!(this.at + middle <= this.buf.length)) assert(false, 'compact result past the end');
    // Byte by byte, never through subarray(): a result of up to 64 bytes lives on V8's heap,
    // and a view of one moves its bytes off the heap into an ArrayBuffer of their own (~1 us
    // each, and the result then costs a buffer more for as long as the key keeps it).
    const out = keptBytes(n);
    const buf = this.buf;
    const at = this.at;
    for (let i = 0; i < prefix; i++) out[i] = previous[i] as number;
    for (let i = 0; i < middle; i++) out[prefix + i] = buf[at + i] as number;
    for (let i = n - suffix; i < n; i++) out[i] = previous[i] as number;
    this.at = at + middle;
    return out;
  }

  /** `runs` runs of bytes that differ from `previous` (none: equal), the rest equal (layout 4). */
  private resultRuns(previous: Uint8Array, runs: number): Uint8Array {
    const n = previous.length;
    if (!(runs <= n)) assert(false, `compact result of ${runs} runs of ${n} bytes`);
    // Byte loops, never subarray(): see above.
    const out = keptBytes(n);
    const buf = this.buf;
    let end = 0;
    for (let k = 0; k < runs; k++) {
      const skip = this.varint();
      const length = this.varint();
      if (!(length >= 1 && end + skip + length <= n))
        assert(false, `compact result run of ${skip} + ${length} at ${end} of ${n}`);
      if (!(this.at + length <= buf.length)) assert(false, 'compact result run past the end');
      for (let i = end; i < end + skip; i++) out[i] = previous[i] as number;
      end += skip;
      const at = this.at;
      for (let i = 0; i < length; i++) out[end + i] = buf[at + i] as number;
      end += length;
      this.at = at + length;
    }
    for (let i = end; i < n; i++) out[i] = previous[i] as number;
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }
}

function readRecent(r: CompactReader, chosen: number): RecentColumns {
  const recentIds: number[] = [];
  const recentResults: Uint8Array[] = [];
  const n = r.varint();
  if (!(n <= RECENT_ENTRIES_MAX)) assert(false, `compact record with ${n} recent entries`);
  let instance = 0;
  let seq = 0;
  let result: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const gap = r.varint();
    instance = i === 0 ? chosen - gap : instance + 1 + gap;
    const origin = r.varint();
    seq = i === 0 ? r.varint() : seq + r.signedDelta();
    result = r.result(result);
    recentIds.push(instance, origin, seq);
    recentResults.push(result);
  }
  return columnsOf(recentIds, recentResults);
}

function readRequests(r: CompactReader): RequestEntry[] {
  const requests: RequestEntry[] = [];
  const m = r.varint();
  if (!(m <= REQUEST_ENTRIES_MAX)) assert(false, `compact record with ${m} request entries`);
  let previous: Uint8Array | undefined;
  for (let i = 0; i < m; i++) {
    const id = utf8Decoder.decode(r.bytes());
    const entry = { id, result: r.result(previous) };
    requests.push(entry);
    previous = entry.result;
  }
  return requests;
}

function readBody(r: CompactReader): KeyRecord {
  const chosen = r.varint();
  const flags = r.varint();
  if (!(flags <= FLAGS_ALL)) assert(false, `compact record flags ${flags}`);
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
    const newest = windowLength(recent) - 1;
    if (newest < 0) assert(false, 'compact record names a newest entry it lacks');
    chosenOrigin = originAt(recent, newest);
    chosenSeq = seqAt(recent, newest);
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
    recentIds: recent.recentIds,
    recentResults: recent.recentResults,
    requests,
  };
}

/**
 * The record of the body at `bytes[from..]`, which must end exactly at the end of `bytes`
 * (every field a copy, never a view). `runs`: results in runs (layout 4), else layout 3's.
 * Throws an AssertionError on damaged bytes.
 */
export function decodeCompactLayout(bytes: Uint8Array, from: number, runs: boolean): KeyRecord {
  if (!(from >= 0 && from <= bytes.length)) assert(false, `compact body at ${from}`);
  const r = new CompactReader(bytes, from, runs);
  const rec = readBody(r);
  if (r.remaining !== 0) assert(false, `compact record has ${r.remaining} trailing bytes`);
  return rec;
}

/** Where the in-place reader stands (one thread, no re-entrance: no object per record). */
let readAt = 0;

function readVarintAt(b: Uint8Array): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_BYTES_MAX + 1; i++) {
    const byte = b[readAt++];
    if (byte === undefined) assert(false, 'compact record ends inside a varint');
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return n;
    scale *= 0x80;
  }
  assert(false, 'compact record varint too long');
}

/** Skips a length-prefixed field; returns its length. */
function skipBytesAt(b: Uint8Array): number {
  const n = readVarintAt(b);
  if (!(readAt + n <= b.length)) assert(false, `compact record field of ${n} bytes past its end`);
  readAt += n;
  return n;
}

/** Skips a result written by `result`; returns its length (the previous one's when shared). */
function skipResultAt(b: Uint8Array, previousLength: number, runs: boolean): number {
  const mode = readVarintAt(b);
  if (mode === 0) return skipBytesAt(b);
  if (runs && mode % 2 === 0) return skipRunsAt(b, previousLength, (mode - 2) / 2);
  const prefix = runs ? (mode - 1) / 2 : mode - 1;
  const suffix = readVarintAt(b);
  const middle = previousLength - prefix - suffix;
  if (!(middle >= 0 && readAt + middle <= b.length)) assert(false, `compact middle ${middle}`);
  readAt += middle;
  return previousLength;
}

/** Skips a result's runs (layout 4); returns its length, the previous one's. */
function skipRunsAt(b: Uint8Array, previousLength: number, runs: number): number {
  if (!(runs <= previousLength)) assert(false, `compact result of ${runs} runs`);
  let end = 0;
  for (let k = 0; k < runs; k++) {
    const skip = readVarintAt(b);
    const length = readVarintAt(b);
    end += skip + length;
    if (!(length >= 1 && end <= previousLength && readAt + length <= b.length))
      assert(false, `compact result run of ${length} bytes past its end`);
    readAt += length;
  }
  return previousLength;
}

/** The newest recent entry's origin and seq (walking the window without building it). */
function newestIdAt(b: Uint8Array, out: DigestFieldsOut, runs: boolean): void {
  const n = readVarintAt(b);
  if (!(n >= 1 && n <= RECENT_ENTRIES_MAX)) assert(false, `compact record with ${n} entries`);
  let seq = 0;
  let resultLength = -1;
  for (let i = 0; i < n; i++) {
    readVarintAt(b); // instance gap
    out.chosenOrigin = readVarintAt(b);
    if (i === 0) seq = readVarintAt(b);
    else {
      const z = readVarintAt(b);
      seq += unzigzag(z);
    }
    resultLength = skipResultAt(b, resultLength, runs);
  }
  out.chosenSeq = seq;
}

/**
 * The digest's fields of the body at `bytes[from..]`, read in place: no record is built and
 * `data` is a view of `bytes` (the digest scan hashes it at once, from a snapshot nobody
 * changes). `runs` as for decodeCompactLayout.
 */
export function readDigestFieldsAt(
  bytes: Uint8Array,
  from: number,
  out: DigestFieldsOut,
  runs: boolean,
): void {
  readAt = from;
  out.chosen = readVarintAt(bytes);
  const flags = readVarintAt(bytes);
  if (!(flags <= FLAGS_ALL)) assert(false, `compact record flags ${flags}`);
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
  if (!newest) return;
  readVarintAt(bytes); // promised
  readVarintAt(bytes); // acceptedBallot
  if ((flags & HAS_ACCEPTED) !== 0) {
    readVarintAt(bytes);
    readVarintAt(bytes);
    skipBytesAt(bytes);
  }
  newestIdAt(bytes, out, runs);
}
