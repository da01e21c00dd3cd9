/**
 * Frames: the unit the wire layer moves. Little-endian:
 *
 *   [u32 bodyLength][u32 crc32(body)][body]      body = [u8 type][payload bytes]
 *
 * `bodyLength` counts the type byte, so it is at least 1. The checksum is CRC-32 (IEEE, zlib's)
 * over the body; see docs/decisions.md "The wire layer" for why not CRC-32C.
 *
 * The decoder is incremental: push socket chunks, pull complete frames. A frame that lies in one
 * chunk comes out as a view into that chunk (no copy); a frame that spans chunks is copied once
 * into a buffer of exactly its size, so the cost is linear in the bytes received however the
 * stream is split. A length over the maximum is rejected from the 8-byte header, before any
 * buffer for the body is allocated or waited for.
 */
import * as zlib from 'node:zlib';
import { assert } from '../runtime/assert';
import { NetError } from './errors';

export const FRAME_HEADER_BYTES = 8;
/** Default bound of one frame's body (type byte and payload). */
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Bound of a frame before authentication completes: handshake messages are small. */
export const HANDSHAKE_FRAME_BYTES_MAX = 1024;
/** Hard upper bound of the option (a u32 length, and what one Buffer may sensibly hold). */
export const FRAME_BYTES_MAX_LIMIT = 1024 * 1024 * 1024;

/**
 * Frame types below APP_FRAME_TYPE_MIN belong to the wire layer itself (handshake, heartbeat);
 * the application uses APP_FRAME_TYPE_MIN..255 and never sees the others.
 */
export const NetFrameType = {
  HELLO: 1,
  AUTH: 2,
  WELCOME: 3,
  FAILURE: 4,
  PING: 5,
  PONG: 6,
} as const;
export type NetFrameType = (typeof NetFrameType)[keyof typeof NetFrameType];
export const APP_FRAME_TYPE_MIN = 16;

/** A payload is one byte array or the parts of one, written back to back. */
export type Payload = Uint8Array | readonly Uint8Array[];

export interface Frame {
  readonly type: number;
  /** A view; it may share memory with other frames of the same socket chunk. */
  readonly payload: Buffer;
}

export function payloadBytes(payload: Payload): number {
  if (payload instanceof Uint8Array) return payload.length;
  let total = 0;
  for (const part of payload) total += part.length;
  return total;
}

/** Bytes a frame with `payloadLength` bytes of payload takes on the wire. */
export function frameBytes(payloadLength: number): number {
  return FRAME_HEADER_BYTES + 1 + payloadLength;
}

/**
 * Writes one frame at `offset` of `target` and returns the offset after it. `target` must have
 * room for `frameBytes(payloadBytes(payload))` bytes (a programmer error otherwise).
 */
export function encodeFrameInto(
  target: Buffer,
  offset: number,
  type: number,
  payload: Payload,
): number {
  const length = payloadBytes(payload);
  assert(
    offset >= 0 && offset + frameBytes(length) <= target.length,
    () => `frame of ${length} at ${offset} in ${target.length}`,
  );
  const payloadAt = offset + FRAME_HEADER_BYTES + 1;
  if (payload instanceof Uint8Array) {
    target.set(payload, payloadAt);
  } else {
    let at = payloadAt;
    for (const part of payload) {
      target.set(part, at);
      at += part.length;
    }
  }
  return sealFrameAt(target, offset, type, length);
}

/**
 * Completes a frame whose payload of `payloadLength` bytes is already in place at
 * `offset + frameBytes(0)`: writes the type, the length and the checksum. Returns the offset
 * after the frame. Lets a caller build a payload in place (packed messages) with no copy.
 */
export function sealFrameAt(
  target: Buffer,
  offset: number,
  type: number,
  payloadLength: number,
): number {
  assert(Number.isInteger(type) && type >= 0 && type <= 0xff, () => `frame type ${type}`);
  const end = offset + frameBytes(payloadLength);
  assert(
    offset >= 0 && end <= target.length,
    () => `frame of ${payloadLength} at ${offset} in ${target.length}`,
  );
  const bodyStart = offset + FRAME_HEADER_BYTES;
  target[bodyStart] = type;
  target.writeUInt32LE(payloadLength + 1, offset);
  target.writeUInt32LE(zlib.crc32(target.subarray(bodyStart, end)), offset + 4);
  return end;
}

/** One frame in a Buffer of its own. */
export function encodeFrame(type: number, payload: Payload): Buffer {
  const out = Buffer.allocUnsafe(frameBytes(payloadBytes(payload)));
  const end = encodeFrameInto(out, 0, type, payload);
  assert(end === out.length, () => `encoded ${end} of ${out.length}`);
  return out;
}

