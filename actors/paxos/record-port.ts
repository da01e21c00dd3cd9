/**
 * The storage port of a Paxos group actor: load key records, write a group-commit batch.
 * Callback-based (no Promises in the shell's control flow) so the deterministic simulator can
 * drive completions from its own event queue; `EngineRecordPort` adapts any `Engine`.
 */
import { assert } from '../../runtime/assert';
import type { BatchOp, Engine, SyncMode, WriteOptions } from '../../engines/engine';
import type { KeyRecord } from './core/types';
import type { SectionLimits } from './record-sections';
import { encodeSealedRecord } from './codec';

export interface ScanRange {
  readonly gte: string;
  readonly lt: string;
  readonly reverse: boolean;
  readonly examineMax: number;
}

export interface RecordWrite {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface RecordPort {
  /**
   * Nothing written can outlive the actor (memory engine): the shell keeps records only in the
   * core's key map and skips encoding and writing them. A restart is then always amnesic.
   */
  readonly volatile?: boolean;
  /**
   * A volatile store that can hold what the key cache evicts (the live record, which it must
   * copy or encode before returning): the memory engine's compact form of a settled key. Absent: a volatile store keeps every key
   * in the core.
   */
  keep?(key: string, rec: KeyRecord): void;
  /**
   * True once the storage opened having dropped records that may have been acknowledged (a
   * damaged tail, not a write cut short by a crash): they may have been promises or accepts,
   * so the actor must become amnesic. Known by the time the first `load` answers.
   */
  readonly lostAtOpen?: boolean;
  /**
   * The store keeps records in sections (sectioned-record-port.ts): the shell may hand it a
   * change entry (record-sections.ts) instead of a whole record, and every read answers whole
   * records.
   */
  readonly appendChains?: boolean;
  /** With appendChains: which records go in sections, and when chains fold. */
  readonly sectionLimits?: SectionLimits;
  /**
   * With appendChains: the change chain on disk of a key just loaded (entries and bytes), asked
   * in the load's callback. null: the record that load answered is not what storage holds (a
   * copy the port kept in memory, which may be newer: kept-record-port.ts), so the key's next
   * record must be written whole, not as a change of it.
   */
  chainOf?(key: string): { entries: number; bytes: number } | null;
  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void;
  /**
   * Optional: loads keys that are not records (the journal's head, entries and cursors), when
   * `load` does more for records than read them (a sectioned store folds change chains).
   */
  loadLocal?(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void;
  /**
   * Optional (a store that keeps records in memory, not bytes): the records themselves, so a
   * load skips sealing and opening them. When present the shell loads through it.
   */
  loadRecords?(keys: readonly string[], cb: (records: (KeyRecord | undefined)[]) => void): void;
  /**
   * One atomic batch; `cb` runs once it is as durable as the sync mode promises. Each value of
   * `batch` is a sealed record (engines/record-codec.ts: a Paxos record or a change entry) or
   * empty (a chain's terminator): an engine port may tell the engine so (`BatchOp.sealed`).
   * `derived`: writes of derived local data (big-table index entries) that go in the same
   * batch. `cb` may run before `write` returns, when the engine finished the batch on the
   * calling thread (`Engine.writeNow`): the caller must be ready for that when it calls.
   */
  write(
    batch: readonly RecordWrite[],
    cb: (err?: Error) => void,
    derived?: readonly BatchOp[],
  ): void;
  /**
   * Optional (ordered engines): up to `examineMax` entries of a key range in order, and whether
   * the range had no more. Used by engine scans (engine-scan.ts).
   */
  scan?(
    range: ScanRange,
    cb: (entries: Array<[string, Uint8Array]>, exhausted: boolean, err?: Error) => void,
  ): void;
  /** Every stored entry, records and derived data alike (verification). Absent on a volatile store. */
  scanAll?(): AsyncIterable<[string, Uint8Array]>;
  /**
   * Every stored record, through a cursor taken now (synchronously: the digest's cut) that reads
   * the records in place, without sealing or decoding them (the memory engine; replica-digest.ts
   * prefers it to `scanAll`).
   */
  digestCursor?(): StoredDigestCursor;
  close(): Promise<void>;
}

/** The fields of a record a key's digest covers, set in place (compact-record.ts). */
export interface DigestFieldsOut {
  chosen: number;
  chosenOrigin: number;
  chosenSeq: number;
  version: number;
  /** A view of the stored bytes (valid until the cursor moves), or null. */
  data: Uint8Array | null;
}

/** Stored records one at a time, no object per record (RecordPort.digestCursor). */
export interface StoredDigestCursor {
  /** Steps to the next record; false at the end. */
  next(): boolean;
  /** The current record's key, UTF-8: `bytes[keyFrom, keyTo)`. */
  readonly bytes: Uint8Array;
  readonly keyFrom: number;
  readonly keyTo: number;
  /** Sets the current record's digest fields; false when only `record()` can read it. */
  digestFields(out: DigestFieldsOut): boolean;
  /** The current record, decoded whole (a copy). */
  record(): KeyRecord;
}

const SYNCED: WriteOptions = Object.freeze({ sync: true });
const NOT_SYNCED: WriteOptions = Object.freeze({ sync: false });

/** `sync` → engine write option: 'always' fsyncs each batch; 'batch' and 'none' hand it to the OS. */
export class EngineRecordPort implements RecordPort {
  private readonly opened: Promise<void>;
  /** Set once `opened` resolved: writes then go to the engine at once, not after a hop. */
  private isOpen = false;
  /** Writes queued behind `opened` that have not reached the engine yet (they go first). */
  private writesQueued = 0;
  private closing: Promise<void> | undefined;
  lostAtOpen = false;

