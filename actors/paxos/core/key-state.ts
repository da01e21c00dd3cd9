/**
 * In-memory state of one key inside a core, and the context the handler modules share.
 * Pure data plus small helpers; the handlers live in acceptor.ts, proposer.ts, reader.ts and
 * recovery.ts.
 */
import { assert } from '../../../runtime/assert';
import type { ReusedList } from '../../../runtime/reused-list';
import type {
  ClientRequest,
  ClientResult,
  CoreErrorCode,
  KeyRecord,
  MessageType,
  PaxosMessage,
  Proposal,
  ReadRequest,
  Ready,
  StateMachine,
  WriteRequest,
} from './types';
import { FetchPurpose } from './types';
import type { IdSpace } from './ids';
import type { ReadWatch } from './read-watch';

export type KeyStatus = 'loading' | 'recovering' | 'ready';

export interface PendingWrite {
  readonly request: WriteRequest;
  readonly deadlineTick: number;
  /** Our proposal for this write (seq assigned once, reused by every retry). */
  readonly proposal: Proposal;
  /**
   * Instances this value was sent to acceptors at and not yet known to have lost. A value can
   * only ever be chosen at an instance it was proposed at (acceptor state is per instance), so
   * once each of these is decided for another value, the write certainly did not apply.
   */
  pendingAt: number[];
}

export interface PendingRead {
  readonly request: ReadRequest;
  readonly deadlineTick: number;
}

export interface ProposerRound {
  readonly instance: number;
  readonly ballot: number;
  phase: 'prepare' | 'accept';
  /** The value we want chosen: a client write, or a no-op that settles the instance. */
  readonly own: Proposal;
  /** In the accept phase: the value being proposed (own, or one found in phase 1). */
  value: Proposal | null;
  /** Bitmask of replicas that promised (prepare) or accepted (accept). */
  votes: number;
  highestAcceptedBallot: number;
  highestAccepted: Proposal | null;
  /** Highest promise seen in a rejection: the next ballot must exceed it. */
  highestRejected: number;
  readonly startedTick: number;
  /** When set, the round was rejected and restarts at this tick (staggered backoff). */
  retryAtTick: number;
}

export interface ReadRound {
  readonly id: number;
  /** The key it reads (read-watch.ts looks at the round, not the key, until it may stall). */
  readonly ks: KeyState;
  readonly baseChosen: number;
  /** The reads it answers; NO_READS once it is answered or dropped. */
  reads: PendingRead[];
  /** Still the key's round: false once answered or dropped as stalled (read-watch.ts). */
  out: boolean;
  /** `ctx.readyEpoch` when it started: while they are equal its queries have not left. */
  readonly readyEpoch: number;
  /**
   * Bitmask of the replicas that answered (this one included). A majority is a set of
   * distinct replicas: a reply delivered twice must not count as a second replica.
   */
  replied: number;
  /** Highest chosen instance reported by the majority so far (this replica's own included). */
  maxChosen: number;
  /** A member at maxChosen holds an accepted value beyond it: that instance must finish first. */
  pendingFound: boolean;
  /** Set once the round found an unfinished instance: serve when chosen reaches it. */
  waitForInstance: number;
  readonly startedTick: number;
}

export interface FetchState {
  readonly id: number;
  readonly peer: number;
  readonly sentTick: number;
}

export interface RecoveryState {
  /** 0 until a request id could be minted (ids.ts: a spent range waits for renewal). */
  id: number;
  readonly replies: Map<number, KeyRecord>;
  sentTick: number;
}

export type CoreInput =
  | { readonly kind: 'message'; readonly message: PaxosMessage }
  | { readonly kind: 'request'; readonly request: ClientRequest; readonly deadlineTick: number };

