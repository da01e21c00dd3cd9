/**
 * Caller-chosen request ids (issue 13, decision 19): exactly-once retries.
 *
 * A write may carry a `requestId` chosen by the caller. The op then travels wrapped:
 *
 *     [0xF1][id length u8][id, UTF-8][the model's tagged op]
 *
 * and the Paxos core (actors/paxos/core/key-record.ts) applies it at most once per (key,
 * requestId) on every replica: when the id is in the key's window of remembered request ids,
 * the op is not applied again and the original result is the answer. So after UNKNOWN_OUTCOME,
 * retrying with the same requestId (through any replica) until it succeeds applies the write
 * exactly once.
 *
 * Pure and deterministic; its bytes come from the network and the disk, so decoding validates
 * and never throws (a malformed envelope is left to the model registry, which refuses it alike
 * on every replica).
 */

/** First byte of a wrapped op; outside the model tags (1..7) and the install op's 0xF0. */
export const REQUEST_ID_TAG = 0xf1;
/** A requestId is 1..128 bytes of well-formed UTF-8. */
export const REQUEST_ID_BYTES_MAX = 128;
/** Request ids a key remembers (newest kept), with their results. */
export const REQUESTS_REMEMBERED_MAX = 128;
/**
 * Bytes of ids and results a key remembers at most: when large results (a queue pop of a big
 * value) pass it, the oldest entries go first; the newest entry is always kept.
 */
export const REQUESTS_REMEMBERED_BYTES_MAX = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Wraps a model op with a caller's request id (validated by the caller's handle). */
export function withRequestId(requestId: string, op: Uint8Array): Uint8Array {
  const id = encoder.encode(requestId);
  if (id.length === 0 || id.length > REQUEST_ID_BYTES_MAX)
    throw new RangeError(`requestId of ${id.length} bytes`);
  const out = new Uint8Array(2 + id.length + op.length);
  out[0] = REQUEST_ID_TAG;
  out[1] = id.length;
  out.set(id, 2);
  out.set(op, 2 + id.length);
  return out;
}

/** The request id of a wrapped op and the op inside, or no id (op unchanged). */
export function splitRequestId(op: Uint8Array): {
  readonly requestId: string | undefined;
  readonly op: Uint8Array;
} {
  if (op.length < 3 || op[0] !== REQUEST_ID_TAG) return { requestId: undefined, op };
  const length = op[1] as number;
  if (length === 0 || length > REQUEST_ID_BYTES_MAX || op.length < 2 + length + 1)
    return { requestId: undefined, op };
  let requestId: string;
  try {
    requestId = decoder.decode(op.subarray(2, 2 + length));
  } catch {
    return { requestId: undefined, op };
  }
  return { requestId, op: op.subarray(2 + length) };
}
