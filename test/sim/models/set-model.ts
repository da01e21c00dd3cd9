/**
 * The sequential specification of one key of the set data model, for the linearizability
 * checker. Members are strings, compared and ordered by their UTF-8 bytes (not by JS string
 * order, which differs for characters past U+FFFF); callers must pass well-formed strings.
 *
 * - add inserts the members not yet present (duplicates within one add count once) and
 *   answers how many were new and the size after. If the result would exceed `bytesMax`
 *   (UTF-8 bytes plus 4 per member) or `membersMax` members, it fails with TOO_LARGE and
 *   changes nothing (an add of only present members always succeeds: it adds nothing).
 * - remove deletes the members present and answers how many and the size after.
 * - has answers a boolean, size the count, members the smallest `readMax` members in byte
 *   order with `truncated` when there are more.
 */
import { isDeepStrictEqual } from 'node:util';
import { SET_ENTRY_OVERHEAD, SET_LIMITS } from '../../../models/set/set';
import type { SetLimits } from '../../../models/set/set';
import type { Model } from '../linearizability';

/** Ascending by UTF-8 bytes, no duplicates. */
export type SetState = readonly string[];

export type SetInput =
  | { op: 'add'; members: string[] }
  | { op: 'remove'; members: string[] }
  | { op: 'has'; member: string }
  | { op: 'members' }
  | { op: 'size' };

export type SetOutput =
  | { added: number; size: number }
  | { removed: number; size: number }
  | { error: 'TOO_LARGE' }
  /** has */
  | boolean
  | { members: string[]; truncated: boolean }
  | { size: number };

export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function layoutBytes(members: Iterable<string>): number {
  let n = 0;
  for (const m of members) n += SET_ENTRY_OVERHEAD + Buffer.byteLength(m, 'utf8');
  return n;
}

function add(
  limits: SetLimits,
  state: SetState,
  members: string[],
): { state: SetState; output: SetOutput } {
  const present = new Set(state);
  const fresh = new Set(members.filter((m) => !present.has(m)));
  if (fresh.size === 0) return { state, output: { added: 0, size: state.length } };
  const tooLarge =
    layoutBytes(state) + layoutBytes(fresh) > limits.bytesMax ||
    state.length + fresh.size > limits.membersMax;
  if (tooLarge) return { state, output: { error: 'TOO_LARGE' } };
  const next = [...state, ...fresh].sort(compareUtf8);
  return { state: next, output: { added: fresh.size, size: next.length } };
}

function remove(state: SetState, members: string[]): { state: SetState; output: SetOutput } {
  const gone = new Set(members);
  const next = state.filter((m) => !gone.has(m));
  return { state: next, output: { removed: state.length - next.length, size: next.length } };
}

function stepSet(
  limits: SetLimits,
  state: SetState,
  input: SetInput,
): { state: SetState; output: SetOutput } {
  switch (input.op) {
    case 'add':
      return add(limits, state, input.members);
    case 'remove':
      return remove(state, input.members);
    case 'has':
      return { state, output: state.includes(input.member) };
    case 'members':
      return {
        state,
        output: {
          members: state.slice(0, limits.readMax),
          truncated: state.length > limits.readMax,
        },
      };
    case 'size':
      return { state, output: { size: state.length } };
    default:
      throw new Error(`unknown set op ${JSON.stringify(input)}`);
  }
}

/** The set spec under the given limits (tests use small ones to reach them). */
export function createSetModel(
  limits: SetLimits = SET_LIMITS,
): Model<SetState, SetInput, SetOutput> {
  return {
    init: () => [],
    step: (state, input) => stepSet(limits, state, input),
    equalOutput: (a, b) => isDeepStrictEqual(a, b),
    // The state is kept sorted, and JSON of an array of strings is injective.
    hash: (state) => JSON.stringify(state),
  };
}

export const setModel = createSetModel();
