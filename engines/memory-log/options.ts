/**
 * MemoryLogEngine's own options (the log's file size and pool are bitcask's, checked by
 * `../bitcask/options.ts`), checked once in the constructor.
 */
import type { BitcaskOptions } from '../bitcask/options';
import { engineError } from '../errors';

/** Dead log bytes that start a compaction (when they also outweigh the live bytes). */
export const COMPACT_DEAD_BYTES_DEFAULT = 16 * 1024 * 1024;

export interface MemoryLogOptions extends BitcaskOptions {
  /**
   * Compact the log (bitcask merge in the offload pool) once its dead bytes reach this and
   * exceed its live bytes. Default 16 MiB. Smaller means less disk and more merges.
   */
  readonly compactDeadBytes?: number;
}

export interface CheckedMemoryLogOptions {
  readonly compactDeadBytes: number;
}

export function checkMemoryLogOptions(
  options: MemoryLogOptions | undefined,
): CheckedMemoryLogOptions {
  const { compactDeadBytes = COMPACT_DEAD_BYTES_DEFAULT } = options ?? {};
  if (
    typeof compactDeadBytes !== 'number' ||
    !Number.isSafeInteger(compactDeadBytes) ||
    compactDeadBytes < 1
  ) {
    throw engineError('INVALID_ARGUMENT', 'memory-log compactDeadBytes must be a positive integer');
  }
  return { compactDeadBytes };
}
