/**
 * PersistLinger (actors/paxos/persist-linger.ts): adaptive group commit. A batch waits `ms` for
 * more records only when the previous batch showed concurrency (four records or more) and ended
 * recently; a lone writer, a first batch and a batch after a quiet spell start at once; enough
 * staged records start at once; the timer fires once however often it is asked for, and once it
 * fired the batch goes.
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

test('a first batch, a lone writer and a batch after a quiet spell start at once', (t) => {
  const { linger, clock } = fixture();
  t.is(linger.waitMs(1), 0, 'first batch');
  linger.started();
  clock.ms += 1;
  linger.finished(3);
  t.is(linger.waitMs(1), 0, 'the previous batch held three records: low concurrency');
  linger.started();
  linger.finished(4);
  clock.ms += 21; // ten lingers of 2 ms and more
  t.is(linger.waitMs(1), 0, 'quiet spell');
});

test('after a busy batch the next one waits one linger, with one timer', (t) => {
  const { linger, clock, timers } = fixture();
  linger.started();
  clock.ms += 10; // a long write
  linger.finished(4);
  clock.ms += 0.5;
  t.is(linger.waitMs(2), 2);
  linger.arm(2, () => undefined);
  linger.arm(2, () => undefined); // asked again while armed: still one timer
  t.is(timers.length, 1);
  t.is(timers[0]?.ms, 2);
  t.is(linger.lingered, 1);
});

test('enough staged records start the batch at once, busy or not', (t) => {
  const { linger } = fixture();
  linger.started();
  linger.finished(8);
  t.is(linger.waitMs(4), 0);
  t.true(linger.waitMs(3) > 0);
});

test('once the timer fired the batch goes; the one after lingers again', (t) => {
  const { linger, clock, timers } = fixture();
  linger.started();
  linger.finished(4);
  let woken = 0;
  t.is(linger.waitMs(1), 2);
  linger.arm(2, () => {
    woken += 1;
  });
  clock.ms += 1.9; // the host clock may lag the timer
  timers[0]?.wake();
  t.is(woken, 1);
  t.is(linger.waitMs(1), 0);
  linger.started();
  linger.finished(5);
  t.true(linger.waitMs(1) > 0, 'the next batch lingers again');
});

test('bad options are refused', (t) => {
  t.throws(() => new PersistLinger({ ms: 0, recordsMin: 4 }, () => 0));
  t.throws(() => new PersistLinger({ ms: 1000, recordsMin: 4 }, () => 0));
  t.throws(() => new PersistLinger({ ms: 1, recordsMin: 0 }, () => 0));
});
