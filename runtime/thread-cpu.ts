/**
 * CPU time of the calling thread, for stats (issue 10: "show that the workers are the
 * bottleneck"). Linux reports each thread's time on a CPU in `/proc/thread-self/schedstat`
 * (first field, nanoseconds); Node 20 has no per-thread `cpuUsage`. Elsewhere, or when /proc
 * is not mounted, the answer is undefined and callers show nothing.
 */
import { readFileSync } from 'node:fs';

let unavailable = false;

/** This thread's schedstat fields (nanoseconds), or undefined once /proc proved not to say. */
function schedstatFields(): number[] | undefined {
  if (unavailable) return undefined;
  let text: string;
  try {
    text = readFileSync('/proc/thread-self/schedstat', 'latin1');
  } catch {
    unavailable = true;
    return undefined;
  }
  return text.split(' ', 2).map(Number);
}

/**
 * For a thread's stats, from one read of schedstat: its time on a CPU (`cpuMicros`) and its
 * time runnable but waiting for one (`cpuWaitMicros`: on a run queue, which includes a wake-up's
 * scheduling latency), in microseconds; both absent where /proc does not say.
 */
export function threadCpuTimes(): { cpuMicros?: number; cpuWaitMicros?: number } {
  const sample = threadSchedSample();
  return sample === undefined
    ? {}
    : { cpuMicros: sample.runMicros, cpuWaitMicros: sample.waitMicros };
}

/**
 * This thread's time on a CPU and time runnable but waiting for one (schedstat's first two
 * fields, nanoseconds), in microseconds; undefined where /proc does not say.
 */
export function threadSchedSample(): { runMicros: number; waitMicros: number } | undefined {
  const fields = schedstatFields();
  if (fields === undefined) return undefined;
  const [run, wait] = fields;
  if (run === undefined || wait === undefined) return undefined;
  if (!Number.isFinite(run) || !Number.isFinite(wait) || run < 0 || wait < 0) {
    // /proc answers, but not in the form this reads: it will not say later either.
    unavailable = true;
    return undefined;
  }
  return { runMicros: run / 1000, waitMicros: wait / 1000 };
}
