import test from 'ava';
import { readThreadCpu, splitThreadCpu } from '../../../../bench/cluster/thread-cpu-split';
import type { ThreadCpu } from '../../../../bench/cluster/thread-cpu-split';

const t = (pid: number, tid: number, user: number, system = 0): ThreadCpu => ({
  pid,
  tid,
  userMicros: user,
  systemMicros: system,
});

test('main, the busiest other threads of each process, the rest; per op', (t2) => {
  const before = [t(1, 1, 100), t(1, 2, 50), t(1, 3, 10), t(2, 2, 0), t(2, 5, 0), t(2, 6, 0)];
  const after = [
    t(1, 1, 300, 100), // main: 300 us
    t(1, 2, 650, 50), // worker of 1: 650 us
    t(1, 3, 110), // helper: 100 us
    t(2, 2, 200), // main of 2: 200 us
    t(2, 5, 30), // helper of 2: 30 us
    t(2, 6, 400), // worker of 2: 400 us (busier than its helper, listed after it)
    t(2, 7, 70), // born during the phase: counts from 0
  ];
  const split = splitThreadCpu(before, after, 1, 10);
  t2.is(split.main, (300 + 200) / 10);
  t2.is(split.busiest, (650 + 400) / 10);
  t2.is(split.rest, (100 + 30 + 70) / 10);
  t2.is(split.system, (100 + 50) / 10);
});

test('busiest 0: every non-main thread is "rest"', (t2) => {
  const split = splitThreadCpu([], [t(1, 1, 10), t(1, 2, 20), t(1, 3, 30)], 0, 1);
  t2.deepEqual(split, { main: 10, busiest: 0, rest: 50, system: 0 });
});

test('a thread whose CPU went down is a bug in the reading, not a figure', (t2) => {
  t2.throws(() => splitThreadCpu([t(1, 2, 50)], [t(1, 2, 40)], 1, 1));
});

test('reads this process: its main thread is there and has used CPU', (t2) => {
  if (process.platform !== 'linux') {
    t2.pass('no /proc');
    return;
  }
  const threads = readThreadCpu([process.pid]);
  const main = threads.find((x) => x.tid === process.pid);
  t2.not(main, undefined);
  t2.true((main?.userMicros ?? 0) + (main?.systemMicros ?? 0) > 0);
});
