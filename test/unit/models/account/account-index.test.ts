/**
 * The account's id index (models/account/account-index.ts): slots sorted by (hash, pos), the
 * next index built by copying runs around the added and removed slots (against a plain sorted
 * array), and equal-hash runs answered newest first.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  IdClass,
  IdIndexView,
  idHash,
  indexOf,
  nextIndex,
} from '../../../../models/account/account-index';
import type { Slot } from '../../../../models/account/account-index';

const slotsOf = (v: IdIndexView): Slot[] =>
  Array.from({ length: v.count }, (_, i) => ({ hash: v.hash(i), pos: v.pos(i) }));

test('property: nextIndex equals the sorted slots without the removed, with the added', (t) => {
  fc.assert(
    fc.property(
      // Few distinct hashes, so equal-hash runs and cuts at the same index happen often.
      fc.uniqueArray(fc.nat(200), { maxLength: 30 }),
      fc.array(fc.nat(3), { maxLength: 30 }),
      fc.array(fc.nat(29), { maxLength: 3 }),
      fc.option(fc.nat(3)),
      (positions, hashes, removeAt, addHash) => {
        const slots = positions.map((pos, i) => ({ hash: hashes[i] ?? 0, pos }));
        const old = new IdIndexView(indexOf(slots));
        const sorted = slotsOf(old);
        const removed = [...new Set(removeAt.filter((i) => i < sorted.length))];
        const added = addHash === null ? undefined : { hash: addHash, pos: 1_000 };
        const got = slotsOf(new IdIndexView(nextIndex(old, removed, added)));
        const want = sorted.filter((_, i) => !removed.includes(i));
        if (added !== undefined) want.push(added);
        want.sort((a, b) => a.hash - b.hash || a.pos - b.pos);
        t.deepEqual(got, want);
        for (const s of want) t.true(new IdIndexView(indexOf(want)).indexOf(s) >= 0);
      },
    ),
    { numRuns: 300 },
  );
});

test('candidates: the run of one hash, newest (highest pos) first; none for an absent hash', (t) => {
  const v = new IdIndexView(
    indexOf([
      { hash: 7, pos: 40 },
      { hash: 3, pos: 10 },
      { hash: 7, pos: 5 },
      { hash: 9, pos: 1 },
      { hash: 7, pos: 90 },
    ]),
  );
  t.deepEqual(v.candidates(7), [90, 40, 5]);
  t.deepEqual(v.candidates(3), [10]);
  t.deepEqual(v.candidates(8), []);
  t.throws(() => v.indexOf({ hash: 7, pos: 41 }), { message: /lacks slot/ });
});

test('idHash separates the classes and the ids', (t) => {
  const a = new TextEncoder().encode('order-1');
  const b = new TextEncoder().encode('order-2');
  t.not(idHash(IdClass.op, a), idHash(IdClass.finished, a));
  t.not(idHash(IdClass.op, a), idHash(IdClass.op, b));
  t.is(idHash(IdClass.op, a), idHash(IdClass.op, Uint8Array.from(a)), 'a function of the bytes');
});
