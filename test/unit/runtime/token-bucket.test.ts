/** token-bucket.ts: refill at a rate up to a cap, spend into a bounded debt, as tables. */
import test from 'ava';
import fc from 'fast-check';
import { refillBucket, spendBucket } from '../../../runtime/token-bucket';

test('refill: rate per second of elapsed ms, capped, never lowered, a clock going back adds nothing', (t) => {
  const cases: Array<
    [level: number, elapsedMs: number, rate: number, cap: number, expected: number]
  > = [
    [0, 1000, 10, 100, 10],
    [0, 50, 100, 10, 5],
    [-20, 100, 100, 10, -10],
    [0, 1_000_000, 100, 10, 10],
    [8, 10, 100, 10, 9],
    [15, 1000, 100, 10, 15], // above the cap (a cap that shrank): kept until spent
    [3, -500, 100, 10, 3],
  ];
  for (const [level, elapsedMs, rate, cap, expected] of cases) {
    const b = refillBucket({ level, atMs: 1000 }, 1000 + elapsedMs, rate, cap);
    t.is(b.level, expected, `${level} after ${elapsedMs} ms at ${rate}/s, cap ${cap}`);
    t.is(b.atMs, Math.max(1000, 1000 + elapsedMs), 'the clock only moves forward');
  }
  t.throws(() => refillBucket({ level: 0, atMs: 0 }, 10, 0, 10));
});

test('spend: into debt, at most debtMax deep; a negative cost is refused', (t) => {
  t.deepEqual(spendBucket({ level: 5, atMs: 7 }, 3, 10), { level: 2, atMs: 7 });
  t.is(spendBucket({ level: 1, atMs: 0 }, 4, 10).level, -3);
  t.is(spendBucket({ level: 0, atMs: 0 }, 1e9, 10).level, -10, 'debt is bounded');
  t.is(spendBucket({ level: 0, atMs: 0 }, 0, 0).level, 0);
  t.throws(() => spendBucket({ level: 0, atMs: 0 }, -1, 10));
  t.throws(() => spendBucket({ level: 0, atMs: 0 }, Number.NaN, 10));
});

test('any run of refills and spends stays within [-debtMax, max(cap, start)]', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(10_000), fc.nat(1_000)), { maxLength: 50 }),
      fc.integer({ min: 1, max: 1000 }),
      (steps, rate) => {
        let b = { level: 0, atMs: 0 };
        for (const [dt, cost] of steps) {
          b = spendBucket(refillBucket(b, b.atMs + dt, rate, 64), cost, 500);
          if (b.level < -500 || b.level > 64) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});
