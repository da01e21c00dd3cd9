/**
 * Builds an engine by kind, for configuration-driven callers (nodes, tools, benchmarks).
 * The result is not open; wrap it in an EngineStore and open that.
 */
import type { Engine } from './engine';
import { storeError } from './errors';
import { BitcaskEngine } from './bitcask/bitcask-engine';
import { Bitcask2Engine } from './bitcask2/bitcask2-engine';
import { LsmEngine } from './lsm-engine';
import { MemoryEngine } from './memory-engine';

export type EngineKind = 'memory' | 'lsm' | 'bitcask' | 'bitcask2';

export const ENGINE_KINDS: readonly EngineKind[] = Object.freeze([
  'memory',
  'lsm',
  'bitcask',
  'bitcask2',
]);

export interface CreateEngineOptions {
  /** Data directory; required by persistent engines (lsm, bitcask, bitcask2), ignored by memory. */
  readonly dir?: string;
}

export function createEngine(kind: EngineKind, options: CreateEngineOptions = {}): Engine {
  // Configuration may come from outside TypeScript (files, flags), so check it here.
  const requested: unknown = kind;
  if (requested === 'memory') return new MemoryEngine();
  if (requested === 'lsm' || requested === 'bitcask' || requested === 'bitcask2') {
    if (typeof options.dir !== 'string' || options.dir.length === 0) {
      throw storeError('INVALID_ARGUMENT', `engine '${requested}' needs options.dir (a directory path)`);
    }
    if (requested === 'lsm') return new LsmEngine(options.dir);
    if (requested === 'bitcask') return new BitcaskEngine(options.dir);
    return new Bitcask2Engine(options.dir);
  }
  throw storeError('INVALID_ARGUMENT', `unknown engine kind ${String(requested)}`);
}
