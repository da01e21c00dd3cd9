/**
 * BitcaskEngine's options, checked once in the constructor (configuration may come from
 * outside TypeScript); after that the engine asserts.
 */
import * as path from 'node:path';
import type { Piscina } from 'piscina';
import { storeError } from '../errors';

export const FILE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Small limits are for tests (many files, many rotations); below this nothing useful fits. */
const FILE_BYTES_MAX_LOWEST = 1024;
/** Frame bodies and hint offsets are sized for this. */
const FILE_BYTES_MAX_HIGHEST = 0xffff_ffff;

export interface BitcaskOptions {
  /** Rotate to a new data file before the active one would grow past this. Default 64 MiB. */
  readonly fileBytesMax?: number;
  /**
   * The offload pool merges run in. Tasks name their worker file, so one pool can serve
   * several engines. By default each engine makes a one-thread pool when it first merges and
   * destroys it at close.
   */
  readonly pool?: Piscina;
}

export interface CheckedOptions {
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly pool: Piscina | undefined;
}

export function checkOptions(dir: unknown, options: BitcaskOptions | undefined): CheckedOptions {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw storeError('INVALID_ARGUMENT', 'BitcaskEngine needs a non-empty directory path');
  }
  const raw: unknown = options ?? {};
  if (typeof raw !== 'object' || raw === null) {
    throw storeError('INVALID_ARGUMENT', 'BitcaskEngine options must be an object');
  }
  const { fileBytesMax = FILE_BYTES_MAX_DEFAULT, pool } = raw as BitcaskOptions;
  if (
    typeof fileBytesMax !== 'number' ||
    !Number.isSafeInteger(fileBytesMax) ||
    fileBytesMax < FILE_BYTES_MAX_LOWEST ||
    fileBytesMax > FILE_BYTES_MAX_HIGHEST
  ) {
    const range = `${FILE_BYTES_MAX_LOWEST}..${FILE_BYTES_MAX_HIGHEST}`;
    throw storeError('INVALID_ARGUMENT', `bitcask fileBytesMax must be an integer in ${range}`);
  }
  if (pool !== undefined && (typeof pool !== 'object' || typeof pool.run !== 'function')) {
    throw storeError('INVALID_ARGUMENT', 'bitcask pool must be a Piscina instance');
  }
  return { dir: path.resolve(dir), fileBytesMax, pool };
}
