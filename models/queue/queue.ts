/**
 * The queue model: a FIFO of byte values under one key. Ops push and pop; queries peek, length
 * and range. All bytes here are untagged (model-tags.ts); the registry frames them.
 *
 * Data layout: the values head first, each as [length u32][bytes], and nothing else, while the
 * queue is small (under `appendBytesMin`): pop's new state is a subarray of the old one. A big
 * queue may also hold pop markers and popped values not yet folded away (the log layout,
 * queue-log.ts), so that a push or a pop appends a few bytes in place and persists only them,
 * instead of copying and persisting the queue (issue 10). Head, length and live bytes come
 * from a walk cached per append buffer. A queue never holds an empty layout: popping the last
 * value returns `data: null`.
 *
 * Limits: the live values (plus 4 bytes each) may not exceed `bytesMax`; a push that
 * would is refused whole with `tooLarge` and changes nothing. Range returns at most `rangeMax`
 * values, so one read's result stays bounded however the queue grows.
 *
 * Results start with a status byte (QueueStatus); the rest is op-specific, see the decoders.
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import type { StateMachine } from '../state-machine';
import { readU32 } from '../append-shapes';
import {
  isMarker,
  itemEnd,
  nextValue,
  popHead,
  pushEntries,
  queueStoredBytesMax,
  shapeOf,
} from './queue-log';
import type { QueueShape } from './queue-log';

const OP_PUSH = 1;
const OP_POP = 2;
const QUERY_PEEK = 1;
const QUERY_LENGTH = 2;
const QUERY_RANGE = 3;

/** Bytes a value costs in the data layout beyond its own: its u32 length prefix. */
export const QUEUE_ENTRY_OVERHEAD = 4;
/** The default limit on a queue's data layout (values plus their length prefixes). */
export const QUEUE_BYTES_MAX = 16 * 1024 * 1024;
/** The default limit on the number of values one range query returns. */
export const QUEUE_RANGE_MAX = 10_000;

/**
 * From this many bytes of data a queue is kept in the log layout (queue-log.ts): pushes and
 * pops append in place. The record sections' threshold (actors/paxos/record-sections.ts): a
 * smaller record is written whole anyway.
 */
export const QUEUE_APPEND_BYTES_MIN = 64 * 1024;

export interface QueueLimits {
  readonly bytesMax: number;
  readonly rangeMax: number;
  /** Default QUEUE_APPEND_BYTES_MIN (tests lower it to reach the log layout cheaply). */
  readonly appendBytesMin?: number;
}

interface QueueLimitsFull extends QueueLimits {
  readonly appendBytesMin: number;
}

export const QUEUE_LIMITS: QueueLimits = { bytesMax: QUEUE_BYTES_MAX, rangeMax: QUEUE_RANGE_MAX };

export const QueueStatus = { ok: 0, empty: 1, tooLarge: 2 } as const;
export type QueueStatus = (typeof QueueStatus)[keyof typeof QueueStatus];

export type QueueOp =
  { readonly type: 'push'; readonly values: readonly Uint8Array[] } | { readonly type: 'pop' };

export type QueueQuery =
  | { readonly type: 'peek' }
  | { readonly type: 'length' }
  /** Values at indices [start, end), clamped to the queue and to rangeMax values. */
  | { readonly type: 'range'; readonly start: number; readonly end: number };

export type QueueValueResult =
  | { readonly status: typeof QueueStatus.ok; readonly value: Uint8Array }
  | { readonly status: typeof QueueStatus.empty };

/** The typed result of each op and query kind. */
export interface QueueResults {
  /** `length` is the queue's length after the push (on tooLarge: the unchanged length). */
  readonly push: {
    readonly status: typeof QueueStatus.ok | typeof QueueStatus.tooLarge;
    readonly length: number;
  };
  readonly pop: QueueValueResult;
  readonly peek: QueueValueResult;
  readonly length: { readonly length: number };
  /** `truncated`: rangeMax cut the answer short of the requested (clamped) end. */
  readonly range: { readonly values: Uint8Array[]; readonly truncated: boolean };
}
export type QueueResultKind = keyof QueueResults;

