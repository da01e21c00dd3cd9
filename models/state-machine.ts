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
  /**
   * Optional fast path over the tagged bytes (the registry's framing: model tag first, write
   * results end with the version, registry.ts): answers exactly what `apply` wrapped by the
   * registry would — a state the key owns (no view of the op), the tagged result — or undefined
   * to take the generic path. For the hot ops only (kv put), where the views and intermediate
   * results of the generic path are most of what a write allocates.
   */
  applyTagged?(
    data: Uint8Array | null,
    version: number,
    op: Uint8Array,
  ): { data: Uint8Array | null; mutated: boolean; result: Uint8Array } | undefined;
  /** Evaluates a read query against a data state. */
  read(data: Uint8Array | null, version: number, query: Uint8Array): Uint8Array;
  /**
   * Optional fast path of `read` over the tagged bytes (data and query with their model tag
   * first): answers exactly what `read` would through the registry, or undefined to take the
   * generic path. For the hot queries only (kv get: no views of the state and query per read).
   */
  readTagged?(data: Uint8Array | null, version: number, query: Uint8Array): Uint8Array | undefined;
}
