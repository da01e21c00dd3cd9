/**
 * The shell around one replica's Paxos core for one group of keys (STYLE.md §1). It owns the
 * mailbox side (decoding inbound batches, aggregating outbound messages into one payload per
 * destination per flush), the storage port and the timer; the core owns every decision.
 *
 * Group commit: while one write is in flight, the records and replies of every later Ready are
 * staged; when the write completes, the staged records go out in the next single batch. Writes
 * are therefore ordered (an older record can never overwrite a newer one) and one fsync covers
 * many inputs. Replies that depend on a promise or accept leave only after their write.
 */
import { ReusedList } from '../../runtime/reused-list';
import { assert } from '../../runtime/assert';
import type { Actor, ActorHost, ActorId } from '../../runtime/actor';
import { CLIENT_ADDRESS } from '../../runtime/actor';
import { ByteWriter } from '../../runtime/byte-codec';
import type { ByteReader } from '../../runtime/byte-codec';
import type { BatchOp, SyncMode } from '../../engines/engine';
import { openRecord } from '../../engines/record-codec';
import { isEngineError } from '../../engines/errors';

/** The control-plane question for this actor's counters (store.stats()). */
/** The chain of a key whose store keeps no chains (RecordPort.chainOf absent). */
const NO_CHAIN = Object.freeze({ entries: 0, bytes: 0 });

export interface StatsRequest {
  readonly kind: 'stats';
}

function isStatsRequest(request: unknown): request is StatsRequest {
  return (
    typeof request === 'object' &&
    request !== null &&
    (request as { kind?: unknown }).kind === 'stats'
  );
}

function isCorrupted(err: unknown): boolean {
  return isEngineError(err, 'CORRUPTED');
}
import type { StateMachine } from '../../models/state-machine';
import type { CoreLimits } from './core/key-state';
import { PaxosCore } from './core/paxos-core';
import type { ClientRequest, ClientResult, KeyRecord, PaxosMessage, Ready } from './core/types';
import {
  PayloadKind,
  beginBatch,
  decodeRecord,
  encodeSealedRecord,
  endBatch,
  payloadKind,
  readBatch,
  blankMessage,
  readMessageInto,
  readRequest,
  writeMessage,
  writeResult,
} from './codec';
import type { RecordPort, RecordWrite } from './record-port';
import { RecordSections } from './record-sections';
import { digestReplica, isDigestRequest } from './replica-digest';
import { backupKeys, backupPage, isBackupKeysRequest, isBackupPageRequest } from './backup-page';
import type { BackupSource } from './backup-page';
import { isAmnesiaInspect, listRecordKeys } from './amnesia-inspect';
import type { AmnesiaInspect, ClearAmnesiaAnswer } from './amnesia-inspect';
import { DerivedWrites } from './derived-writes';
import type { DerivedKeys } from './derived-writes';
import { actorIdOf, groupOfActor, replicaOfActor } from './placement';
import type { GroupPlacement } from './placement';
import type { ScanRequest } from './engine-scan';
import { AMNESIC_PAGE, buildScanPage, decodeScanQuery, encodeScanPage } from './engine-scan';
import { JournalWriter, journalEpoch } from './journal-writer';
import type { StagedEntry } from './journal-writer';
import type { JournalLimits } from './journal-limits';
import { answerJournal, isJournalRequest } from './journal-page';
import type { JournalHost } from './journal-page';
import { JOURNAL_META_KEY, decodeJournalMeta, isJournalKey } from './journal-codec';
import { PersistLinger } from './persist-linger';
import type { PersistLingerOptions, Schedule } from './persist-linger';

export interface PaxosShellOptions extends GroupPlacement {
  readonly sync: SyncMode;
  readonly model: StateMachine;
  /** This incarnation of the group: never used before, lost disks included (decision 15). */
  readonly incarnation: number;
  /**
   * Takes a new incarnation number, durably, for the core's `Ready.renewIds` (its id range is
   * running out). Without it the core's ids eventually run out and writes answer UNAVAILABLE.
   */
  readonly renewIncarnation?: () => number;
  readonly amnesic: boolean;
  /**
   * Records, durably, that this group must start amnesic next time too (its storage lost
   * records at open; the lost keys stay missing after a restart). Runs before the core is told.
   */
  readonly markAmnesic?: () => void;
  /**
   * Removes that marker, durably (a full rebuild brought every key up to a majority,
   * actors/store/amnesia-rebuild.ts). Absent without a directory.
   */
  readonly clearAmnesic?: () => void;
  readonly limits?: Partial<CoreLimits>;
  /** Ids per incarnation range (tests of range renewal); default 2^32. */
  readonly idSpan?: number;
  /** Where operating problems are logged (default console.error; the simulator keeps quiet). */
  readonly log?: (line: string) => void;
  readonly derived?: DerivedKeys;
  /**
   * Keys the core may hold in memory; idle ones beyond it are evicted and load again from the
   * record store on their next use. A volatile store keeps evicted records only if it has
   * `keep` (the memory engine's compact form, decision 28); otherwise every key stays.
   */
  readonly cachedKeysMax?: number;
  /**
   * The runtime's tick period. When given, each tick() advances the core by the ticks that
   * really elapsed on the host clock (at most TICK_CATCH_UP_MAX), so a loaded thread whose
   * timer fires late still times requests out on time. Without it, one core tick per call
   * (the simulator's ticks are exact).
   */
  readonly tickMs?: number;
  /**
   * Keep this replica's journal of the group (docs/decisions.md "Journal subscription"; README "Journal
   * subscription"): every applied change of a key persists its record (decision 3 relaxed) with
   * its journal entries in the same batch. Needs a durable record store.
   */
  readonly journal?: JournalLimits;
  /**
   * The group started without its journal since it last kept one (node/journal-gap-file.ts):
   * writes no entry records came between, so the journal starts a new epoch; `clearJournalGap`
   * runs once that epoch is durable.
   */
  readonly journalGap?: boolean;
  readonly clearJournalGap?: () => void;
  /** Wall-clock ms for journal entry times (default Date.now; the simulator passes its own). */
  readonly wallClock?: () => number;
  /**
   * Adaptive group commit (persist-linger.ts): while writes keep coming, a batch starts at most
   * every `ms` unless `recordsMin` records are staged. Absent: a batch starts as soon as the
   * previous one is done (the simulator, and sync 'none', which answers before writing).
   */
  readonly persistLinger?: PersistLingerOptions;
  /** The linger's timer (default setTimeout; the simulator passes its virtual one). */
  readonly lingerSchedule?: Schedule;
}