export interface KeyState {
  readonly key: string;
  rec: KeyRecord;
  status: KeyStatus;
  /** Inputs held while the record loads or the key recovers (bounded). */
  waiting: CoreInput[];
  writes: PendingWrite[];
  reads: PendingRead[];
  proposal: ProposerRound | null;
  readRound: ReadRound | null;
  fetch: FetchState | null;
  recovery: RecoveryState | null;
  /** A no-op must settle this instance (a read found it unfinished); 0 = none. */
  noopTarget: number;
  /** The next Prepare must use a ballot above this (highest promise seen in rejections). */
  ballotFloor: number;
  /** The last read round stalled: the next one asks every peer, not just a majority's worth. */
  readAskAll: boolean;
  /** Used since the key cache last passed it (CLOCK bit; see key-cache.ts). */
  touched: boolean;
  /** In `ctx.dirty`: its record goes out with the next Ready's persist list (markDirty). */
  dirty: boolean;
  /** In `ctx.active`: the next tick looks at it (markActive). */
  active: boolean;
  /**
   * Peers (a bit per replica) still owed a chosen notice for the instance this replica chose
   * (proposer.ts onChosenHere). Any message about the key to a peer carries the chosen state
   * and clears its bit (message()); `ready()` sends the rest (`noticesDue`), in the same turn.
   */
  noticePeers: number;
  /**
   * What `invariants()` saw last (STYLE.md §2): the chosen instance and its value's id, and
   * the promise and accepted ballot and value id at that instance. Chosen only moves forward
   * and never changes its value; while the chosen instance stays, the promise and the accepted
   * ballot never go down, and the value accepted at one ballot never changes.
   */
  seen: SeenState;
  /**
   * The data array this key holds alone and may write a new state into (key-record.ts
   * DataOwner; only when `ctx.reuseData`): set from the model's `owned` answer, null once the
   * data is lent out (lendData).
   */
  ownedData: Uint8Array | null;
}

export interface SeenState {
  chosen: number;
  origin: number;
  seq: number;
  promised: number;
  acceptedBallot: number;
  /** The accepted value's origin and seq (-1 and 0 when none). */
  acceptedOrigin: number;
  acceptedSeq: number;
}

export interface CoreLimits {
  /** Ticks before a stalled proposal round, read round or fetch is retried. */
  readonly roundTimeoutTicks: number;
  /** Ticks before a client request fails with UNAVAILABLE / UNKNOWN_OUTCOME. */
  readonly requestTimeoutTicks: number;
  /** Client writes queued per key on this replica. */
  readonly queuedWritesPerKeyMax: number;
  /**
   * Linearizable reads pending per key on this replica: waiting for a round plus riding the
   * round that is out. Past it a read answers OVERLOADED at once, as a write does.
   */
  readonly pendingReadsPerKeyMax: number;
  /** Inputs held per key while it loads or recovers. */
  readonly waitingPerKeyMax: number;
}

