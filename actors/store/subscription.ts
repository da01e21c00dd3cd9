/**
 * A named journal subscription (README "Journal subscription", docs/decisions.md "Journal subscription"): an async
 * iterator over every applied change of the store, in order per group, read a page at a time
 * from one replica's journal of each group; `ack(entry)` moves the subscriber's durable cursor
 * in that group. A subscriber that subscribes again under its name resumes after its last
 * acknowledged entry of each group.
 *
 * Talks to the journals through a `JournalSource`: the embedded store's actors, or a cluster's
 * nodes over the wire (client/remote-journal.ts).
 */
import { assert } from '../../runtime/assert';
import { JournalEntryKind } from '../paxos/journal-codec';
import type { JournalRecord } from '../paxos/journal-codec';
import type {
  JournalAnswer,
  JournalPage,
  JournalRange,
  JournalRequest,
} from '../paxos/journal-page';
import { JOURNAL_PAGE_BYTES_MAX, JOURNAL_PAGE_ENTRIES_MAX } from '../paxos/journal-limits';
import { ModelTag } from '../../models/model-tags';
import { NAMESPACE_SEPARATOR } from './kv';
import { OBJECT_PREFIX } from './model-client';
import { ErrorCodes, PaxosStoreError, describe, invalid } from './errors';

export type ModelName = keyof typeof ModelTag;

/** One applied change of the store, as a subscriber sees it. */
export interface StoreJournalEntry {
  /** The key's group, and the entry's place in the serving replica's journal of it. */
  readonly group: number;
  /** Consecutive per group: the group's sync version on the serving replica. */
  readonly seq: number;
  /** The serving replica's journal epoch (changes only when that journal starts over). */
  readonly epoch: number;
  /** Wall-clock ms when the replica applied it; never decreases within a group. */
  readonly time: number;
  /**
   * 'op': `op` took the key from `version - 1` to `version`. 'state': the replica adopted the
   * key's state at `version` (catch-up, recovery, repair) without seeing the ops after
   * `fromVersion`; `data` is that state.
   */
  readonly kind: 'op' | 'state';
  /** The KV namespace; null for named objects (queues, sets, tables, docs, accounts) and big-table rows. */
  readonly namespace: string | null;
  /** The KV key, the object's name, or (big tables) `table` + U+0000 + primary key. */
  readonly key: string;
  /** The model of the op, or of the adopted state (null when the state is absent). */
  readonly model: ModelName | null;
  readonly version: number;
  readonly fromVersion: number;
  /** kind 'op': the model's op, in its own encoding (models/<name>). */
  readonly op: Uint8Array | null;
  /** kind 'state': the model's data at `version` (null: the key is absent). */
  readonly data: Uint8Array | null;
}

export interface SubscribeOptions {
  /** Where a new subscriber starts: the oldest retained entry, or after the newest. Default 'now'. */
  from?: 'start' | 'now';
  /** The replica whose journal serves it (each replica numbers its own). Default 0. */
  replica?: number;
  /** Entries one page asks each group for. Default 256, at most 4096. */
  pageEntriesMax?: number;
  /** How long an idle subscription waits before asking again, in ms. Default 20. */
  pollMs?: number;
  /**
   * How long next() keeps waiting while a serving group does not answer (a cluster node down),
   * in ms, before it rejects UNAVAILABLE; the cursor stays, so subscribing again resumes. 0:
   * no bound (the embedded store's default, whose replicas restart in-process). `connect`'s
   * default is 60,000.
   */
  unavailableMsMax?: number;
}

/** The four questions a subscription asks a group's journal. */
export interface JournalSource {
  readonly groups: number;
  /** Rejects (UNAVAILABLE, CLOSED) when the group cannot answer now. */
  ask(group: number, request: JournalRequest): Promise<JournalAnswer>;
  readonly closed: boolean;
}

const MODEL_BY_TAG = new Map<number, ModelName>(
  Object.entries(ModelTag).map(([name, tag]) => [tag, name as ModelName]),
);
const BIGTABLE_ROW_PREFIX = '\u0001';
/** ready() asks this many times at most (about ten minutes at the longest backoff). */
const READY_ATTEMPTS_MAX = 600;
/** Longest wait between polls of an idle or unavailable journal. */
const BACKOFF_MS_MAX = 1000;

export function subscriberName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name))
    throw invalid(`subscriber name must match /^[A-Za-z0-9_.:-]{1,64}$/, got ${describe(name)}`);
  return name;
}