/** Ticks one tick() may catch up after a stall (10 s at the default 10 ms). */
const TICK_CATCH_UP_MAX = 1000;

interface Staged {
  records: Map<string, Uint8Array>;
  /** Derived keys of the staged records of covered keys. */
  derived: Map<string, string[]>;
  /** Lists, not arrays: a volatile store's staging object is emptied and reused every flush. */
  messages: ReusedList<PaxosMessage>;
  results: ReusedList<ClientResult>;
  /** Journal entries of the staged records, in apply order. */
  journal: StagedEntry[];
  /** Callers waiting for the batch that carries a journal cursor change. */
  journalWaiters: ((err?: Error) => void)[];
}

const DRIVE_ROUNDS_MAX = 64;
/** Reused inbound message objects at most (onPeerPayload); a bigger batch allocates the rest. */
const INBOUND_POOL_MAX = 4096;
/**
 * A payload is sent as soon as it passes this size, so one record never nears the runtime's
 * limit (half a ring) even when many large values go to one peer in one flush.
 */
export const PAYLOAD_SOFT_BYTES_MAX = 512 * 1024;
/** Messages per batch sent as objects to a peer on this thread (the bytes path bounds by size). */
const OBJECT_BATCH_MAX = 1024;

function emptyStaged(): Staged {
  return {
    records: new Map(),
    derived: new Map(),
    messages: new ReusedList(),
    results: new ReusedList(),
    journal: [],
    journalWaiters: [],
  };
}

export class PaxosGroupActor implements Actor {
  private readonly core: PaxosCore;
  private readonly replica: number;
  private readonly group: number;
  private staged: Staged = emptyStaged();
  private writing = false;
  private readonly linger: PersistLinger | undefined;
  /** This incarnation's amnesia marker was cleared by a rebuild (inspectAmnesia). */
  private amnesiaCleared = false;
  private failed = false;
  private closed = false;
  /** close() is coming (quiesce): a staged batch no longer lingers. */
  private quiescing = false;
  /** Record loads handed to storage and not yet answered (quiesce waits for them). */
  private loadsInFlight = 0;
  private amnesiaChecked = false;
  /** Host time the core's logical clock has reached (tickMs mode). */
  private tickedAt: number | undefined = undefined;
  /**
   * The records of the batches handed to storage and not yet written: one at most under sync
   * 'batch' and 'always', several at once under 'none'. Per batch, not per key: a count per key
   * cost two Map updates per record on every write, for a check only eviction makes.
   */
  private readonly writingBatches: Map<string, Uint8Array>[] = [];
  private readonly mayEvictBound = (key: string): boolean =>
    !this.staged.records.has(key) && !this.isWriting(key);
  /**
   * An evicted key's derived keys are recomputed from its record when it loads again. A
   * volatile store (memory engine) keeps the evicted record itself, in compact form.
   */
  private readonly onEvictedBound = (key: string, rec: KeyRecord): void => {
    this.derivedWrites?.forget(key);
    this.journal?.forget(key);
    this.sections?.forget(key);
    if (this.store.keep !== undefined) this.store.keep(key, rec);
  };
  private readonly outWriters = new Map<
    number,
    { w: ByteWriter; countAt: number; count: number }
  >();
  /**
   * Messages for peers on this thread, by replica: sent as the objects themselves, no encoding
   * (decision "Same-thread messages as objects"). A peer the host refused objects for (another
   * worker or node: `sendObject` answered false) is in `bytesOnly` for this actor's life.
   */
  private readonly outObjects = new Map<number, PaxosMessage[]>();
  private readonly bytesOnly = new Set<number>();
  private readonly resultWriter = new ByteWriter(4096);
  /**
   * `messagesSent`: Paxos messages to peers; `peerPayloadsSent` / `resultPayloadsSent`: the
   * payloads (one runtime record each) they and the client results travelled in; `resultsSent`:
   * client results. Per acknowledged write these are the "messages per write" (bench/kv-load).
   */
  private readonly stats = {
    received: 0,
    dropped: 0,
    batches: 0,
    records: 0,
    /** Bytes of the records (bases and change entries) handed to storage. */
    recordBytes: 0,
    corrupted: 0,
    scans: 0,
    rejectedPayloads: 0,
    messagesSent: 0,
    peerPayloadsSent: 0,
    resultPayloadsSent: 0,
    resultsSent: 0,
  };
  /** Messages of the payload being decoded (reused: decode all, then step). */
  private readonly inbound: PaxosMessage[] = [];
  /** Requests of the client payload being decoded (reused: decode all, warm, then step). */
  private readonly requestsIn: (ClientRequest | ScanRequest)[] = [];
  /** What the last `warmKeys` read, kept so that its reads count (PaxosCore.warm). */
  private warmRead = 0;
  /**
   * Message objects that inbound payloads decode into, reused from payload to payload (a
   * decoded message is borrowed by `core.step` for the call only; the core copies one it
   * holds). Bounded: a payload with more messages decodes the rest into fresh objects.
   */
  private readonly inboundPool: PaxosMessage[] = [];
  /** readBatch's callbacks for peer payloads, made once (not two closures per payload). */
  private readonly decodeInbound = (r: ByteReader): PaxosMessage =>
    readMessageInto(r, this.pooledMessage(this.inbound.length));
  private readonly keepInbound = (m: PaxosMessage): void => {
    this.inbound.push(m);
  };
  /** Big-table index entries that ride in their row record's batch (derived-writes.ts). */
  private readonly derivedWrites: DerivedWrites | undefined;
  /** This replica's journal of the group (journal-writer.ts); undefined when off. */
  private readonly journal: JournalWriter | undefined;
  /** Records in sections (record-sections.ts), when the store keeps change chains. */
  private readonly sections: RecordSections | undefined;

