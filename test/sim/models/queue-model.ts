/**
 * The sequential specification of one key of the queue data model, for the linearizability
 * checker. Values are strings (stored as their UTF-8 bytes).
 *
 * - push appends its values in order and answers the new length; a push of nothing changes
 *   nothing. A push that would take the queue past `bytesMax` (UTF-8 bytes plus 4 per value)
 *   fails with TOO_LARGE and changes nothing.
 * - pop removes and answers the head; on an empty queue it answers undefined.
 * - peek answers the head (undefined when empty), length the count, and range the values at
 *   [start, end) clamped to the queue and to `rangeMax` values (`truncated` when cut by it).
 */
import { isDeepStrictEqual } from 'node:util';
import { QUEUE_ENTRY_OVERHEAD, QUEUE_LIMITS } from '../../../models/queue/queue';
import type { QueueLimits } from '../../../models/queue/queue';
import type { Model } from '../linearizability';

export type QueueState = readonly string[];

export type QueueInput =
  | { op: 'push'; values: string[] }
  | { op: 'pop' }
  | { op: 'peek' }
  | { op: 'length' }
  | { op: 'range'; start: number; end: number };

export type QueueOutput =
  /** push, length */
  | { length: number }
  /** pop, peek of a non-empty queue; on an empty one they answer undefined */
  | { value: string }
  | undefined
  | { values: string[]; truncated: boolean }
  | { error: 'TOO_LARGE' };

function layoutBytes(values: readonly string[]): number {
  let n = 0;
  for (const v of values) n += QUEUE_ENTRY_OVERHEAD + Buffer.byteLength(v, 'utf8');
  return n;
}

function headOutput(state: QueueState): QueueOutput {
  const head = state[0];
  return head === undefined ? undefined : { value: head };
}

function range(state: QueueState, start: number, end: number, rangeMax: number): QueueOutput {
  const stop = Math.min(end, state.length);
  return {
    values: state.slice(start, Math.min(stop, start + rangeMax)),
    truncated: stop - start > rangeMax,
  };
}

function stepQueue(
  limits: QueueLimits,
  state: QueueState,
  input: QueueInput,
): { state: QueueState; output: QueueOutput } {
  switch (input.op) {
    case 'push': {
      if (layoutBytes(state) + layoutBytes(input.values) > limits.bytesMax)
        return { state, output: { error: 'TOO_LARGE' } };
      const next = [...state, ...input.values];
      return { state: next, output: { length: next.length } };
    }
    case 'pop':
      return { state: state.slice(1), output: headOutput(state) };
    case 'peek':
      return { state, output: headOutput(state) };
    case 'length':
      return { state, output: { length: state.length } };
    case 'range':
      return { state, output: range(state, input.start, input.end, limits.rangeMax) };
    default:
      throw new Error(`unknown queue op ${JSON.stringify(input)}`);
  }
}

/** The queue spec under the given limits (tests use small ones to reach them). */
export function createQueueModel(
  limits: QueueLimits = QUEUE_LIMITS,
): Model<QueueState, QueueInput, QueueOutput> {
  return {
    init: () => [],
    step: (state, input) => stepQueue(limits, state, input),
    equalOutput: (a, b) => isDeepStrictEqual(a, b),
    // JSON of an array of strings is injective, so equal hashes mean equal queues.
    hash: (state) => JSON.stringify(state),
  };
}

export const queueModel = createQueueModel();
