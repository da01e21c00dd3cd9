/**
 * The sequential specification of one key of the KV data model, for the linearizability
 * checker.
 *
 * - A missing key has version 0. Every mutation (put, successful cas, delete, incr) adds 1.
 * - Delete keeps counting: a deleted key keeps the delete's version internally, but get
 *   returns undefined and the key counts as absent: cas(0) creates it again, cas(n > 0) fails.
 * - A failed cas, a failed incr and get change nothing.
 * - incr treats a missing (or deleted) key as 0 and stores the result as decimal text; on a
 *   value that is not a decimal integer it fails with NOT_A_NUMBER and changes nothing.
 */
import { assert } from '../../runtime/assert';
import type { Model } from './linearizability';

export interface KvState {
  readonly value: string | undefined;
  readonly version: number;
}

export type KvInput =
  | { op: 'put'; value: string }
  | { op: 'get' }
  | { op: 'cas'; expectedVersion: number; value: string }
  | { op: 'delete' }
  | { op: 'incr'; by: number };

export type KvOutput =
  /** put, delete, successful cas */
  | { version: number }
  /** get of a present key; get of a missing or deleted key is undefined */
  | { value: string; version: number }
  | undefined
  | { error: 'VERSION_CONFLICT' }
  /** incr */
  | { value: number; version: number }
  | { error: 'NOT_A_NUMBER' };

const DECIMAL = /^-?\d+$/;

/** cas(0) means "only if absent"; cas(n > 0) means "only if present at version n". */
function casMatches(state: KvState, expected: number): boolean {
  return expected === 0
    ? state.value === undefined
    : state.value !== undefined && state.version === expected;
}

function stepKv(state: KvState, input: KvInput): { state: KvState; output: KvOutput } {
  const next = state.version + 1;
  switch (input.op) {
    case 'put':
      return { state: { value: input.value, version: next }, output: { version: next } };
    case 'get':
      return {
        state,
        output:
          state.value === undefined ? undefined : { value: state.value, version: state.version },
      };
    case 'cas':
      if (!casMatches(state, input.expectedVersion))
        return { state, output: { error: 'VERSION_CONFLICT' } };
      return { state: { value: input.value, version: next }, output: { version: next } };
    case 'delete':
      return { state: { value: undefined, version: next }, output: { version: next } };
    case 'incr': {
      if (state.value !== undefined && !DECIMAL.test(state.value)) {
        return { state, output: { error: 'NOT_A_NUMBER' } };
      }
      const sum = (state.value === undefined ? 0 : Number(state.value)) + input.by;
      assert(Number.isSafeInteger(sum), `incr result ${sum} is not a safe integer`);
      return {
        state: { value: String(sum), version: next },
        output: { value: sum, version: next },
      };
    }
    default:
      throw new Error(`unknown kv op ${JSON.stringify(input)}`);
  }
}

/** Canonical text of a small plain value: object keys sorted, undefined distinct from null. */
function canonical(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (x === null || typeof x !== 'object') return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  const obj = x as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => ({ value: undefined, version: 0 }),
  step: (state, input) => {
    const result = stepKv(state, input);
    assert(
      result.state.version >= state.version,
      `kv version went from ${state.version} to ${result.state.version}`,
    );
    return result;
  },
  equalOutput: (a, b) => canonical(a) === canonical(b),
  // The version comes first and is all digits, so the first ':' splits the hash unambiguously.
  hash: (state) => `${state.version}:${state.value === undefined ? '-' : `=${state.value}`}`,
};
