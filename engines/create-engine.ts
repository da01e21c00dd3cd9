/**
 * Builds an engine by kind, for configuration-driven callers (nodes, tools, benchmarks).
 * The result is not open; wrap it in an EngineStore and open that.
 */
import type { Engine } from './engine';
import { storeError } from './errors';
import { BitcaskEngine } from './bitcask/bitcask-engine';
import { LsmEngine } from './lsm-engine';
import { MemoryEngine } from './memory-engine';

export type EngineKind = 'memory' | 'lsm' | 'bitcask';

export const ENGINE_KINDS: readonly EngineKind[] = Object.freeze(['memory', 'lsm', 'bitcask']);

export interface CreateEngineOptions {
  /** Data directory; required by persistent engines (lsm, bitcask), ignored by memory. */
  readonly dir?: string;
}

export function createEngine(kind: EngineKind, options: CreateEngineOptions = {}): Engine {
  // Configuration may come from outside TypeScript (files, flags), so check it here.
  const requested: unknown = kind;
  if (requested === 'memory') return new MemoryEngine();
  if (requested === 'lsm' || requested === 'bitcask') {
    if (typeof options.dir !== 'string' || options.dir.length === 0) {
      throw storeError('INVALID_ARGUMENT', `engine '${requested}' needs options.dir (a directory path)`);
    }
    return requested === 'lsm' ? new LsmEngine(options.dir) : new BitcaskEngine(options.dir);
  }
  throw storeError('INVALID_ARGUMENT', `unknown engine kind ${String(requested)}`);
}
