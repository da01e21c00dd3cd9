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
  windowSlice,
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

test('a second entry gives the ids room for the whole window; no array is replaced after it', (t) => {
  const w = pushed(1);
  t.is(w.recentIds.length, 3, 'a key written once keeps exact-size columns');
  pushApplied(w, 2, 2, SEQ_BASE + 2, result(2), MAX);
  const ids = w.recentIds;
  t.is(ids.length, 3 * MAX, 'room for every entry');
  t.is(windowShapeProblem(w, MAX), undefined, 'a live window with room is well formed');
  for (let i = 3; i <= 9; i++) pushApplied(w, i, i % 3, SEQ_BASE + i, result(i), MAX);
  t.is(w.recentIds, ids, 'filled and slid in place');
  t.deepEqual(
    windowEntries(w).map((e) => [e.instance, e.seq]),
    [6, 7, 8, 9].map((i) => [i, SEQ_BASE + i]),
  );
  // The unused room is never read: a lookup, a copy and a slice see the entries only.
  const two = pushed(2);
  t.is(indexOfApplied(two, 0, 0), -1, 'zeroed room is not an entry');
  t.false(windowHasInstance(two, 0));
  t.deepEqual(copyWindow(two).recentIds, [1, 1, SEQ_BASE + 1, 2, 2, SEQ_BASE + 2]);
  t.deepEqual(windowSlice(two, 1).recentIds, [2, 2, SEQ_BASE + 2]);
  const torn = { recentIds: new Array<number>(3 * MAX).fill(0), recentResults: [result(1)] };
  t.regex(windowShapeProblem(torn, MAX) ?? '', /12 ids for 1 results/, 'room needs two entries');
});
