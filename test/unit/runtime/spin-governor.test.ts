/** The spin governor: spin only while the thread does not wait for a CPU (spin-governor.ts). */
import test from 'ava';
import { SPIN_GOVERNOR_DEFAULTS, SpinGovernor } from '../../../runtime/spin-governor';
import type { SchedSample } from '../../../runtime/spin-governor';

/** A governor over a scripted schedstat: `feed(run, wait)` adds one window's times. */
function governed(spinMicros = 200): {
  g: SpinGovernor;
  feed: (runMicros: number, waitMicros: number) => void;
} {
  let now: SchedSample = { runMicros: 0, waitMicros: 0 };
  const g = new SpinGovernor({ ...SPIN_GOVERNOR_DEFAULTS, spinMicros }, () => now);
  const feed = (run: number, wait: number): void => {
    now = { runMicros: now.runMicros + run, waitMicros: now.waitMicros + wait };
  };
  return { g, feed };
}

const W = SPIN_GOVERNOR_DEFAULTS.windowMs;

test('spins while the thread does not wait for a CPU', (t) => {
  const { g, feed } = governed();
  t.is(g.spinMicros(0), 200); // first window opens
  for (let i = 1; i <= 5; i++) {
    feed(50_000, 1_000); // 2 % of runnable time waiting
    t.is(g.spinMicros(i * W), 200);
  }
  t.is(g.offs, 0);
});

test('stops spinning when it waits for a CPU, probes after a back-off that doubles', (t) => {
  const { g, feed } = governed();
  g.spinMicros(0);
  feed(50_000, 30_000); // 37 % waiting: cores contended
  t.is(g.spinMicros(W), 0, 'spin off after a contended window');
  t.is(g.offs, 1);
  // Off for offMsMin: windows end, nothing measured, no spin.
  t.is(g.spinMicros(2 * W), 0);
  const probeAt = W + SPIN_GOVERNOR_DEFAULTS.offMsMin;
  t.is(g.spinMicros(probeAt), 200, 'the probe spins again');
  feed(50_000, 30_000); // still contended
  t.is(g.spinMicros(probeAt + W), 0);
  t.is(g.offs, 2);
  // The second back-off is twice the first.
  const second = probeAt + W + 2 * SPIN_GOVERNOR_DEFAULTS.offMsMin;
  t.is(g.spinMicros(second - W), 0, 'still off before twice the first back-off');
  t.is(g.spinMicros(second), 200);
});

test('a quiet window after a probe resets the back-off', (t) => {
  const { g, feed } = governed();
  g.spinMicros(0);
  feed(50_000, 30_000);
  t.is(g.spinMicros(W), 0);
  const probeAt = W + SPIN_GOVERNOR_DEFAULTS.offMsMin;
  t.is(g.spinMicros(probeAt), 200);
  feed(50_000, 500); // quiet
  t.is(g.spinMicros(probeAt + W), 200);
  feed(50_000, 30_000); // contended again: the back-off starts over at offMsMin
  const offAt = probeAt + 2 * W;
  t.is(g.spinMicros(offAt), 0);
  t.is(g.spinMicros(offAt + SPIN_GOVERNOR_DEFAULTS.offMsMin), 200);
});

test('a window with too little runnable time says nothing; no schedstat means always spin', (t) => {
  const { g, feed } = governed();
  g.spinMicros(0);
  feed(500, 1_000); // 67 % waiting, but 1.5 ms runnable: the thread mostly parked
  t.is(g.spinMicros(W), 200);
  const blind = new SpinGovernor({ ...SPIN_GOVERNOR_DEFAULTS, spinMicros: 200 }, () => undefined);
  for (let i = 0; i < 5; i++) t.is(blind.spinMicros(i * W), 200);
  const none = governed(0);
  none.feed(0, 0);
  t.is(none.g.spinMicros(0), 0, 'spinMicros 0 never spins');
});

test('bad options are refused', (t) => {
  const sample = (): undefined => undefined;
  t.throws(() => new SpinGovernor({ ...SPIN_GOVERNOR_DEFAULTS, spinMicros: -1 }, sample));
  t.throws(
    () => new SpinGovernor({ ...SPIN_GOVERNOR_DEFAULTS, spinMicros: 1, waitShareMax: 1 }, sample),
  );
  t.throws(
    () =>
      new SpinGovernor(
        { ...SPIN_GOVERNOR_DEFAULTS, spinMicros: 1, offMsMin: 10, offMsMax: 5 },
        sample,
      ),
  );
});
