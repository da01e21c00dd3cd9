/**
 * Many small messages in one frame payload: `[u32 length][bytes]` repeated, little-endian.
 * The node sends every message of one flush to one peer in one frame (docs/decisions.md), so the
 * per-frame costs (header, CRC call, write) are paid once per flush, not once per message.
 */
import { assert } from '../runtime/assert';
import { NetError } from './errors';

export const PACK_LENGTH_BYTES = 4;

/** Bytes that `messages` take once packed. */
export function packedBytes(messages: readonly Uint8Array[]): number {
  let total = 0;
  for (const m of messages) total += PACK_LENGTH_BYTES + m.length;
  return total;
}

/** Packs `messages` at `offset` of `target`; returns the offset after them. */
export function packMessagesInto(
  target: Buffer,
  offset: number,
  messages: readonly Uint8Array[],
): number {
  assert(
    offset >= 0 && offset + packedBytes(messages) <= target.length,
    'packed messages do not fit',
  );
  let at = offset;
  for (const m of messages) {
    target.writeUInt32LE(m.length, at);
    target.set(m, at + PACK_LENGTH_BYTES);
    at += PACK_LENGTH_BYTES + m.length;
  }
  return at;
}

export function packMessages(messages: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(packedBytes(messages));
  const end = packMessagesInto(out, 0, messages);
  assert(end === out.length, () => `packed ${end} of ${out.length}`);
  return out;
}

/**
 * Calls `onMessage` with a view of each packed message, in order; returns the count. A payload
 * from the network is input: a length that runs past the end throws FRAME_MALFORMED (messages
 * before it have been delivered already; the caller drops the connection). At most
 * `messagesMax` messages are accepted.
 */
export function unpackMessages(
  payload: Buffer,
  onMessage: (message: Buffer) => void,
  messagesMax: number = payload.length,
): number {
  let at = 0;
  let count = 0;
  // Bounded: every turn consumes at least PACK_LENGTH_BYTES bytes.
  while (at < payload.length) {
    if (payload.length - at < PACK_LENGTH_BYTES) {
      throw new NetError(
        'FRAME_MALFORMED',
        `packed payload: ${payload.length - at} stray bytes at ${at}`,
      );
    }
    const length = payload.readUInt32LE(at);
    const start = at + PACK_LENGTH_BYTES;
    if (length > payload.length - start) {
      throw new NetError(
        'FRAME_MALFORMED',
        `packed message of ${length} bytes at ${at} runs past ${payload.length}`,
      );
    }
    if (count >= messagesMax)
      throw new NetError('FRAME_MALFORMED', `more than ${messagesMax} packed messages`);
    onMessage(payload.subarray(start, start + length));
    count += 1;
    at = start + length;
  }
  assert(at === payload.length, () => `unpacked to ${at} of ${payload.length}`);
  return count;
}

/** The packed messages as an array of views (convenience; the callback form allocates less). */
export function unpackMessageList(payload: Buffer, messagesMax?: number): Buffer[] {
  const out: Buffer[] = [];
  unpackMessages(payload, (m) => out.push(m), messagesMax);
  return out;
}