export function resolveSubscribeOptions(
  o: SubscribeOptions | undefined,
  replicas: number,
): Required<SubscribeOptions> {
  const from = o?.from ?? 'now';
  if (from !== 'start' && from !== 'now') throw invalid(`from must be 'start' or 'now'`);
  const int = (name: string, v: unknown, lo: number, hi: number, d: number): number => {
    if (v === undefined) return d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      throw invalid(`${name} must be an integer in ${lo}..${hi}, got ${describe(v)}`);
    return v;
  };
  return {
    from,
    replica: int('replica', o?.replica, 0, replicas - 1, 0),
    pageEntriesMax: int('pageEntriesMax', o?.pageEntriesMax, 1, JOURNAL_PAGE_ENTRIES_MAX, 256),
    pollMs: int('pollMs', o?.pollMs, 1, 60_000, 20),
    unavailableMsMax: int('unavailableMsMax', o?.unavailableMsMax, 0, 86_400_000, 0),
  };
}

/** The public form of a stored entry: the replicated key split back into namespace and key. */
export function publicEntry(group: number, epoch: number, r: JournalRecord): StoreJournalEntry {
  let namespace: string | null = null;
  let key = r.key;
  if (key.startsWith(OBJECT_PREFIX)) key = key.slice(OBJECT_PREFIX.length);
  else if (key.startsWith(BIGTABLE_ROW_PREFIX)) key = key.slice(1);
  else {
    const at = key.indexOf(NAMESPACE_SEPARATOR);
    if (at > 0) {
      namespace = key.slice(0, at);
      key = key.slice(at + 1);
    }
  }
  const isOp = r.kind === JournalEntryKind.op;
  const tagged = r.bytes;
  return {
    group,
    seq: r.seq,
    epoch,
    time: r.time,
    kind: isOp ? 'op' : 'state',
    namespace,
    key,
    model: tagged === null ? null : (MODEL_BY_TAG.get(tagged[0] ?? -1) ?? null),
    version: r.version,
    fromVersion: r.fromVersion,
    op: isOp && tagged !== null ? tagged.subarray(1) : null,
    data: !isOp && tagged !== null ? tagged.subarray(1) : null,
  };
}

/** A journal's refusal as the store's error, prefixed by `context` (subscriptions, follows). */
export function journalFailure(
  answer: Exclude<JournalAnswer, { ok: true }>,
  context = '',
): PaxosStoreError {
  const code =
    answer.code === 'SUBSCRIPTION_EXPIRED'
      ? ErrorCodes.SUBSCRIPTION_EXPIRED
      : answer.code === 'CORRUPTED'
        ? ErrorCodes.CORRUPTED
        : answer.code === 'INVALID_ARGUMENT'
          ? ErrorCodes.INVALID_ARGUMENT
          : ErrorCodes.UNAVAILABLE;
  return new PaxosStoreError(code, `${context}${answer.message}`);
}

interface GroupCursor {
  epoch: number;
  /** Next seq to read. */
  next: number;
}

export class Subscription implements AsyncIterableIterator<StoreJournalEntry> {
  private cursors: GroupCursor[] | undefined;
  /** The cursors' registration, started at once so a new subscriber's 'now' is its subscribe(). */
  private opening: Promise<GroupCursor[]> | undefined;
  private readonly buffer: StoreJournalEntry[] = [];
  private stopped = false;
  private backoffMs: number;
  /** Wall-clock ms since some group has not answered (undefined: every group answered). */
  private unavailableSince: number | undefined;

  constructor(
    readonly name: string,
    private readonly options: Required<SubscribeOptions>,
    private readonly source: JournalSource,
  ) {
    this.backoffMs = options.pollMs;
    this.opening = this.open();
    // Its failure is the first next()'s (or ready()'s) answer, not an unhandled rejection.
    this.opening.catch(() => undefined);
  }

