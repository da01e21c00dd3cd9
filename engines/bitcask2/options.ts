/**
 * Bitcask2Engine's options, checked once in the constructor (configuration may come from
 * outside TypeScript); after that the engine asserts.
 */
import * as path from 'node:path';
import { engineError } from '../errors';
import { FILE_BYTES_MAX_DEFAULT } from '../bitcask/options';
import type { FileSystem } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';
import type { EngineOffload } from '../offload';

/**
 * Buffered key directory updates before a flush. Each costs about 150 bytes of RAM (a Map
 * entry, the key string, a location), and up to two buffers exist during a flush: ~40 MiB.
 */
export const BUFFER_KEYS_MAX_DEFAULT = 128 * 1024;
/** Average keys per bucket the table is sized for: a page of ~2-4 KiB for short keys. */
export const KEYS_PER_BUCKET_DEFAULT = 64;

/** A merge's worker writes at most this many bytes per second, leaving the disk to writes. */
export const MERGE_BYTES_PER_SECOND_MAX_DEFAULT = 64 * 1024 * 1024;

/** Start a merge on its own when dead bytes reach both bounds (as bitcask's `autoMerge`). */
export interface Bitcask2AutoMerge {
  readonly deadBytesMin: number;
  readonly deadRatio: number;
}

export const AUTO_MERGE_DEFAULT: Bitcask2AutoMerge = Object.freeze({
  deadBytesMin: 64 * 1024 * 1024,
  deadRatio: 0.5,
});

const FILE_BYTES_MAX_LOWEST = 1024;
/** Index entries store data file offsets as u32. */
const FILE_BYTES_MAX_HIGHEST = 0xffff_ffff;
const BUFFER_KEYS_MAX_HIGHEST = 4 * 1024 * 1024;
const KEYS_PER_BUCKET_HIGHEST = 4096;

export interface Bitcask2Options {
  /** Rotate to a new data file before the active one would grow past this. Default 64 MiB. */
  readonly fileBytesMax?: number;
  /** Flush the write buffer into the index once it holds this many keys. Default 131072. */
  readonly bufferKeysMax?: number;
  /** Average keys per index page the bucket table is sized for. Default 64. */
  readonly keysPerBucket?: number;
  /** The file system (`../fs/file-system.ts`); default the real one. */
  readonly fs?: FileSystem;
  /** The pool merges run in (`../offload.ts`): in a store, the worker's shared pool. */
  readonly offload?: EngineOffload;
  /** Bound on a merge's write rate in bytes per second; 0 for none. Default 64 MiB/s. */
  readonly mergeBytesPerSecondMax?: number;
  /** Automatic merges (on by default, see README "Merge"); false leaves merging to the caller. */
  readonly autoMerge?: false | Partial<Bitcask2AutoMerge>;
}

export interface CheckedBitcask2Options {
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly bufferKeysMax: number;
  readonly keysPerBucket: number;
  readonly fs: FileSystem;
  readonly offload: EngineOffload | undefined;
  readonly mergeBytesPerSecondMax: number;
  readonly autoMerge: Bitcask2AutoMerge | undefined;
}

export function checkBitcask2Options(
  dir: unknown,
  options: Bitcask2Options | undefined,
): CheckedBitcask2Options {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw engineError('INVALID_ARGUMENT', 'Bitcask2Engine needs a non-empty directory path');
  }
  const raw: unknown = options ?? {};
  if (typeof raw !== 'object' || raw === null) {
    throw engineError('INVALID_ARGUMENT', 'Bitcask2Engine options must be an object');
  }
  const {
    fileBytesMax = FILE_BYTES_MAX_DEFAULT,
    bufferKeysMax = BUFFER_KEYS_MAX_DEFAULT,
    keysPerBucket = KEYS_PER_BUCKET_DEFAULT,
    fs = nodeFileSystem,
    offload,
    mergeBytesPerSecondMax = MERGE_BYTES_PER_SECOND_MAX_DEFAULT,
    autoMerge = {},
  } = raw as Bitcask2Options;
  checkInteger('fileBytesMax', fileBytesMax, FILE_BYTES_MAX_LOWEST, FILE_BYTES_MAX_HIGHEST);
  checkInteger('bufferKeysMax', bufferKeysMax, 1, BUFFER_KEYS_MAX_HIGHEST);
  checkInteger('keysPerBucket', keysPerBucket, 1, KEYS_PER_BUCKET_HIGHEST);
  if (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function') {
    throw engineError('INVALID_ARGUMENT', 'bitcask2 fs must be a FileSystem');
  }
  checkInteger('mergeBytesPerSecondMax', mergeBytesPerSecondMax, 0, Number.MAX_SAFE_INTEGER);
  const hasRun =
    typeof offload === 'object' && offload !== null && typeof offload.run === 'function';
  if (offload !== undefined && !hasRun) {
    throw engineError('INVALID_ARGUMENT', 'bitcask2 offload must have a run method');
  }
  return {
    dir: path.resolve(dir),
    fileBytesMax,
    bufferKeysMax,
    keysPerBucket,
    fs,
    offload,
    mergeBytesPerSecondMax,
    autoMerge: checkAutoMerge(autoMerge),
  };
}

function checkAutoMerge(raw: unknown): Bitcask2AutoMerge | undefined {
  if (raw === false) return undefined;
  if (typeof raw !== 'object' || raw === null) {
    throw engineError('INVALID_ARGUMENT', 'bitcask2 autoMerge must be false or an object');
  }
  const {
    deadBytesMin = AUTO_MERGE_DEFAULT.deadBytesMin,
    deadRatio = AUTO_MERGE_DEFAULT.deadRatio,
  } = raw as Partial<Bitcask2AutoMerge>;
  checkInteger('autoMerge.deadBytesMin', deadBytesMin, 0, Number.MAX_SAFE_INTEGER);
  if (typeof deadRatio !== 'number' || !(deadRatio > 0 && deadRatio <= 1)) {
    throw engineError('INVALID_ARGUMENT', 'bitcask2 autoMerge.deadRatio must be in (0, 1]');
  }
  return { deadBytesMin, deadRatio };
}

function checkInteger(name: string, value: unknown, lowest: number, highest: number): void {
  const integer = typeof value === 'number' && Number.isSafeInteger(value);
  if (!integer || value < lowest || value > highest) {
    throw engineError(
      'INVALID_ARGUMENT',
      `bitcask2 ${name} must be an integer in ${lowest}..${highest}`,
    );
  }
}
