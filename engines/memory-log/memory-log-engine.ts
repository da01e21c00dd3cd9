/**
 * MemoryLogEngine: the in-memory bitcask with an append log (DESIGN.md §5 "memory … optional
 * append log"; the store's `engine: 'memory', persist: true`). See README.md here.
 *
 * Values live in RAM: a Map from key to its sealed record (`records.ts`), so reads never touch
 * the disk and every read verifies the record's CRC. Every write batch is also appended to a
 * log that is exactly a bitcask directory: the class extends BitcaskEngine and reuses, unchanged,
 * its data files, CRC'd batch frames, single writer with group commit and fdatasync, torn-tail
 * recovery, lock file and merges in a piscina pool. Open recovers the directory as bitcask does
 * and then loads every live record into the Map; compaction is bitcask's merge, started in the
 * background when the log's dead bytes pass a bound.
 *
 * Durability is bitcask's: `sync: true` resolves after fdatasync, `sync: false` once the frame
 * is written to the OS (survives kill -9, not power loss).
 */
import { assert } from '../../runtime/assert';
import type { EncodedBatch } from '../bitcask/batch-frame';
import { type BitcaskStats, BitcaskEngine } from '../bitcask/bitcask-engine';
import { notOpen } from '../bitcask/reads';
import type { Session } from '../bitcask/session';
import type { EngineCapabilities, IterateRange } from '../engine';
import { isEngineError } from '../errors';
import { checkMemoryLogOptions, type MemoryLogOptions } from './options';
import { applyFrame, loadRecords, type RecordMap, selectRange, verifiedValue } from './records';

export type { MemoryLogOptions } from './options';

export interface MemoryLogStats extends BitcaskStats {
  /** Records loaded into RAM by the latest open, and how many of them failed their check. */
  readonly recordsLoaded: number;
  readonly recordsCorruptedAtLoad: number;
  /** Compactions started by the dead-bytes bound, and those that failed (not by a close). */
  readonly compactions: number;
  readonly compactionFailures: number;
}

export class MemoryLogEngine extends BitcaskEngine {
  override readonly name: string = 'memory-log';
  override readonly capabilities: EngineCapabilities = Object.freeze({
    persistent: true,
    ordered: true,
  });
  private readonly compactDeadBytes: number;
  /** False: no Map; reads go to the log's files (bitcask's reads). See options.ts. */
  private readonly holdRecords: boolean;
  /** The records of the open session; a new Map per open, loaded from the log. */
  private records: RecordMap = new Map();
  private recordsLoaded = 0;
  /** The seq of the last batch applied to `records` (-1: none yet). */
  private appliedSeq = -1;
  private recordsCorruptedAtLoad = 0;
  private compacting: Promise<void> | undefined = undefined;
  private compactions = 0;
  private compactionFailures = 0;
  /** After a failed compaction, the dead bytes at which to try again (doubles each failure). */
  private retryDeadBytes = 0;

  constructor(dir: string, options?: MemoryLogOptions) {
    // One compaction policy: this engine's own (compactDeadBytes), not bitcask's autoMerge.
    super(dir, { ...options, autoMerge: false });
    const checked = checkMemoryLogOptions(options);
    this.compactDeadBytes = checked.compactDeadBytes;
    this.holdRecords = checked.holdRecords;
  }

  override async get(key: string): Promise<Uint8Array | undefined> {
    if (!this.holdRecords) return super.get(key);
    this.requireOpen();
    assert(typeof key === 'string', 'memory-log.get: key must be a string');
    const record = this.records.get(key);
    const value = record === undefined ? undefined : verifiedValue(key, record);
    this.counter.countRead();
    return value;
  }

  /** All from RAM in one step; one CORRUPTED record rejects the whole call (as bitcask does). */
  override async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (!this.holdRecords) return super.getMany(keys);
    this.requireOpen();
    const values = keys.map((key) => {
      const record = this.records.get(key);
      return record === undefined ? undefined : verifiedValue(key, record);
    });
    assert(values.length === keys.length, () => `getMany: ${values.length} of ${keys.length}`);
    for (let i = 0; i < keys.length; i++) this.counter.countRead();
    return values;
  }

  override iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    if (!this.holdRecords) return super.iterate(range);
    return this.iterateRecords(range);
  }

  /** The bitcask stats of the log, plus the load and compaction counts. */
  memoryLogStats(): MemoryLogStats {
    return {
      ...this.bitcaskStats(),
      recordsLoaded: this.recordsLoaded,
      recordsCorruptedAtLoad: this.recordsCorruptedAtLoad,
      compactions: this.compactions,
      compactionFailures: this.compactionFailures,
    };
  }

  /** Resolves when no compaction is running (tests, and callers that want a quiet log). */
  async compactionIdle(): Promise<void> {
    await this.compacting;
  }

  protected override async sessionOpened(session: Session): Promise<void> {
    this.appliedSeq = session.nextSeq() - 1;
    if (!this.holdRecords) return;
    const loaded = await loadRecords(session);
    this.records = loaded.records;
    this.recordsLoaded = loaded.records.size;
    this.recordsCorruptedAtLoad = loaded.corrupted;
    assert(this.records.size === session.keydir.size, 'memory-log: records differ from keydir');
  }

  /**
   * The writer resolves batches in seq order and each resumes `write` in that order, so the Map
   * takes batches in the order the log holds them (checked). The key directory may already be
   * a few batches ahead (the writer applies a whole group at once): the Map catches up before
   * any of their writes resolves.
   */
  protected override batchWritten(session: Session, frame: EncodedBatch, seq: number): void {
    assert(seq > this.appliedSeq, () => {
      return `memory-log: batch ${seq} applied after ${this.appliedSeq}`;
    });
    this.appliedSeq = seq;
    if (this.holdRecords) applyFrame(this.records, frame);
    this.maybeCompact(session);
  }

  /** The snapshot is taken at the first `next()`; closing the engine ends the iteration. */
  private async *iterateRecords(range: IterateRange): AsyncGenerator<[string, Uint8Array]> {
    const session = this.requireOpen();
    const snapshot = selectRange(this.records, range);
    for (const [key, record] of snapshot) {
      if (!this.isCurrent(session)) throw notOpen();
      yield [key, verifiedValue(key, record)];
    }
  }

  /**
   * Starts a compaction (bitcask's merge, in the pool) once the log's dead bytes reach the
   * bound and outweigh the live ones, so the log stays within about twice the live data plus
   * the bound. One at a time; the write that triggers it does not wait for it.
   */
  private maybeCompact(session: Session): boolean {
    if (this.compacting !== undefined) return false;
    const { dataBytes, liveBytes } = session.sizes();
    const deadBytes = dataBytes - liveBytes;
    assert(deadBytes >= 0, () => `memory-log: dead bytes ${deadBytes}`);
    const bound = Math.max(this.compactDeadBytes, this.retryDeadBytes);
    if (deadBytes < bound || deadBytes <= liveBytes) return false;
    this.compactions++;
    this.compacting = this.merge().then(
      () => {
        this.retryDeadBytes = 0;
      },
      (err: unknown) => {
        // A close aborts a running merge (NOT_OPEN); the next open cleans up after it. Any
        // other failure (CORRUPTED record, I/O) is counted and not retried on every write.
        if (isEngineError(err, 'NOT_OPEN')) return;
        this.compactionFailures++;
        this.retryDeadBytes = deadBytes * 2;
      },
    );
    void this.compacting.finally(() => {
      this.compacting = undefined;
    });
    return true;
  }
}