  constructor(
    private readonly id: ActorId,
    private readonly host: ActorHost,
    private readonly store: RecordPort,
    private readonly options: PaxosShellOptions,
  ) {
    this.replica = replicaOfActor(id, options);
    this.group = groupOfActor(id, options);
    this.derivedWrites =
      options.derived === undefined ? undefined : new DerivedWrites(options.derived);
    const journal = this.startJournal();
    this.journal = journal;
    this.sections =
      store.appendChains === true ? new RecordSections(store.sectionLimits) : undefined;
    // Sync 'none' answers before its writes finish: a linger would only delay the answers.
    const linger = options.sync === 'none' ? undefined : options.persistLinger;
    this.linger =
      linger !== undefined && store.volatile !== true
        ? new PersistLinger(linger, () => host.now(), options.lingerSchedule)
        : undefined;
    this.core = new PaxosCore({
      replicaId: this.replica,
      replicas: options.replicas,
      model: options.model,
      incarnation: options.incarnation,
      amnesic: options.amnesic,
      limits: options.limits,
      idSpan: options.idSpan,
      persistChosen:
        journal !== undefined
          ? () => true
          : options.derived === undefined
            ? undefined
            : (key) => options.derived?.covers(key) === true,
      onApplied:
        journal === undefined ? undefined : (key, op, v) => journal.noteApplied(key, op, v),
      // take() encodes every record it is handed at once (sealed bytes, or a change entry: the
      // sections keep only append views, which no kv put makes), a port's keep encodes too, and
      // the journal copies the state of its state entries: no data outlives the turn but what
      // the core lends, so keys' data may be written in place (decision "A key's data written
      // in place").
      reuseData: true,
    });
  }

  /**
   * The journal starts by reading its stored head and cursors; no batch is written before it
   * has (maybeWrite waits), so seqs go on from the durable head. An amnesic start begins a new
   * epoch: the stored journal may be behind what subscribers already saw (sync 'none').
   */
  private startJournal(): JournalWriter | undefined {
    const limits = this.options.journal;
    if (limits === undefined) return undefined;
    assert(this.store.volatile !== true, 'a journal needs a durable record store');
    const writer = new JournalWriter(limits, this.options.wallClock ?? Date.now);
    this.loadLocal([JOURNAL_META_KEY], (values, err) => {
      if (this.failed || this.closed) return;
      if (err !== undefined && !isCorrupted(err)) return this.fail('journal load', err);
      const bytes = err === undefined ? values[0] : undefined;
      let stored: ReturnType<typeof decodeJournalMeta> | undefined;
      try {
        stored = bytes === undefined ? undefined : decodeJournalMeta(bytes);
      } catch (e) {
        // A damaged head: the journal starts over in a new epoch (subscribers expire).
        this.log(`paxos actor ${this.id}: the journal head is damaged: ${(e as Error).message}`);
        stored = undefined;
      }
      // Storage that dropped records at open (known by this first load's answer) may have
      // dropped entries subscribers already read: a new epoch, as for an amnesic start.
      // So may writes made while the journal was off (journalGap).
      const gap = this.options.journalGap === true;
      const fresh = this.options.amnesic || this.store.lostAtOpen === true || gap;
      const epoch = journalEpoch(this.options.incarnation, (this.options.wallClock ?? Date.now)());
      writer.start(stored, epoch, fresh);
      if (gap) {
        const clear = this.options.clearJournalGap;
        this.staged.journalWaiters.push((e) => {
          if (e === undefined) clear?.();
        });
      }
      this.drive();
    });
    return writer;
  }

