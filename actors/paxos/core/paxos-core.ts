/**
 * The per-key leaseless Paxos core of one replica's group of keys: a pure, synchronous state
 * machine in the style of etcd's raft (STYLE.md §1). Inputs: peer messages (`step`), client
 * requests (`request`), storage reads (`loaded`) and logical time (`tick`). Output: one `Ready`
 * batch (`ready()`), which the shell carries out: persist, then send and deliver.
 *
 * No clock, timers, randomness or I/O live here; the shell passes an incarnation number that
 * never repeats, from which the core's ballots (ballot.ts) and ids (ids.ts) are made unique.
 */
import { assert, VERIFY } from '../../../runtime/assert';
import { ReusedList } from '../../../runtime/reused-list';
import { EPOCH_SPAN, quorumSize } from './ballot';
import { ID_SPAN_DEFAULT, newIdSpace, renewIds, takeSeq } from './ids';
import { invalidMessage, invalidRecord } from './validate';
import { checkRecord, emptyRecord, snapshotRecord } from './key-record';
import { evictEmpty, evictKeys, evictProbation, isIdle } from './key-cache';
import type {
  AppliedHook,
  CoreContext,
  CoreInput,
  CoreLimits,
  KeyState,
  KeyStatus,
} from './key-state';
import {
  anyDeadlinePassed,
  count,
  deliver,
  emptyReady,
  lendData,
  markActive,
  message,
  newKeyState,
  NO_INPUTS,
  NO_WRITES,
  pendingReads,
  pushOwn,
  refuse,
} from './key-state';
import { learn, onAccept, onFetch, onPrepare, onReadQuery } from './acceptor';
import { maybePropose, onAccepted, onPromise, tickProposer } from './proposer';
import { onReadReply, onReadRequest, tickReads } from './reader';
import { newReadWatch, watchReadRounds } from './read-watch';
import { onCatchUpReply, onRecoverReply, startRecovery, tickRecovery } from './recovery';
import type {
  ClientRequest,
  KeyRecord,
  PaxosMessage,
  Ready,
  StateMachine,
  WriteRequest,
} from './types';
import { CoreErrorCodes, FetchPurpose, MessageType } from './types';

export interface CoreConfig {
  readonly replicaId: number;
  readonly replicas: number;
  readonly model: StateMachine;
  /**
   * This incarnation of the replica's group: a number in [0, 2^21) that no earlier incarnation
   * used, lost disks included (the shell keeps it durably). It is the epoch of every ballot
   * this core makes and the range of its ids, so nothing a past incarnation left on the wire
   * can be taken for ours (decision 15).
   */
  readonly incarnation: number;
  /** Restarted without its durable state: every key recovers from peers before it votes. */
  readonly amnesic: boolean;
  readonly limits?: Partial<CoreLimits>;
  /** Ids per incarnation range (default 2^32); small in tests of range renewal. */
  readonly idSpan?: number;
  /**
   * Keys whose chosen-only changes are persisted (decision 13: derived local data must follow
   * the applied state). A pure function of the key; default: none (decision 3).
   */
  readonly persistChosen?: (key: string) => boolean;
  /** Told of every applied op that changed a key (the shell's journal, docs/decisions.md "Journal subscription"). */
  readonly onApplied?: AppliedHook;
  /**
   * Keys' data may be written in place (CoreContext.reuseData): only when the shell keeps no
   * record or data it is handed past that turn. Default false.
   */
  readonly reuseData?: boolean;
}

export const DEFAULT_LIMITS: CoreLimits = {
  roundTimeoutTicks: 10,
  requestTimeoutTicks: 200,
  queuedWritesPerKeyMax: 1024,
  pendingReadsPerKeyMax: 1024,
  waitingPerKeyMax: 1024,
};

