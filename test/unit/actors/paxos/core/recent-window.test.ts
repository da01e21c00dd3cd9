/** The recent window's columns (actors/paxos/core/recent-window.ts): a ring with a seq bound. */
import test from 'ava';
import {
  copyWindow,
  indexOfApplied,
  pushApplied,
  windowEntries,
  windowHasInstance,
  windowLength,
  windowHead,
  windowOf,
  windowSeqBound,
  windowShapeProblem,
  windowSlice,
} from '../../../../../actors/paxos/core/recent-window';
import type { RecentColumns } from '../../../../../actors/paxos/core/recent-window';
import { RECENT_WINDOW } from '../../../../../actors/paxos/core/key-record';
import type { AppliedEntry } from '../../../../../actors/paxos/core/types';

const MAX = 4;
const result = (i: number): Uint8Array => Uint8Array.of(i);
const SEQ_BASE = 2 ** 40; // seqs past 2^31, as the id space makes them

function pushed(count: number): RecentColumns {
  const w = windowOf([]);
  for (let i = 1; i <= count; i++) pushApplied(w, i, i % 3, SEQ_BASE + i, result(i), MAX);
  return w;
}

const ids = (w: RecentColumns): number[][] =>
  windowEntries(w).map((e) => [e.instance, e.origin, e.seq, e.result[0] ?? -1]);

test('entries append until the bound, then each new one takes the oldest slot, newest last', (t) => {
  t.is(windowLength(pushed(0)), 0);
  t.deepEqual(
    windowEntries(pushed(3)).map((e) => e.instance),
    [1, 2, 3],
  );
  t.is(windowHead(pushed(MAX)), 0, 'the head stays at 0 until the window is full');
  // 7 and 11 pushes: the ring has wrapped once and twice over.
  for (const count of [7, 11]) {
    const full = pushed(count);
    t.is(windowLength(full), MAX);
    t.is(windowHead(full), count % MAX);
    const newest = Array.from({ length: MAX }, (_, k) => count - MAX + 1 + k);
    t.deepEqual(
      ids(full),
      newest.map((i) => [i, i % 3, SEQ_BASE + i, i]),
    );
    t.is(full.recentIds.length, 2 + 3 * MAX, 'a full window keeps arrays of exactly its size');
    t.is(windowSeqBound(full), SEQ_BASE + count);
    t.is(windowShapeProblem(full, MAX), undefined);
  }
});

test('a lookup by (origin, seq) and by instance sees exactly the entries in the window', (t) => {
  const w = pushed(6);
  t.is(indexOfApplied(w, 6 % 3, SEQ_BASE + 6), 3);
  t.is(indexOfApplied(w, 3 % 3, SEQ_BASE + 3), 0);
  t.is(indexOfApplied(w, 2 % 3, SEQ_BASE + 2), -1, 'replaced');
  t.is(indexOfApplied(w, 1, SEQ_BASE + 3), -1, 'same seq, another origin');
  t.is(indexOfApplied(w, 0, SEQ_BASE + 7), -1, 'above the bound');
  t.true(windowHasInstance(w, 5));
  t.false(windowHasInstance(w, 2));
});

test('the seq bound holds seqs that do not rise: an older seq pushed later is still found', (t) => {
  const w = windowOf([]);
  pushApplied(w, 1, 0, 500, result(1), MAX);
  pushApplied(w, 2, 1, 20, result(2), MAX);
  t.is(windowSeqBound(w), 500);
  t.is(indexOfApplied(w, 1, 20), 1);
  t.is(indexOfApplied(w, 0, 500), 0);
  t.is(indexOfApplied(w, 0, 501), -1);
  t.is(indexOfApplied(windowOf([]), 0, 0), -1, 'an empty window holds no seq, 0 included');
  t.is(windowSeqBound(windowOf([])), -1);
});

test('a copy unrolls the ring and does not follow later pushes; windowOf round-trips', (t) => {
  const w = pushed(6);
  t.not(windowHead(w), 0);
  const copy = copyWindow(w);
  t.is(windowHead(copy), 0);
  // The bound and head, then the entries oldest first.
  t.deepEqual(copy.recentIds.slice(0, 2), [SEQ_BASE + 6, 0]);
  t.deepEqual(
    copy.recentIds.slice(2),
    [3, 4, 5, 6].flatMap((i) => [i, i % 3, SEQ_BASE + i]),
  );
  t.deepEqual(ids(copy), ids(w));
  pushApplied(w, 99, 0, SEQ_BASE + 99, result(99), MAX);
  t.deepEqual(
    windowEntries(copy).map((e) => e.instance),
    [3, 4, 5, 6],
  );
  t.deepEqual(ids(windowOf(windowEntries(w))), ids(w));
  t.deepEqual(
    windowEntries(windowSlice(w, 2)).map((e) => e.instance),
    [6, 99],
  );
});