/** What handler modules share: identity, limits, the output being built, counters. */
export interface CoreContext {
  readonly me: number;
  readonly replicas: number;
  readonly quorum: number;
  readonly model: StateMachine;
  readonly limits: CoreLimits;
  /** Set at construction, or by `becomeAmnesic` before any key has loaded; never cleared. */
  amnesic: boolean;
  /** The incarnation whose ballots this core makes (ballot.ts: unique per incarnation). */
  readonly epoch: number;
  /** Proposal seqs and request ids, unique across incarnations (ids.ts). */
  readonly ids: IdSpace;
  /** Keys whose chosen-only changes are persisted too (relaxes decision 3; pure predicate). */
  readonly persistChosen: (key: string) => boolean;
  /** Told of every applied op that changed a key's version (the journal, docs/decisions.md "Journal subscription"). */
  readonly onApplied: AppliedHook | undefined;
  /**
   * Keys' data may be written in place (decision "A key's data written in place"): the shell's
   * word that it keeps no record or data of the core's past the turn it is handed them in
   * (persisted and evicted records are encoded at once; no journal keeps their data).
   */
  readonly reuseData: boolean;
  /**
   * Logical time for client deadlines: it follows the host clock (the shell passes the ticks
   * that really elapsed), so a request answers within its timeout however late the timer runs.
   */
  tickNow: number;
  /**
   * Logical time for retry timers (stalled rounds, fetches, backoff): one per tick() call, so a
   * thread that was busy does not time out every round it has in flight at once and start a
   * storm of new ballots; those rounds' answers are usually waiting in its mailbox.
   */
  roundNow: number;
  /**
   * Per replica, the `roundNow` at which a valid message from it last arrived (-1: never). A
   * read asks peers heard from recently first, so a replica that is down does not stall half
   * of the reads for a round timeout. A hint only: it never decides a quorum.
   */
  readonly heardAt: number[];
  out: Ready;
  /**
   * How many Ready batches the shell has taken (ready()). Everything built since the last one
   * (queries, accepted replies, client answers) has not left this replica yet (reader.ts).
   */
  readyEpoch: number;
  /**
   * Keys whose record changed since the last Ready, each once (its `dirty` flag): an array and
   * a flag, not a Set, because a Set's table is reallocated as it grows after every clear.
   */
  readonly dirty: ReusedList<KeyState>;
  /**
   * Keys the next tick looks at (timed work: rounds, writes, recovery), each once (its `active`
   * flag). An array and a flag, not a Set, for the reason given at `dirty`: the set of a busy
   * core grew and shrank every tick, and its reallocated tables were a fifth of what a write
   * left for the collector to copy (issue 10, thirteenth session). The tick swaps it with
   * `activeSpare` and keeps the keys that are still busy.
   */
  active: ReusedList<KeyState>;
  activeSpare: ReusedList<KeyState>;
  /** Read rounds out, for the tick to find stalled ones (read-watch.ts). */
  readonly readWatch: ReadWatch;
  /**
   * Keys with chosen notices still owed (noticePeers ≠ 0 when pushed; a key at most once
   * between two ticks). The tick sends what is left of them: the bounded delay of a notice.
   */
  noticesDue: KeyState[];
  /** Every replica but this one, once (peersOf is on the hot path). */
  readonly peers: readonly number[];
  /** peersByRecency's answer, rewritten by each call (one array per core, not per read round). */
  readonly peerOrder: number[];
  /** The peers as a bit mask. */
  readonly peersMask: number;
  readonly counters: Record<string, number>;
}

/**
 * The pending reads of a key that has none: one shared empty array (frozen, so a push to it is
 * a crash, never a leak between keys). `pushOwn` replaces it by an array of the key's own; a
 * round takes the key's array and leaves this one (no empty array per read round).
 */
export const NO_READS: PendingRead[] = Object.freeze([]) as unknown as PendingRead[];

/** The queued writes and held inputs of a key with none: shared and frozen, as NO_READS. */
export const NO_WRITES: PendingWrite[] = Object.freeze([]) as unknown as PendingWrite[];
export const NO_INPUTS: CoreInput[] = Object.freeze([]) as unknown as CoreInput[];

/**
 * `list` with `item` pushed, for a key's reads, queued writes or held inputs: the shared empty
 * array (`none`: NO_READS, NO_WRITES, NO_INPUTS) is replaced by one of the key's own.
 */
export function pushOwn<T>(list: T[], none: readonly T[], item: T): T[] {
  if (list === none) return [item];
  list.push(item);
  return list;
}

/** Linearizable reads pending on a key: those waiting for a round and those riding the one out. */
export function pendingReads(ks: KeyState): number {
  return ks.reads.length + (ks.readRound === null ? 0 : ks.readRound.reads.length);
}

export function addRead(ks: KeyState, read: PendingRead): void {
  ks.reads = pushOwn(ks.reads, NO_READS, read);
  if (!(ks.reads.length > 0)) assert(false, `${ks.key}: a read added and none pending`);
}

