/**
 * Per-key linearizability checker: Wing & Gong's backtracking search with Lowe's memoization,
 * in the linked-list form used by Porcupine (Anish Athalye).
 *
 * Linearizability is compositional (Herlihy & Wing, "locality"): a history is linearizable iff
 * its sub-history for every key is. So the history is split by key and each key is searched on
 * its own, which keeps the exponential search small.
 *
 * The search walks the history's call/return events in time order. At a call it tries to
 * linearize that operation now (apply it to the model and compare the output); at the first
 * return of an operation not yet linearized it must backtrack, because that operation had to
 * take effect before it returned. Lowe's memoization: a (set of linearized operations, model
 * state) pair already explored never needs exploring again.
 *
 * What the caller must know:
 * - `ret: undefined` means the outcome is unknown (timed out, client or node crashed): the
 *   operation may have taken effect at any point after `call`, or never. Its output is ignored.
 * - Operations that failed with a *definite* "not applied" error (for example UNAVAILABLE before
 *   any proposal was made, or bad input rejected) must simply be left out of the history.
 *   Errors that do not guarantee "not applied" (timeouts) must be passed as `ret: undefined`.
 * - Times are any monotonic clock shared by all clients. An operation that returns at exactly
 *   the time another is called is treated as concurrent with it (the permissive choice, so a
 *   coarse clock cannot produce a false violation).
 * - The search is bounded: past `stepBudget` steps on one key the answer is 'unknown', never a
 *   hang. An 'unknown' is not a pass; shorten the history or raise the budget.
 */
import { assert } from '../../runtime/assert';

export interface Model<S, I, O> {
  init(): S;
  /** Apply one operation; must not mutate `state`. */
  step(state: S, input: I): { state: S; output: O };
  equalOutput(a: O, b: O): boolean;
  /** Equal states must have equal hashes, and different states different hashes. */
  hash(state: S): string;
}

export interface HistoryOp<I, O> {
  id: number | string;
  key: string;
  input: I;
  call: number;
  /** undefined: outcome unknown, may have taken effect at any time after call, or never. */
  ret: number | undefined;
  /** Required (may itself be `undefined` for models whose outputs can be) when ret is set. */
  output?: O;
}

export type CheckResult =
  | { ok: true }
  | { ok: false; key: string; explanation: string }
  | { ok: 'unknown'; key: string; explanation: string };

export interface CheckOptions {
  /** Search steps allowed per key before giving up with 'unknown'. Default 2,000,000. */
  stepBudget?: number;
}

const STEP_BUDGET_DEFAULT = 2_000_000;

interface Entry {
  readonly isCall: boolean;
  readonly op: number;
  readonly time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** On a call entry: its return entry. */
  match: Entry | undefined;
}

/** Check a whole history; the first failing key (in key order) is reported. */
export function checkHistory<S, I, O>(
  history: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  options: CheckOptions = {},
): CheckResult {
  validateHistory(history);
  const byKey = new Map<string, HistoryOp<I, O>[]>();
  for (const op of history) {
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  let unknown: CheckResult | undefined;
  // Keep checking after an 'unknown' key: a definite violation elsewhere is more useful.
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key);
    assert(ops !== undefined, `key ${key} vanished`);
    const result = checkKey(key, ops, model, options);
    if (result.ok === false) return result;
    if (result.ok === 'unknown' && unknown === undefined) unknown = result;
  }
  return unknown ?? { ok: true };
}

function validateHistory<I, O>(history: readonly HistoryOp<I, O>[]): void {
  const ids = new Set<number | string>();
  for (const op of history) {
    assert(!ids.has(op.id), `history has two operations with id ${String(op.id)}`);
    ids.add(op.id);
    assert(Number.isFinite(op.call), `op ${String(op.id)}: call time ${op.call} not finite`);
    if (op.ret !== undefined) {
      assert(Number.isFinite(op.ret), `op ${String(op.id)}: return time ${op.ret} not finite`);
      assert(
        op.ret >= op.call,
        `op ${String(op.id)}: returns at ${op.ret} before its call ${op.call}`,
      );
    }
  }
}

/** Build the time-ordered doubly linked list of call and return entries behind a sentinel. */
function buildEntries<I, O>(ops: readonly HistoryOp<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const ret: Entry = {
      isCall: false,
      op: i,
      time: op.ret ?? Infinity,
      prev: undefined,
      next: undefined,
      match: undefined,
    };
    entries.push(
      { isCall: true, op: i, time: op.call, prev: undefined, next: undefined, match: ret },
      ret,
    );
  });
  // Calls sort before returns at equal times: touching intervals count as concurrent.
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Entry = {
    isCall: false,
    op: -1,
    time: -Infinity,
    prev: undefined,
    next: undefined,
    match: undefined,
  };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Remove a call entry and its return from the list (undone exactly by unlift, LIFO). */