export function checkFrameBytesMax(max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > FRAME_BYTES_MAX_LIMIT) {
    throw new NetError(
      'INVALID_OPTIONS',
      `frameBytesMax ${max} outside 1..${FRAME_BYTES_MAX_LIMIT}`,
    );
  }
}

/**
 * The incremental decoder. `push` appends a chunk (kept by reference, not copied); `next`
 * returns the next complete frame, `undefined` when more bytes are needed, or throws a NetError
 * (`FRAME_TOO_LARGE`, `FRAME_CRC`, `FRAME_MALFORMED`). After an error the decoder is poisoned:
 * every later call throws the same error, since the stream has lost its framing.
 */
export class FrameDecoder {
  private frameBytesMax: number;
  /** Pushed chunks; those before `chunkHead` are consumed (dropped in batches, not by shift). */
  private chunks: Buffer[] = [];
  private chunkHead = 0;
  /** Bytes of chunks[chunkHead] already consumed. */
  private headOffset = 0;
  private buffered = 0;
  /** Body length of the frame whose header was read, or -1. */
  private bodyLength = -1;
  private bodyCrc = 0;
  private failure: NetError | undefined;
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);

  constructor(frameBytesMax: number = FRAME_BYTES_MAX_DEFAULT) {
    checkFrameBytesMax(frameBytesMax);
    this.frameBytesMax = frameBytesMax;
  }

  /** Raises or lowers the bound, e.g. from the handshake's to the connection's. */
  setFrameBytesMax(max: number): void {
    checkFrameBytesMax(max);
    this.frameBytesMax = max;
  }

  /** Bytes pushed and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): Frame | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.decodeNext();
    } catch (error) {
      if (error instanceof NetError) this.failure = error;
      throw error;
    }
  }

  private decodeNext(): Frame | undefined {
    if (this.bodyLength < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const header = this.take(FRAME_HEADER_BYTES, this.header);
      const length = header.readUInt32LE(0);
      const crc = header.readUInt32LE(4);
      if (length === 0) throw new NetError('FRAME_MALFORMED', 'empty frame body');
      if (length > this.frameBytesMax) {
        throw new NetError(
          'FRAME_TOO_LARGE',
          `frame body of ${length} bytes > max ${this.frameBytesMax}`,
        );
      }
      this.bodyLength = length;
      this.bodyCrc = crc;
    }
    if (this.buffered < this.bodyLength) return undefined;
    const body = this.take(this.bodyLength, undefined);
    assert(body.length === this.bodyLength, () => `body ${body.length} != ${this.bodyLength}`);
    this.bodyLength = -1;
    if (zlib.crc32(body) !== this.bodyCrc)
      throw new NetError('FRAME_CRC', `crc mismatch on ${body.length} bytes`);
    return { type: body[0] ?? 0, payload: body.subarray(1) };
  }

  /**
   * Removes `n` buffered bytes from the front: a view when they lie in the first chunk, else a
   * copy into `into` (or a new buffer of exactly `n` bytes).
   */
  private take(n: number, into: Buffer | undefined): Buffer {
    assert(n > 0 && n <= this.buffered, () => `take ${n} of ${this.buffered}`);
    const first = this.chunks[this.chunkHead];
    assert(first !== undefined, 'buffered bytes without a chunk');
    this.buffered -= n;
    if (first.length - this.headOffset >= n) {
      const view = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === first.length) this.dropHead();
      return view;
    }
    const out = into ?? Buffer.allocUnsafe(n);
    let copied = 0;
    // Bounded by the chunk count: every turn consumes at least one byte of a chunk.
    while (copied < n) {
      const chunk = this.chunks[this.chunkHead];
      assert(chunk !== undefined, () => `ran out of chunks at ${copied} of ${n}`);
      const count = Math.min(n - copied, chunk.length - this.headOffset);
      chunk.copy(out, copied, this.headOffset, this.headOffset + count);
      copied += count;
      this.headOffset += count;
      if (this.headOffset === chunk.length) this.dropHead();
    }
    return out;
  }

  private dropHead(): void {
    this.chunkHead += 1;
    this.headOffset = 0;
    // Drop consumed chunks in batches so that many tiny chunks cost linear time, not quadratic.
    if (this.chunkHead === this.chunks.length) {
      this.chunks = [];
      this.chunkHead = 0;
    } else if (this.chunkHead >= 64 && this.chunkHead * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.chunkHead);
      this.chunkHead = 0;
    }
  }
}
