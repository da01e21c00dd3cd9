/**
 * A data model as a deterministic function of (state, op), applied by every replica in chosen
 * order. Pure: no I/O, no clock, no randomness, so replicas that apply the same chosen values
 * hold the same data. Operations, states, queries and results are bytes (they cross threads and
 * go to disk); each model owns its encoding.
 */
export interface StateMachine {
  /** Applies one op. `mutated` false means the version does not change (e.g. a failed CAS). */
  apply(
    data: Uint8Array | null,
    version: number,
    op: Uint8Array,
  ): { data: Uint8Array | null; mutated: boolean; result: Uint8Array };
  /** Evaluates a read query against a data state. */
  read(data: Uint8Array | null, version: number, query: Uint8Array): Uint8Array;
}