// ---- the length-prefixed entry layout (data, push ops, range results) ----

/** The end of the value entry starting at `at`; asserts it lies within `bytes`. */
function entryEnd(bytes: Uint8Array, at: number): number {
  assert(
    at + QUEUE_ENTRY_OVERHEAD <= bytes.length,
    () => `queue entry header at ${at} past ${bytes.length}`,
  );
  const end = at + QUEUE_ENTRY_OVERHEAD + readU32(bytes, at);
  assert(end <= bytes.length, () => `queue entry at ${at} ends at ${end}, past ${bytes.length}`);
  return end;
}

/** Counts the value entries of an op's list, asserting they tile it exactly. */
function countEntries(bytes: Uint8Array): number {
  let n = 0;
  // Each entry is at least 4 bytes, so this ends within length / 4 steps.
  for (let at = 0; at < bytes.length; at = entryEnd(bytes, at)) n++;
  return n;
}

/** Copies of the values of an entry list (a range result), head first. */
function entryValues(bytes: Uint8Array, from = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = from; at < bytes.length;) {
    const end = entryEnd(bytes, at);
    out.push(bytes.slice(at + QUEUE_ENTRY_OVERHEAD, end));
    at = end;
  }
  return out;
}

/** Copies of the live values of a state (log layout: markers and popped values skipped). */
function liveValues(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Each step consumes one item.
  for (let at = shapeOf(data).headAt; at < data.length;) {
    const end = itemEnd(data, at);
    if (!isMarker(data, at)) out.push(data.slice(at + QUEUE_ENTRY_OVERHEAD, end));
    at = end;
  }
  return out;
}

function writeEntries(w: ByteWriter, values: readonly Uint8Array[]): void {
  for (const v of values) w.bytes(v);
}

/** The queue's values, head first (copies); null data is the empty queue. */
export function decodeQueueData(data: Uint8Array | null): Uint8Array[] {
  return data === null ? [] : liveValues(data);
}

/** The canonical data of a queue holding `values` (null when empty). */
export function encodeQueueData(values: readonly Uint8Array[]): Uint8Array | null {
  if (values.length === 0) return null;
  const w = new ByteWriter();
  writeEntries(w, values);
  return w.finish();
}

/** The state's shape; asserts the rules of a stored state (queue-log.ts). */
function checkedShape(data: Uint8Array | null, limits: QueueLimitsFull): QueueShape {
  const shape = shapeOf(data);
  if (data === null) return shape;
  assert(shape.count > 0, 'an empty queue must be stored as null');
  assert(
    shape.markers === 0 || data.length >= limits.appendBytesMin,
    () => `a queue of ${data.length} bytes with pop markers`,
  );
  return shape;
}

// ---- ops and queries ----

export function encodeQueueOp(op: QueueOp): Uint8Array {
  switch (op.type) {
    case 'push': {
      const w = new ByteWriter();
      w.u8(OP_PUSH);
      writeEntries(w, op.values);
      return w.finish();
    }
    case 'pop':
      return Uint8Array.of(OP_POP);
  }
}

function assertIndex(n: number, what: string): void {
  assert(
    Number.isSafeInteger(n) && n >= 0,
    () => `queue range ${what} ${n} is not a non-negative safe integer`,
  );
}

export function encodeQueueQuery(q: QueueQuery): Uint8Array {
  switch (q.type) {
    case 'peek':
      return Uint8Array.of(QUERY_PEEK);
    case 'length':
      return Uint8Array.of(QUERY_LENGTH);
    case 'range': {
      assertIndex(q.start, 'start');
      assertIndex(q.end, 'end');
      const w = new ByteWriter(17);
      w.u8(QUERY_RANGE);
      w.f64(q.start);
      w.f64(q.end);
      return w.finish();
    }
  }
}

