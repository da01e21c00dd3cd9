/**
 * MemoryEngine: the reference engine (STYLE.md §4). A Map from key to value, nothing on disk.
 * It defines the behaviour the conformance suite expects of every engine, and it tests the
 * suite itself.
 *
 * Values are copied on the way in and on the way out, so no caller can alias (and so mutate)
 * a stored buffer. Stored buffers are never mutated in place, which lets an iteration hold
 * references to them as its snapshot.
 *
 * Data survives close/open of the same instance (like memory-level), but not the process:
 * `capabilities.persistent` is false.
 */
import { assert, unreachable } from '../runtime/assert';
import type {
  BatchOp,
  Engine,
  EngineCapabilities,
  EngineStats,
  IterateRange,
  WriteOptions,
} from './engine';
import { StatsCounter } from './engine-stats';
import { engineError } from './errors';
import { compareKeys, inRange } from './key-order';

export class MemoryEngine implements Engine {
  readonly name = 'memory';
  readonly capabilities: EngineCapabilities = Object.freeze({ persistent: false, ordered: true });
  private readonly entries = new Map<string, Uint8Array>();
  private readonly counter = new StatsCounter();
  private isOpen = false;

  async open(): Promise<void> {
    this.isOpen = true;
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    assert(typeof key === 'string', 'memory.get: key must be a string');
    this.counter.countRead();
    const value = this.entries.get(key);
    return value === undefined ? undefined : copyBytes(value);
  }

  /** Atomic because it runs to completion in one synchronous step after its checks. */
  async write(batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
    this.checkOpen();
    assert(typeof options.sync === 'boolean', 'memory.write: options.sync must be a boolean');
    // Check every operation before applying any, so a failed assertion leaves no partial batch.
    for (const op of batch) {
      assert(typeof op.key === 'string', 'memory.write: key must be a string');
      assert(op.type === 'del' || op.value instanceof Uint8Array, 'memory.write: bad put value');
    }
    for (const op of batch) {
      if (op.type === 'put') this.entries.set(op.key, copyBytes(op.value));
      else if (op.type === 'del') this.entries.delete(op.key);
      else unreachable(op, 'memory.write: unknown op type');
    }
    this.counter.countBatch(batch, options.sync);
  }

  iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    return this.iterateSnapshot(range);
  }

  stats(): EngineStats {
    return this.counter.snapshot();
  }

  /** The snapshot is taken at the first `next()`; closing the engine ends the iteration. */
  private async *iterateSnapshot(range: IterateRange): AsyncGenerator<[string, Uint8Array]> {
    this.checkOpen();
    const snapshot = this.collect(range);
    for (const [key, value] of snapshot) {
      this.checkOpen();
      yield [key, copyBytes(value)];
    }
  }

  private collect(range: IterateRange): Array<[string, Uint8Array]> {
    const limit = range.limit ?? Infinity;
    assert(limit === Infinity || (Number.isInteger(limit) && limit >= 0), `limit ${limit}`);
    const selected: Array<[string, Uint8Array]> = [];
    for (const entry of this.entries) {
      if (inRange(entry[0], range.gte, range.lt)) selected.push(entry);
    }
    selected.sort((a, b) => compareKeys(a[0], b[0]));
    if (range.reverse === true) selected.reverse();
    if (selected.length > limit) selected.length = limit;
    assert(selected.length <= this.entries.size, 'memory.iterate: more entries than stored');
    return selected;
  }

  private checkOpen(): void {
    if (!this.isOpen) throw engineError('NOT_OPEN', `${this.name} engine is not open`);
  }
}

/**
 * A plain Uint8Array copy. Not `value.slice()`: on a Buffer (a Uint8Array subclass) `slice`
 * returns a view of the same memory, which would let the caller alias a stored value.
 */
function copyBytes(value: Uint8Array): Uint8Array {
  const copy = new Uint8Array(value);
  assert(copy.buffer !== value.buffer, 'copyBytes: copy shares memory with its source');
  return copy;
}
