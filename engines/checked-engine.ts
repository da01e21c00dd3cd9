/**
 * CheckedEngine wraps every engine (STYLE.md §4). It owns the lifecycle state, validates and
 * normalises all input (so engines never see raw input), builds `getMany` from `get`, and
 * checks what engines hand back. It implements Engine itself, so wrappers can stack.
 *
 * Lifecycle: closed → opening → open → closing → closed. Only `open` serves operations; in
 * every other state they reject with NOT_OPEN. The state changes synchronously when `open` or
 * `close` is called, so an operation issued right after `close()` is already refused.
 * Transitions run one at a time in call order; `open` and `close` are idempotent.
 */
import { assert } from '../runtime/assert';
import type {
  BatchOp,
  Engine,
  EngineCapabilities,
  EngineStats,
  IterateRange,
  WriteOptions,
} from './engine';
import { engineError } from './errors';
import { compareKeys, inRange } from './key-order';
import {
  type EngineLimits,
  validateBatch,
  validateKey,
  validateKeys,
  validateLimits,
  validateRange,
  validateWriteOptions,
} from './validate';

export type EngineState = 'closed' | 'opening' | 'open' | 'closing';

export class CheckedEngine implements Engine {
  readonly limits: EngineLimits;
  private currentState: EngineState = 'closed';
  /** The latest open or close; the next transition waits for it. */
  private pending: Promise<void> = Promise.resolve();
  /** Bumped by every transition, so a superseded one does not overwrite the state. */
  private generation = 0;

  constructor(
    readonly engine: Engine,
    limits?: Partial<EngineLimits>,
  ) {
    assert(typeof engine === 'object' && engine !== null, 'CheckedEngine: engine is required');
    assert(typeof engine.capabilities === 'object', `engine ${engine.name} has no capabilities`);
    this.limits = validateLimits(limits);
  }

  get name(): string {
    return this.engine.name;
  }

  get capabilities(): EngineCapabilities {
    return this.engine.capabilities;
  }

  get state(): EngineState {
    return this.currentState;
  }

  open(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (this.currentState === 'opening') return this.pending;
    return this.transition('opening', () => this.engine.open(), 'open');
  }

  close(): Promise<void> {
    if (this.currentState === 'closed') return Promise.resolve();
    if (this.currentState === 'closing') return this.pending;
    return this.transition('closing', () => this.engine.close(), 'closed');
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.requireOpen();
    const value = await this.engine.get(validateKey(key));
    assert(value === undefined || value instanceof Uint8Array, `${this.name}.get: bad value`);
    return value;
  }

  /** One `get` per key, in parallel; results line up with `keys`. */
  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    this.requireOpen();
    const valid = validateKeys(keys, this.limits);
    const values = await Promise.all(valid.map((key) => this.engine.get(key)));
    assert(values.length === valid.length, `getMany: ${values.length} of ${valid.length}`);
    return values;
  }

  /** `options` defaults to `{ sync: false }`, as in LevelDB. */
  async write(batch: readonly BatchOp[], options?: Partial<WriteOptions>): Promise<void> {
    this.requireOpen();
    const ops = validateBatch(batch, this.limits);
    await this.engine.write(ops, validateWriteOptions(options));
  }

  iterate(range?: IterateRange): AsyncIterable<[string, Uint8Array]> {
    return this.iterateChecked(range);
  }

  stats(): EngineStats {
    return this.engine.stats();
  }

  private transition(
    during: 'opening' | 'closing',
    step: () => Promise<void>,
    after: 'open' | 'closed',
  ): Promise<void> {
    const generation = ++this.generation;
    const previous = this.pending;
    this.currentState = during;
    const run = async (): Promise<void> => {
      await previous.catch(() => undefined); // its caller already saw its error
      try {
        await step();
      } catch (err) {
        if (generation === this.generation) this.currentState = 'closed';
        throw err;
      }
      if (generation === this.generation) this.currentState = after;
    };
    this.pending = run();
    return this.pending;
  }

  /**
   * Checks the state before each entry reaches the caller, and checks the engine's output:
   * keys inside the range, in order when the engine is ordered, and no more than `limit`.
   */
  private async *iterateChecked(range: unknown): AsyncGenerator<[string, Uint8Array]> {
    this.requireOpen();
    const valid = validateRange(range);
    const ordered = this.capabilities.ordered;
    let previous: string | undefined;
    let count = 0;
    for await (const [key, value] of this.engine.iterate(valid)) {
      this.requireOpen();
      count++;
      assert(valid.limit === undefined || count <= valid.limit, `iterate: over limit`);
      assert(inRange(key, valid.gte, valid.lt), `iterate: key ${key} outside the range`);
      assert(value instanceof Uint8Array, `iterate: value of ${key} is not a Uint8Array`);
      if (ordered && previous !== undefined) {
        const order = compareKeys(previous, key) * (valid.reverse === true ? -1 : 1);
        assert(order < 0, `iterate: key ${key} out of order after ${previous}`);
      }
      previous = key;
      yield [key, value];
    }
  }

  private requireOpen(): void {
    if (this.currentState !== 'open') {
      throw engineError('NOT_OPEN', `engine ${this.name} is ${this.currentState}, not open`);
    }
  }
}