function statusWithCount(status: QueueStatus, n: number): Uint8Array {
  const w = new ByteWriter(5);
  w.u8(status);
  w.u32(n);
  return w.finish();
}

/** [status ok][the head value], or [status empty]. */
function headResult(data: Uint8Array | null, shape: QueueShape): Uint8Array {
  if (data === null) return Uint8Array.of(QueueStatus.empty);
  const end = entryEnd(data, shape.headAt);
  const result = new Uint8Array(1 + end - shape.headAt - QUEUE_ENTRY_OVERHEAD);
  result[0] = QueueStatus.ok;
  result.set(data.subarray(shape.headAt + QUEUE_ENTRY_OVERHEAD, end), 1);
  return result;
}

function storedMaxOf(limits: QueueLimitsFull): number {
  return queueStoredBytesMax(limits.bytesMax, limits.appendBytesMin);
}

function applyPush(
  data: Uint8Array | null,
  shape: QueueShape,
  entries: Uint8Array,
  limits: QueueLimitsFull,
) {
  const added = countEntries(entries);
  if (added === 0)
    return { data, mutated: false, result: statusWithCount(QueueStatus.ok, shape.count) };
  // The limit counts the live values, not the popped ones a big state still holds.
  if (shape.liveBytes + entries.length > limits.bytesMax) {
    return { data, mutated: false, result: statusWithCount(QueueStatus.tooLarge, shape.count) };
  }
  const next = pushEntries(data, shape, entries, limits.appendBytesMin, storedMaxOf(limits));
  assert(next.length <= storedMaxOf(limits), () => `queue stores ${next.length} bytes`);
  return {
    data: next,
    mutated: true,
    result: statusWithCount(QueueStatus.ok, shape.count + added),
  };
}

/**
 * A small queue (canonical, under appendBytesMin) pops to a view of its rest, as always; a big
 * one appends a pop marker or folds its dead prefix (queue-log.ts popHead).
 */
function applyPop(data: Uint8Array | null, shape: QueueShape, limits: QueueLimitsFull) {
  const result = headResult(data, shape);
  if (data === null) return { data, mutated: false, result };
  if (shape.count === 1) return { data: null, mutated: true, result };
  if (data.length < limits.appendBytesMin) {
    assert(shape.headAt === 0, () => `a small queue with its head at ${shape.headAt}`);
    return { data: data.subarray(entryEnd(data, 0)), mutated: true, result };
  }
  const next = popHead(data, shape, limits.appendBytesMin, storedMaxOf(limits));
  assert(next.length <= storedMaxOf(limits), () => `queue stores ${next.length} bytes`);
  return { data: next, mutated: true, result };
}

/** [ok][truncated u8][entries of indices [start, min(end, length, start + rangeMax))]. */
function readRange(
  data: Uint8Array | null,
  shape: QueueShape,
  start: number,
  end: number,
  rangeMax: number,
): Uint8Array {
  const w = new ByteWriter();
  w.u8(QueueStatus.ok);
  w.u8(0);
  if (data === null) return w.finish();
  let index = 0;
  let at = shape.headAt;
  // Bounded by the data: each step consumes one entry (markers after the head are skipped).
  for (; at < data.length && index < end; index++) {
    const next = entryEnd(data, at);
    if (index >= start) {
      if (index - start === rangeMax) break;
      w.raw(data.subarray(at, next));
    }
    at = nextValue(data, next);
  }
  const out = w.finish();
  out[1] = at < data.length && index < end ? 1 : 0;
  return out;
}