export function newKeyState(key: string, rec: KeyRecord): KeyState {
  assert(key.length > 0, 'a key state needs a key');
  return {
    key,
    rec,
    status: 'loading',
    waiting: NO_INPUTS,
    writes: NO_WRITES,
    reads: NO_READS,
    proposal: null,
    readRound: null,
    fetch: null,
    recovery: null,
    noopTarget: 0,
    ballotFloor: 0,
    readAskAll: false,
    touched: true,
    dirty: false,
    active: false,
    noticePeers: 0,
    seen: {
      chosen: rec.chosen,
      origin: rec.chosenOrigin,
      seq: rec.chosenSeq,
      promised: rec.promised,
      acceptedBallot: rec.acceptedBallot,
      acceptedOrigin: rec.accepted === null ? -1 : rec.accepted.origin,
      acceptedSeq: rec.accepted === null ? 0 : rec.accepted.seq,
    },
    ownedData: null,
  };
}

/**
 * The key's data leaves the core by reference (a snapshot, a scan, a fetch reply): it must not
 * be written into from now on. The next apply makes the key a fresh state again.
 */
export function lendData(ks: KeyState): void {
  ks.ownedData = null;
}

/** Who may write into the key's data in place during an apply (key-record.ts), if anyone. */
export function dataOwner(ctx: CoreContext, ks: KeyState): KeyState | undefined {
  return ctx.reuseData ? ks : undefined;
}

export function emptyReady(): Ready {
  return { load: [], persist: [], sendAfterPersist: [], send: [], deliver: [], renewIds: false };
}

/**
 * A message about `ks` to one peer, stamped with this replica's chosen state for the key; every
 * other field at its zero. The caller sets the fields its type carries on the object returned
 * (it is fresh and young): no object of fields per message (one was allocated for every
 * message, ~50 bytes, six times per write).
 */
export function message(
  ctx: CoreContext,
  ks: KeyState,
  type: MessageType,
  to: number,
  instance = 0,
  ballot = 0,
): PaxosMessage {
  // Every field written in one fixed order (one hidden class) and no object spread: this runs
  // for every message on the hot path. A replica never messages itself: its own vote is
  // counted directly (proposer.ts).
  if (to === ctx.me || to < 0 || to >= ctx.replicas)
    assert(false, `message to replica ${to} from ${ctx.me}`);
  // The message carries the key's chosen state: a chosen notice owed to `to` rides on it.
  if ((ks.noticePeers & (1 << to)) !== 0) {
    ks.noticePeers &= ~(1 << to);
    count(ctx, 'chosenNoticesCarried');
  }
  return {
    type,
    key: ks.key,
    from: ctx.me,
    to,
    instance,
    ballot,
    ok: false,
    promised: 0,
    acceptedBallot: 0,
    value: null,
    chosen: ks.rec.chosen,
    chosenOrigin: ks.rec.chosenOrigin,
    chosenSeq: ks.rec.chosenSeq,
    requestId: 0,
    purpose: FetchPurpose.catchUp,
    record: null,
  };
}

/**
 * Peers to ask first: those heard from within two round timeouts, rotated by `turn`, then the
 * others (rotated too). Without any recent news it is a plain rotation. The answer is the
 * core's one `peerOrder` array, valid until the next call: this runs for every read round.
 */
export function peersByRecency(ctx: CoreContext, turn: number): readonly number[] {
  const peers = peersOf(ctx);
  const n = peers.length;
  // Filled in two passes (recent, then the rest).
  const out = ctx.peerOrder;
  if (out.length !== n) assert(false, `peer order of ${out.length} for ${n} peers`);
  const since = ctx.roundNow - 2 * ctx.limits.roundTimeoutTicks;
  let k = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      const peer = peers[(turn + i) % n];
      assert(peer !== undefined);
      const heard = ctx.heardAt[peer] ?? -1;
      if ((heard >= 0 && heard >= since) === (pass === 0)) out[k++] = peer;
    }
  }
  assert(k === n, 'peersByRecency lost a peer');
  return out;
}

