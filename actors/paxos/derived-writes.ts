/**
 * Local data derived from key records (big-table index entries, decision 13), kept by the Paxos
 * shell in the same engine batch as the record it derives from, so that on disk it always
 * equals `keysOf` of the stored record. This module tracks what is on disk per covered key and
 * turns the records of a batch into the derived-key puts and deletes that go with them.
 */
import { assert } from '../../runtime/assert';
import type { BatchOp } from '../../engines/engine';
import type { KeyRecord } from './core/types';

/**
 * Local data derived from some keys' records (big-table index entries, decision 13). The shell
 * keeps it in the same engine batch as the record it derives from, so on disk it always equals
 * `keysOf` of the stored record.
 */
export interface DerivedKeys {
  covers(key: string): boolean;
  /** True for an engine key that is derived data, not a record (verification skips them). */
  isDerived(engineKey: string): boolean;
  /** The derived engine keys (empty values) of a record; pure. */
  keysOf(key: string, data: Uint8Array | null, acceptedOp: Uint8Array | null): string[];
}

const EMPTY_VALUE = new Uint8Array(0);

export class DerivedWrites {
  /** The derived keys on disk (or in a batch already issued) per covered key. */
  private readonly onDisk = new Map<string, string[]>();
  /** Derived-key puts and deletes issued so far (stats). */
  written = 0;

  constructor(readonly derived: DerivedKeys) {}

  covers(key: string): boolean {
    return this.derived.covers(key);
  }

  /** The derived keys of a record about to be staged. */
  keysOf(key: string, record: KeyRecord): string[] {
    assert(
      this.derived.covers(key),
      () => `derived keys of an uncovered key ${JSON.stringify(key)}`,
    );
    return this.derived.keysOf(key, record.data, record.accepted?.op ?? null);
  }

  /** What a loaded record's derived keys are on disk (a corrupted record's are unknown: none). */
  noteLoaded(key: string, record: KeyRecord | undefined | 'corrupted'): void {
    if (!this.derived.covers(key)) return;
    const keys = record === undefined || record === 'corrupted' ? [] : this.keysOf(key, record);
    if (keys.length > 0) this.onDisk.set(key, keys);
    else this.onDisk.delete(key);
  }

  /** An evicted key's derived keys are recomputed from its record when it loads again. */
  forget(key: string): void {
    this.onDisk.delete(key);
  }

  /**
   * The derived-key puts and deletes that take each staged key from what is on disk to what its
   * new record derives; they go in the record's batch. Batches are issued in order, so what a
   * batch writes is what the next one starts from.
   */
  batchOps(staged: Map<string, string[]>): BatchOp[] | undefined {
    if (staged.size === 0) return undefined;
    const ops: BatchOp[] = [];
    for (const [key, next] of staged) {
      // Derived keys live beside records: one that were a record key would overwrite it.
      assert(
        next.every((k) => !this.derived.covers(k) && k !== key),
        () => `derived keys of ${JSON.stringify(key)} overlap records`,
      );
      const before = this.onDisk.get(key) ?? [];
      for (const k of before) if (!next.includes(k)) ops.push({ type: 'del', key: k });
      for (const k of next)
        if (!before.includes(k)) ops.push({ type: 'put', key: k, value: EMPTY_VALUE });
      if (next.length > 0) this.onDisk.set(key, next);
      else this.onDisk.delete(key);
    }
    this.written += ops.length;
    return ops;
  }
}