  /** `after`: wait for it before opening (the previous owner of the same directory closing). */
  constructor(
    private readonly engine: Engine,
    private readonly sync: SyncMode,
    after?: Promise<void>,
  ) {
    this.opened = (after ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => engine.open())
      .then(() => {
        // A torn tail (bytes after the last durable point) was never acknowledged; damage to
        // durable bytes may have held acknowledged promises or accepts.
        this.lostAtOpen = engine.openReport?.()?.mayHaveDroppedAcknowledged === true;
        this.isOpen = true;
      });
    // A failed open reaches every load and write as their error; it must not also surface as an
    // unhandled rejection, which would take down the worker and every actor on it.
    this.opened.catch(() => undefined);
  }

  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void {
    assert(keys.length > 0, 'empty load');
    this.opened
      .then(() =>
        this.engine.getMany !== undefined
          ? this.engine.getMany(keys)
          : Promise.all(keys.map((k) => this.engine.get(k))),
      )
      .then(
        (values) => cb(values),
        (err: Error) => cb([], err),
      );
  }

  write(
    batch: readonly RecordWrite[],
    cb: (err?: Error) => void,
    derived?: readonly BatchOp[],
  ): void {
    // A batch of journal cursors alone carries no record (journal-page.ts).
    assert(batch.length > 0 || (derived?.length ?? 0) > 0, 'empty write');
    // A record's value is sealed (RecordPort.write), so the engine may derive its checksum
    // from the record's own; a chain's terminator is empty.
    const ops: BatchOp[] = batch.map((w) => ({
      type: 'put' as const,
      key: w.key,
      value: w.value,
      sealed: w.value.length > 0,
    }));
    if (derived !== undefined) for (const op of derived) ops.push(op);
    const options = this.sync === 'always' ? SYNCED : NOT_SYNCED;
    // Once open, straight to the engine (it orders writes by call, as the hop did): one promise
    // and one microtask less per batch. A close under way is the engine's to refuse (NOT_OPEN).
    const direct = this.isOpen && this.writesQueued === 0;
    if (!direct) this.writesQueued += 1;
    const written = direct
      ? this.writeOpen(ops, options)
      : this.opened.then(() => {
          this.writesQueued -= 1;
          assert(this.writesQueued >= 0, () => `writes queued ${this.writesQueued}`);
          return this.engine.write(ops, options);
        });
    // Written already (the engine's inline append): the caller goes on in this turn.
    if (written === true) return cb();
    written.then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  /**
   * The engine's write, finished here when the engine can (`writeNow`: true), with a
   * synchronous throw (a programmer error) as a rejection.
   */
  private writeOpen(ops: BatchOp[], options: WriteOptions): true | Promise<void> {
    try {
      const engine = this.engine;
      return engine.writeNow !== undefined
        ? engine.writeNow(ops, options)
        : engine.write(ops, options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async *scanAll(): AsyncIterable<[string, Uint8Array]> {
    await this.opened;
    assert(this.closing === undefined, 'scan of a closing record store');
    yield* this.engine.iterate({});
  }

  scan(
    range: ScanRange,
    cb: (entries: Array<[string, Uint8Array]>, exhausted: boolean, err?: Error) => void,
  ): void {
    assert(range.examineMax >= 1, () => `scan of ${range.examineMax} entries`);
    const limit = range.examineMax + 1; // one more than asked: tells whether the range is exhausted
    this.opened
      .then(async () => {
        const out: Array<[string, Uint8Array]> = [];
        for await (const entry of this.engine.iterate({
          gte: range.gte,
          lt: range.lt,
          reverse: range.reverse,
          limit,
        })) {
          out.push(entry);
        }
        assert(out.length <= limit, () => `engine iterate returned ${out.length} > ${limit}`);
        const exhausted = out.length <= range.examineMax;
        if (!exhausted) out.pop();
        return { out, exhausted };
      })
      .then(
        ({ out, exhausted }) => cb(out, exhausted),
        (err: Error) => cb([], false, err),
      );
  }

  /** Idempotent; also used to release the engine of a crashed incarnation. */
  close(): Promise<void> {
    this.closing ??= this.opened.catch(() => undefined).then(() => this.engine.close());
    return this.closing;
  }
}
