/**
 * Builds an engine by kind, for configuration-driven callers (nodes, tools, benchmarks).
 * The result is not open; wrap it in an CheckedEngine and open that.
 */
import type { Engine } from './engine';
import { engineError } from './errors';
import { BitcaskEngine } from './bitcask/bitcask-engine';
import { Bitcask2Engine } from './bitcask2/bitcask2-engine';
import { LsmEngine } from './lsm-engine';
import { MemoryEngine } from './memory-engine';
import { MemoryLogEngine } from './memory-log/memory-log-engine';
import type { EngineOffload } from './offload';

export type EngineKind = 'memory' | 'lsm' | 'bitcask' | 'bitcask2';

export const ENGINE_KINDS: readonly EngineKind[] = Object.freeze([
  'memory',
  'lsm',
  'bitcask',
  'bitcask2',
]);

export interface CreateEngineOptions {
  /** Data directory; required by persistent engines (lsm, bitcask, bitcask2, memory with persist). */
  readonly dir?: string;
  /** memory only: keep an append log in `dir` (MemoryLogEngine) so a restart reloads. */
  readonly persist?: boolean;
  /** bitcask and memory with persist: the shared pool merges and compactions run in. */
  readonly offload?: EngineOffload;
  /**
   * memory with persist: hold every record in RAM too (default true). The Paxos shell passes
   * false: its key cache and port hold the values (memory-log/options.ts `holdRecords`).
   */
  readonly holdRecords?: boolean;
}

export function createEngine(kind: EngineKind, options: CreateEngineOptions = {}): Engine {
  // Configuration may come from outside TypeScript (files, flags), so check it here.
  const requested: unknown = kind;
  if (options.persist !== undefined && typeof options.persist !== 'boolean') {
    throw engineError('INVALID_ARGUMENT', 'options.persist must be a boolean');
  }
  if (options.persist === true && requested !== 'memory') {
    const kind = String(requested);
    throw engineError('INVALID_ARGUMENT', `persist is a memory engine option, not '${kind}'`);
  }
  if (requested === 'memory' && options.persist !== true) return new MemoryEngine();
  if (
    requested === 'memory' ||
    requested === 'lsm' ||
    requested === 'bitcask' ||
    requested === 'bitcask2'
  ) {
    if (typeof options.dir !== 'string' || options.dir.length === 0) {
      throw engineError(
        'INVALID_ARGUMENT',
        `engine '${requested}' needs options.dir (a directory path)`,
      );
    }
    const { offload, holdRecords } = options;
    if (requested === 'memory') return new MemoryLogEngine(options.dir, { offload, holdRecords });
    if (requested === 'lsm') return new LsmEngine(options.dir);
    if (requested === 'bitcask') return new BitcaskEngine(options.dir, { offload });
    return new Bitcask2Engine(options.dir, { offload });
  }
  throw engineError('INVALID_ARGUMENT', `unknown engine kind ${String(requested)}`);
}
