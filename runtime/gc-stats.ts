/**
 * Garbage-collection pauses of this thread (its own V8 isolate), from `perf_hooks`' 'gc'
 * entries: how many, their total, the longest, and the 99th percentile of the most recent ones.
 * Benches print them per worker (issue 10: a growing key count must not stall requests into
 * timeouts, and the collector is where such stalls come from).
 *
 * One observer per thread, started by the first `observeGc()`; each entry costs a few
 * arithmetic operations. The percentile is taken over a bounded ring of the last PAUSES_KEPT
 * pauses (STYLE.md §3), so a long run reports its recent behaviour, not its warm-up.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { assert } from './assert';

/** Pauses kept for the percentile. */
const PAUSES_KEPT = 8192;

/** Plain data (it crosses a MessagePort with the worker's stats). */
export interface GcStats {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
  /** Over the last PAUSES_KEPT pauses. */
  readonly p99Ms: number;
  /** Pauses of full (mark-compact) collections only. */
  readonly majorCount: number;
  readonly majorTotalMs: number;
}

/** `perf_hooks.constants.NODE_PERFORMANCE_GC_MAJOR`. */
const GC_MAJOR = 4;

const recent = new Float64Array(PAUSES_KEPT);
let count = 0;
let totalMs = 0;
let maxMs = 0;
let majorCount = 0;
let majorTotalMs = 0;
let observer: PerformanceObserver | undefined;

function record(entry: PerformanceEntry): void {
  const ms = entry.duration;
  assert(ms >= 0, () => `gc pause of ${ms} ms`);
  recent[count % PAUSES_KEPT] = ms;
  count += 1;
  totalMs += ms;
  if (ms > maxMs) maxMs = ms;
  const detail = (entry as { detail?: { kind?: unknown } | null }).detail;
  if (detail?.kind === GC_MAJOR) {
    majorCount += 1;
    majorTotalMs += ms;
  }
}

/** Starts counting this thread's pauses (idempotent). */
export function observeGc(): void {
  if (observer !== undefined) return;
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) record(entry);
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** The pauses counted since `observeGc()`. */
export function gcStats(): GcStats {
  const kept = Math.min(count, PAUSES_KEPT);
  const sorted = Array.from(recent.subarray(0, kept)).sort((a, b) => a - b);
  const p99 = kept === 0 ? 0 : (sorted[Math.min(kept - 1, Math.floor(kept * 0.99))] ?? 0);
  assert(p99 <= maxMs, () => `gc p99 ${p99} > max ${maxMs}`);
  return { count, totalMs, maxMs, p99Ms: p99, majorCount, majorTotalMs };
}
