/**
 * Plain data types of the per-key Paxos core (DESIGN.md §4).
 *
 * Everything here is plain data that survives structured cloning and the binary codec: no
 * class instances, no closures. The core never sees the data model: operations, data states
 * and results are opaque bytes interpreted by a `StateMachine` (models/*).
 */

/**
 * The value proposed for one instance. `origin` is the replica that originated it (its client
 * request or its read no-op) and `seq` is unique per origin across restarts, so (origin, seq)
 * identifies the value. An empty `op` is a no-op: it occupies the instance and changes nothing.
 */
export interface Proposal {
  readonly origin: number;
  readonly seq: number;
  readonly op: Uint8Array;
}

/** One applied request remembered for de-duplication (the recent window of chosen values). */
export interface AppliedEntry {
  readonly instance: number;
  readonly origin: number;
  readonly seq: number;
  readonly result: Uint8Array;
}

/**
 * Everything a replica keeps for one key: the last chosen instance with the data state it
 * produced ("the replication log as the DB"), and the acceptor state of the next instance.
 * It is persisted as one record, so data and PaxosLog always change in one atomic write.
 */
export interface KeyRecord {
  /** Last chosen instance; 0 when nothing was ever chosen. */
  chosen: number;
  /** Origin and seq of the value chosen at `chosen` (-1 / 0 when chosen is 0). */
  chosenOrigin: number;
  chosenSeq: number;
  /**
   * Data state after applying instance `chosen`; null when absent (never written or deleted).
   * Replaced by each apply, never written into, except by its core when the key holds it alone
   * (decision "A key's data written in place": KeyState.ownedData).
   */
  data: Uint8Array | null;
  /** Count of mutations applied (no-ops and failed conditional writes do not count). */
  version: number;
  /** Acceptor state for instance chosen + 1. 0 = no promise. */
  promised: number;
  /** Ballot of the accepted value for instance chosen + 1; 0 = nothing accepted. */
  acceptedBallot: number;
  accepted: Proposal | null;
  /**
   * The last few chosen values, including no-ops, for at-most-once apply, as columns
   * (recent-window.ts): a seq bound, the ring's head, then (instance, origin, seq) per entry in
   * `recentIds` (an empty window: no numbers at all), each entry's result in `recentResults`.
   * Read only through recent-window.ts. Mutated in place; a copy that outlives the call takes
   * `copyWindow`.
   */
  recentIds: number[];
  recentResults: Uint8Array[];
  /**
   * Caller-chosen request ids applied on this key, newest last, with their results: a write
   * carrying one of them is not applied again (exactly-once retries, request-id.ts). Replaced,
   * never mutated in place (records are shared with messages being encoded).
   */
  requests: readonly RequestEntry[];
}

/** One remembered caller request id and the result its write answered with. */
export interface RequestEntry {
  readonly id: string;
  readonly result: Uint8Array;
}

export const MessageType = {
  prepare: 1,
  promise: 2,
  accept: 3,
  accepted: 4,
  chosen: 5,
  readQuery: 6,
  readReply: 7,
  fetch: 8,
  fetchReply: 9,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const FetchPurpose = { catchUp: 0, recover: 1 } as const;
export type FetchPurpose = (typeof FetchPurpose)[keyof typeof FetchPurpose];

/**
 * One per-key Paxos message. Flat on purpose (one binary layout for all types). Every message
 * carries the sender's last chosen instance and the id of the value chosen there, so a
 * receiver that is one instance behind can settle it from its own accepted value, and a
 * receiver further behind knows whom to catch up from.
 */
export interface PaxosMessage {
  type: MessageType;
  key: string;
  from: number;
  to: number;
  instance: number;
  ballot: number;
  ok: boolean;
  /** Sender's promised ballot (in rejections) or, in promises, the accepted ballot. */
  promised: number;
  acceptedBallot: number;
  value: Proposal | null;
  chosen: number;
  chosenOrigin: number;
  chosenSeq: number;
  /** Correlates read queries and fetches with their replies; the fetch purpose for fetches. */
  requestId: number;
  purpose: FetchPurpose;
  /** fetchReply only: the sender's whole record for the key. */
  record: KeyRecord | null;
}

export type Consistency = 'linearizable' | 'local';

/** A client write: `op` is applied to the key's data state once its proposal is chosen. */
export interface WriteRequest {
  readonly kind: 'write';
  readonly token: number;
  readonly key: string;
  readonly op: Uint8Array;
}

/** A client read: `query` is evaluated against the key's data state. */
export interface ReadRequest {
  readonly kind: 'read';
  readonly token: number;
  readonly key: string;
  readonly query: Uint8Array;
  readonly consistency: Consistency;
}

export type ClientRequest = WriteRequest | ReadRequest;

/**
 * The failure codes the core itself delivers. The public `ErrorCodes` (actors/store/errors.ts)
 * take these three entries from this table, so a core result's code reaches the caller as is and
 * each code string is declared once.
 */
export const CoreErrorCodes = {
  UNAVAILABLE: 'UNAVAILABLE',
  UNKNOWN_OUTCOME: 'UNKNOWN_OUTCOME',
  OVERLOADED: 'OVERLOADED',
} as const;
export type CoreErrorCode = (typeof CoreErrorCodes)[keyof typeof CoreErrorCodes];

export type ClientResult =
  | { readonly token: number; readonly ok: true; readonly result: Uint8Array }
  | {
      readonly token: number;
      readonly ok: false;
      readonly code: CoreErrorCode;
      readonly message: string;
    };

export type { StateMachine } from '../../../models/state-machine';

export interface PersistRecord {
  readonly key: string;
  readonly record: KeyRecord;
}

/** Everything the shell must do now (STYLE.md §1). */
export interface Ready {
  /** Keys whose records must be read from storage and fed back with `loaded`. */
  load: string[];
  /** Records to make durable first, in one engine batch. */
  persist: PersistRecord[];
  /** Promises, accepts and proposals: only after `persist` is durable. */
  sendAfterPersist: PaxosMessage[];
  /** Messages that depend on no unpersisted state: safe to send at once. */
  send: PaxosMessage[];
  /** Answers to callers, after `persist` is durable. */
  deliver: ClientResult[];
  /**
   * This incarnation's id range is running out: the shell should take a new incarnation number
   * (durably, never used before) and hand it to `renewIds` (core/ids.ts).
   */
  renewIds: boolean;
}
