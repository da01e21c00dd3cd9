/**
 * The dispatching state machine: one replicated key space, several data models (framing in
 * model-tags.ts). Each model sees only untagged bytes; this layer adds and checks the tags, so
 * a key written as one model is refused (RESULT_WRONG_MODEL, nothing changes) by every other.
 */
import { assert } from '../../runtime/assert';
import { RESULT_WRONG_MODEL } from './model-tags';
import type { ModelTag } from './model-tags';
import type { StateMachine } from './state-machine';

const WRONG_MODEL = Uint8Array.of(RESULT_WRONG_MODEL);

/** Prefixes bytes with a model tag (ops and queries from the client, data states here). */
export function tagged(tag: ModelTag, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bytes.length);
  out[0] = tag;
  out.set(bytes, 1);
  return out;
}

/** True when a result is the one-byte "key holds another model" answer. */
export function isWrongModel(result: Uint8Array): boolean {
  return result.length === 1 && result[0] === RESULT_WRONG_MODEL;
}

export function createModelRegistry(models: ReadonlyArray<readonly [ModelTag, StateMachine]>): StateMachine {
  const byTag = new Map<number, StateMachine>(models);
  assert(byTag.size === models.length, 'a model tag is registered twice');
  const machineOf = (bytes: Uint8Array, what: string): StateMachine => {
    assert(bytes.length >= 1, () => `empty ${what}`);
    const machine = byTag.get(bytes[0] as number);
    assert(machine !== undefined, () => `${what} for unknown model tag ${bytes[0]}`);
    return machine;
  };
  return {
    apply(data, version, op) {
      const machine = machineOf(op, 'op');
      if (data !== null && data[0] !== op[0]) return { data, mutated: false, result: WRONG_MODEL };
      const out = machine.apply(data === null ? null : data.subarray(1), version, op.subarray(1));
      assert(!isWrongModel(out.result), 'a model returned the reserved wrong-model result');
      const next = out.data === null ? null : tagged(op[0] as ModelTag, out.data);
      return { data: next, mutated: out.mutated, result: out.result };
    },
    read(data, version, query) {
      const machine = machineOf(query, 'query');
      if (data !== null && data[0] !== query[0]) return WRONG_MODEL;
      return machine.read(data === null ? null : data.subarray(1), version, query.subarray(1));
    },
  };
}
