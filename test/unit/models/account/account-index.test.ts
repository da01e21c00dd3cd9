/**
 * The account's id index (models/account/account-index.ts): slots sorted by (hash, pos), the
 * index after a merge (the kept slots merged with the change run's, against a plain sorted
 * array), and equal-hash runs answered newest first.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  IdClass,
  IdIndexView,
  idHash,
  indexOf,
  keptIndex,
} from '../../../../models/account/account-index';
import type { Slot } from '../../../../models/account/account-index';

const slotsOf = (v: IdIndexView): Slot[] =>
  Array.from({ length: v.count }, (_, i) => ({ hash: v.hash(i), pos: v.pos(i) }));

test('property: keptIndex equals the sorted slots from keptFrom on, with the added', (t) => {
  fc.assert(
    fc.property(
      // Few distinct hashes, so equal-hash runs interleave with the added slots often.
      fc.uniqueArray(fc.nat(200), { maxLength: 30 }),
      fc.array(fc.nat(3), { maxLength: 30 }),
      fc.nat(210),
      fc.uniqueArray(fc.nat(100), { maxLength: 8 }),
      fc.array(fc.nat(3), { maxLength: 8 }),
      (positions, hashes, keptFrom, addedAt, addedHashes) => {
        const slots = positions.map((pos, i) => ({ hash: hashes[i] ?? 0, pos }));
        const old = new IdIndexView(indexOf(slots));
        // The change run's entries lie after the base run's.
        const added = addedAt.map((p, i) => ({ hash: addedHashes[i] ?? 1, pos: 1_000 + p }));
        const got = slotsOf(new IdIndexView(keptIndex(old, keptFrom, added)));
        const want = [...slots.filter((s) => s.pos >= keptFrom), ...added];
        want.sort((a, b) => a.hash - b.hash || a.pos - b.pos);
        t.deepEqual(got, want);
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