export class PaxosCore {
  private readonly ctx: CoreContext;
  private readonly keys = new Map<string, KeyState>();
  /** Keys that loaded with no record: evicted again while they stay empty (key-cache.ts). */
  private readonly emptyCandidates = new Set<KeyState>();
  /**
   * New keys (loaded with no record), oldest first: the key cache's probation segment
   * (key-cache.ts). Tracked once the shell bounds the cache (its first evictIdle:
   * `probationOn`), so a core that never evicts does not collect them; trimmed only once the
   * cache has been over its bound (`probationTrimmed`): a cache with room evicts nothing, so a
   * working set that fits stays whole. Until then every entry is a held key (evictEmpty drops
   * its own), so the set is no larger than the cache.
   */
  private readonly probation = new Set<KeyState>();
  /** The key states of the batch being warmed (`warm`), empty between calls. */
  private readonly warmStates = new ReusedList<KeyState>();
  private probationOn = false;
  private probationTrimmed = false;

  constructor(config: CoreConfig) {
    const { replicaId, replicas } = config;
    if (!(Number.isInteger(replicas) && replicas >= 1 && replicas <= 30))
      assert(false, `replicas ${replicas}`);
    if (!(Number.isInteger(replicaId) && replicaId >= 0 && replicaId < replicas))
      assert(false, `replicaId ${replicaId}`);
    const incarnation = config.incarnation;
    if (!(Number.isInteger(incarnation) && incarnation >= 0 && incarnation < EPOCH_SPAN))
      assert(false, `incarnation ${incarnation}`);
    const limits = { ...DEFAULT_LIMITS, ...config.limits };
    assert(
      limits.roundTimeoutTicks >= 1 && limits.requestTimeoutTicks >= limits.roundTimeoutTicks,
      'limits',
    );
    this.ctx = {
      me: replicaId,
      replicas,
      quorum: quorumSize(replicas),
      model: config.model,
      limits,
      amnesic: config.amnesic,
      epoch: incarnation,
      ids: newIdSpace(incarnation, config.idSpan ?? ID_SPAN_DEFAULT),
      persistChosen: config.persistChosen ?? (() => false),
      onApplied: config.onApplied,
      reuseData: config.reuseData ?? false,
      tickNow: 0,
      roundNow: 0,
      heardAt: new Array<number>(config.replicas).fill(-1),
      out: emptyReady(),
      readyEpoch: 0,
      dirty: new ReusedList(),
      active: new ReusedList(),
      activeSpare: new ReusedList(),
      readWatch: newReadWatch(),
      noticesDue: [],
      peers: otherReplicas(replicaId, replicas),
      peerOrder: otherReplicas(replicaId, replicas),
      peersMask: ((1 << replicas) - 1) & ~(1 << replicaId),
      counters: {},
    };
  }

  request(request: ClientRequest): void {
    const ks = this.keyState(request.key);
    if (ks.status !== 'ready') {
      this.hold(ks, {
        kind: 'request',
        request,
        deadlineTick: this.ctx.tickNow + this.ctx.limits.requestTimeoutTicks,
      });
      return;
    }
    if (request.kind === 'read') onReadRequest(this.ctx, ks, request);
    else this.onWriteRequest(ks, request);
    this.invariants(ks);
  }

  /**
   * A message from a peer. Input, not our state: a malformed one is rejected (counted, its
   * reason returned for the shell to log) and changes nothing. Returns undefined when taken.
   * The message is borrowed for this call: the core keeps its value or record, never `m`.
   */
  step(m: PaxosMessage): string | undefined {
    const ctx = this.ctx;
    const invalid = invalidMessage(m, ctx.me, ctx.replicas);
    if (invalid !== undefined) {
      count(ctx, 'rejectedMessages');
      return invalid;
    }
    ctx.heardAt[m.from] = ctx.roundNow;
    const ks = this.keyState(m.key);
    if (ks.key !== m.key) assert(false, `message for ${m.key} routed to ${ks.key}`);
    if (ks.status === 'loading') {
      // `m` is only borrowed (the shell decodes into reused objects): a held message is a copy.
      this.hold(ks, { kind: 'message', message: { ...m } });
    } else if (ks.status === 'recovering') {
      // The amnesia rule: no promise, accept or answer until recovered; peers retry.
      const recoverReply = m.type === MessageType.fetchReply && m.purpose === FetchPurpose.recover;
      if (recoverReply && onRecoverReply(ctx, ks, m)) this.releaseWaiting(ks);
      else count(ctx, 'droppedWhileRecovering');
    } else {
      this.dispatch(ks, m);
    }
    this.invariants(ks);
    return undefined;
  }

