/**
 * A small growable binary writer and a bounds-checked reader: the building blocks of every
 * message and record layout. Little-endian; numbers are f64 unless a field is known small.
 */
import { assert } from './assert';
import { Buffer } from 'node:buffer';
import { keptCopyOf } from './kept-bytes';
import { transientCopyOf } from './transient-bytes';

const encoder = new TextEncoder();

/** Bytes [from, to) of `b` in a buffer of their own. */
function ownCopyOf(b: Uint8Array, from: number, to: number): Uint8Array {
  return b.slice(from, to);
}
/** Strings up to this many units take the ASCII fast path when written (keys are short). */
const SHORT_STRING_MAX = 32;

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialBytes = 256) {
    assert(initialBytes > 0, 'writer needs room');
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n;
  }

  u32(n: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, n, true);
    this.pos += 4;
  }

  f64(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  /** Bytes without a length prefix. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  str(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.ensure(4 + s.length * 3);
    const at = this.pos + 4;
    // Short ASCII strings (keys) byte by byte: cheaper than a TextEncoder call and its subarray.
    if (s.length <= SHORT_STRING_MAX) {
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[at + i] = c;
      }
      if (i === s.length) {
        this.view.setUint32(this.pos, i, true);
        this.pos = at + i;
        return;
      }
    }
    const { written } = encoder.encodeInto(s, this.buf.subarray(at));
    this.view.setUint32(this.pos, written, true);
    this.pos = at + written;
  }

  /**
   * `str(head + tail)`, the same bytes, without making that string: a concatenation of more
   * than 12 characters is a rope (a V8 cons string) that its first character access copies
   * into a flat string of its own. A replicated key is a namespace prefix and the caller's key
   * (issue 10: that copy was ~50 ns of each request on the client thread).
   */
  str2(head: string, tail: string): void {
    const length = head.length + tail.length;
    if (length > SHORT_STRING_MAX || !this.asciiAt(this.pos + 4, head, tail)) {
      this.str(head + tail);
      return;
    }
    this.view.setUint32(this.pos, length, true);
    this.pos += 4 + length;
  }

  /** Writes `head` then `tail` at `at` if both are ASCII (true); room for both is ensured. */
  private asciiAt(at: number, head: string, tail: string): boolean {
    this.ensure(4 + head.length + tail.length);
    const buf = this.buf;
    for (let i = 0; i < head.length; i++) {
      const c = head.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    at += head.length;
    for (let i = 0; i < tail.length; i++) {
      const c = tail.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /** Writes a u32 at an earlier offset (a count known only at the end). */
  patchU32(offset: number, n: number): void {
    if (!(offset + 4 <= this.pos)) assert(false, `patch at ${offset} beyond ${this.pos}`);
    this.view.setUint32(offset, n, true);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /**
   * A view of the bytes written so far, no copy: valid only until the writer is next written
   * to or reset. For a payload handed to something that copies it at once (ActorHost.send and
   * the runtime's send copy into a ring or queue), so a reused writer costs no allocation.
   */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}

export class ByteReader {
  private readonly view: DataView;
  private pos = 0;
  /** The same bytes as a Buffer, made at the first `str()`: strings decode from a range of it. */
  private text: Buffer | undefined = undefined;

  /**
   * `owned`: the buffer is the caller's private copy, never reused or changed, so `bytes()`
   * may hand out views of it instead of copies (one allocation per payload, not per field).
   * A view keeps the whole buffer alive: fields kept for long (a record's data) use bytesCopy.
   */
  constructor(
    private readonly buf: Uint8Array,
    private readonly owned = false,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (!(this.pos + n <= this.buf.length))
      assert(false, `read of ${n} bytes at ${this.pos} past ${this.buf.length}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u32(): number {
    this.need(4);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  f64(): number {
    this.need(8);
    const n = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return n;
  }

  /**
   * A copy, so the caller may keep it after the source buffer is reused; a view when the
   * reader owns its buffer (see the constructor).
   */
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = this.owned
      ? this.buf.subarray(this.pos, this.pos + n)
      : this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Like `bytes()`, but a copy from a slab (transient-bytes.ts) when the buffer is borrowed:
   * for bytes the caller drops soon (a kv get's answer, copied into the caller's Buffer at
   * once), where a copy of its own would cost an off-heap ArrayBuffer past 64 bytes.
   */
  bytesTransient(): Uint8Array {
    return this.owned ? this.bytes() : this.copiedField(transientCopyOf);
  }

  /**
   * A view of the field in the reader's buffer, never a copy, owned or not: valid only while
   * that buffer is (a borrowed payload: during the read). For a caller that reads the bytes at
   * once and keeps nothing of them (the client's answer to a kv put or get, decoded where it is).
   */
  bytesBorrowed(): Uint8Array {
    const n = this.u32();
    this.need(n);
    // The constructor, not subarray: no species lookup (transient-bytes.ts).
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  /**
   * A copy a key keeps (a record's data state and results): small ones share a kept slab
   * (kept-bytes.ts), so the copy costs no ArrayBuffer of its own.
   */
  bytesKept(): Uint8Array {
    return this.copiedField(keptCopyOf);
  }

  /** Always a copy in a buffer of its own: for bytes kept long after the payload. */
  bytesCopy(): Uint8Array {
    return this.copiedField(ownCopyOf);
  }

  /** The next length-prefixed field, copied by `copyOf` (one of the three copies above). */
  private copiedField(copyOf: (b: Uint8Array, from: number, to: number) => Uint8Array): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = copyOf(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    // Decoded in place from a range of one Buffer over the payload: no view per string (a
    // typed array per key of every message was ~5 % of the data path's allocation; issue 10).
    // Not char by char: that builds cons strings the key map must flatten. Unlike TextDecoder
    // this keeps a leading U+FEFF (TextDecoder strips it as a byte order mark; no string we
    // write starts with one today: keys carry a namespace or model prefix); invalid bytes
    // become U+FFFD in both.
    this.text ??= Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const s = this.text.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    if (!(s.length <= n)) assert(false, `a string of ${s.length} units from ${n} bytes`);
    return s;
  }
}
