/**
 * The replica group's journal on the write side (docs/decisions.md "Journal subscription"): the shell tells it of
 * every applied op (the core's `onApplied`) and every record it persists; it turns them into
 * journal entries, numbers them (the group's sync version on this replica: consecutive, in
 * this replica's apply order) and hands the shell the engine ops that go in the *same* batch as
 * the records, so the journal on disk always matches the records on disk. It also keeps the
 * subscribers' cursors and trims what every subscriber acknowledged, within the bounds.
 *
 * Per key it remembers the version the journal covers, so a record that moved further than the
 * applied ops explain (catch-up, amnesia recovery, a repair install) becomes a `state` entry:
 * the jump is visible, never a silent gap. Keys the core evicts are forgotten and noted again
 * when they load.
 */
import { assert } from '../../runtime/assert';
import type { BatchOp } from '../../engines/engine';
import { isInstallOp } from '../../models/install-op';
import { splitRequestId } from '../../models/request-id';
import type { KeyRecord } from './core/types';
import {
  JOURNAL_META_KEY,
  JOURNAL_SEQ_MAX,
  JournalEntryKind,
  encodeJournalMeta,
  encodeJournalRecord,
  entryKey,
} from './journal-codec';
import type { JournalMeta, JournalRecord } from './journal-codec';
import type { JournalLimits } from './journal-limits';

/** An entry staged with its record, numbered when its batch is built. */
/**
 * The epoch of a journal that starts (new, or over after amnesia). The incarnation alone is
 * not enough: a cluster node whose whole directory is lost loses its incarnation counts with
 * it and starts again at 1, so a live subscriber's cursor would match the new journal's epoch
 * and read its seqs as if nothing had happened. Mixing in the wall clock (ms) makes a repeat
 * need the same millisecond and the same incarnation mod 1024. Below 2^52: a safe integer.
 */
export function journalEpoch(incarnation: number, nowMs: number): number {
  assert(Number.isSafeInteger(incarnation) && incarnation >= 0, () => `incarnation ${incarnation}`);
  const ms = Math.max(0, Math.floor(nowMs)) % 2 ** 42;
  return ms * 1024 + (incarnation % 1024);
}

export type StagedEntry = Omit<JournalRecord, 'seq'>;

/** A subscriber's cursor as the writer keeps it. */
export interface CursorState {
  epoch: number;
  acked: number;
}

/** Entries one batch deletes at most when trimming (the rest go in later batches). */
export const TRIM_PER_BATCH_MAX = 4096;

export class JournalWriter {
  /** Durable state as of the last batch built (not yet necessarily written). */
  private meta: JournalMeta | undefined;
  /** Seqs written and durable: readers see up to here. */
  durableHead = 0;
  /** Version the journal covers per key held by the core. */
  private readonly covered = new Map<string, number>();
  /** Ops applied since the last ready, per key, in order. */
  private readonly applied = new Map<string, { op: Uint8Array; version: number }[]>();
  /** Retained entries' value sizes, oldest first (index sizesAt = meta.first). */
  private sizes: number[] = [];
  private sizesAt = 0;
  readonly cursors = new Map<string, CursorState>();
  private cursorsChanged = false;
  private lastTime = 0;
  readonly counters = { journalEntries: 0, journalStateEntries: 0, journalTrimmed: 0 };

  constructor(
    readonly limits: JournalLimits,
    private readonly clock: () => number,
  ) {}

  get loaded(): boolean {
    return this.meta !== undefined;
  }

  get current(): JournalMeta {
    assert(this.meta !== undefined, 'journal meta read before it loaded');
    return this.meta;
  }

  /**
   * The stored head (undefined: no journal yet). `epoch` starts a new journal when the stored
   * one cannot be trusted to match what subscribers saw (an amnesic start) or there is none.
   */
  start(
    stored: { meta: JournalMeta; cursors: [string, CursorState][] } | undefined,
    epoch: number,
    fresh: boolean,
  ): void {
    assert(this.meta === undefined, 'journal started twice');
    if (stored === undefined) {
      this.meta = { epoch, first: 1, head: 0, time: 0, bytes: 0 };
      this.cursorsChanged = true;
    } else {
      // An amnesic start keeps the stored entries (they match the stored records, a valid
      // history of this replica) but begins a new epoch: subscribers may have read entries
      // past the stored head that are gone, so their cursors (old epoch) expire, and seqs go on
      // from the stored head, so no (epoch, seq) is ever reused.
      this.meta = fresh ? { ...stored.meta, epoch } : stored.meta;
      this.cursorsChanged = fresh;
      const count = stored.meta.head + 1 - stored.meta.first;
      const average = count === 0 ? 0 : Math.ceil(stored.meta.bytes / count);
      for (let i = 0; i < Math.min(count, this.limits.retainEntriesMax); i++)
        this.sizes.push(average);
    }
    for (const [name, c] of stored?.cursors ?? []) this.cursors.set(name, c);
    this.durableHead = this.meta.head;
    this.lastTime = this.meta.time;
    assert(this.meta.first <= this.meta.head + 1, 'journal start range');
  }

  /** The core applied `op` to `key`, making its version `version` (core onApplied). */
  noteApplied(key: string, op: Uint8Array, version: number): void {
    let list = this.applied.get(key);
    if (list === undefined) {
      list = [];
      this.applied.set(key, list);
    }
    list.push({ op, version });
  }

  noteLoaded(key: string, record: KeyRecord | undefined | 'corrupted'): void {
    // A corrupted record recovers from peers: its new state becomes a state entry from 0.
    const version = record === undefined || record === 'corrupted' ? 0 : record.version;
    this.covered.set(key, version);
  }