  /**
   * The record of a key the shell was asked to load (undefined: not on disk; 'corrupted': on
   * disk but failed its checksum). A replica holds no vote for state it cannot read: a
   * corrupted key recovers from a majority of the others exactly like an amnesic one, and the
   * recovered record then overwrites the bad one.
   */
  loaded(key: string, record: KeyRecord | undefined | 'corrupted'): void {
    const ks = this.keys.get(key);
    if (!(ks !== undefined && ks.status === 'loading')) assert(false, `unexpected load of ${key}`);
    // A record that decodes but breaks the record's rules is damage too, never a crash.
    const damaged =
      record === 'corrupted' ||
      (record !== undefined && invalidRecord(record, this.ctx.replicas) !== undefined);
    if (damaged) count(this.ctx, 'corruptedRecords');
    else if (record !== undefined) {
      checkRecord(record, key);
      ks.rec = record;
    } else {
      this.emptyCandidates.add(ks);
      if (this.probationOn) this.probation.add(ks);
    }
    if (this.ctx.amnesic || damaged) {
      startRecovery(this.ctx, ks);
      return;
    }
    ks.status = 'ready';
    this.releaseWaiting(ks);
    this.invariants(ks);
  }

  /**
   * The shell learnt that storage lost records at open (e.g. an engine cut a bad tail off its
   * log: a crash mid-write, or damage to a batch that was acknowledged). Whatever was lost may
   * have been a promise or an accept, so this incarnation obeys the amnesia rule from now on:
   * every key recovers from a majority of the others before it takes part. Only allowed
   * while no key has loaded yet, since a loaded key may already have voted from its record.
   */
  becomeAmnesic(): void {
    for (const ks of this.keys.values()) {
      if (ks.status !== 'loading')
        assert(false, `becomeAmnesic after ${ks.key} loaded (${ks.status})`);
    }
    // No ballot floor is needed: this core's ballots carry its incarnation (ballot.ts), so none
    // of them can equal a ballot of the past incarnation whose records were lost.
    this.ctx.amnesic = true;
    count(this.ctx, 'amnesicAfterOpen');
    assert(this.ctx.amnesic, 'amnesic after becomeAmnesic');
  }

  /**
   * The shell's answer to `Ready.renewIds`: a new incarnation number, taken durably and never
   * used before. Ids continue in its range; ballots keep this core's epoch.
   */
  renewIds(incarnation: number): void {
    renewIds(this.ctx.ids, incarnation);
    count(this.ctx, 'idRangesRenewed');
  }

