/**
 * Bitcask2Engine's options, checked once in the constructor (configuration may come from
 * outside TypeScript); after that the engine asserts.
 */
import * as path from 'node:path';
import { engineError } from '../errors';
import { FILE_BYTES_MAX_DEFAULT } from '../bitcask/options';
import type { FileSystem } from '../fs/file-system';
import { nodeFileSystem } from '../fs/node-fs';

/**
 * Buffered key directory updates before a flush. Each costs about 150 bytes of RAM (a Map
 * entry, the key string, a location), and up to two buffers exist during a flush: ~40 MiB.
 */
export const BUFFER_KEYS_MAX_DEFAULT = 128 * 1024;
/** Average keys per bucket the table is sized for: a page of ~2-4 KiB for short keys. */
export const KEYS_PER_BUCKET_DEFAULT = 64;

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
}

export interface CheckedBitcask2Options {
  readonly dir: string;
  readonly fileBytesMax: number;
  readonly bufferKeysMax: number;
  readonly keysPerBucket: number;
  readonly fs: FileSystem;
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
  } = raw as Bitcask2Options;
  checkInteger('fileBytesMax', fileBytesMax, FILE_BYTES_MAX_LOWEST, FILE_BYTES_MAX_HIGHEST);
  checkInteger('bufferKeysMax', bufferKeysMax, 1, BUFFER_KEYS_MAX_HIGHEST);
  checkInteger('keysPerBucket', keysPerBucket, 1, KEYS_PER_BUCKET_HIGHEST);
  if (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function') {
    throw engineError('INVALID_ARGUMENT', 'bitcask2 fs must be a FileSystem');
  }
  return { dir: path.resolve(dir), fileBytesMax, bufferKeysMax, keysPerBucket, fs };
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