  forget(key: string): void {
    this.covered.delete(key);
  }

  /** The entries a persisted record adds: its applied ops, and a state entry for any jump. */
  entriesOf(key: string, record: KeyRecord): StagedEntry[] {
    const ops = this.applied.get(key) ?? [];
    this.applied.delete(key);
    const base = this.covered.get(key) ?? record.version;
    const out: StagedEntry[] = [];
    if (record.version < base) {
      // A repair installed an older version (a diverged replica): the journal follows it.
      this.covered.set(key, record.version);
      return out;
    }
    let at = base;
    const contiguous = ops.every((o, i) => o.version === base + i + 1);
    if (contiguous) {
      for (const o of ops) {
        if (isInstallOp(o.op)) break;
        out.push(this.entry(JournalEntryKind.op, key, at, o.version, splitRequestId(o.op).op));
        at = o.version;
      }
    }
    if (record.version > at) {
      // A copy: the entry waits for its batch, and the key may write its state in place
      // meanwhile (decision "A key's data written in place"). State entries are rare (a jump).
      const state = record.data === null ? null : record.data.slice();
      out.push(this.entry(JournalEntryKind.state, key, at, record.version, state));
      this.counters.journalStateEntries += 1;
    }
    this.covered.set(key, record.version);
    assert(out.length <= ops.length + 1, () => `${out.length} entries for ${ops.length} ops`);
    return out;
  }

  /** Applied ops not matched by a persisted record: none may be left after a ready. */
  get unmatched(): number {
    return this.applied.size;
  }

  private entry(
    kind: JournalEntryKind,
    key: string,
    fromVersion: number,
    version: number,
    bytes: Uint8Array | null,
  ): StagedEntry {
    // Wall-clock time, kept from going back within the group (a backup seeks by it).
    const time = Math.max(this.lastTime, Math.floor(this.clock()));
    this.lastTime = time;
    return { time, kind, key, fromVersion, version, bytes };
  }

  /** A subscriber's cursor changed (ack, open, remove): the meta goes in the next batch. */
  setCursor(name: string, cursor: CursorState | undefined): void {
    if (cursor === undefined) this.cursors.delete(name);
    else this.cursors.set(name, cursor);
    this.cursorsChanged = true;
  }

  /**
   * Numbers the staged entries and returns the engine ops of one batch (entries, trim, and the
   * head with the cursors); none when the batch changes nothing of the journal.
   */
  batchOps(staged: readonly StagedEntry[]): BatchOp[] {
    const meta = this.current;
    if (staged.length === 0 && !this.cursorsChanged && this.trimPoint(meta) === meta.first)
      return [];
    const ops: BatchOp[] = [];
    let head = meta.head;
    let bytes = meta.bytes;
    let time = meta.time;
    for (const e of staged) {
      head += 1;
      assert(head <= JOURNAL_SEQ_MAX, () => `journal seq ${head} past its range`);
      const value = encodeJournalRecord({ ...e, seq: head });
      ops.push({ type: 'put', key: entryKey(head), value });
      this.sizes.push(value.length);
      bytes += value.length;
      time = e.time;
    }
    this.counters.journalEntries += staged.length;
    const first = this.trimPoint({ ...meta, head, bytes });
    for (let seq = meta.first; seq < first; seq++) {
      ops.push({ type: 'del', key: entryKey(seq) });
      bytes -= this.shiftSize();
    }
    this.counters.journalTrimmed += first - meta.first;
    this.meta = { epoch: meta.epoch, first, head, time, bytes: Math.max(0, bytes) };
    ops.push({ type: 'put', key: JOURNAL_META_KEY, value: this.encodeMeta() });
    this.cursorsChanged = false;
    assert(this.meta.first <= this.meta.head + 1, 'trimmed past the head');
    return ops;
  }

  /**
   * Oldest seq to keep: nothing a current-epoch subscriber has not acknowledged, except past
   * the bounds (that subscriber then expires); acknowledged entries stay while they are among
   * the newest `retainAckedEntries`.
   */
  private trimPoint(at: JournalMeta): number {
    const { first, head, bytes } = at;
    const l = this.limits;
    let needed = head + 1;
    for (const c of this.cursors.values())
      if (c.epoch === this.current.epoch) needed = Math.min(needed, c.acked + 1);
    let point = Math.max(
      first,
      Math.min(needed, head + 1 - l.retainAckedEntries),
      head + 1 - l.retainEntriesMax,
    );
    const cap = Math.min(head + 1, first + TRIM_PER_BATCH_MAX);
    point = Math.min(point, cap);
    let over = bytes;
    let i = 0;
    for (; i < point - first; i++) over -= this.sizeAt(i);
    for (; over > l.retainBytesMax && point < cap; i++, point++) over -= this.sizeAt(i);
    assert(point >= first && point <= head + 1, () => `trim point ${point} of ${first}..${head}`);
    return point;
  }

  /** Size of the i-th retained entry (0 when unknown). */
  private sizeAt(i: number): number {
    return this.sizes[this.sizesAt + i] ?? 0;
  }

  private shiftSize(): number {
    const size = this.sizeAt(0);
    this.sizesAt += 1;
    // Compact now and then: shift() on a long array copies it every time.
    if (this.sizesAt >= 4096 && this.sizesAt * 2 >= this.sizes.length) {
      this.sizes = this.sizes.slice(this.sizesAt);
      this.sizesAt = 0;
    }
    return size;
  }

  private encodeMeta(): Uint8Array {
    return encodeJournalMeta(this.current, [...this.cursors]);
  }
}