  /**
   * Logical time moves on by `elapsed` ticks (default 1). The shell passes more than one when
   * its timer ran late (a busy thread), so client deadlines keep to the wall clock: every
   * deadline compares with `>=`, so a jump fires whatever fell due within it. Retry timers
   * move one step per call (`roundNow`, see key-state.ts).
   */
  tick(elapsed = 1): void {
    const ctx = this.ctx;
    if (!(Number.isSafeInteger(elapsed) && elapsed >= 1)) assert(false, `tick of ${elapsed}`);
    ctx.tickNow += elapsed;
    ctx.roundNow += 1;
    // Keys whose read round may have stalled join the active keys for this pass.
    watchReadRounds(ctx);
    // This pass's keys; keys made active while it runs join the next one (ctx.active).
    const pass = ctx.active;
    ctx.active = ctx.activeSpare;
    if (ctx.active.length !== 0) assert(false, `${ctx.active.length} keys in the spare list`);
    for (let i = 0; i < pass.length; i++) {
      const ks = pass.get(i);
      if (!ks.active) assert(false, `${ks.key} in the active list, not marked active`);
      ks.active = false;
      if (ks.status === 'ready') {
        tickProposer(ctx, ks);
        tickReads(ctx, ks);
        this.expireWrites(ks);
      } else {
        this.expireHeld(ks);
      }
      tickRecovery(ctx, ks);
      if (!isIdle(ks)) markActive(ctx, ks);
      this.invariants(ks);
    }
    pass.clear();
    ctx.activeSpare = pass;
  }

  /** Takes everything the shell must do now. Records are live: encode them before the next step. */
  ready(): Ready {
    const ctx = this.ctx;
    this.sendNoticesDue();
    const out = ctx.out;
    for (let i = 0; i < ctx.dirty.length; i++) {
      const ks = ctx.dirty.get(i);
      ks.dirty = false;
      out.persist.push({ key: ks.key, record: ks.rec });
    }
    ctx.dirty.clear();
    if (ctx.ids.renewWanted && !ctx.ids.renewAsked) {
      out.renewIds = true;
      ctx.ids.renewAsked = true;
    }
    ctx.out = emptyReady();
    // What was built until now leaves with `out`: a read round started before this no longer
    // takes new reads (reader.ts onReadRequest).
    ctx.readyEpoch += 1;
    if (ctx.dirty.length !== 0) assert(false, `${ctx.dirty.length} dirty keys left after ready()`);
    // Paired with the check on load (loaded): a record is checked just before it is persisted.
    if (VERIFY) for (const p of out.persist) checkRecord(p.record, p.key);
    return out;
  }

  hasReady(): boolean {
    const o = this.ctx.out;
    const renew = this.ctx.ids.renewWanted && !this.ctx.ids.renewAsked;
    return (
      renew ||
      this.ctx.dirty.length > 0 ||
      this.ctx.noticesDue.length > 0 ||
      o.load.length + o.send.length + o.sendAfterPersist.length + o.deliver.length > 0
    );
  }

  /** A copy of a key's record as this replica knows it (tests, verification). */
  record(key: string): KeyRecord | undefined {
    const ks = this.keys.get(key);
    if (ks === undefined) return undefined;
    lendData(ks);
    return snapshotRecord(ks.rec);
  }

  /** This incarnation obeys the amnesia rule (started without its state, or told so since). */
  get amnesic(): boolean {
    return this.ctx.amnesic;
  }

  /**
   * Bounds the keys held in memory (key-cache.ts): evicts settled new keys past the probation
   * segment's bound (counted apart as `keysEvictedYoung`, and in `keysEvicted`), then untouched
   * idle keys once more than `keysMax` are held. `mayEvict` is the shell's word that nothing of the key is staged or
   * being written. Only for a core whose records are kept elsewhere: on durable storage, or
   * (memory engine) by `onEvicted`, which is given the evicted record; the key loads again
   * from there.
   */
  evictIdle(
    keysMax: number,
    mayEvict: (key: string) => boolean,
    onEvicted?: (key: string, rec: KeyRecord) => void,
  ): number {
    const { keys, ctx, probation } = this;
    // New keys are tracked from the first call; the segment is trimmed once the cache has been
    // over its bound, for good: a stream of new keys keeps the cache full, and switching the
    // trim off whenever it made room would let them live a whole turnover again.
    this.probationOn = true;
    if (keys.size > keysMax) this.probationTrimmed = true;
    const young = this.probationTrimmed
      ? evictProbation(keys, ctx, probation, keysMax, mayEvict, onEvicted)
      : 0;
    if (young > 0) count(ctx, 'keysEvictedYoung', young);
    const evicted = young + evictKeys(keys, ctx, keysMax, mayEvict, onEvicted);
    if (evicted > 0) count(ctx, 'keysEvicted', evicted);
    return evicted;
  }