/** The window as the plain list it stands for: entries oldest first, the oldest dropped. */
function modelPush(model: AppliedEntry[], e: AppliedEntry, max: number): void {
  model.push(e);
  if (model.length > max) model.shift();
}

function lastIndexOf(model: readonly AppliedEntry[], origin: number, seq: number): number {
  for (let i = model.length - 1; i >= 0; i--) {
    const m = model[i] as AppliedEntry;
    if (m.origin === origin && m.seq === seq) return i;
  }
  return -1;
}

// 16 is the store's window, grown in steps from literals (1, 8, 16 entries); 4 grows by pushes.
for (const max of [MAX, RECENT_WINDOW]) {
  test(`seeded random pushes, window of ${max}: the ring answers as a plain list of the last entries`, (t) => {
    let state = 0x2545f491;
    const rand = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    for (let run = 0; run < 50; run++) {
      // Odd runs start from a decoded window (exact arrays, any length up to the bound).
      const model: AppliedEntry[] = [];
      let instance = 0;
      for (let k = run % 2 === 0 ? 0 : rand(max + 1); k > 0; k--) {
        instance += 1;
        model.push({ instance, origin: rand(3), seq: SEQ_BASE + rand(30), result: result(k) });
      }
      const w = windowOf(model);
      for (let step = 0; step < 3 * max + 10; step++) {
        // Instances rise (with gaps, as after an install); seqs and origins come in any order.
        instance += 1 + rand(2);
        const e = { instance, origin: rand(3), seq: SEQ_BASE + rand(30), result: result(step) };
        pushApplied(w, e.instance, e.origin, e.seq, e.result, max);
        modelPush(model, e, max);
        t.deepEqual(windowEntries(w), model);
        t.is(windowShapeProblem(w, max), undefined);
        t.is(w.recentIds.length, 2 + 3 * model.length, 'ids cut to the entries');
        const origin = rand(3);
        const seq = SEQ_BASE + rand(32);
        const want = lastIndexOf(model, origin, seq);
        t.is(indexOfApplied(w, origin, seq), want);
        const probe = instance - rand(8);
        t.is(
          windowHasInstance(w, probe),
          model.some((m) => m.instance === probe),
        );
        const from = rand(model.length + 1);
        t.deepEqual(windowEntries(windowSlice(w, from)), model.slice(from));
        t.deepEqual(windowEntries(copyWindow(w)), model);
      }
    }
  });
}

/** `w` with its numbers changed: `at` counts from the bound (0) and the head (1). */
function withId(w: RecentColumns, at: number, value: number): RecentColumns {
  const recentIds = w.recentIds.slice();
  recentIds[at] = value;
  return { ...w, recentIds };
}

test('shape problems of received columns are named, not asserted', (t) => {
  t.regex(windowShapeProblem(pushed(MAX), MAX - 1) ?? '', /window of 4/);
  const torn = { recentIds: [5, 0, 1, 0], recentResults: [result(1)] };
  t.regex(windowShapeProblem(torn, MAX) ?? '', /4 ids for 1 results/);
  t.regex(windowShapeProblem({ recentIds: [5, 0], recentResults: [] }, MAX) ?? '', /empty window/);
  const notColumns = { ...windowOf([]), recentIds: 'x' } as unknown as RecentColumns;
  t.is(windowShapeProblem(notColumns, MAX), 'window is not columns');
  t.regex(windowShapeProblem(withId(pushed(MAX), 1, MAX), MAX) ?? '', /head 4 of 4/);
  t.regex(windowShapeProblem(withId(pushed(3), 1, 1), MAX) ?? '', /window of 3 with/);
  t.regex(windowShapeProblem(withId(pushed(3), 1, 0.5), MAX) ?? '', /head 0.5/);
  t.regex(windowShapeProblem(withId(pushed(3), 0, SEQ_BASE + 2), MAX) ?? '', /above its bound/);
  t.is(windowShapeProblem(withId(pushed(3), 0, SEQ_BASE + 9), MAX), undefined, 'a loose bound');
  t.regex(windowShapeProblem(withId(pushed(3), 0, NaN), MAX) ?? '', /seq bound NaN/);
  const text = { ...pushed(2), recentIds: ['9', 0, 1, 0, 5, 2, 0, 6] } as unknown as RecentColumns;
  t.regex(windowShapeProblem(text, MAX) ?? '', /seq bound 9/);
});
