/**
 * The doorbell protocol on one thread: a reader with work does not park, a sender rings only
 * a parked reader and only once per park, and a ring before the wait starts is not lost.
 */
import test from 'ava';
import { DoorbellReader, Doorbells } from '../../../runtime/doorbell';

test('a reader that finds work after raising the flag does not park', (t) => {
  const bells = new Doorbells(Doorbells.allocate(2));
  const reader = new DoorbellReader(bells, 1);
  t.is(
    reader.park(() => true),
    null,
  );
  t.false(bells.isParked(1));
  t.is(reader.parks, 0);
});

test('a sender rings only a parked reader, once per park, and the reader wakes', async (t) => {
  const bells = new Doorbells(Doorbells.allocate(2));
  const reader = new DoorbellReader(bells, 1);
  t.false(bells.ringIfParked(1), 'rang a reader that is not parked');
  const woken = reader.park(() => false);
  t.not(woken, null);
  t.true(reader.parked);
  t.true(bells.ringIfParked(1));
  t.false(bells.ringIfParked(1), 'a second sender must not ring the same park');
  await woken;
  t.false(reader.parked);
  t.false(bells.isParked(1));
  t.deepEqual([reader.parks, reader.wakes], [1, 1]);
});

test('a ring between raising the flag and waiting is not lost', async (t) => {
  const bells = new Doorbells(Doorbells.allocate(2));
  const reader = new DoorbellReader(bells, 0);
  // The sender's ring lands during the re-check (step 3): the wait must not sleep through it.
  const woken = reader.park(() => {
    t.true(bells.ringIfParked(0));
    return false;
  });
  t.is(woken, null, 'the sequence moved, so the reader must not wait');
  t.false(bells.isParked(0));
});

test('wakeSelf cuts a park short', async (t) => {
  const bells = new Doorbells(Doorbells.allocate(1));
  const reader = new DoorbellReader(bells, 0);
  const woken = reader.park(() => false);
  t.not(woken, null);
  reader.wakeSelf();
  await woken;
  t.is(reader.wakes, 1);
});

test('parked time counts from the park to the wake-up and stops there', async (t) => {
  const bells = new Doorbells(Doorbells.allocate(2));
  const reader = new DoorbellReader(bells, 1);
  t.is(reader.parkedMicros, 0);
  const woken = reader.park(() => false);
  t.not(woken, null);
  // While parked, the figure includes the park so far, and grows.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const during = reader.parkedMicros;
  t.true(during > 0, `${during} us parked so far`);
  t.true(bells.ringIfParked(1));
  await woken;
  const after = reader.parkedMicros;
  t.true(after >= during, `${after} < ${during}`);
  // Not parked any more: the figure stays where the wake-up left it.
  await new Promise((resolve) => setTimeout(resolve, 5));
  t.is(reader.parkedMicros, after);
  // A reader that did not park adds nothing.
  t.is(
    reader.park(() => true),
    null,
  );
  t.is(reader.parkedMicros, after);
});