  /**
   * Every key this core holds in memory, with its status and record (verification). The
   * records are the live objects, not copies: callers read them and must not keep or change
   * them past the current turn. Their data arrays are lent (lendData): digests keep them.
   * `lend` false is for a caller that keeps nothing of a record past the call (the
   * simulator's invariant checks), so keys' data may still be written in place after it.
   */
  *heldRecords(lend = true): Generator<{
    readonly key: string;
    readonly status: KeyStatus;
    readonly rec: KeyRecord;
  }> {
    for (const ks of this.keys.values()) {
      if (lend) lendData(ks);
      yield { key: ks.key, status: ks.status, rec: ks.rec };
    }
  }

  /**
   * Forgets keys that hold nothing (loaded empty and still empty, idle, untouched since the
   * last call): a read of a key that was never written leaves no lasting state, on every engine.
   * `mayEvict` as for evictIdle. Bounded per call.
   */
  evictEmptyIdle(mayEvict: (key: string) => boolean): number {
    const evicted = evictEmpty(this.keys, this.ctx, this.emptyCandidates, mayEvict, this.probation);
    if (evicted > 0) count(this.ctx, 'emptyKeysEvicted', evicted);
    return evicted;
  }

  stats(): Record<string, number> {
    return { ...this.ctx.counters, keys: this.keys.size, activeKeys: this.ctx.active.length };
  }

  /**
   * Chosen notices not carried by another message of this turn go out with the turn's Ready
   * (decisions.md "Chosen notices ride on the next message"). The notice names the key's
   * chosen state now, which may be later than the instance that asked for it: the peer
   * settles or catches up from either.
   */
  private sendNoticesDue(): void {
    const ctx = this.ctx;
    const due = ctx.noticesDue;
    if (due.length === 0) return;
    ctx.noticesDue = [];
    let sent = 0;
    for (const ks of due) {
      const owed = ks.noticePeers;
      ks.noticePeers = 0;
      for (const peer of ctx.peers) {
        if ((owed & (1 << peer)) === 0) continue;
        ctx.out.send.push(message(ctx, ks, MessageType.chosen, peer, ks.rec.chosen));
        sent++;
      }
    }
    if (!(sent <= due.length * ctx.peers.length))
      assert(false, `${sent} notices for ${due.length} keys`);
    if (sent > 0) count(ctx, 'chosenNoticesSent', sent);
  }

  private dispatch(ks: KeyState, m: PaxosMessage): void {
    const ctx = this.ctx;
    // Loading and recovering keys hold or drop messages (step); only a ready key votes.
    if (ks.status !== 'ready') assert(false, `dispatch to ${ks.status} key ${ks.key}`);
    learn(ctx, ks, m);
    switch (m.type) {
      case MessageType.prepare:
        return onPrepare(ctx, ks, m);
      case MessageType.accept:
        return onAccept(ctx, ks, m);
      case MessageType.promise:
        return onPromise(ctx, ks, m);
      case MessageType.accepted:
        return onAccepted(ctx, ks, m);
      case MessageType.chosen:
        return; // learn() did the work.
      case MessageType.readQuery:
        return onReadQuery(ctx, ks, m);
      case MessageType.readReply:
        return onReadReply(ctx, ks, m);
      case MessageType.fetch:
        return onFetch(ctx, ks, m);
      case MessageType.fetchReply:
        if (m.purpose === FetchPurpose.catchUp) onCatchUpReply(ctx, ks, m);
        return;
    }
  }

