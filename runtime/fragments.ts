/**
 * Messages larger than one ring record travel as fragments. A ring record holds at most half a
 * ring, but a message (a 20 MiB table read, a catch-up of a large record) may be bigger.
 *
 * A fragment is a framed record whose first word is FRAGMENT_MARK (never an actor address).
 * The first fragment's payload starts with [u32 from][u32 to][u32 total bytes]; the rest carry
 * raw continuation bytes. The sender writes all fragments of a message in one call to one
 * outbox, and a ring (and its overflow queue) keeps order, so a reader reassembles per inbound
 * ring: fragments of one message are never interleaved with other records of that ring.
 */
import { assert } from './assert';

/** Reserved first header word of a fragment record. */
export const FRAGMENT_MARK = 0xffff_ffff;
/** Largest message the mailboxes carry, fragmented or not. */
export const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
const FIRST_HEADER_BYTES = 12;

/** Calls `emit(word0, word1, chunk)` for each fragment of a message. */
export function fragment(
  from: number,
  to: number,
  payload: Uint8Array,
  recordPayloadMax: number,
  emit: (word0: number, word1: number, chunk: Uint8Array) => void,
): number {
  assert(payload.byteLength <= MESSAGE_BYTES_MAX, () => `message of ${payload.byteLength} bytes`);
  assert(recordPayloadMax > FIRST_HEADER_BYTES, () => `record payload max ${recordPayloadMax}`);
  const firstData = recordPayloadMax - FIRST_HEADER_BYTES;
  const first = new Uint8Array(FIRST_HEADER_BYTES + Math.min(firstData, payload.byteLength));
  const view = new DataView(first.buffer);
  view.setUint32(0, from, true);
  view.setUint32(4, to, true);
  view.setUint32(8, payload.byteLength, true);
  first.set(payload.subarray(0, firstData), FIRST_HEADER_BYTES);
  emit(FRAGMENT_MARK, 0, first);
  let count = 1;
  for (let at = firstData; at < payload.byteLength; at += recordPayloadMax) {
    emit(
      FRAGMENT_MARK,
      1,
      payload.subarray(at, Math.min(payload.byteLength, at + recordPayloadMax)),
    );
    count += 1;
  }
  return count;
}

/** Reassembles the fragments of one inbound ring. */
export class Reassembler {
  private buffer: Uint8Array | null = null;
  private filled = 0;
  private from = 0;
  private to = 0;
  /** Continuation fragments dropped while resynchronising (see `resync`). */
  dropped = 0;

  /**
   * `resync`: the reader is a respawned worker whose dead predecessor may have consumed the
   * first fragments of a message: continuation fragments are dropped until a first one comes.
   */
  constructor(private resync = false) {}

  /** Forgets a partial message (its producer died; its successor starts a new one). */
  reset(): void {
    this.buffer = null;
    this.filled = 0;
  }

  /** Feeds one fragment; calls `deliver` once the message is whole. */
  accept(
    word1: number,
    chunk: Uint8Array,
    deliver: (from: number, to: number, payload: Uint8Array) => void,
  ): void {
    if (word1 !== 0 && this.resync && this.buffer === null) {
      this.dropped++;
      return;
    }
    if (word1 === 0) {
      this.resync = false;
      assert(this.buffer === null, 'a new fragmented message began before the last one ended');
      assert(
        chunk.byteLength >= FIRST_HEADER_BYTES,
        () => `first fragment of ${chunk.byteLength} bytes`,
      );
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.from = view.getUint32(0, true);
      this.to = view.getUint32(4, true);
      const total = view.getUint32(8, true);
      assert(total <= MESSAGE_BYTES_MAX, () => `fragmented message of ${total} bytes`);
      this.buffer = new Uint8Array(total);
      this.filled = 0;
      this.append(chunk.subarray(FIRST_HEADER_BYTES));
    } else {
      assert(this.buffer !== null, 'a continuation fragment without a first one');
      this.append(chunk);
    }
    const whole = this.buffer;
    if (whole !== null && this.filled === whole.byteLength) {
      this.buffer = null;
      deliver(this.from, this.to, whole);
    }
  }

  private append(bytes: Uint8Array): void {
    const buffer = this.buffer;
    assert(
      buffer !== null && this.filled + bytes.byteLength <= buffer.byteLength,
      'fragment overruns its message',
    );
    buffer.set(bytes, this.filled);
    this.filled += bytes.byteLength;
  }
}
