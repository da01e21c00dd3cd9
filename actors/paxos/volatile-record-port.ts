/**
 * The memory engine's record port (decision 28): what the key cache evicts, kept compact.
 */
import { assert } from '../../runtime/assert';
import type { KeyRecord } from './core/types';
import type { RecordPort, RecordWrite } from './record-port';
import { encodeSealedRecord } from './codec';
import { decodeCompactRecord, encodeCompactRecord } from './compact-record';

/**
 * The memory engine's record store (decision 28). The Paxos core's key map holds every key it
 * uses as a full KeyState, and a crash loses both alike, so the shell never writes records
 * here on the persist path (`volatile`: no encoding, no copy per promise or accept). What this
 * store holds are the records the key cache evicted (`keep`, key-cache.ts): settled keys in
 * their compact form (compact-record.ts: the whole record as a one-byte string, ~16 bytes of
 * V8 header where a Uint8Array costs ~150–200). A load hands a record back sealed, exactly as
 * a disk engine would, so the shell's load path is the one of every engine. A fresh or
 * restarted replica starts empty (and amnesic, as before).
 */
export class VolatileRecordPort implements RecordPort {
  readonly volatile = true;
  private readonly records = new Map<string, string>();

  /**
   * `defer`: how a load's answer is put off to a later turn (default a microtask; the
   * deterministic simulator passes its own event queue).
   */
  constructor(private readonly defer: (fn: () => void) => void = queueMicrotask) {}

  /** Records held (settled keys in compact form). */
  get size(): number {
    return this.records.size;
  }

  /**
   * Keeps the record of an evicted key; a later keep of the same key replaces it (the key
   * loaded, changed and was evicted again: the newer record wins).
   */
  keep(key: string, rec: KeyRecord): void {
    const text = encodeCompactRecord(rec);
    assert(text.length > 0, () => `empty compact record for ${key}`);
    this.records.set(key, text);
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
        const text = this.records.get(key);
        if (text === undefined) return undefined;
        this.records.delete(key);
        return decodeCompactRecord(text);
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
    const entries = [...this.records];
    for (const [key, text] of entries) yield [key, encodeSealedRecord(decodeCompactRecord(text))];
  }

  async close(): Promise<void> {
    this.records.clear();
  }
}
