/** Per-thread CPU time (runtime/thread-cpu.ts): it grows with work done on the calling thread. */
import test from 'ava';
import { existsSync } from 'node:fs';
import { threadCpuTimes, threadSchedSample } from '../../../runtime/thread-cpu';

const linux = existsSync('/proc/thread-self/schedstat');

test('thread CPU grows while this thread works', (t) => {
  const before = threadCpuTimes().cpuMicros;
  if (!linux) {
    t.is(before, undefined);
    return;
  }
  t.true(before !== undefined && before > 0);
  // Fixed work on this thread (no wall-clock bound: on a loaded machine time is not CPU).
  let x = 0;
  for (let i = 0; i < 20_000_000; i++) x = (x + i * 7) % 1_000_003;
  t.true(x >= 0);
  const after = threadCpuTimes().cpuMicros;
  t.true(after !== undefined && before !== undefined && after > before);
});

test("a thread's wait for a CPU is a count that never goes down", (t) => {
  const times = threadCpuTimes();
  const first = times.cpuWaitMicros;
  if (!linux) {
    t.is(first, undefined);
    t.is(times.cpuMicros, undefined);
    return;
  }
  t.true(first !== undefined && first >= 0);
  t.true(times.cpuMicros !== undefined && times.cpuMicros > 0);
  let x = 0;
  for (let i = 0; i < 5_000_000; i++) x = (x + i * 7) % 1_000_003;
  t.true(x >= 0);
  const second = threadCpuTimes().cpuWaitMicros;
  t.true(second !== undefined && first !== undefined && second >= first);
  // The same field threadSchedSample reads, at least as large as it was then.
  const sample = threadSchedSample();
  t.true(sample !== undefined && second !== undefined && sample.waitMicros >= second);
});
