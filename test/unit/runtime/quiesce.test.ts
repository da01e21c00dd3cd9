/**
 * Table tests of quietSignature (runtime/quiesce.ts): a round is quiet only when every live
 * thread is idle with nothing unread from a live thread; rings from threads that are not live
 * are ignored; the signature changes with any counter.
 */
import test from 'ava';
import { quietSignature } from '../../../runtime/quiesce';
import type { ThreadQuiet } from '../../../runtime/quiesce';

function report(thread: number, change: Partial<ThreadQuiet> = {}): ThreadQuiet {
  return {
    thread,
    idle: true,
    ringOccupancyBytes: [0, 0, 0],
    messagesIn: 5,
    messagesOut: 7,
    localMessages: 1,
    ...change,
  };
}

const ALL = new Set([0, 1, 2]);

test('quiet rounds and rounds that are not', (t) => {
  const rows: [string, ThreadQuiet[], ReadonlySet<number>, boolean][] = [
    ['all idle, rings empty', [report(0), report(1), report(2)], ALL, true],
    ['an actor busy', [report(0), report(1, { idle: false }), report(2)], ALL, false],
    [
      'a ring not read',
      [report(0), report(1, { ringOccupancyBytes: [0, 0, 16] }), report(2)],
      ALL,
      false,
    ],
    // Worker 1 is dead: what it left in worker 0's ring is lost, not waited for.
    [
      'a dead sender',
      [report(0, { ringOccupancyBytes: [0, 24, 0] }), report(2)],
      new Set([0, 2]),
      true,
    ],
  ];
  for (const [what, reports, live, quiet] of rows)
    t.is(quietSignature(reports, live) !== undefined, quiet, what);
});

test('the signature changes with every counter, and is the same for the same counters', (t) => {
  const base = quietSignature([report(0), report(1), report(2)], ALL);
  t.is(quietSignature([report(0), report(1), report(2)], ALL), base);
  for (const change of [{ messagesIn: 6 }, { messagesOut: 8 }, { localMessages: 2 }])
    t.not(
      quietSignature([report(0), report(1, change), report(2)], ALL),
      base,
      JSON.stringify(change),
    );
});

test('a report from a thread that is not live is a programmer error', (t) => {
  t.throws(() => quietSignature([report(0), report(1)], new Set([0])));
  t.throws(() => quietSignature([report(0)], new Set([0, 1])));
});
