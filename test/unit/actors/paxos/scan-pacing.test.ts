/** Pacing of digest scans on one thread (actors/paxos/scan-pacing.ts): the bucket, as tables. */
import test from 'ava';
import {
  BUSY_UTILIZATION,
  CREDIT_MS_MAX,
  DEBT_MS_MAX,
  SCAN_SHARE_BUSY,
  SCAN_SHARE_IDLE,
  refill,
  shareFor,
  spend,
  waitMsFor,
} from '../../../../actors/paxos/scan-pacing';

test('the share: a small one of a busy thread, a larger one of an idle thread', (t) => {
  const table: [number, number][] = [
    [0, SCAN_SHARE_IDLE],
    [BUSY_UTILIZATION, SCAN_SHARE_IDLE], // at the threshold: still idle
    [0.5, SCAN_SHARE_BUSY],
    [1, SCAN_SHARE_BUSY],
  ];
  for (const [other, share] of table) t.is(shareFor(other), share, `other work ${other}`);
  t.throws(() => shareFor(2));
});

test('the bucket fills at the share, holds a few slices at most, and a slice goes into debt', (t) => {
  const table: [number, number, number, number][] = [
    // [credit ms, ms elapsed, share, credit after]
    [0, 10, 0.2, CREDIT_MS_MAX], // capped: an idle spell saves up no burst
    [-4, 10, 0.2, -2],
    [-4, 20, 0.2, 0],
    [-4, 0, 0.2, -4],
    [1, -5, 0.5, 1], // a clock that went back refills nothing
  ];
  for (const [credit, elapsed, share, after] of table)
    t.is(
      refill({ level: credit, atMs: 100 }, 100 + elapsed, share).level,
      after,
      `${credit} + ${elapsed} ms at ${share}`,
    );
  t.is(spend({ level: 1, atMs: 0 }, 3).level, -2);
  t.is(spend({ level: 0, atMs: 0 }, 10_000).level, -DEBT_MS_MAX, 'debt is bounded');
  t.throws(() => spend({ level: 0, atMs: 0 }, -1));
});

test('a slice of d ms at share s waits d(1-s)/s more: the scans keep to their share', (t) => {
  const table: [number, number, number][] = [
    // [credit ms, share, wait ms]
    [0, 0.2, 0],
    [1, 0.2, 0],
    [-0.5, 0.2, 2.5],
    [-0.5, 0.5, 1],
    [-DEBT_MS_MAX, 0.2, DEBT_MS_MAX / 0.2],
  ];
  for (const [credit, share, wait] of table)
    t.is(waitMsFor({ level: credit, atMs: 0 }, share), wait, `${credit} at ${share}`);
  // Over a run of slices and waits, the scan's time over the wall time is the share.
  let b = { level: 0, atMs: 0 };
  let now = 0;
  let scanned = 0;
  for (let i = 0; i < 100; i++) {
    b = spend(refill(b, now + 0.5, SCAN_SHARE_BUSY), 0.5);
    now += 0.5;
    scanned += 0.5;
    now += waitMsFor(b, SCAN_SHARE_BUSY);
  }
  t.true(Math.abs(scanned / now - SCAN_SHARE_BUSY) < 0.01, `share ${scanned / now}`);
});