function lift(call: Entry): void {
  const ret = call.match;
  assert(call.isCall && ret !== undefined && call.prev !== undefined, 'lift of a non-call entry');
  call.prev.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  assert(ret.prev !== undefined, 'return entry detached before lift');
  ret.prev.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match;
  assert(
    ret !== undefined && ret.prev !== undefined && call.prev !== undefined,
    'unlift of a detached entry',
  );
  ret.prev.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev.next = call;
  if (call.next !== undefined) call.next.prev = call;
}

class Bitset {
  private readonly words: Uint32Array;
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) + 1);
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

interface Frame<S> {
  readonly entry: Entry;
  readonly stateBefore: S;
}

/** Search one key's sub-history. */
export function checkKey<S, I, O>(
  key: string,
  ops: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  options: CheckOptions = {},
): CheckResult {
  const budget = options.stepBudget ?? STEP_BUDGET_DEFAULT;
  assert(
    Number.isInteger(budget) && budget > 0,
    `stepBudget must be a positive integer: ${budget}`,
  );
  const head = buildEntries(ops);
  const linearized = new Bitset(ops.length);
  const seen = new Set<string>();
  const stack: Frame<S>[] = [];
  const deepest = { order: [] as number[], state: model.init() };
  let state = model.init();
  let entry = head.next;
  for (let steps = 0; steps < budget; steps++) {
    if (head.next === undefined) return { ok: true };
    assert(entry !== undefined, 'scan ran off the end of the history');
    if (entry.isCall) {
      const op = ops[entry.op];
      assert(op !== undefined, `entry for missing op ${entry.op}`);
      const result = model.step(state, op.input);
      const matches = op.ret === undefined || model.equalOutput(result.output, op.output as O);
      if (matches) {
        linearized.set(entry.op);
        const memoKey = `${linearized.key()}|${model.hash(result.state)}`;
        if (!seen.has(memoKey)) {
          seen.add(memoKey);
          stack.push({ entry, stateBefore: state });
          state = result.state;
          lift(entry);
          if (stack.length > deepest.order.length) {
            deepest.order = stack.map((f) => f.entry.op);
            deepest.state = state;
          }
          entry = head.next;
          continue;
        }
        linearized.clear(entry.op);
      }
      entry = entry.next;
      continue;
    }
    // A return entry of an operation not yet linearized.
    const op = ops[entry.op];
    assert(op !== undefined, `entry for missing op ${entry.op}`);
    // Unknown-outcome returns sort last (time Infinity); every known operation must already be
    // linearized, and the remaining unknown ones are taken to have never happened.
    if (op.ret === undefined) return { ok: true };
    const frame = stack.pop();
    if (frame === undefined) {
      return { ok: false, key, explanation: explain(ops, model, deepest) };
    }
    state = frame.stateBefore;
    linearized.clear(frame.entry.op);
    unlift(frame.entry);
    entry = frame.entry.next;
  }
  return {
    ok: 'unknown',
    key,
    explanation: `search gave up after ${budget} steps on key ${key} (${ops.length} operations)`,
  };
}

function describe<I, O>(op: HistoryOp<I, O>): string {
  const out = op.ret === undefined ? '?' : (JSON.stringify(op.output) ?? 'undefined');
  return `#${String(op.id)} [${op.call}, ${op.ret ?? '?'}] ${JSON.stringify(op.input)} -> ${out}`;
}

/** Say how far the best attempt got and which operations could not be placed after it. */
function explain<S, I, O>(
  ops: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  deepest: { order: number[]; state: S },
): string {
  const placed = new Set(deepest.order);
  const prefix = deepest.order.map((i) => describe(ops[i] as HistoryOp<I, O>));
  const rest = ops
    .map((op, i) => ({ op, i }))
    .filter(({ op, i }) => !placed.has(i) && op.ret !== undefined)
    .sort((a, b) => (a.op.ret as number) - (b.op.ret as number))
    .slice(0, 10)
    .map(({ op }) => describe(op));
  return [
    `not linearizable: the longest valid order places ${deepest.order.length} of ${ops.length} operations`,
    ...prefix.slice(-20).map((s) => `  ok   ${s}`),
    `  state then: ${model.hash(deepest.state)}`,
    `  none of these completed operations fits next (earliest return first):`,
    ...rest.map((s) => `  FAIL ${s}`),
  ].join('\n');
}
