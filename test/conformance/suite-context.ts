/**
 * What every part of the engine conformance suite shares: the options, a fresh store per test,
 * and small helpers. Tests go through CheckedEngine, as all real callers do.
 */
import type { ExecutionContext } from 'ava';
import type { Engine, EngineCapabilities } from '../../engines/engine';
import { isEngineError } from '../../engines/errors';
import { CheckedEngine } from '../../engines/checked-engine';

export interface EngineUnderTest {
  readonly engine: Engine;
  /** Removes whatever the engine left behind (directories). Called after the engine closed. */
  cleanup(): Promise<void>;
}

export interface EngineSuiteOptions {
  readonly name: string;
  /**
   * The manifest the engine declares. ava registers tests synchronously, before any factory
   * can run, so tests that need a capability are registered or skipped from this copy; every
   * test then checks it against `engine.capabilities`.
   */
  readonly capabilities: EngineCapabilities;
  /** A fresh, unopened engine with no data. */
  readonly factory: () => Promise<EngineUnderTest>;
  /**
   * A new engine instance over the same storage as `previous`, as after a process restart.
   * Required when `capabilities.persistent`.
   */
  readonly reopen?: (previous: Engine) => Engine;
}

export type Body = (store: CheckedEngine, engine: Engine) => Promise<void>;

export class SuiteContext {
  constructor(readonly options: EngineSuiteOptions) {}

  title(text: string): string {
    return `${this.options.name} › ${text}`;
  }

  /** Runs `body` against an open store over a fresh engine; always closes and cleans up. */
  async withStore(t: ExecutionContext, body: Body): Promise<void> {
    const { engine, cleanup } = await this.options.factory();
    t.deepEqual({ ...engine.capabilities }, { ...this.options.capabilities }, 'manifest');
    const store = new CheckedEngine(engine);
    try {
      await store.open();
      await body(store, engine);
    } finally {
      await store.close();
      await cleanup();
    }
  }
}

export async function rejectsWithCode(
  t: ExecutionContext,
  action: () => Promise<unknown>,
  code: string,
  label?: string,
): Promise<void> {
  const err = await t.throwsAsync(action, undefined, label);
  t.true(isEngineError(err, code), `${label ?? ''} expected ${code}, got ${String(err)}`);
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export async function collect(
  iterable: AsyncIterable<[string, Uint8Array]>,
): Promise<Array<[string, Uint8Array]>> {
  const entries: Array<[string, Uint8Array]> = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

export async function collectKeys(
  iterable: AsyncIterable<[string, Uint8Array]>,
): Promise<string[]> {
  return (await collect(iterable)).map(([key]) => key);
}

/** Puts each key with its own name as the value, in one batch. */
export async function putKeys(store: CheckedEngine, keys: readonly string[]): Promise<void> {
  await store.write(
    keys.map((key) => ({ type: 'put' as const, key, value: text(key) })),
    { sync: false },
  );
}