/** Every replica but this one (made once per core: this is on every write's path). */
export function peersOf(ctx: CoreContext): readonly number[] {
  if (ctx.peers.length !== ctx.replicas - 1) assert(false, `${ctx.peers.length} peers`);
  return ctx.peers;
}

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/** What the journal is told of each applied op (the wrapped model op, the key's new version). */
export type AppliedHook = (key: string, op: Uint8Array, versionAfter: number) => void;

/**
 * After applyChosen: tells the journal hook of an op that changed the key (no-ops, refused ops
 * and duplicates change no version and are not mutations), and counts a state written in place
 * (`dataBefore`: the key's data before the apply).
 */
export function noteApplied(
  ctx: CoreContext,
  ks: KeyState,
  op: Uint8Array,
  versionBefore: number,
  dataBefore: Uint8Array | null,
): void {
  if (!(ks.rec.version >= versionBefore)) assert(false, `version went back on ${ks.key}`);
  // An owned state answered again by a mutating op: the new state was written into it. (A
  // generic op may answer its unchanged state as mutated too; that one is never owned.)
  const inPlace = dataBefore !== null && ks.rec.data === dataBefore && ks.ownedData === dataBefore;
  if (inPlace && ks.rec.version !== versionBefore) count(ctx, 'dataWrittenInPlace');
  if (ctx.onApplied !== undefined && ks.rec.version !== versionBefore)
    ctx.onApplied(ks.key, op, ks.rec.version);
}

export function markDirty(ctx: CoreContext, ks: KeyState): void {
  if (ks.dirty) return;
  ks.dirty = true;
  ctx.dirty.push(ks);
}

/**
 * The chosen state moved but no promise or accept did: no write is needed ("the replication
 * log as the DB"). The chosen value is durable as an accepted value on a majority, and this
 * replica's record on disk still holds it as its accepted value for the next instance; a
 * replica that restarts from that record settles it again from the first message (or read
 * round) that names it chosen. The next promise or accept for the key persists the whole
 * record, chosen state included. This halves the records written per write.
 */
export function markChosenOnly(ctx: CoreContext, ks: KeyState): void {
  // Keys with derived local data (big-table rows and their index entries, decision 13) persist
  // every change of their applied state, so the derived data on disk follows it.
  if (ctx.persistChosen(ks.key)) {
    count(ctx, 'chosenPersisted');
    markDirty(ctx, ks);
    return;
  }
  count(ctx, 'chosenNotPersisted');
}

/**
 * Whether any item's deadline has come (a key's pending writes or reads, at its tick). An
 * indexed loop, not for-of: the tick runs this for every active key, mostly over the shared
 * frozen NO_READS and NO_WRITES, and for-of over a frozen array took V8's generic iterator (an
 * object per call; issue 10, thirteenth session).
 */
export function anyDeadlinePassed(
  items: readonly { readonly deadlineTick: number }[],
  tickNow: number,
): boolean {
  for (let i = 0; i < items.length; i++)
    if (tickNow >= (items[i] as { readonly deadlineTick: number }).deadlineTick) return true;
  return false;
}

export function markActive(ctx: CoreContext, ks: KeyState): void {
  if (ks.active) return;
  ks.active = true;
  ctx.active.push(ks);
}

export function deliver(ctx: CoreContext, result: ClientResult): void {
  ctx.out.deliver.push(result);
}

/** Answers a client request with a failure: its code and what happened. */
export function refuse(
  ctx: CoreContext,
  token: number,
  code: CoreErrorCode,
  message: string,
): void {
  ctx.out.deliver.push({ token, ok: false, code, message });
}

export function count(ctx: CoreContext, name: string, by = 1): void {
  ctx.counters[name] = (ctx.counters[name] ?? 0) + by;
}