export function createQueueStateMachine(given: QueueLimits = QUEUE_LIMITS): StateMachine {
  const limits: QueueLimitsFull = {
    ...given,
    appendBytesMin: given.appendBytesMin ?? QUEUE_APPEND_BYTES_MIN,
  };
  assert(
    Number.isSafeInteger(limits.bytesMax) && limits.bytesMax >= 0 && limits.bytesMax < 2 ** 32,
    'queue bytesMax',
  );
  assert(Number.isSafeInteger(limits.rangeMax) && limits.rangeMax >= 1, 'queue rangeMax');
  assert(
    Number.isSafeInteger(limits.appendBytesMin) && limits.appendBytesMin >= 1,
    'queue appendBytesMin',
  );
  return {
    apply(data, _version, op) {
      const shape = checkedShape(data, limits);
      assert(op.length >= 1, 'empty queue op');
      switch (op[0]) {
        case OP_PUSH:
          return applyPush(data, shape, op.subarray(1), limits);
        case OP_POP:
          assert(op.length === 1, () => `queue pop op of ${op.length} bytes`);
          return applyPop(data, shape, limits);
        default:
          throw new Error(`unknown queue op ${op[0]}`);
      }
    },
    read(data, _version, query) {
      const shape = checkedShape(data, limits);
      const r = new ByteReader(query);
      const type = r.u8();
      switch (type) {
        case QUERY_PEEK:
          assert(r.remaining === 0, 'queue peek query has trailing bytes');
          return headResult(data, shape);
        case QUERY_LENGTH:
          assert(r.remaining === 0, 'queue length query has trailing bytes');
          return statusWithCount(QueueStatus.ok, shape.count);
        case QUERY_RANGE: {
          const start = r.f64();
          const end = r.f64();
          assert(r.remaining === 0, 'queue range query has trailing bytes');
          assertIndex(start, 'start');
          assertIndex(end, 'end');
          return readRange(data, shape, start, end, limits.rangeMax);
        }
        default:
          throw new Error(`unknown queue query ${type}`);
      }
    },
  };
}

export const queueStateMachine: StateMachine = createQueueStateMachine();

// ---- results ----

function decodeCount(
  bytes: Uint8Array,
  allowed: readonly QueueStatus[],
): { status: QueueStatus; n: number } {
  const r = new ByteReader(bytes);
  const status = r.u8() as QueueStatus;
  assert(allowed.includes(status), () => `queue status ${status}`);
  const n = r.u32();
  assert(r.remaining === 0, 'queue result has trailing bytes');
  return { status, n };
}

function decodeValue(bytes: Uint8Array): QueueValueResult {
  assert(bytes.length >= 1, 'empty queue result');
  if (bytes[0] === QueueStatus.empty) {
    assert(bytes.length === 1, 'queue empty result has trailing bytes');
    return { status: QueueStatus.empty };
  }
  assert(bytes[0] === QueueStatus.ok, () => `queue status ${bytes[0]}`);
  return { status: QueueStatus.ok, value: bytes.slice(1) };
}

const decoders: { readonly [K in QueueResultKind]: (bytes: Uint8Array) => QueueResults[K] } = {
  push: (bytes) => {
    const { status, n } = decodeCount(bytes, [QueueStatus.ok, QueueStatus.tooLarge]);
    return { status: status === QueueStatus.ok ? QueueStatus.ok : QueueStatus.tooLarge, length: n };
  },
  pop: decodeValue,
  peek: decodeValue,
  length: (bytes) => ({ length: decodeCount(bytes, [QueueStatus.ok]).n }),
  range: (bytes) => {
    assert(bytes.length >= 2 && bytes[0] === QueueStatus.ok, 'queue range result header');
    assert(bytes[1] === 0 || bytes[1] === 1, () => `queue range truncated flag ${bytes[1]}`);
    return { values: entryValues(bytes, 2), truncated: bytes[1] === 1 };
  },
};

/** Decodes the result of an op or query of the given kind. */
export function decodeQueueResult<K extends QueueResultKind>(
  kind: K,
  bytes: Uint8Array,
): QueueResults[K] {
  return decoders[kind](bytes);
}
