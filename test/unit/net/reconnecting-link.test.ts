/** net/reconnecting-link.ts backoffDelayMs: a table of exponential steps, jitter and the cap. */
import test from 'ava';
import { backoffDelayMs } from '../../../net/reconnecting-link';

test('backoff doubles from the minimum, is capped, and jitters within [step/2, step)', (t) => {
  const table: [attempt: number, random: number, expected: number][] = [
    [0, 0, 25],
    [0, 0.999, 49],
    [1, 0, 50],
    [3, 0.5, 300],
    [10, 0, 2500],
    [10, 0.999, 4997],
    [1000, 0.5, 3750],
  ];
  for (const [attempt, random, expected] of table)
    t.is(backoffDelayMs(attempt, 50, 5000, random), expected, `attempt ${attempt}`);
});
