/** The recent window's columns (actors/paxos/core/recent-window.ts). */
import test from 'ava';
import {
  copyWindow,
  indexOfApplied,
  pushApplied,
  windowEntries,
  windowHasInstance,
  windowLength,
  windowOf,
  windowShapeProblem,
} from '../../../../../actors/paxos/core/recent-window';
import type { RecentColumns } from '../../../../../actors/paxos/core/recent-window';

const MAX = 4;
const result = (i: number): Uint8Array => Uint8Array.of(i);
const SEQ_BASE = 2 ** 40; // seqs past 2^31, as the id space makes them

function pushed(count: number): RecentColumns {
  const w: RecentColumns = { recentIds: [], recentResults: [] };
  for (let i = 1; i <= count; i++) pushApplied(w, i, i % 3, SEQ_BASE + i, result(i), MAX);
  return w;
}

test('entries append until the bound, then the oldest slides out, newest last', (t) => {
  t.is(windowLength(pushed(0)), 0);
  t.deepEqual(
    windowEntries(pushed(3)).map((e) => e.instance),
    [1, 2, 3],
  );
  const full = pushed(7);
  t.is(windowLength(full), MAX);
  t.deepEqual(
    windowEntries(full).map((e) => [e.instance, e.origin, e.seq, e.result[0]]),
    [4, 5, 6, 7].map((i) => [i, i % 3, SEQ_BASE + i, i]),
  );
  t.is(full.recentIds.length, 3 * MAX);
  t.is(windowShapeProblem(full, MAX), undefined);
});

test('a lookup by (origin, seq) and by instance sees exactly the entries in the window', (t) => {
  const w = pushed(6);
  t.is(indexOfApplied(w, 6 % 3, SEQ_BASE + 6), 3);
  t.is(indexOfApplied(w, 3 % 3, SEQ_BASE + 3), 0);
  t.is(indexOfApplied(w, 2 % 3, SEQ_BASE + 2), -1, 'slid out');
  t.is(indexOfApplied(w, 1, SEQ_BASE + 3), -1, 'same seq, another origin');
  t.true(windowHasInstance(w, 5));
  t.false(windowHasInstance(w, 2));
});

test('a copy does not follow later pushes; windowOf round-trips entries', (t) => {
  const w = pushed(MAX);
  const copy = copyWindow(w);
  pushApplied(w, 99, 0, SEQ_BASE + 99, result(99), MAX);
  t.deepEqual(
    windowEntries(copy).map((e) => e.instance),
    [1, 2, 3, 4],
  );
  t.deepEqual(windowOf(windowEntries(w)), {
    recentIds: w.recentIds,
    recentResults: w.recentResults,
  });
});

test('shape problems of received columns are named, not asserted', (t) => {
  t.regex(windowShapeProblem(pushed(MAX), MAX - 1) ?? '', /window of 4/);
  const torn = { recentIds: [1, 0], recentResults: [result(1)] };
  t.regex(windowShapeProblem(torn, MAX) ?? '', /2 ids for 1 results/);
  const notColumns = { recentIds: 'x', recentResults: [] } as unknown as RecentColumns;
  t.is(windowShapeProblem(notColumns, MAX), 'window is not columns');
});