  /** Loads keys that are not records (the journal's), past any record sections. */
  private loadLocal(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void {
    if (this.store.loadLocal !== undefined) this.store.loadLocal(keys, cb);
    else this.store.load(keys, cb);
  }

  private journalHost(journal: JournalWriter): JournalHost {
    return {
      writer: journal,
      load: (keys, cb) => this.loadLocal(keys, cb),
      persistCursors: (done) => {
        this.staged.journalWaiters.push(done);
        this.drive();
      },
    };
  }

  /** Engine keys that hold derived data or the journal, not records. */
  private isLocalData(key: string): boolean {
    return isJournalKey(key) || this.options.derived?.isDerived(key) === true;
  }

  receive(from: ActorId, payload: Uint8Array, owned = false): void {
    if (this.failed || this.closed) return;
    this.stats.received += 1;
    if (from === CLIENT_ADDRESS) {
      // Our own client thread (the request pipeline): its encoding is ours, so it is asserted.
      const kind = payloadKind(payload);
      if (kind !== PayloadKind.requests) assert(false, `payload kind ${kind} from the client`);
      // Decoded whole, warmed, then stepped (PaxosCore.warm).
      const requests = this.requestsIn;
      requests.length = 0;
      readBatch(payload, kind, readRequest, (req) => requests.push(req), 'copy-once');
      this.warmKeys(requests);
      for (let i = 0; i < requests.length; i++) {
        const req = requests[i] as ClientRequest | ScanRequest;
        if (req.kind === 'scan') this.onScan(req);
        else this.core.request(req);
      }
      requests.length = 0;
      return;
    }
    // Partitions are the transport's business (runtime/link-faults.ts), not the actor's.
    this.onPeerPayload(replicaOfActor(from, this.options), payload, owned);
  }

  /**
   * A batch of messages from a peer on this thread (ActorHost.sendObject): the sender's own
   * message objects, stepped as they are. The core reads a message and keeps only what is never
   * written after (a proposal, a record's lent data and copy-on-write windows), so nothing is
   * copied and nothing here writes into them: a duplicated delivery sees the same messages.
   */
  receiveObject(from: ActorId, message: object): void {
    if (this.failed || this.closed) return;
    this.stats.received += 1;
    const fromReplica = replicaOfActor(from, this.options);
    if (!Array.isArray(message)) return this.rejectInput(`an object from replica ${fromReplica}`);
    const batch = message as PaxosMessage[];
    this.warmKeys(batch);
    for (const m of batch) this.stepPeerMessage(fromReplica, m);
  }

  /** Warms the state of the batch's keys before any item is stepped (PaxosCore.warm). */
  private warmKeys(items: readonly { readonly key: string }[]): void {
    this.warmRead = this.core.warm(items);
  }

  /**
   * A payload from another replica is input, never trusted (STYLE.md §2): it is decoded whole
   * first, and a payload that does not decode, or a message that names another sender or fails
   * the core's checks, is rejected, counted and logged; the actor goes on.
   */
  private onPeerPayload(fromReplica: number, payload: Uint8Array, owned: boolean): void {
    const messages = this.inbound;
    messages.length = 0;
    try {
      if (payload[0] !== PayloadKind.paxos) throw new Error(`payload kind ${payload[0]}`);
      // An owned payload is decoded in place (its values are views of it); a borrowed one is
      // copied once first.
      const bytes = owned ? 'owned' : 'copy-once';
      readBatch(payload, PayloadKind.paxos, this.decodeInbound, this.keepInbound, bytes);
    } catch (err) {
      messages.length = 0;
      return this.rejectInput(
        `a payload from replica ${fromReplica} that does not decode: ${(err as Error).message}`,
      );
    }
    this.warmKeys(messages);
    for (const m of messages) {
      this.stepPeerMessage(fromReplica, m);
      // The pool must not keep this payload's values (views of it) or records alive.
      m.value = null;
      m.record = null;
    }
    messages.length = 0;
  }

  private pooledMessage(i: number): PaxosMessage {
    const pool = this.inboundPool;
    if (i < pool.length) return pool[i] as PaxosMessage;
    const m = blankMessage();
    if (pool.length < INBOUND_POOL_MAX) pool.push(m);
    return m;
  }

  /** Counts a rejected input; logs the first few and then every 1024th, so a flood cannot. */
  /** One message from a peer, as decoded or as sent on this thread: checked, then stepped. */
  private stepPeerMessage(fromReplica: number, m: PaxosMessage): void {
    const invalid =
      m.from !== fromReplica ? `a message claiming to be from ${m.from}` : this.core.step(m);
    if (invalid !== undefined)
      this.rejectInput(`a message from replica ${fromReplica}: ${invalid}`);
  }

  private rejectInput(what: string): void {
    this.stats.rejectedPayloads += 1;
    const n = this.stats.rejectedPayloads;
    if (n <= 8 || n % 1024 === 0)
      this.log(`paxos actor ${this.id}: rejected ${what} (${n} so far)`);
  }

  flush(): void {
    this.drive();
  }

  tick(): void {
    if (this.failed || this.closed) return;
    this.core.tick(this.elapsedTicks());
    this.drive();
    const keysMax = this.options.cachedKeysMax;
    // A volatile store without `keep` has no other copy of a record: every key stays.
    const evictable = this.store.volatile !== true || this.store.keep !== undefined;
    if (keysMax !== undefined && evictable)
      this.core.evictIdle(keysMax, this.mayEvictBound, this.onEvictedBound);
    // Keys that hold nothing (reads of keys never written) go on every engine, memory included.
    this.core.evictEmptyIdle(this.mayEvictBound);
  }

  /**
   * close() is coming (runtime/quiesce.ts). What the core owes goes now: drive() takes its
   * Ready, and ready() hands every chosen notice still owed (decisions.md "Chosen notices ride
   * on the next message"), so a peer that did not propose a write learns it before the close;
   * a staged batch no longer lingers. Quiet once no load or write is in flight and nothing is
   * ready or staged: what a learner applied from a notice is then durable, with its journal
   * entries. Ticks have stopped, so no timeout or retry starts new work meanwhile.
   */
  quiesce(): boolean {
    if (this.failed || this.closed) return true;
    this.quiescing = true;
    this.drive();
    const staged = this.staged;
    const stagedNothing =
      staged.records.size === 0 &&
      staged.messages.length === 0 &&
      staged.results.length === 0 &&
      staged.journal.length === 0 &&
      staged.journalWaiters.length === 0;
    assert(this.loadsInFlight >= 0, () => `${this.loadsInFlight} loads in flight`);
    return this.loadsInFlight === 0 && !this.writing && stagedNothing && !this.core.hasReady();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.store.close();
  }

  /** Control plane: counters ({ kind: 'stats' }), or the replica-alignment digest of this group's keys (store.verify()). */
  async inspect(request: unknown): Promise<unknown> {
    if (this.failed || this.closed)
      throw Object.assign(new Error(`paxos actor ${this.id} is stopped`), { code: 'UNAVAILABLE' });
    if (isStatsRequest(request)) return this.coreStats();
    if (isJournalRequest(request)) {
      const journal = this.journal;
      if (journal === undefined)
        return { ok: false, code: 'UNAVAILABLE', message: 'this store keeps no journal' };
      return answerJournal(request, this.journalHost(journal));
    }
    if (isBackupPageRequest(request)) return backupPage(request, this.backupSource());
    if (isBackupKeysRequest(request)) return backupKeys(request, this.backupSource());
    if (isAmnesiaInspect(request)) return this.inspectAmnesia(request);
    assert(isDigestRequest(request), 'paxos actor: unknown inspect request');
    // The hashing runs in the worker's offload pool when there is one (docs/decisions.md); the
    // memory engine's records are read in place from a cursor taken now, with the held keys.
    const stored = this.store.digestCursor?.() ?? this.recordEntries();
    return digestReplica(request, this.core.heldRecords(), stored, {
      offload: this.host.offload,
    });
  }

  /** Read-only views of the core and the record store for a backup (backup-page.ts). */
  private backupSource(): BackupSource {
    const store = this.store;
    return {
      amnesic: this.core.amnesic,
      held: () => this.core.heldRecords(),
      scan: store.scan === undefined ? undefined : (range, cb) => store.scan?.(range, cb),
      isDerived: (key) => this.isLocalData(key),
    };
  }

  /** The rebuild of a group that lost its state (amnesia-inspect.ts). */
  private inspectAmnesia(request: AmnesiaInspect): unknown {
    const clearable = this.options.clearAmnesic !== undefined;
    // Once cleared, the core stays amnesic for the rest of this incarnation (it costs
    // recoveries, never safety), but there is nothing left to rebuild.
    // Storage that dropped records at open makes the core amnesic at its first load; until
    // then it is amnesic already as far as a rebuild of another replica is concerned.
    const amnesic = (this.core.amnesic || this.store.lostAtOpen === true) && !this.amnesiaCleared;
    if (request.kind === 'amnesia')
      return { amnesic, clearable, incarnation: this.options.incarnation };
    if (request.kind === 'recordKeys')
      return listRecordKeys(request, this.core.heldRecords(), this.recordEntries());
    if (request.kind !== 'clearAmnesia')
      assert(false, `amnesia request ${String((request as { kind?: unknown }).kind)}`);
    const answer = (reason: ClearAmnesiaAnswer['reason']): ClearAmnesiaAnswer => ({
      cleared: reason === 'cleared',
      reason,
    });
    if (!amnesic || !this.core.amnesic) return answer('not-amnesic');
    if (this.options.clearAmnesic === undefined) return answer('not-clearable');
    if (request.incarnation !== this.options.incarnation) return answer('restarted');
    // What the rebuild recovered must be written before the marker goes. Under 'always' and
    // 'batch' it is: a reply leaves only after the batch that holds its key's record (or a later
    // one). Under 'none' replies leave first, so every write must have finished.
    const writes = this.writing || this.staged.records.size > 0 || this.writingBatches.length > 0;
    if (this.options.sync === 'none' && writes) return answer('writes-in-flight');
    this.log(
      `paxos actor ${this.id}: every key recovered from a majority; the amnesia marker is cleared`,
    );
    this.options.clearAmnesic();
    this.amnesiaCleared = true;
    assert(this.core.amnesic, 'a cleared group stays amnesic until its next start');
    return answer('cleared');
  }

  /** Every stored record (derived entries left out), for verification. */
  private recordEntries(): AsyncIterable<[string, Uint8Array]> | undefined {
    const all = this.store.scanAll?.();
    if (all === undefined || (this.options.derived === undefined && this.journal === undefined))
      return all;
    const isLocalData = (key: string): boolean => this.isLocalData(key);
    return (async function* records(): AsyncIterable<[string, Uint8Array]> {
      for await (const entry of all) if (!isLocalData(entry[0])) yield entry;
    })();
  }

  /** The core itself, for harness checkers that read its state after every simulated step. */
  debugCore(): PaxosCore {
    return this.core;
  }

  /** A copy of this replica's record of a key (tests and verification). */
  debugRecord(key: string): ReturnType<PaxosCore['record']> {
    return this.core.record(key);
  }

  private log(line: string): void {
    (this.options.log ?? console.error)(line);
  }

  coreStats(): Record<string, number> {
    const sections = this.sections?.counts;
    return {
      ...this.core.stats(),
      ...this.stats,
      ...this.journal?.counters,
      derivedWrites: this.derivedWrites?.written ?? 0,
      // Batches that waited for more records (persist-linger.ts).
      batchesLingered: this.linger?.lingered ?? 0,
      // Records in sections: change entries and whole records (bases) staged, and their bytes.
      sectionChanges: sections?.changes ?? 0,
      sectionChangeBytes: sections?.changeBytes ?? 0,
      sectionBases: sections?.bases ?? 0,
      sectionBaseBytes: sections?.baseBytes ?? 0,
    };
  }

  /** Whole tick periods since the last tick (at least 1); the remainder carries over. */
  private elapsedTicks(): number {
    const tickMs = this.options.tickMs;
    if (tickMs === undefined) return 1;
    const now = this.host.now();
    if (this.tickedAt === undefined) {
      this.tickedAt = now;
      return 1;
    }
    // At least one tick per call (a timer that fired a little early must not stall time), at
    // most TICK_CATCH_UP_MAX; the logical clock never runs ahead of the host clock.
    const ticks = Math.min(
      TICK_CATCH_UP_MAX,
      Math.max(1, Math.floor((now - this.tickedAt) / tickMs)),
    );
    this.tickedAt = Math.min(now, this.tickedAt + ticks * tickMs);
    if (ticks === TICK_CATCH_UP_MAX) this.tickedAt = now;
    return ticks;
  }

  /** Takes every Ready the core has, starts loads, sends what may go, stages the rest. */
  private drive(): void {
    if (this.failed || this.closed) return;
    for (let i = 0; i < DRIVE_ROUNDS_MAX && this.core.hasReady(); i++) this.take(this.core.ready());
    this.maybeWrite();
    this.flushOutgoing();
  }

  private take(ready: Ready): void {
    if (ready.renewIds) this.renewIds();
    if (ready.load.length > 0) this.load(ready.load);
    for (const m of ready.send) this.queueMessage(m);
    if (this.store.volatile !== true) {
      const derived = this.derivedWrites;
      const journal = this.journal;
      for (const p of ready.persist) {
        const sealed = this.sections?.stage(p.key, p.record) ?? encodeSealedRecord(p.record);
        this.staged.records.set(p.key, sealed);
        if (derived !== undefined && derived.covers(p.key))
          this.staged.derived.set(p.key, derived.keysOf(p.key, p.record));
        if (journal !== undefined)
          for (const e of journal.entriesOf(p.key, p.record)) this.staged.journal.push(e);
      }
      // Every applied change marks its key dirty in the same ready (persistChosen).
      assert(journal === undefined || journal.unmatched === 0, 'applied ops left unjournaled');
    }
    for (const m of ready.sendAfterPersist) this.staged.messages.push(m);
    for (const r of ready.deliver) this.staged.results.push(r);
  }

  private load(keys: string[]): void {
    if (this.store.loadRecords !== undefined) return this.loadRecords(keys);
    this.loadsInFlight += 1;
    this.store.load(keys, (values, err) => {
      this.loadsInFlight -= 1;
      if (err !== undefined && isCorrupted(err) && keys.length > 1) {
        // The engine refused the whole batch: load key by key to find the bad records.
        for (const key of keys) this.load([key]);
        return;
      }
      if (err !== undefined && !isCorrupted(err)) return this.fail('load', err);
      this.maybeBecomeAmnesic();
      keys.forEach((key, i) => {
        let record = err !== undefined ? 'corrupted' : this.decodeLoaded(key, values[i]);
        if (this.sections !== undefined && record !== undefined && record !== 'corrupted') {
          const chain = this.store.chainOf === undefined ? NO_CHAIN : this.store.chainOf(key);
          // null: not storage's record; nothing is handed, so its next record is a base.
          if (chain !== null) record = this.sections.loaded(key, record, chain);
        }
        this.derivedWrites?.noteLoaded(key, record);
        this.journal?.noteLoaded(key, record);
        this.core.loaded(key, record);
      });
      this.drive();
    });
  }

  /**
   * A store that holds records, not bytes (the memory engine's compact form): no checksum or
   * layout to open, so nothing is corrupted; the core still validates each record it loads.
   */
  private loadRecords(keys: string[]): void {
    this.loadsInFlight += 1;
    this.store.loadRecords?.(keys, (records) => {
      this.loadsInFlight -= 1;
      if (this.failed || this.closed) return;
      if (records.length !== keys.length)
        assert(false, `${records.length} records for ${keys.length} keys`);
      this.maybeBecomeAmnesic();
      keys.forEach((key, i) => {
        const record = records[i];
        this.derivedWrites?.noteLoaded(key, record);
        this.journal?.noteLoaded(key, record);
        this.core.loaded(key, record);
      });
      this.drive();
    });
  }

  /** Storage dropped records at open: they may have been promises or accepts (amnesia rule). */
  private maybeBecomeAmnesic(): void {
    if (this.amnesiaChecked) return;
    this.amnesiaChecked = true;
    if (this.store.lostAtOpen !== true || this.core.amnesic) return;
    this.log(
      `paxos actor ${this.id}: storage dropped records at open; recovering every key from peers`,
    );
    // Durable first: a restart before the keys are rebuilt must not trust the cut storage.
    this.options.markAmnesic?.();
    this.core.becomeAmnesic();
  }

  /** The core's id range runs out: a new incarnation number, taken durably by the host. */
  private renewIds(): void {
    const renew = this.options.renewIncarnation;
    if (renew === undefined) return;
    let incarnation: number;
    try {
      incarnation = renew();
    } catch (err) {
      // Not renewed: the core keeps asking and, once its ids are spent, answers UNAVAILABLE.
      this.log(
        `paxos actor ${this.id}: could not take a new incarnation: ${(err as Error).message}`,
      );
      return;
    }
    this.core.renewIds(incarnation);
  }

  /** A stored record, or 'corrupted' when it fails its checksum or layout (never served). */
  private decodeLoaded(
    key: string,
    bytes: Uint8Array | undefined,
  ): KeyRecord | undefined | 'corrupted' {
    if (bytes === undefined) return undefined;
    try {
      return decodeRecord(openRecord(bytes));
    } catch (err) {
      // A record from disk is input: one that fails its checksum or does not decode (whatever
      // the decoder throws) is never served and never stops the actor.
      this.stats.corrupted += 1;
      const why = isCorrupted(err)
        ? 'fails its checksum'
        : `does not decode (${(err as Error).message})`;
      this.log(`paxos actor ${this.id}: a stored record ${why}; recovering its key from peers`);
      void key;
      return 'corrupted';
    }
  }

  /** Group commit: one batch for everything staged since the last write started. */
  private maybeWrite(): void {
    if (this.writing) return;
    const batch = this.staged;
    const journalWork = batch.journal.length > 0 || batch.journalWaiters.length > 0;
    if (
      batch.records.size === 0 &&
      batch.messages.length === 0 &&
      batch.results.length === 0 &&
      !journalWork
    )
      return;
    // Journal seqs continue from the stored head: nothing is written before it has loaded.
    if (this.journal !== undefined && !this.journal.loaded) return;
    if (batch.records.size === 0 && !journalWork) {
      // Nothing to write (always so on volatile storage): send and answer now, and keep the
      // staging object, emptied, instead of allocating a new one per flush. release() only
      // sends (host.send copies at once), so nothing is staged while it runs.
      this.release(batch);
      assert(this.staged === batch && batch.records.size === 0, 'staged during release');
      batch.messages.clear();
      batch.results.clear();
      batch.derived.clear();
      return;
    }
    if (this.lingers(batch.records.size)) return;
    this.staged = emptyStaged();
    this.sections?.batched();
    const writes: RecordWrite[] = [];
    for (const [key, value] of batch.records) {
      writes.push({ key, value });
      this.stats.recordBytes += value.length;
    }
    const local = this.localDataOps(batch);
    this.stats.batches += 1;
    this.stats.records += writes.length;
    this.markWriting(batch.records);
    if (this.options.sync === 'none') {
      // Acknowledge before durable: a crash forgets, and the restart is amnesic (documented).
      this.store.write(
        writes,
        (err) => {
          this.markWritten(batch.records);
          this.journalWritten(batch, local.head, err);
          if (err !== undefined) this.fail('write', err);
        },
        local.ops,
      );
      return this.release(batch);
    }
    this.writing = true;
    // The callback may run before store.write returns (an engine's inline append,
    // RecordPort.write): then its release and drive run inside this one, and the messages
    // taken before the write go out in the same flush as those it released.
    this.store.write(
      writes,
      (err) => {
        this.writing = false;
        this.linger?.finished(writes.length);
        this.markWritten(batch.records);
        this.journalWritten(batch, local.head, err);
        if (err !== undefined) return this.fail('write', err);
        this.release(batch);
        this.drive();
      },
      local.ops,
    );
  }

  /** True when the staged batch waits (persist-linger.ts); its timer drives the shell again. */
  private lingers(records: number): boolean {
    const linger = this.linger;
    if (linger === undefined) return false;
    // Quiescing before close: the batch goes now, a close does not wait out a linger.
    const wait = this.quiescing ? 0 : linger.waitMs(records);
    if (wait > 0) {
      linger.arm(wait, () => this.drive());
      return true;
    }
    linger.started();
    return false;
  }

  /** The derived-data and journal ops that go in a batch with its records. */
  private localDataOps(batch: Staged): { ops: BatchOp[] | undefined; head: number } {
    const derived = this.derivedWrites?.batchOps(batch.derived);
    const journal = this.journal;
    if (journal === undefined) return { ops: derived, head: 0 };
    const ops = derived ?? [];
    for (const op of journal.batchOps(batch.journal)) ops.push(op);
    return { ops, head: journal.current.head };
  }

  /** A batch with journal entries or cursors is durable: readers may see up to its head. */
  private journalWritten(batch: Staged, head: number, err: Error | undefined): void {
    const journal = this.journal;
    if (journal === undefined) return;
    if (err === undefined) journal.durableHead = Math.max(journal.durableHead, head);
    for (const done of batch.journalWaiters) done(err);
  }

  /** An engine scan (engine-scan.ts): one page of this replica's local keys, answered directly. */
  private onScan(req: ScanRequest): void {
    this.stats.scans += 1;
    const q = decodeScanQuery(req.query);
    // The core's word, not the start option: storage that dropped records at open makes a
    // group amnesic too (maybeBecomeAmnesic).
    if (this.core.amnesic) {
      this.sendResult({ token: req.token, ok: true, result: encodeScanPage(AMNESIC_PAGE) });
      return;
    }
    const scan = this.store.scan;
    if (scan === undefined) {
      this.sendResult({
        token: req.token,
        ok: false,
        code: 'UNAVAILABLE',
        message: 'this engine cannot scan',
      });
      return;
    }
    scan.call(
      this.store,
      { gte: q.gte, lt: q.lt, reverse: q.reverse, examineMax: q.examineMax },
      (entries, exhausted, err) => {
        if (this.failed || this.closed) return;
        if (err !== undefined) {
          this.sendResult({
            token: req.token,
            ok: false,
            code: 'UNAVAILABLE',
            message: `scan failed: ${err.message}`,
          });
          return;
        }
        // The storage is open now, so whether it dropped records at open is known: a scan may
        // be the first thing to learn it, before any key has loaded.
        this.maybeBecomeAmnesic();
        const page = this.core.amnesic ? AMNESIC_PAGE : buildScanPage(q, entries, exhausted);
        this.sendResult({ token: req.token, ok: true, result: encodeScanPage(page) });
      },
    );
  }

  /** The key cache never evicts a key of a batch being written (mayEvictBound). */
  private markWriting(records: Map<string, Uint8Array>): void {
    assert(!this.writingBatches.includes(records), 'a batch handed to storage twice');
    if (!(this.options.sync === 'none' || this.writingBatches.length === 0))
      assert(
        false,
        `${this.writingBatches.length} batches in flight under sync ${this.options.sync}`,
      );
    this.writingBatches.push(records);
  }

  /** Batches may complete in any order under sync 'none'. */
  private markWritten(records: Map<string, Uint8Array>): void {
    const i = this.writingBatches.indexOf(records);
    assert(i >= 0, 'a written batch that was not in flight');
    this.writingBatches.splice(i, 1);
  }

  /** True while a batch that holds `key`'s record is being written. */
  private isWriting(key: string): boolean {
    for (const records of this.writingBatches) if (records.has(key)) return true;
    return false;
  }

  private sendResult(result: ClientResult): void {
    this.stats.resultsSent += 1;
    this.stats.resultPayloadsSent += 1;
    const w = new ByteWriter(256);
    const at = beginBatch(w, PayloadKind.results);
    writeResult(w, result);
    this.host.send(CLIENT_ADDRESS, endBatch(w, at, 1));
  }

  private release(batch: Staged): void {
    for (let i = 0; i < batch.messages.length; i++) this.queueMessage(batch.messages.get(i));
    if (batch.results.length > 0) {
      const w = this.resultWriter;
      let at = beginBatch(w, PayloadKind.results);
      let count = 0;
      for (let i = 0; i < batch.results.length; i++) {
        writeResult(w, batch.results.get(i));
        count += 1;
        if (w.length >= PAYLOAD_SOFT_BYTES_MAX) {
          this.sendResults(endBatch(w, at, count), count);
          at = beginBatch(w, PayloadKind.results);
          count = 0;
        }
      }
      if (count > 0) this.sendResults(endBatch(w, at, count), count);
    }
    this.flushOutgoing();
  }

  private sendResults(payload: Uint8Array, count: number): void {
    this.stats.resultsSent += count;
    this.stats.resultPayloadsSent += 1;
    this.host.send(CLIENT_ADDRESS, payload);
  }

  private queueMessage(m: PaxosMessage): void {
    if (!(m.from === this.replica && m.to !== this.replica))
      assert(false, `message ${m.from}->${m.to} at ${this.replica}`);
    this.stats.messagesSent += 1;
    if (this.host.sendObject !== undefined && !this.bytesOnly.has(m.to)) {
      let batch = this.outObjects.get(m.to);
      if (batch === undefined) {
        batch = [];
        this.outObjects.set(m.to, batch);
      }
      batch.push(m);
      if (batch.length >= OBJECT_BATCH_MAX) this.sendObjects(m.to, batch);
      return;
    }
    this.encodeMessage(m);
  }

  private encodeMessage(m: PaxosMessage): void {
    let out = this.outWriters.get(m.to);
    if (out === undefined) {
      const w = new ByteWriter(1024);
      out = { w, countAt: beginBatch(w, PayloadKind.paxos), count: 0 };
      this.outWriters.set(m.to, out);
    }
    writeMessage(out.w, m);
    out.count += 1;
    if (out.w.length >= PAYLOAD_SOFT_BYTES_MAX) this.sendOutgoing(m.to, out);
  }

  private flushOutgoing(): void {
    for (const [to, batch] of this.outObjects) {
      if (batch.length > 0) this.sendObjects(to, batch);
    }
    for (const [to, out] of this.outWriters) {
      if (out.count > 0) this.sendOutgoing(to, out);
    }
  }

  /** Hands `batch` over (a new array takes its place); bytes if the host refuses objects. */
  private sendObjects(to: number, batch: PaxosMessage[]): void {
    this.outObjects.set(to, []);
    if (this.host.sendObject?.(actorIdOf(to, this.group, this.options), batch) === true) {
      this.stats.peerPayloadsSent += 1;
      return;
    }
    // Not on this thread (another worker or node): bytes to this peer from now on.
    this.bytesOnly.add(to);
    this.outObjects.delete(to);
    for (const m of batch) this.encodeMessage(m);
  }

  private sendOutgoing(to: number, out: { w: ByteWriter; countAt: number; count: number }): void {
    this.stats.peerPayloadsSent += 1;
    this.host.send(
      actorIdOf(to, this.group, this.options),
      endBatch(out.w, out.countAt, out.count),
    );
    out.countAt = beginBatch(out.w, PayloadKind.paxos);
    out.count = 0;
  }

  /**
   * A storage failure leaves memory ahead of disk: the actor stops answering (as if crashed)
   * and counts it; clients time out with UNKNOWN_OUTCOME / UNAVAILABLE.
   */
  private fail(what: string, err: Error): void {
    this.failed = true;
    this.stats.dropped += 1;
    this.log(`paxos actor ${this.id}: ${what} failed, actor stopped: ${err.message}`);
    // The runtime's supervisor restarts the actor from its durable state (bounded).
    this.host.fail?.(err);
  }
}
