/**
 * Whether an append may be written on the calling thread (`FsFile.writeNow`, node:
 * `fs.writeSync`) instead of through libuv's thread pool (docs/decisions.md "Appends on the
 * calling thread while the page cache takes them").
 *
 * A small append to a file is a copy into the page cache: a few microseconds of the caller's
 * thread. Through the pool the same write costs a hop to a pool thread and back (a wake-up, a
 * completion on the event loop, a promise), 35–48 us of process CPU on this 2-core machine,
 * and a worker thread of the store makes one per group commit of each group. What the hop buys
 * is that the caller never waits for the disk: a write(2) can block when the kernel throttles a
 * writer with too many dirty pages, or on a device that holds pages stable under writeback.
 *
 * So appends go inline while they are cheap, and a gate (engines/inline-gate.ts) watches how
 * long each takes. One that takes longer than `stallMs`, or a running mean above `meanMsMax`,
 * means the kernel makes the thread wait: appends then go through the pool for a while. The
 * mean catches a device on which every write waits a little (stable pages under writeback);
 * the single-write bound a throttled writer. Both are wall time, which also counts a
 * preemption of the thread: on a machine with more runnable threads than cores a write is
 * sometimes descheduled for several milliseconds (measured at load 10 on 2 cores: 3 writes
 * above 10 ms in a 4 s phase, none above 30), so the single-write bound sits above that. An
 * append larger than `bytesMax` always takes the pool: its copy alone would hold the thread.
 *
 * One gate per thread (module state): a stall says something about the disk and the kernel's
 * dirty pages, which every engine on the thread shares.
 */
import { InlineGate } from '../inline-gate';
import type { InlineGateStats } from '../inline-gate';
import type { FsFile } from './file-system';

/** A file whose port writes on the calling thread (FsFile.writeNow present). */
export type InlineFile = Required<Pick<FsFile, 'writeNow'>>;

export function hasWriteNow(file: FsFile): file is FsFile & InlineFile {
  return file.writeNow !== undefined;
}

export interface InlineWriteOptions {
  /** Largest append written inline, bytes. */
  readonly bytesMax: number;
  /** An inline append that took longer than this waited for the disk, milliseconds. */
  readonly stallMs: number;
  /** A running mean of inline appends above this means every write waits, milliseconds. */
  readonly meanMsMax: number;
  readonly offMsMin: number;
  readonly offMsMax: number;
}

export const INLINE_WRITE_DEFAULTS: InlineWriteOptions = Object.freeze({
  bytesMax: 256 * 1024,
  stallMs: 20,
  meanMsMax: 1,
  offMsMin: 1_000,
  offMsMax: 32_000,
});

/** Appends written inline and sent to the pool (InlineGateStats, the unit being appends). */
export type InlineWriteStats = InlineGateStats;

/** The gate of appends (engines/inline-gate.ts), with the timed inline write itself. */
export class InlineWriteGate extends InlineGate {
  constructor(now: () => number, options: InlineWriteOptions = INLINE_WRITE_DEFAULTS) {
    super(now, { ...options, sizeMax: options.bytesMax });
  }

  /**
   * Writes `bytes` at `position` with the file's inline call and times it; a stall backs the
   * gate off. Returns the bytes written (no closure per append: this runs per group commit).
   */
  write(file: InlineFile, bytes: Uint8Array, position: number): number {
    const start = this.now();
    try {
      return file.writeNow(bytes, 0, bytes.length, position);
    } finally {
      this.took(this.now() - start);
    }
  }
}

/** The calling thread's gate. */
export const inlineWrites = new InlineWriteGate(() => performance.now());
