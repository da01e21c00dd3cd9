/**
 * The one storage-engine interface (STYLE.md §4): primitives only. Every engine implements it;
 * `engines/checked-engine.ts` wraps engines with lifecycle checks and key validation; one conformance
 * suite (`test/conformance/engine-suite.ts`) runs against every engine.
 *
 * Keys are strings (the caller encodes them); values are bytes.
 */

export type SyncMode = 'always' | 'batch' | 'none';

export interface EngineCapabilities {
  /** Survives a process restart (data on disk). */
  readonly persistent: boolean;
  /** `iterate` returns keys in ascending/descending byte order. */
  readonly ordered: boolean;
}

export type BatchOp =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Uint8Array;
      /**
       * Optional: the value is a record sealed by engines/record-codec.ts whose checksum holds.
       * An engine may then derive its own checksum over the value from the stored one rather
       * than pass over the bytes again (bitcask's entry records). A false claim is a programmer
       * error: an assertion under VERIFY, else the value reads back as CORRUPTED, never as data.
       */
      readonly sealed?: boolean;
    }
  | { readonly type: 'del'; readonly key: string };

export interface WriteOptions {
  /** true: durable on disk (fsync) before the promise resolves. false: handed to the OS. */
  readonly sync: boolean;
}

export interface IterateRange {
  readonly gte?: string;
  readonly lt?: string;
  readonly limit?: number;
  readonly reverse?: boolean;
}

export interface EngineStats {
  readonly reads: number;
  readonly writes: number;
  readonly batches: number;
  readonly syncs: number;
  readonly bytesWritten: number;
}

export interface Engine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Optional: many point reads in one engine call (LevelDB: one threadpool task). */
  getMany?(keys: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  /** Atomic: all operations of a batch apply, or none. */
  write(batch: readonly BatchOp[], options: WriteOptions): Promise<void>;
  /**
   * Optional: `write`, finished before it returns when the engine can do that (bitcask's idle
   * writer appending inline under `sync: false`). `true`: the batch is written, as durable as
   * `sync` asks, and in the engine's reads. Otherwise the promise `write` would have returned.
   * Lets a caller that waits for the write go on in the same turn, with no microtask between.
   */
  writeNow?(batch: readonly BatchOp[], options: WriteOptions): true | Promise<void>;
  iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]>;
  stats(): EngineStats;
  /**
   * Optional: what the latest open had to drop to recover: a torn tail (never acknowledged
   * under `sync: true`), or damage to durable bytes. An engine that can drop records at open
   * must report it: a caller that acknowledged those records (Paxos promises and accepts) has
   * to treat a loss of durable records as amnesia.
   */
  openReport?(): OpenReport | undefined;
  /**
   * Optional: the caller has handled the damage the latest open reported (the Paxos shell: the
   * group was rebuilt from a majority and its amnesia marker cleared), so later opens that find
   * exactly that damage again need not report it. An engine without it reports it at every
   * open until it rewrites the damaged bytes (a merge), which costs rebuilds, never safety.
   */
  acknowledgeDamage?(): Promise<void>;
}

export interface OpenReport {
  /** Bytes cut off the log at open (a tear, plus any damage skipped); 0 when nothing was lost. */
  readonly bytesDropped: number;
  /**
   * True when a tear was cut: bytes after the last durable point (no fdatasync had covered
   * them) that did not form valid frames, e.g. zeros where a power loss kept a file's new size
   * but not its data. Under `sync: true` none of it was acknowledged.
   */
  readonly torn: boolean;
  /**
   * True when what was dropped may have been acknowledged: damage to bytes that were durable
   * (a bad frame before the last sync mark, or in a file fsynced when it was closed).
   */
  readonly mayHaveDroppedAcknowledged: boolean;
}
