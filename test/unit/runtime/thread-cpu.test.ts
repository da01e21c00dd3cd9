/** Per-thread CPU time (runtime/thread-cpu.ts): it grows with work done on the calling thread. */
import test from 'ava';
import { existsSync } from 'node:fs';
import { threadCpuMicros } from '../../../runtime/thread-cpu';

const linux = existsSync('/proc/thread-self/schedstat');

test('thread CPU grows while this thread works', (t) => {
  const before = threadCpuMicros();
  if (!linux) {
    t.is(before, undefined);
    return;
  }
  t.true(before !== undefined && before > 0);
  // Fixed work on this thread (no wall-clock bound: on a loaded machine time is not CPU).
  let x = 0;
  for (let i = 0; i < 20_000_000; i++) x = (x + i * 7) % 1_000_003;
  t.true(x >= 0);
  const after = threadCpuMicros();
  t.true(after !== undefined && before !== undefined && after > before);
});