  /**
   * Resolves once the subscriber's cursor is registered in every group: from then on, retention
   * keeps every entry it has not acknowledged. Rejects like next() would (SUBSCRIPTION_EXPIRED).
   */
  async ready(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.cursorsOpen();
        return;
      } catch (error) {
        // A group still loading its journal, or restarting: wait and ask again (bounded).
        if (attempt >= READY_ATTEMPTS_MAX) throw error;
        this.unavailable(error);
        this.noteAnswered(false);
        await this.sleep();
      }
    }
  }

  private async cursorsOpen(): Promise<GroupCursor[]> {
    if (this.cursors !== undefined) return this.cursors;
    const opening = this.opening ?? this.open();
    this.opening = opening;
    try {
      this.cursors = await opening;
      return this.cursors;
    } finally {
      // A failed open (a group unavailable) is tried again at the next poll.
      if (this.cursors === undefined) this.opening = undefined;
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreJournalEntry> {
    return this;
  }

  async next(): Promise<IteratorResult<StoreJournalEntry>> {
    // Bounded: each round either yields or sleeps; it ends when the caller stops or closes.
    for (;;) {
      if (this.stopped) return { done: true, value: undefined };
      const entry = this.buffer.shift();
      if (entry !== undefined) return { done: false, value: entry };
      const got = await this.fill();
      if (got === 0) await this.sleep();
    }
  }

  /** Stops the iteration (the cursor stays registered: subscribe again to resume). */
  async return(): Promise<IteratorResult<StoreJournalEntry>> {
    this.stopped = true;
    this.buffer.length = 0;
    return { done: true, value: undefined };
  }

  /**
   * Records, durably, that this subscriber has processed `entry` and every earlier entry of its
   * group; a later subscribe under this name resumes after it. Acks only move forward.
   */
  async ack(entry: StoreJournalEntry): Promise<void> {
    if (typeof entry !== 'object' || entry === null) throw invalid('ack needs an entry');
    const { group, seq, epoch } = entry;
    if (!Number.isInteger(group) || group < 0 || group >= this.source.groups)
      throw invalid(`ack of group ${describe(group)}`);
    if (!Number.isInteger(seq) || seq < 1) throw invalid(`ack of seq ${describe(seq)}`);
    const answer = await this.source.ask(group, {
      kind: 'journal-ack',
      name: this.name,
      epoch,
      seq,
    });
    if (!answer.ok) throw journalFailure(answer);
  }

  /** Opens the cursor in every group (first use). */
  private async open(): Promise<GroupCursor[]> {
    const cursors: GroupCursor[] = [];
    for (let g = 0; g < this.source.groups; g++) {
      const answer = await this.source.ask(g, {
        kind: 'journal-open',
        name: this.name,
        from: this.options.from,
      });
      if (!answer.ok) throw journalFailure(answer);
      const range = answer as JournalRange;
      cursors.push({ epoch: range.epoch, next: range.acked + 1 });
    }
    assert(cursors.length === this.source.groups, 'one cursor per group');
    return cursors;
  }

  /** One page from every group, in group order; 0 when nothing new (or nothing answered). */
  private async fill(): Promise<number> {
    let cursors: GroupCursor[];
    try {
      cursors = await this.cursorsOpen();
    } catch (error) {
      this.unavailable(error);
      this.noteAnswered(false);
      return 0;
    }
    const answers = await Promise.all(
      cursors.map((c, g) =>
        this.source
          .ask(g, {
            kind: 'journal-read',
            epoch: c.epoch,
            from: c.next,
            limit: this.options.pageEntriesMax,
            bytesMax: JOURNAL_PAGE_BYTES_MAX,
          })
          .catch((error: unknown) => error),
      ),
    );
    let got = 0;
    let missing = 0;
    for (let g = 0; g < answers.length; g++) {
      const answer = answers[g];
      const cursor = cursors[g];
      assert(cursor !== undefined, () => `no cursor for group ${g}`);
      if (answer instanceof Error || typeof answer !== 'object' || answer === null) {
        missing++;
        this.unavailable(answer);
        continue;
      }
      const a = answer as JournalAnswer;
      if (!a.ok) {
        if (a.code === 'UNAVAILABLE') {
          missing++;
          continue;
        }
        throw journalFailure(a);
      }
      got += this.take(g, cursor, a as JournalPage);
    }
    this.noteAnswered(missing === 0);
    if (got > 0) this.backoffMs = this.options.pollMs;
    return got;
  }

  /** Past `unavailableMsMax` of some group not answering, next() rejects UNAVAILABLE. */
  private noteAnswered(all: boolean): void {
    if (all) {
      this.unavailableSince = undefined;
      return;
    }
    const now = Date.now();
    this.unavailableSince ??= now;
    const bound = this.options.unavailableMsMax;
    if (bound > 0 && now - this.unavailableSince > bound) {
      this.unavailableSince = undefined;
      throw new PaxosStoreError(
        ErrorCodes.UNAVAILABLE,
        `a serving replica has not answered for more than ${bound} ms (subscribe again to resume)`,
      );
    }
  }

  private take(group: number, cursor: GroupCursor, page: JournalPage): number {
    for (const r of page.entries) {
      // The journal answers consecutive seqs from the one asked: anything else would be a gap
      // or a duplicate, never passed on (an answer from another node is input, not our state).
      if (r.seq !== cursor.next)
        throw new PaxosStoreError(
          ErrorCodes.CORRUPTED,
          `group ${group}: the journal answered entry ${r.seq} where ${cursor.next} was due`,
        );
      this.buffer.push(publicEntry(group, page.epoch, r));
      cursor.next += 1;
    }
    return page.entries.length;
  }

  /** Closed and expired end the iteration; anything else waits and asks again. */
  private unavailable(error: unknown): 0 {
    if (this.source.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
    if (error instanceof PaxosStoreError && error.code !== ErrorCodes.UNAVAILABLE) throw error;
    this.backoffMs = Math.min(BACKOFF_MS_MAX, this.backoffMs * 2);
    return 0;
  }

  private sleep(): Promise<void> {
    if (this.source.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the store is closed');
    const ms = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MS_MAX, Math.max(this.options.pollMs, this.backoffMs));
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
