/**
 * The record port of the memory engine with `persist` (docs/decisions.md "The durable write
 * path: no second copy of a record"): a durable port (the append log, in sections) for what is
 * written, and the memory engine's arena (record-arena.ts) for what the key cache evicts.
 *
 * Why. The Paxos core holds every key it uses as a full record, and the shell writes each
 * change to the log. The log engine used to keep a second copy of every record it wrote, as a
 * string in a Map (memory-log/records.ts), so that reads are served from RAM; but the keys in
 * use are read from the core, never from the engine, and that copy cost a copy per record
 * written and a heap object per key. Here the log holds no copy (MemoryLogEngine
 * `holdRecords: false`) and RAM holds each key once: in the core while it is cached, in this
 * port's arena once evicted (`keep`, in its compact form, as the volatile memory engine keeps
 * it: decision 28). A key in neither (one not used since the store opened) is read from the
 * log, once: its record then stays in RAM as any other.
 *
 * An evicted key's record is at least as new as the log's (the key cache evicts only settled
 * keys with nothing staged or being written; a chosen value applied since the last write may
 * not be persisted yet), so a load prefers the arena's, which never reads the disk, and tells
 * the shell that it is not the log's record (chainOf: null), so no change entry is computed
 * from it. A crash loses the arena and with it only what a restart from the log re-learns.
 */
import { assert } from '../../runtime/assert';
import type { BatchOp } from '../../engines/engine';
import type { KeyRecord } from './core/types';
import type { RecordPort, RecordWrite } from './record-port';
import { encodeCompactRecord, sealedFromCompact } from './compact-record';
import { RecordArena, SLAB_SHIFT_DEFAULT } from './record-arena';
import type { ArenaStats } from './record-arena';

type Values = (Uint8Array | undefined)[];

const NONE: ReadonlySet<string> = new Set();

export class KeptRecordPort implements RecordPort {
  private readonly records: RecordArena;
  /** Records a load took from the arena (stats, tests). */
  arenaLoads = 0;
  /** The keys the load whose callback runs now answered from the arena (see chainOfInner). */
  private answeredFromArena: ReadonlySet<string> = new Set();

  /**
   * `defer`: how a load answered from the arena alone is put off to a later turn (default a
   * microtask; the deterministic simulator passes its own event queue). `slabShift`: log2 of
   * the arena's slab size.
   */
  constructor(
    private readonly inner: RecordPort,
    private readonly defer: (fn: () => void) => void = queueMicrotask,
    slabShift = SLAB_SHIFT_DEFAULT,
  ) {
    this.records = new RecordArena(slabShift);
    assert(inner.volatile !== true, 'a kept-record port over a volatile store');
    assert(inner.keep === undefined, 'a kept-record port over a port that keeps');
    if (inner.scan !== undefined) this.scan = (range, cb) => this.inner.scan?.(range, cb);
    if (inner.scanAll !== undefined) this.scanAll = () => this.scanAllInner();
    if (inner.chainOf !== undefined) this.chainOf = (key) => this.chainOfInner(key);
  }

  readonly scan?: RecordPort['scan'];
  readonly scanAll?: RecordPort['scanAll'];
  readonly chainOf?: RecordPort['chainOf'];

  get lostAtOpen(): boolean | undefined {
    return this.inner.lostAtOpen;
  }

  get appendChains(): boolean | undefined {
    return this.inner.appendChains;
  }

  get sectionLimits(): RecordPort['sectionLimits'] {
    return this.inner.sectionLimits;
  }

  /** Records held for evicted keys. */
  get size(): number {
    return this.records.size;
  }

  arenaStats(): ArenaStats {
    return this.records.stats();
  }

  /**
   * An evicted key's record (at least as new as the log's, see above): kept until the key
   * loads again.
   */
  keep(key: string, rec: KeyRecord): void {
    const bytes = encodeCompactRecord(rec);
    assert(bytes.length > 0, () => `empty compact record for ${key}`);
    this.records.set(key, bytes);
  }

  /**
   * Keys held here answer from the arena (sealed, as the log would), the others from the log.
   * The arena is read when the answer is made, not when asked, and a key leaves it only then:
   * a key that is loading is in the core, the arena or the log, never missing from all three.
   */
  load(keys: readonly string[], cb: (values: Values, err?: Error) => void): void {
    assert(keys.length > 0, 'empty load');
    const missing = keys.filter((key) => this.records.get(key) === undefined);
    if (missing.length === 0) {
      this.defer(() => this.answer(keys, new Map(), cb));
      return;
    }
    this.inner.load(missing, (values, err) => {
      if (err !== undefined) return cb([], err);
      assert(values.length === missing.length, 'one value per key');
      const read = new Map<string, Uint8Array | undefined>();
      missing.forEach((key, i) => read.set(key, values[i]));
      this.answer(keys, read, cb);
    });
  }

  /** Each key from the arena (which it then leaves) or from what the log answered. */
  private answer(
    keys: readonly string[],
    read: Map<string, Uint8Array | undefined>,
    cb: (values: Values, err?: Error) => void,
  ): void {
    const gone = keys.filter((key) => this.records.get(key) === undefined && !read.has(key));
    // A key that left the arena since it was asked (loaded twice at once): ask the log.
    if (gone.length > 0) {
      this.inner.load(gone, (values, err) => {
        if (err !== undefined) return cb([], err);
        gone.forEach((key, i) => read.set(key, values[i]));
        this.answer(keys, read, cb);
      });
      return;
    }
    const fromArena = new Set<string>();
    const values = keys.map((key) => {
      const bytes = this.records.get(key);
      if (bytes === undefined) return read.get(key);
      // Copied out before the delete, which may move the arena's entries; sealed as the log
      // would hold it, without a decode (the shell opens and decodes it as any load).
      const sealed = sealedFromCompact(bytes);
      this.records.delete(key);
      this.arenaLoads += 1;
      fromArena.add(key);
      return sealed;
    });
    assert(values.length === keys.length, 'one answer per key');
    this.answeredFromArena = fromArena;
    try {
      cb(values);
    } finally {
      this.answeredFromArena = NONE;
    }
  }

  loadLocal(keys: readonly string[], cb: (values: Values, err?: Error) => void): void {
    if (this.inner.loadLocal !== undefined) this.inner.loadLocal(keys, cb);
    else this.inner.load(keys, cb);
  }

  write(batch: readonly RecordWrite[], cb: (err?: Error) => void, derived?: readonly BatchOp[]) {
    this.inner.write(batch, cb, derived);
  }

  /**
   * null for a key the load now answering took from the arena: the core's record when it was
   * evicted, which may be newer than the log's (a chosen value applied and not yet persisted:
   * the core persists it with the key's next promise or accept), so a change entry computed
   * from it would not continue the chain on disk (the simulator found it: data of one version
   * folded under the fields of another). The shell then writes the key's next record whole.
   */
  private chainOfInner(key: string): { entries: number; bytes: number } | null {
    if (this.answeredFromArena.has(key)) return null;
    return this.inner.chainOf?.(key) ?? { entries: 0, bytes: 0 };
  }

  /**
   * Scans read the log: every key's record as last persisted, evicted keys included (without
   * a chosen value applied since, as a disk engine's scan of a key its cache evicted).
   */
  private scanAllInner(): AsyncIterable<[string, Uint8Array]> {
    const all = this.inner.scanAll;
    assert(all !== undefined, 'scanAll of a store that cannot');
    return all.call(this.inner);
  }

  async close(): Promise<void> {
    this.records.clear();
    await this.inner.close();
  }
}
