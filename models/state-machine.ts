/**
 * A data model as a deterministic function of (state, op), applied by every replica in chosen
 * order. Pure: no I/O, no clock, no randomness, so replicas that apply the same chosen values
 * hold the same data. Operations, states, queries and results are bytes (they cross threads and
 * go to disk); each model owns its encoding.
 */
export interface StateMachine {
  /**
   * Applies one op. `mutated` false means the version does not change (e.g. a failed CAS).
   *
   * `mayOverwrite`: the caller holds `data` alone (decision "A key's data written in place"):
   * no result, message or other state refers to it, so the model may write the new state into
   * it and answer it as `data`. Without it, `data` is never written into (the default: states
   * are shared by messages, scans and snapshots).
   */
  apply(data: Uint8Array | null, version: number, op: Uint8Array, mayOverwrite?: boolean): Applied;
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
    mayOverwrite?: boolean,
  ): Applied | undefined;
  /**
   * Evaluates a read query against a data state. `dataMayChange`: the caller may write into
   * `data` later (an owned state, see `apply`), so the answer must not be a view of it.
   */
  read(
    data: Uint8Array | null,
    version: number,
    query: Uint8Array,
    dataMayChange?: boolean,
  ): Uint8Array;
  /**
   * Optional fast path of `read` over the tagged bytes (data and query with their model tag
   * first): answers exactly what `read` would through the registry, or undefined to take the
   * generic path. For the hot queries only (kv get: no views of the state and query per read).
   * Its answer is never a view of `data` (whatever `dataMayChange` of `read` says).
   */
  readTagged?(data: Uint8Array | null, version: number, query: Uint8Array): Uint8Array | undefined;
}

/** What `apply` answers. */
export interface Applied {
  readonly data: Uint8Array | null;
  readonly mutated: boolean;
  readonly result: Uint8Array;
  /**
   * `data` is the key's alone: a fresh copy, or the state written in place, that neither
   * `result` nor anything else refers to. The caller may pass it back with `mayOverwrite`
   * until it lends it out. Absent (false) on every path but the fast ones that promise it.
   */
  readonly owned?: boolean;
}
