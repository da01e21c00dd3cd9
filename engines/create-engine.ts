/**
 * Builds an engine by kind, for configuration-driven callers (nodes, tools, benchmarks).
 * The result is not open; wrap it in an EngineStore and open that.
 */
import type { Engine } from './engine';
import { storeError } from './errors';
import { LsmEngine } from './lsm-engine';
import { MemoryEngine } from './memory-engine';

export type EngineKind = 'memory' | 'lsm';

export const ENGINE_KINDS: readonly EngineKind[] = Object.freeze(['memory', 'lsm']);

export interface CreateEngineOptions {
  /** Data directory; required by persistent engines (lsm), ignored by memory. */
  readonly dir?: string;
}

export function createEngine(kind: EngineKind, options: CreateEngineOptions = {}): Engine {
  // Configuration may come from outside TypeScript (files, flags), so check it here.
  const requested: unknown = kind;
  if (requested === 'memory') return new MemoryEngine();
  if (requested === 'lsm') {
    if (typeof options.dir !== 'string' || options.dir.length === 0) {
      throw storeError('INVALID_ARGUMENT', "engine 'lsm' needs options.dir (a directory path)");
    }
    return new LsmEngine(options.dir);
  }
  throw storeError('INVALID_ARGUMENT', `unknown engine kind ${String(requested)}`);
}
