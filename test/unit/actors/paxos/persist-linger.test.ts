/**
 * PersistLinger (actors/paxos/persist-linger.ts): adaptive group commit. A batch after a quiet
 * spell starts at once; while batches come back to back, the next one waits until `ms` after the
 * previous one finished unless `recordsMin` records are staged; the timer fires once however often it
 * is asked for, and once it fired the batch goes whatever the clock says.
 */
import test from 'ava';
import { PersistLinger } from '../../../../actors/paxos/persist-linger';

function fixture(): {
  linger: PersistLinger;
  clock: { ms: number };
  timers: Array<{ wake: () => void; ms: number }>;
} {
  const clock = { ms: 1000 };
  const timers: Array<{ wake: () => void; ms: number }> = [];
  const linger = new PersistLinger(
    { ms: 2, recordsMin: 4 },
    () => clock.ms,
    (wake, ms) => timers.push({ wake, ms }),
  );
  return { linger, clock, timers };
}

test('the first batch and one after a quiet spell start at once', (t) => {
  const { linger, clock } = fixture();
  t.is(linger.waitMs(1), 0);
  linger.started();
  clock.ms += 1;
  linger.finished();
  clock.ms += 5;
  t.is(linger.waitMs(1), 0);
});

test('a batch soon after the previous one finished waits for the rest of the linger', (t) => {
  const { linger, clock, timers } = fixture();
  linger.started();
  clock.ms += 10; // a long write: the linger counts from its end
  linger.finished();
  clock.ms += 0.5;
  t.is(linger.waitMs(2), 1.5);
  linger.arm(1.5, () => undefined);
  linger.arm(1.5, () => undefined); // asked again while armed: still one timer
  t.is(timers.length, 1);
  t.is(timers[0]?.ms, 1.5);
  t.is(linger.lingered, 1);
});

test('enough staged records start the batch at once, linger or not', (t) => {
  const { linger, clock } = fixture();
  linger.started();
  linger.finished();
  clock.ms += 0.1;
  t.is(linger.waitMs(4), 0);
  t.true(linger.waitMs(3) > 0);
});

test('once the timer fired the batch goes, even if the clock lags the timer', (t) => {
  const { linger, clock, timers } = fixture();
  linger.started();
  linger.finished();
  let woken = 0;
  linger.arm(2, () => {
    woken += 1;
  });
  clock.ms += 1.9; // the host clock says 0.1 ms are left
  timers[0]?.wake();
  t.is(woken, 1);
  t.is(linger.waitMs(1), 0);
  linger.started();
  linger.finished();
  t.true(linger.waitMs(1) > 0, 'the next batch lingers again');
});

test('bad options are refused', (t) => {
  t.throws(() => new PersistLinger({ ms: 0, recordsMin: 4 }, () => 0));
  t.throws(() => new PersistLinger({ ms: 1000, recordsMin: 4 }, () => 0));
  t.throws(() => new PersistLinger({ ms: 1, recordsMin: 0 }, () => 0));
});