  private onWriteRequest(ks: KeyState, request: WriteRequest): void {
    const ctx = this.ctx;
    if (ks.status !== 'ready') assert(false, `write request on ${ks.status} key ${ks.key}`);
    if (ks.writes.length >= ctx.limits.queuedWritesPerKeyMax) {
      count(ctx, 'writesRejectedOverloaded');
      refuse(ctx, request.token, CoreErrorCodes.OVERLOADED, `too many writes queued on ${ks.key}`);
      return;
    }
    const seq = takeSeq(ctx.ids);
    if (seq === undefined) {
      // This incarnation's ids are spent and the shell has not renewed them yet (ids.ts).
      count(ctx, 'writesRejectedIdsSpent');
      refuse(
        ctx,
        request.token,
        CoreErrorCodes.UNAVAILABLE,
        `no proposal ids left for ${ks.key} yet`,
      );
      return;
    }
    const write = {
      request,
      deadlineTick: ctx.tickNow + ctx.limits.requestTimeoutTicks,
      proposal: { origin: ctx.me, seq, op: request.op },
      pendingAt: [],
    };
    ks.writes = pushOwn(ks.writes, NO_WRITES, write);
    markActive(ctx, ks);
    maybePropose(ctx, ks);
    if (!(ks.writes.length <= ctx.limits.queuedWritesPerKeyMax))
      assert(false, `${ks.writes.length} writes queued on ${ks.key}`);
  }

  /**
   * Fails writes past their deadline. A write whose value reached an acceptor may still be
   * chosen later: UNKNOWN_OUTCOME. One never sent: UNAVAILABLE, and its round is abandoned so
   * it can never be proposed after the caller was told it failed.
   */
  private expireWrites(ks: KeyState): void {
    const ctx = this.ctx;
    // Most ticks expire nothing: no new array for the key's writes then.
    if (!anyDeadlinePassed(ks.writes, ctx.tickNow)) return;
    const keep = [];
    for (const w of ks.writes) {
      if (ctx.tickNow < w.deadlineTick) {
        keep.push(w);
        continue;
      }
      const sent = w.pendingAt.length > 0;
      if (!sent && ks.proposal !== null && ks.proposal.own === w.proposal) ks.proposal = null;
      refuse(
        ctx,
        w.request.token,
        sent ? CoreErrorCodes.UNKNOWN_OUTCOME : CoreErrorCodes.UNAVAILABLE,
        sent
          ? `write to ${ks.key} timed out; it may or may not be applied`
          : `no majority for ${ks.key}`,
      );
      count(ctx, sent ? 'writesUnknownOutcome' : 'writesUnavailable');
    }
    const changed = keep.length !== ks.writes.length;
    assert(keep.length <= ks.writes.length, 'expiry only removes writes');
    ks.writes = keep.length === 0 ? NO_WRITES : keep;
    if (changed) maybePropose(ctx, ks);
  }

  /**
   * Reads, and changes nothing, the state that the messages or requests of a batch read first:
   * each key's state, seen state and record, its window's first numbers and its data's first
   * byte. The shell calls it with a whole batch before stepping any of it (decision "A batch's
   * keys warmed before it is stepped"): with many keys each is cold, and a lookup followed by its
   * handler takes the cache misses one at a time. Here they come in stages, one per level of
   * pointers (the lookups, then the key states' lines, then the records', then their arrays'),
   * so that the misses of a stage do not wait on one another and the processor keeps several in
   * flight. An unknown key is not loaded and no key is marked used (the key cache's order is the
   * steps' business). Returns a number made of what it read, for the caller to keep, so that
   * the reads are not dropped as unused.
   */
  warm(items: readonly { readonly key: string }[]): number {
    const states = this.warmStates;
    for (let i = 0; i < items.length; i++) {
      const ks = this.keys.get((items[i] as { readonly key: string }).key);
      if (ks !== undefined) states.push(ks);
    }
    const n = states.length;
    let read = 0;
    for (let i = 0; i < n; i++) read += states.get(i).rec.chosen;
    for (let i = 0; i < n; i++) {
      const ks = states.get(i);
      const data = ks.rec.data;
      read += ks.seen.seq + ks.rec.recentIds.length + (data === null ? 0 : data.length);
    }
    for (let i = 0; i < n; i++) {
      const rec = states.get(i).rec;
      const data = rec.data;
      read += rec.recentIds[0] ?? 0;
      if (data !== null && data.length !== 0) read += data[0] as number;
    }
    // No key state is kept past the call.
    states.clear();
    return read;
  }

