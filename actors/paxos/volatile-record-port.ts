/**
 * The memory engine's record port (decision 28): what the key cache evicts, kept compact.
 */
import { assert } from '../../runtime/assert';
import type { KeyRecord } from './core/types';
import type { DigestFieldsOut, RecordPort, RecordWrite, StoredDigestCursor } from './record-port';
import { encodeSealedRecord } from './codec';
import { decodeCompactRecord, encodeCompactRecord, readDigestFields } from './compact-record';
import { RecordArena, SLAB_SHIFT_DEFAULT } from './record-arena';
import type { ArenaCursor, ArenaStats } from './record-arena';

/** The arena's entries as stored records: compact records read in place (digest scans). */
class CompactCursor implements StoredDigestCursor {
  constructor(private readonly entries: ArenaCursor) {}

  next(): boolean {
    return this.entries.next();
  }

  get bytes(): Uint8Array {
    return this.entries.bytes;
  }

  get keyFrom(): number {
    return this.entries.keyFrom;
  }

  get keyTo(): number {
    return this.entries.keyTo;
  }

  digestFields(out: DigestFieldsOut): boolean {
    const e = this.entries;
    return readDigestFields(e.bytes.subarray(e.valueFrom, e.valueTo), out);
  }

  record(): KeyRecord {
    const e = this.entries;
    return decodeCompactRecord(e.bytes.subarray(e.valueFrom, e.valueTo));
  }
}

/**
 * The memory engine's record store (decision 28). The Paxos core's key map holds every key it
 * uses as a full KeyState, and a crash loses both alike, so the shell never writes records
 * here on the persist path (`volatile`: no encoding, no copy per promise or accept). What this
 * store holds are the records the key cache evicted (`keep`, key-cache.ts): settled keys in
 * their compact form (compact-record.ts: the whole record as varints and bytes), packed with
 * their keys into the slabs of a RecordArena (record-arena.ts, decision 29: no V8 object per
 * key). A load hands the record back decoded (`loadRecords`) or sealed (`load`), exactly as a
 * disk engine would, and the core validates it like a disk load (`core.loaded`). A fresh or
 * restarted replica starts empty (and amnesic, as before).
 */
export class VolatileRecordPort implements RecordPort {
  readonly volatile = true;
  private readonly records: RecordArena;

  /**
   * `defer`: how a load's answer is put off to a later turn (default a microtask; the
   * deterministic simulator passes its own event queue). `slabShift`: log2 of the arena's slab
   * size (the simulator's small slabs make evacuations happen in short runs).
   */
  constructor(
    private readonly defer: (fn: () => void) => void = queueMicrotask,
    slabShift = SLAB_SHIFT_DEFAULT,
  ) {
    this.records = new RecordArena(slabShift);
  }

  /** Records held (settled keys in compact form). */
  get size(): number {
    return this.records.size;
  }

  /** The arena's bytes and entries (stats, benches). */
  arenaStats(): ArenaStats {
    return this.records.stats();
  }

  /** O(n): the arena's index agrees with its slabs (tests and the simulator). */
  checkIntegrity(): void {
    this.records.checkIntegrity();
  }

  /**
   * Keeps the record of an evicted key; a later keep of the same key replaces it (the key
   * loaded, changed and was evicted again: the newer record wins).
   */
  keep(key: string, rec: KeyRecord): void {
    const bytes = encodeCompactRecord(rec);
    assert(bytes.length > 0, () => `empty compact record for ${key}`);
    this.records.set(key, bytes);
  }

  /**
   * Both load paths answer in a microtask, as a disk engine would. A key's record leaves the
   * store only when it is handed to the core, in the same turn: a key that is loading is
   * never missing from both the core and this store (verification reads both,
   * replica-digest.ts).
   */
  load(
    keys: readonly string[],
    cb: (values: (Uint8Array | undefined)[], err?: Error) => void,
  ): void {
    this.loadRecords(keys, (records) =>
      cb(records.map((rec) => (rec === undefined ? undefined : encodeSealedRecord(rec)))),
    );
  }

  /** The shell's path (no sealing: ~3 µs less per load); `load` is the generic one. */
  loadRecords(keys: readonly string[], cb: (records: (KeyRecord | undefined)[]) => void): void {
    assert(keys.length > 0, 'empty load');
    this.defer(() => {
      const records = keys.map((key) => {
        const bytes = this.records.get(key);
        if (bytes === undefined) return undefined;
        // Decoded (copied out) before the delete, which may move the arena's entries.
        const rec = decodeCompactRecord(bytes);
        this.records.delete(key);
        return rec;
      });
      assert(records.length === keys.length, 'one answer per key');
      cb(records);
    });
  }

  write(_batch: readonly RecordWrite[], _cb: (err?: Error) => void): void {
    assert(false, 'write to a volatile record store');
  }

  /**
   * The held records, snapshot when the scan starts (the core's held keys are read in the
   * same turn by verification; keys that load during the scan are then in the snapshot).
   */
  async *scanAll(): AsyncIterable<[string, Uint8Array]> {
    const entries = this.records.snapshot();
    for (const [key, bytes] of entries) yield [key, encodeSealedRecord(decodeCompactRecord(bytes))];
  }

  /**
   * The held records through a cursor over a copy of the arena taken now, in the same turn as
   * the core's held keys (replica-digest.ts): no record is sealed, opened or decoded whole.
   */
  digestCursor(): StoredDigestCursor {
    return new CompactCursor(this.records.snapshotCursor());
  }

  async close(): Promise<void> {
    this.records.clear();
  }
}
