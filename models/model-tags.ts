/**
 * How several data models share one replicated key space (issue #4).
 *
 * Every model is a deterministic `StateMachine` over *untagged* bytes. The dispatcher
 * (`models/registry.ts`) frames them:
 *   - op and query bytes:  [tag u8][model op/query bytes]
 *   - stored data state:   [tag u8][model data bytes]     (null = the key is absent)
 *   - result bytes:        [status u8][model result bytes]
 * A key holds one model at a time: an op or query whose tag differs from the stored data's tag
 * fails with RESULT_WRONG_MODEL and changes nothing. A model whose op leaves its data empty
 * (e.g. a queue popped to nothing, an empty set) returns `data: null`: the key becomes absent
 * and may be reused by another model.
 */
export const ModelTag = {
  kv: 1,
  queue: 2,
  set: 3,
  table: 4,
  doc: 5,
  account: 6,
  bigtable: 7,
} as const;
export type ModelTag = (typeof ModelTag)[keyof typeof ModelTag];
// Op tag 0xF0 is reserved: the "install state" op of verify's repair (install-op.ts), applied by
// the Paxos core, not by a model. Op tag 0xF1 is reserved too: a model op wrapped with a
// caller's requestId (request-id.ts), unwrapped by the Paxos core.

/** Result status 0 is success for every model; statuses 1..0xEF are model-specific errors. */
export const RESULT_OK = 0;
/** The key holds data of another model (public error code WRONG_TYPE). Nothing changed. */
export const RESULT_WRONG_MODEL = 0xfe;
/** The op or query bytes are malformed (a client bug; public code INVALID_ARGUMENT). */
export const RESULT_BAD_REQUEST = 0xfd;
