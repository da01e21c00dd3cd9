/**
 * Frames waiting to be written, encoded straight into a shared slab. One slab of `slabBytes`
 * carries many frames, so the hot path allocates one Buffer per slab (64 KiB of traffic), not
 * one per frame. `take()` hands the written part of the slab to the socket as a view and the
 * next frames go after it: bytes handed out are never written again, so a view the socket still
 * holds is never overwritten. A frame larger than a quarter of a slab gets a Buffer of its own.
 */
import { assert } from '../runtime/assert';
import { encodeFrameInto, frameBytes, payloadBytes, sealFrameAt } from './frame';
import type { Payload } from './frame';
import { packMessagesInto, packedBytes } from './pack';

export const SLAB_BYTES_DEFAULT = 64 * 1024;

export class SendBuffer {
  private slab: Buffer;
  /** Start of the bytes of the slab not yet handed out, and the end of the written bytes. */
  private slabStart = 0;
  private slabUsed = 0;
  private ready: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly slabBytes: number = SLAB_BYTES_DEFAULT) {
    assert(Number.isInteger(slabBytes) && slabBytes >= 64, () => `slab of ${slabBytes} bytes`);
    this.slab = Buffer.allocUnsafe(slabBytes);
  }

  /** Bytes appended and not yet taken. */
  get bytes(): number {
    return this.pendingBytes;
  }

  /** Appends one frame; returns its size on the wire. */
  appendFrame(type: number, payload: Payload): number {
    const size = frameBytes(payloadBytes(payload));
    const end = encodeFrameInto(this.reserve(size), this.slabUsed, type, payload);
    return this.commit(size, end);
  }

  /** Appends one frame whose payload is `messages` packed (`[u32 length][bytes]` each). */
  appendPacked(type: number, messages: readonly Uint8Array[]): number {
    const packed = packedBytes(messages);
    const size = frameBytes(packed);
    const target = this.reserve(size);
    const payloadAt = this.slabUsed + frameBytes(0);
    const packedEnd = packMessagesInto(target, payloadAt, messages);
    assert(
      packedEnd === payloadAt + packed,
      () => `packed to ${packedEnd}, expected ${payloadAt + packed}`,
    );
    const end = sealFrameAt(target, this.slabUsed, type, packed);
    return this.commit(size, end);
  }

  /** Everything appended since the last take, in order, as buffers for one (vectored) write. */
  take(): Buffer[] {
    this.seal();
    const out = this.ready;
    this.ready = [];
    this.pendingBytes = 0;
    return out;
  }

  /**
   * Makes room for a frame of `size` bytes at `slabUsed` and returns the buffer to write into.
   * An oversized frame gets a fresh buffer that then becomes the current "slab".
   */
  private reserve(size: number): Buffer {
    if (this.slab.length - this.slabUsed >= size && size <= this.slabBytes / 4) return this.slab;
    this.seal();
    this.slab = Buffer.allocUnsafe(Math.max(size, this.slabBytes));
    this.slabStart = 0;
    this.slabUsed = 0;
    return this.slab;
  }

  private commit(size: number, end: number): number {
    assert(
      end === this.slabUsed + size,
      () => `frame ended at ${end}, expected ${this.slabUsed + size}`,
    );
    this.slabUsed = end;
    this.pendingBytes += size;
    return size;
  }

  private seal(): void {
    if (this.slabUsed > this.slabStart)
      this.ready.push(this.slab.subarray(this.slabStart, this.slabUsed));
    this.slabStart = this.slabUsed;
  }
}
