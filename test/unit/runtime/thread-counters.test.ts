/** Per-thread counters of modules, reported in worker stats (runtime/thread-counters.ts). */
import test from 'ava';
import { registerThreadCounters, threadCounters } from '../../../runtime/thread-counters';

test('registered readers are read at each call, by name; registering again replaces', (t) => {
  let n = 0;
  registerThreadCounters('a', () => ({ n }));
  t.deepEqual(threadCounters()['a'], { n: 0 });
  n = 5;
  t.deepEqual(threadCounters()['a'], { n: 5 }, 'read at each call');
  registerThreadCounters('a', () => ({ m: 1 }));
  t.deepEqual(threadCounters()['a'], { m: 1 }, 'replaced');
});

test('the counters are copies: changing them does not reach the module', (t) => {
  const mine = { x: 1 };
  registerThreadCounters('b', () => mine);
  const read = threadCounters()['b'] as Record<string, number>;
  read['x'] = 99;
  t.is(mine.x, 1);
});

test('the number of readers is bounded', (t) => {
  t.throws(() => {
    for (let i = 0; i < 100; i++) registerThreadCounters(`many-${i}`, () => ({}));
  });
});
