/**
 * BitcaskEngine's options, checked once in the constructor (configuration may come from
 * outside TypeScript); after that the engine asserts.
 */
import * as path from 'node:path';
import { engineError } from '../errors';
import type { FileSystem } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';
import type { EngineOffload } from '../offload';

export const FILE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Small limits are for tests (many files, many rotations); below this nothing useful fits. */
const FILE_BYTES_MAX_LOWEST = 1024;
/** Frame bodies and hint offsets are sized for this. */
const FILE_BYTES_MAX_HIGHEST = 0xffff_ffff;

export interface BitcaskOptions {
  /** Rotate to a new data file before the active one would grow past this. Default 64 MiB. */
  readonly fileBytesMax?: number;
  /**
   * The offload pool merges run in (`../offload.ts`): in a store, the worker's shared pool.
   * Tasks name their module, so one pool serves every engine. Without one the engine makes a
   * private one-thread pool when it first merges and destroys it at close.
   */
  readonly offload?: EngineOffload;
  /**
   * Merge on its own when dead bytes (overwritten or deleted records) pass both bounds:
   * at least `deadBytesMin` (default 64 MiB) and at least `deadRatio` (default 0.5) of all data
   * bytes. Checked after each write; one merge at a time. `false` turns it off.
   */
  readonly autoMerge?: false | { readonly deadRatio?: number; readonly deadBytesMin?: number };
  /**
   * The file system (`../fs/file-system.ts`); default the real one. Tests pass the simulated one
   * (`../fs/sim-fs.ts`); merges then run in the engine's thread instead of the pool.
   */
  readonly fs?: FileSystem;
}

export interface AutoMergePolicy {
  readonly deadRatio: number;
  readonly deadBytesMin: number;
}

export const AUTO_MERGE_DEFAULT: AutoMergePolicy = Object.freeze({
  deadRatio: 0.5,
  deadBytesMin: 64 * 1024 * 1024,
});

export interface CheckedOptions {
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly offload: EngineOffload | undefined;
  readonly autoMerge: AutoMergePolicy | undefined;
  readonly fs: FileSystem;
}

export function checkOptions(dir: unknown, options: BitcaskOptions | undefined): CheckedOptions {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw engineError('INVALID_ARGUMENT', 'BitcaskEngine needs a non-empty directory path');
  }
  const raw: unknown = options ?? {};
  if (typeof raw !== 'object' || raw === null) {
    throw engineError('INVALID_ARGUMENT', 'BitcaskEngine options must be an object');
  }
  const {
    fileBytesMax = FILE_BYTES_MAX_DEFAULT,
    offload,
    autoMerge,
    fs = nodeFileSystem,
  } = raw as BitcaskOptions;
  if (
    typeof fileBytesMax !== 'number' ||
    !Number.isSafeInteger(fileBytesMax) ||
    fileBytesMax < FILE_BYTES_MAX_LOWEST ||
    fileBytesMax > FILE_BYTES_MAX_HIGHEST
  ) {
    const range = `${FILE_BYTES_MAX_LOWEST}..${FILE_BYTES_MAX_HIGHEST}`;
    throw engineError('INVALID_ARGUMENT', `bitcask fileBytesMax must be an integer in ${range}`);
  }
  if (
    offload !== undefined &&
    (typeof offload !== 'object' || offload === null || typeof offload.run !== 'function')
  ) {
    throw engineError('INVALID_ARGUMENT', 'bitcask offload must have a run method');
  }
  if (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function') {
    throw engineError('INVALID_ARGUMENT', 'bitcask fs must be a FileSystem');
  }
  return {
    dir: path.resolve(dir),
    fileBytesMax,
    offload,
    autoMerge: checkAutoMerge(autoMerge),
    fs,
  };
}

function checkAutoMerge(raw: unknown): AutoMergePolicy | undefined {
  if (raw === false) return undefined;
  if (raw === undefined) return AUTO_MERGE_DEFAULT;
  if (typeof raw !== 'object' || raw === null) {
    throw engineError('INVALID_ARGUMENT', 'bitcask autoMerge must be false or an object');
  }
  const {
    deadRatio = AUTO_MERGE_DEFAULT.deadRatio,
    deadBytesMin = AUTO_MERGE_DEFAULT.deadBytesMin,
  } = raw as AutoMergePolicy;
  if (typeof deadRatio !== 'number' || !(deadRatio > 0 && deadRatio <= 1)) {
    throw engineError('INVALID_ARGUMENT', 'bitcask autoMerge.deadRatio must be a number in (0, 1]');
  }
  if (typeof deadBytesMin !== 'number' || !Number.isSafeInteger(deadBytesMin) || deadBytesMin < 0) {
    throw engineError(
      'INVALID_ARGUMENT',
      'bitcask autoMerge.deadBytesMin must be a non-negative integer',
    );
  }
  return { deadRatio, deadBytesMin };
}
