/** Pacing of a digest scan inside a group replica (actors/paxos/scan-pacing.ts), as a table. */
import test from 'ava';
import {
  BUSY_UTILIZATION,
  PAUSE_MS_MAX,
  SCAN_SHARE_BUSY,
  SCAN_SHARE_IDLE,
  pauseMsAfter,
} from '../../../../actors/paxos/scan-pacing';

test('a paced scan takes a small share of a busy thread and a larger one of an idle thread', (t) => {
  const table: [number, number, number][] = [
    // [slice ms, other work's share of the thread during the last pause, pause ms]
    [4, 0, 4], // idle: half the thread
    [4, BUSY_UTILIZATION, 4], // at the threshold: still idle
    [4, 0.5, 16], // busy: a fifth
    [4, 1, 16],
    [0, 1, 0],
    [100, 1, PAUSE_MS_MAX], // a slice a collection stretched does not stall the scan long
  ];
  for (const [slice, other, pause] of table)
    t.is(Math.round(pauseMsAfter(slice, other)), pause, `slice ${slice}, other ${other}`);
  t.is(pauseMsAfter(10, 0) / (10 + pauseMsAfter(10, 0)), 1 - SCAN_SHARE_IDLE);
  t.true(Math.abs(10 / (10 + pauseMsAfter(10, 0.9)) - SCAN_SHARE_BUSY) < 1e-9);
  t.throws(() => pauseMsAfter(-1, 0));
  t.throws(() => pauseMsAfter(1, 2));
});