  private keyState(key: string): KeyState {
    let ks = this.keys.get(key);
    if (ks === undefined) {
      ks = newKeyState(key, emptyRecord());
      this.keys.set(key, ks);
      this.ctx.out.load.push(key);
    }
    ks.touched = true;
    return ks;
  }

  private hold(ks: KeyState, input: CoreInput): void {
    // A ready key takes its inputs at once; holding one would reorder it behind later inputs.
    if (ks.status === 'ready') assert(false, `held an input for ready key ${ks.key}`);
    if (ks.waiting.length >= this.ctx.limits.waitingPerKeyMax) {
      count(this.ctx, 'droppedWaiting');
      if (input.kind === 'request') {
        refuse(
          this.ctx,
          input.request.token,
          CoreErrorCodes.OVERLOADED,
          `too many requests waiting on ${ks.key}`,
        );
      }
      return;
    }
    ks.waiting = pushOwn(ks.waiting, NO_INPUTS, input);
    if (input.kind === 'request') this.expireLater(ks);
    if (!(ks.waiting.length <= this.ctx.limits.waitingPerKeyMax))
      assert(false, `${ks.waiting.length} inputs held on ${ks.key}`);
  }

  /** Client requests held while a key loads or recovers fail at their deadline. */
  private expireHeld(ks: KeyState): void {
    const keep: CoreInput[] = [];
    for (const input of ks.waiting) {
      if (input.kind === 'request' && this.ctx.tickNow >= input.deadlineTick) {
        refuse(
          this.ctx,
          input.request.token,
          CoreErrorCodes.UNAVAILABLE,
          `${ks.key} is not available on this replica yet (recovering)`,
        );
        count(this.ctx, 'heldRequestsExpired');
      } else keep.push(input);
    }
    ks.waiting = keep.length === 0 ? NO_INPUTS : keep;
  }

  /** Requests held during load/recovery still need their deadline: keep the key ticking. */
  private expireLater(ks: KeyState): void {
    markActive(this.ctx, ks);
  }

  private releaseWaiting(ks: KeyState): void {
    if (ks.status !== 'ready') assert(false, `release on ${ks.status} key ${ks.key}`);
    const waiting = ks.waiting;
    ks.waiting = NO_INPUTS;
    // Indexed: `waiting` is mostly the frozen NO_INPUTS (key-state.ts anyDeadlinePassed).
    for (let i = 0; i < waiting.length; i++) {
      const input = waiting[i] as CoreInput;
      if (input.kind === 'request') this.request(input.request);
      else this.dispatch(ks, input.message);
    }
    maybePropose(this.ctx, ks);
  }

