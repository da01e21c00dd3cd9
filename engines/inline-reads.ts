/**
 * Whether point reads may run on the calling thread instead of through libuv's thread pool:
 * LevelDB's (classic-level's `getSync`, lsm-engine.ts) and the bitcask family's record reads
 * (`FsFile.readNow`, `fs.readSync`, bitcask/data-file.ts). docs/decisions.md "Point reads on
 * the calling thread while caches answer them".
 *
 * A read that LevelDB answers from its memtable, its block cache or the page cache takes 0.4 us
 * (an absent key: the bloom filter says no) to 5 us (a present one) of the caller's thread. The
 * same read through the pool (`getMany`) costs ~15 us of process CPU: a task for a pool thread,
 * its wake-up, a completion on the event loop and a promise. The Paxos shell reads a key the
 * first time it touches it, so on lsm a write to a key not in the key cache paid that hop three
 * times (once per replica). A bitcask record read from the page cache (`pread`) is a few
 * microseconds inline against the same ~15 us or more through the pool. A read that must go to
 * the disk blocks the caller instead: the gate (engines/inline-gate.ts) times each inline call
 * and sends reads to the pool for a while once one stalls or the mean climbs. One gate per
 * thread (module state), as for appends.
 */
import { InlineGate } from './inline-gate';
import type { InlineGateOptions } from './inline-gate';
import type { FsFile } from './fs/file-system';

/** A file whose port reads on the calling thread (FsFile.readNow present). */
export type InlineReadFile = Required<Pick<FsFile, 'readNow'>>;

export function hasReadNow(file: FsFile): file is FsFile & InlineReadFile {
  return file.readNow !== undefined;
}

export const INLINE_READ_DEFAULTS: InlineGateOptions = Object.freeze({
  // Keys per inline call: 64 present keys are ~0.3 ms of the thread.
  sizeMax: 64,
  // Above the appends' 20 ms: at load 6-7 on 2 cores a preemption past 20 ms came often enough
  // to back reads off for seconds (bitcask2-memory gets/s 58k instead of 180k in one run of
  // three); a read that keeps waiting for the disk moves the mean past 1 ms anyway.
  stallMs: 50,
  meanMsMax: 1,
  offMsMin: 1_000,
  offMsMax: 32_000,
});

/**
 * Largest record a bitcask-family read takes inline, bytes (its copy alone would hold the
 * thread).
 */
export const INLINE_READ_BYTES_MAX = 256 * 1024;

/** The gate of point reads (engines/inline-gate.ts), with the timed inline file read itself. */
export class InlineReadGate extends InlineGate {
  /** Reads into `bytes` at `position` with the file's inline call, timed; returns bytes read. */
  read(file: InlineReadFile, bytes: Uint8Array, position: number): number {
    const start = this.now();
    try {
      return file.readNow(bytes, 0, bytes.length, position);
    } finally {
      this.took(this.now() - start);
    }
  }
}

/** The calling thread's gate of point reads (a gate call: a LevelDB batch, or one record). */
export const inlineReads = new InlineReadGate(() => performance.now(), INLINE_READ_DEFAULTS);
