import test from 'ava';
import { Prng } from '../../../runtime/sim/prng';

function draw(p: Prng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(p.nextU32());
  return out;
}

test('same seed gives the same stream', (t) => {
  t.deepEqual(draw(new Prng(42), 100), draw(new Prng(42), 100));
});

test('different seeds give different streams', (t) => {
  t.notDeepEqual(draw(new Prng(1), 20), draw(new Prng(2), 20));
});

test('forks are deterministic and independent of the parent', (t) => {
  const a = new Prng(7);
  const b = new Prng(7);
  const fa = a.fork();
  const fb = b.fork();
  t.deepEqual(draw(fa, 50), draw(fb, 50));
  t.deepEqual(draw(a, 50), draw(b, 50));
  t.notDeepEqual(draw(new Prng(7).fork(), 20), draw(new Prng(7), 20));
});

test('int, range, chance and pick stay in range', (t) => {
  const p = new Prng(99);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 5000; i++) {
    const x = p.int(5);
    t.true(x >= 0 && x < 5);
    counts[x] = (counts[x] as number) + 1;
    const r = p.range(-3, 3);
    t.true(r >= -3 && r <= 3 && Number.isInteger(r));
    const f = p.next();
    t.true(f >= 0 && f < 1);
  }
  // Roughly uniform: each bucket near 1000.
  for (const c of counts) t.true(c > 850 && c < 1150, `bucket count ${c}`);
  t.false(p.chance(0));
  t.true(p.chance(1));
  t.is(p.pick(['only']), 'only');
  t.throws(() => p.pick([]));
  t.throws(() => p.int(0));
});

test('shuffle is a permutation', (t) => {
  const p = new Prng(3);
  const xs = [1, 2, 3, 4, 5, 6, 7, 8];
  t.deepEqual(
    p.shuffle(xs).sort((a, b) => a - b),
    xs,
  );
});