  /**
   * Invariants checked after every step, request, load and tick (STYLE.md §2): the Paxos
   * promises of this replica's acceptor for the key, then the bounds of its local state.
   */
  private invariants(ks: KeyState): void {
    // A key still loading or recovering holds a placeholder or its own stale record: the
    // record it ends with may be older than nothing (loading) and is checked from then on.
    if (ks.status === 'ready') checkAgainstSeen(ks);
    const rec = ks.rec;
    const seen = ks.seen;
    seen.chosen = rec.chosen;
    seen.origin = rec.chosenOrigin;
    seen.seq = rec.chosenSeq;
    seen.promised = rec.promised;
    seen.acceptedBallot = rec.acceptedBallot;
    seen.acceptedOrigin = rec.accepted === null ? -1 : rec.accepted.origin;
    seen.acceptedSeq = rec.accepted === null ? 0 : rec.accepted.seq;
    if (!(rec.acceptedBallot <= rec.promised))
      assert(false, `${ks.key}: accepted ${rec.acceptedBallot} > promised ${rec.promised}`);
    if (!(ks.proposal === null || ks.proposal.instance === rec.chosen + 1))
      assert(false, `${ks.key}: round for a decided instance`);
    if (!(ks.readRound === null || (ks.readRound.out && ks.readRound.ks === ks)))
      assert(false, `${ks.key}: its read round is not out`);
    if (!(ks.status === 'recovering' || ks.recovery === null))
      assert(false, `${ks.key}: recovery on ${ks.status} key`);
    // Inputs are held only while a key loads or recovers; a ready key has released them all.
    if (!(ks.status !== 'ready' || ks.waiting.length === 0))
      assert(false, `${ks.key}: ${ks.waiting.length} inputs held while ready`);
    if (!(ks.waiting.length <= this.ctx.limits.waitingPerKeyMax))
      assert(false, `${ks.key}: ${ks.waiting.length} inputs held`);
    if (!(ks.writes.length <= this.ctx.limits.queuedWritesPerKeyMax))
      assert(false, `${ks.key}: ${ks.writes.length} writes queued`);
    if (pendingReads(ks) > this.ctx.limits.pendingReadsPerKeyMax)
      assert(false, `${ks.key}: ${pendingReads(ks)} reads pending`);
    // Notices are owed to peers only, and only by a key that is due to send them.
    if (!((ks.noticePeers & ~this.ctx.peersMask) === 0))
      assert(false, `${ks.key}: notices owed to ${ks.noticePeers.toString(2)}`);
    if (VERIFY) checkRecord(rec, ks.key);
  }
}

/**
 * The acceptor's promises over time, against what `invariants()` saw last (STYLE.md §2): the
 * chosen instance only moves forward and a chosen value never changes; while the instance
 * stays, the promised ballot never goes down, the accepted ballot never goes down, and the
 * value accepted at one ballot never changes (an acceptor accepts one value per ballot).
 */
function checkAgainstSeen(ks: KeyState): void {
  const rec = ks.rec;
  const seen = ks.seen;
  if (!(rec.chosen >= seen.chosen))
    assert(false, `${ks.key}: chosen went back from ${seen.chosen} to ${rec.chosen}`);
  if (rec.chosen !== seen.chosen) return; // A new instance: its acceptor state starts afresh.
  if (!(rec.chosenOrigin === seen.origin && rec.chosenSeq === seen.seq))
    assert(
      false,
      `${ks.key}: the value chosen at ${rec.chosen} changed from ${seen.origin}:${seen.seq} to ${rec.chosenOrigin}:${rec.chosenSeq}`,
    );
  if (!(rec.promised >= seen.promised))
    assert(false, `${ks.key}: promise went down from ${seen.promised} to ${rec.promised}`);
  if (!(rec.acceptedBallot >= seen.acceptedBallot))
    assert(
      false,
      `${ks.key}: accepted ballot went down from ${seen.acceptedBallot} to ${rec.acceptedBallot}`,
    );
  const accepted = rec.accepted;
  const sameBallot = rec.acceptedBallot === seen.acceptedBallot && accepted !== null;
  if (!(
    !sameBallot ||
    (accepted.origin === seen.acceptedOrigin && accepted.seq === seen.acceptedSeq)
  ))
    assert(false, `${ks.key}: the value accepted at ballot ${rec.acceptedBallot} changed`);
}

function otherReplicas(me: number, replicas: number): number[] {
  const peers: number[] = [];
  for (let r = 0; r < replicas; r++) if (r !== me) peers.push(r);
  return peers;
}
