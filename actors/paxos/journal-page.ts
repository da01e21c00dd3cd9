/**
 * What one replica group answers about its journal (inspect requests from the store thread):
 * open a named cursor, read a page of entries by seq, acknowledge, remove a cursor, and the
 * journal's range (a backup seeks by time with `info` and single-entry reads). Answers are
 * plain data; operating problems (an expired cursor, too many subscribers) are answers with a
 * `code`, never exceptions, so they cross the worker boundary intact.
 *
 * Not a Paxos operation: the shell answers from its own journal (journal-writer.ts), like the
 * backup pages of backup-page.ts.
 */
import { assert } from '../../runtime/assert';
import { JOURNAL_PAGE_BYTES_MAX, JOURNAL_PAGE_ENTRIES_MAX } from './journal-limits';
import { SUBSCRIBER_NAME_PATTERN, decodeJournalRecord, entryKey } from './journal-codec';
import type { JournalRecord } from './journal-codec';
import type { JournalWriter } from './journal-writer';

export type JournalRequest =
  | {
      readonly kind: 'journal-open';
      readonly name: string;
      /** Where a new cursor starts; 'existing' never makes one (a resume: SUBSCRIPTION_EXPIRED). */
      readonly from: 'start' | 'now' | 'existing';
    }
  | {
      readonly kind: 'journal-read';
      readonly epoch: number;
      readonly from: number;
      readonly limit: number;
      readonly bytesMax: number;
    }
  | {
      readonly kind: 'journal-ack';
      readonly name: string;
      readonly epoch: number;
      readonly seq: number;
    }
  | { readonly kind: 'journal-remove'; readonly name: string }
  | { readonly kind: 'journal-info' }
  /** The first retained seq whose time is at or after `time` (head + 1: none). */
  | { readonly kind: 'journal-seek'; readonly time: number };

export type JournalFailure = {
  readonly ok: false;
  readonly code: 'SUBSCRIPTION_EXPIRED' | 'INVALID_ARGUMENT' | 'UNAVAILABLE' | 'CORRUPTED';
  readonly message: string;
};

export interface JournalRange {
  readonly ok: true;
  readonly epoch: number;
  /** Oldest retained seq and newest durable seq (first > head: empty). */
  readonly first: number;
  readonly head: number;
  /** journal-open: the cursor's acknowledged seq. */
  readonly acked: number;
  /** Time (ms) of the newest entry. */
  readonly time: number;
}

export interface JournalSeek {
  readonly ok: true;
  readonly epoch: number;
  readonly seq: number;
}

export interface JournalPage {
  readonly ok: true;
  readonly epoch: number;
  readonly entries: JournalRecord[];
  readonly head: number;
}

export type JournalAnswer = JournalRange | JournalPage | JournalSeek | JournalFailure;

/** Reads one entry's time by seq (undefined: trimmed meanwhile, or unreadable). */
type TimeOf = (seq: number) => Promise<number | undefined>;

/** What the shell lends the journal's answers. */
export interface JournalHost {
  readonly writer: JournalWriter;
  /** Reads engine keys (the record port's load). */
  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void;
  /** Cursors changed: stage the journal head, call `done` once that batch is durable. */
  persistCursors(done: (err?: Error) => void): void;
}

const JOURNAL_KINDS = new Set([
  'journal-open',
  'journal-read',
  'journal-ack',
  'journal-remove',
  'journal-info',
  'journal-seek',
]);

export function isJournalRequest(request: unknown): request is JournalRequest {
  if (typeof request !== 'object' || request === null) return false;
  return JOURNAL_KINDS.has(String((request as { kind?: unknown }).kind));
}

function fail(code: JournalFailure['code'], message: string): JournalFailure {
  return { ok: false, code, message };
}

function expired(message: string): JournalFailure {
  return fail('SUBSCRIPTION_EXPIRED', message);
}

export function answerJournal(req: JournalRequest, host: JournalHost): Promise<JournalAnswer> {
  if (!host.writer.loaded) return Promise.resolve(fail('UNAVAILABLE', 'the journal is loading'));
  switch (req.kind) {
    case 'journal-open':
      return openCursor(req, host);
    case 'journal-read':
      return readPage(req, host);
    case 'journal-ack':
      return ack(req, host);
    case 'journal-remove':
      if (!host.writer.cursors.has(req.name)) return Promise.resolve(range(host, 0));
      host.writer.setCursor(req.name, undefined);
      return persisted(host, 0);
    case 'journal-info':
      return Promise.resolve(range(host, 0));
    case 'journal-seek':
      return seek(req.time, host);
  }
}

/**
 * Binary search over the retained entries (times never decrease within a group's journal):
 * about log2(retained) single-entry reads, for a backup that restores to a point in time.
 */
async function seek(time: number, host: JournalHost): Promise<JournalAnswer> {
  const epoch = host.writer.current.epoch;
  let lo = host.writer.current.first;
  let hi = host.writer.durableHead + 1;
  const timeOf: TimeOf = (seq) =>
    new Promise((resolve) =>
      host.load([entryKey(seq)], (values, err) => {
        const v = values[0];
        if (err !== undefined || v === undefined) return resolve(undefined);
        try {
          resolve(decodeJournalRecord(v).time);
        } catch {
          resolve(undefined);
        }
      }),
    );
  // Invariant: every seq below lo has a time before `time`; hi and above are at or after it.
  for (let rounds = 0; lo < hi && rounds < 64; rounds++) {
    const mid = Math.floor((lo + hi) / 2);
    const t = await timeOf(mid);
    if (t === undefined) return fail('UNAVAILABLE', `entry ${mid} could not be read (trimmed?)`);
    if (t < time) lo = mid + 1;
    else hi = mid;
  }
  assert(lo === hi, () => `seek ended at ${lo}..${hi}`);
  return { ok: true, epoch, seq: lo };
}

