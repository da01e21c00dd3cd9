/**
 * The storage port of a Paxos group actor: load key records, write a group-commit batch.
 * Callback-based (no Promises in the shell's control flow) so the deterministic simulator can
 * drive completions from its own event queue; `EngineRecordStore` adapts any `Engine`.
 */
import { assert } from '../../runtime/assert';
import type { Engine, SyncMode } from '../../engines/engine';

export interface RecordWrite {
  readonly key: string;
  readonly value: Uint8Array;
}

export interface RecordStore {
  /**
   * Nothing written can outlive the actor (memory engine): the shell keeps records only in the
   * core's key map and skips encoding and writing them. A restart is then always amnesic.
   */
  readonly volatile?: boolean;
  /**
   * True once the storage opened having dropped records that may have been acknowledged (a
   * damaged tail, not a write cut short by a crash): they may have been promises or accepts,
   * so the actor must become amnesic. Known by the time the first `load` answers.
   */
  readonly lostAtOpen?: boolean;
  load(keys: readonly string[], cb: (values: (Uint8Array | undefined)[], err?: Error) => void): void;
  /** One atomic batch; `cb` runs once it is as durable as the sync mode promises. */
  write(batch: readonly RecordWrite[], cb: (err?: Error) => void): void;
  /** Every stored record (verification). Absent on a volatile store: it holds none. */
  scan?(): AsyncIterable<[string, Uint8Array]>;
  close(): Promise<void>;
}

/** `sync` → engine write option: 'always' fsyncs each batch; 'batch' and 'none' hand it to the OS. */
export class EngineRecordStore implements RecordStore {
  private readonly opened: Promise<void>;
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
        // A write cut short by a crash was never acknowledged; a damaged whole record may have been.
        this.lostAtOpen = engine.openReport?.()?.mayHaveDroppedAcknowledged === true;
      });
  }

  load(keys: readonly string[], cb: (values: (Uint8Array | undefined)[], err?: Error) => void): void {
    assert(keys.length > 0, 'empty load');
    this.opened
      .then(() => (this.engine.getMany !== undefined ? this.engine.getMany(keys) : Promise.all(keys.map((k) => this.engine.get(k)))))
      .then((values) => cb(values), (err: Error) => cb([], err));
  }

  write(batch: readonly RecordWrite[], cb: (err?: Error) => void): void {
    assert(batch.length > 0, 'empty write');
    const ops = batch.map((w) => ({ type: 'put' as const, key: w.key, value: w.value }));
    this.opened
      .then(() => this.engine.write(ops, { sync: this.sync === 'always' }))
      .then(() => cb(), (err: Error) => cb(err));
  }

  async *scan(): AsyncIterable<[string, Uint8Array]> {
    await this.opened;
    assert(this.closing === undefined, 'scan of a closing record store');
    yield* this.engine.iterate({});
  }

  /** Idempotent; also used to release the engine of a crashed incarnation. */
  close(): Promise<void> {
    this.closing ??= this.opened.catch(() => undefined).then(() => this.engine.close());
    return this.closing;
  }
}

/**
 * The memory engine's record store. The Paxos core's key map already holds every record in
 * memory and a crash loses both alike, so copying sealed records into a second map would cost
 * CPU and buy nothing; loads find nothing (a fresh or restarted replica starts empty).
 */
export class VolatileRecordStore implements RecordStore {
  readonly volatile = true;

  load(keys: readonly string[], cb: (values: (Uint8Array | undefined)[], err?: Error) => void): void {
    assert(keys.length > 0, 'empty load');
    const values = keys.map(() => undefined);
    queueMicrotask(() => cb(values));
  }

  write(_batch: readonly RecordWrite[], _cb: (err?: Error) => void): void {
    assert(false, 'write to a volatile record store');
  }

  async close(): Promise<void> {}
}
