/**
 * MemoryLogEngine's own options (the log's file size and pool are bitcask's, checked by
 * `../bitcask/options.ts`), checked once in the constructor.
 */
import { AUTO_MERGE_DEFAULT } from '../bitcask/options';
import type { BitcaskOptions } from '../bitcask/options';
import { engineError } from '../errors';

/** Dead log bytes that start a compaction (when they also outweigh the live bytes). */
export const COMPACT_DEAD_BYTES_DEFAULT = 16 * 1024 * 1024;
/**
 * The bound when the engine holds no records (`holdRecords: false`): the log alone is a bitcask
 * directory, and it compacts at bitcask's bound (AUTO_MERGE_DEFAULT), so a store's memory +
 * persist merges no more often than its bitcask would (a merge copies every live record: at
 * 16 MiB, ~4 us of a merge thread per kv write in kv-load; docs/decisions.md "The durable
 * write path").
 */
export const COMPACT_DEAD_BYTES_LOG_ONLY = AUTO_MERGE_DEFAULT.deadBytesMin;

export interface MemoryLogOptions extends BitcaskOptions {
  /**
   * Compact the log (bitcask merge in the offload pool) once its dead bytes reach this and
   * exceed its live bytes. Default 16 MiB (64 MiB, bitcask's, with `holdRecords: false`).
   * Smaller means less disk and more merges.
   */
  readonly compactDeadBytes?: number;
  /**
   * Hold every record in RAM (default true). False: the log alone, and reads go to its files
   * as bitcask's do. For a caller that holds the values in RAM itself: the Paxos shell, whose
   * key cache holds the keys in use and whose port keeps the ones it evicts (kept-record-port.ts),
   * so a second copy of each record written would only cost a copy per record and its memory
   * (docs/decisions.md "The durable write path: no second copy of a record").
   */
  readonly holdRecords?: boolean;
}

export interface CheckedMemoryLogOptions {
  readonly compactDeadBytes: number;
  readonly holdRecords: boolean;
}

export function checkMemoryLogOptions(
  options: MemoryLogOptions | undefined,
): CheckedMemoryLogOptions {
  const { holdRecords = true } = options ?? {};
  const compactDeadBytesDefault = holdRecords
    ? COMPACT_DEAD_BYTES_DEFAULT
    : COMPACT_DEAD_BYTES_LOG_ONLY;
  const { compactDeadBytes = compactDeadBytesDefault } = options ?? {};
  if (
    typeof compactDeadBytes !== 'number' ||
    !Number.isSafeInteger(compactDeadBytes) ||
    compactDeadBytes < 1
  ) {
    throw engineError('INVALID_ARGUMENT', 'memory-log compactDeadBytes must be a positive integer');
  }
  if (typeof holdRecords !== 'boolean') {
    throw engineError('INVALID_ARGUMENT', 'memory-log holdRecords must be a boolean');
  }
  return { compactDeadBytes, holdRecords };
}