function range(host: JournalHost, acked: number): JournalRange {
  const m = host.writer.current;
  return {
    ok: true,
    epoch: m.epoch,
    first: m.first,
    head: host.writer.durableHead,
    acked,
    time: m.time,
  };
}

function persisted(host: JournalHost, acked: number): Promise<JournalAnswer> {
  return new Promise((resolve) =>
    host.persistCursors((err) =>
      resolve(err === undefined ? range(host, acked) : fail('UNAVAILABLE', err.message)),
    ),
  );
}

/**
 * A cursor that exists resumes where it was acknowledged, unless the journal started over (a
 * new epoch) or trimmed past it: then SUBSCRIPTION_EXPIRED, never a silent gap.
 */
function openCursor(
  req: Extract<JournalRequest, { kind: 'journal-open' }>,
  host: JournalHost,
): Promise<JournalAnswer> {
  if (!SUBSCRIBER_NAME_PATTERN.test(req.name))
    return Promise.resolve(fail('INVALID_ARGUMENT', `subscriber name ${req.name}`));
  const w = host.writer;
  const m = w.current;
  const cursor = w.cursors.get(req.name);
  if (cursor !== undefined) {
    if (cursor.epoch !== m.epoch)
      return Promise.resolve(expired(`the journal started over (epoch ${m.epoch})`));
    if (cursor.acked + 1 < m.first)
      return Promise.resolve(expired(`entries after ${cursor.acked} were trimmed`));
    return Promise.resolve(range(host, cursor.acked));
  }
  if (req.from === 'existing')
    return Promise.resolve(
      expired(`no cursor ${req.name}: it was removed (a stopped follow) or never made`),
    );
  if (w.cursors.size >= w.limits.subscribersMax)
    return Promise.resolve(
      fail('INVALID_ARGUMENT', `at most ${w.limits.subscribersMax} subscribers`),
    );
  const acked = req.from === 'start' ? m.first - 1 : w.durableHead;
  w.setCursor(req.name, { epoch: m.epoch, acked });
  assert(acked <= m.head, () => `new cursor at ${acked} past head ${m.head}`);
  return persisted(host, acked);
}

function ack(
  req: Extract<JournalRequest, { kind: 'journal-ack' }>,
  host: JournalHost,
): Promise<JournalAnswer> {
  const w = host.writer;
  const cursor = w.cursors.get(req.name);
  if (cursor === undefined || cursor.epoch !== req.epoch || cursor.epoch !== w.current.epoch)
    return Promise.resolve(expired(`no cursor ${req.name} in epoch ${req.epoch}`));
  if (!Number.isInteger(req.seq) || req.seq > w.durableHead)
    return Promise.resolve(fail('INVALID_ARGUMENT', `ack of seq ${req.seq} past the head`));
  // Acknowledgements only move forward; an older one (a retry, out of order) changes nothing.
  if (req.seq <= cursor.acked) return Promise.resolve(range(host, cursor.acked));
  w.setCursor(req.name, { epoch: cursor.epoch, acked: req.seq });
  return persisted(host, req.seq);
}

function readPage(
  req: Extract<JournalRequest, { kind: 'journal-read' }>,
  host: JournalHost,
): Promise<JournalAnswer> {
  const w = host.writer;
  const m = w.current;
  if (req.epoch !== m.epoch)
    return Promise.resolve(expired(`the journal started over (epoch ${m.epoch})`));
  if (req.from < m.first) return Promise.resolve(expired(`entry ${req.from} was trimmed`));
  const limit = Math.max(1, Math.min(req.limit, JOURNAL_PAGE_ENTRIES_MAX));
  const last = Math.min(w.durableHead, req.from + limit - 1);
  if (last < req.from)
    return Promise.resolve({ ok: true, epoch: m.epoch, entries: [], head: w.durableHead });
  const keys: string[] = [];
  for (let seq = req.from; seq <= last; seq++) keys.push(entryKey(seq));
  const bytesMax = Math.max(1, Math.min(req.bytesMax, JOURNAL_PAGE_BYTES_MAX));
  return new Promise((resolve) =>
    host.load(keys, (values, err) => {
      if (err !== undefined) return resolve(fail('UNAVAILABLE', err.message));
      resolve(pageOf(req.from, values, bytesMax, host));
    }),
  );
}

function pageOf(
  from: number,
  values: (Uint8Array | undefined)[],
  bytesMax: number,
  host: JournalHost,
): JournalAnswer {
  const m = host.writer.current;
  const entries: JournalRecord[] = [];
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // Trimmed while the read ran: the caller learns it from the expired answer.
    if (v === undefined)
      return from + i < m.first
        ? expired(`entry ${from + i} was trimmed`)
        : fail('CORRUPTED', `journal entry ${from + i} is missing`);
    let e: JournalRecord;
    try {
      e = decodeJournalRecord(v);
    } catch (err) {
      return fail('CORRUPTED', `journal entry ${from + i}: ${(err as Error).message}`);
    }
    if (e.seq !== from + i) return fail('CORRUPTED', `journal entry ${from + i} holds ${e.seq}`);
    entries.push(e);
    bytes += v.length;
    if (bytes >= bytesMax) break;
  }
  return { ok: true, epoch: m.epoch, entries, head: host.writer.durableHead };
}
