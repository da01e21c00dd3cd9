/**
 * Shared stats counting, so that every engine counts the same way:
 *   reads         point reads (`get` calls; `getMany` counts one per key)
 *   writes        operations written (puts and dels), summed over batches
 *   batches       `write` calls that succeeded, including empty ones
 *   syncs         batches written with `sync: true`
 *   bytesWritten  UTF-8 key bytes of every operation plus value bytes of every put
 */
import { assert } from '../runtime/assert';
import type { BatchOp, EngineStats } from './engine';

export class StatsCounter {
  private reads = 0;
  private writes = 0;
  private batches = 0;
  private syncs = 0;
  private bytesWritten = 0;

  countRead(): void {
    this.reads++;
  }

  countBatch(batch: readonly BatchOp[], sync: boolean): void {
    let bytes = 0;
    for (const op of batch) {
      bytes += Buffer.byteLength(op.key, 'utf8');
      if (op.type === 'put') bytes += op.value.byteLength;
    }
    assert(Number.isSafeInteger(this.bytesWritten + bytes), 'stats: bytesWritten overflow');
    this.writes += batch.length;
    this.batches++;
    if (sync) this.syncs++;
    this.bytesWritten += bytes;
  }

  snapshot(): EngineStats {
    assert(this.syncs <= this.batches, `stats: syncs ${this.syncs} > batches ${this.batches}`);
    return {
      reads: this.reads,
      writes: this.writes,
      batches: this.batches,
      syncs: this.syncs,
      bytesWritten: this.bytesWritten,
    };
  }
}
