/**
 * transient-bytes.ts and kept-bytes.ts (slab-carver.ts): carves never overlap, start zeroed
 * and aligned; small and big stay apart; copies hold their bytes.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  TRANSIENT_CARVE_BYTES_MAX,
  transientBytes,
  transientCopy,
  transientCopyOf,
} from '../../../runtime/transient-bytes';
import {
  KEPT_CARVE_BYTES_MAX,
  KEPT_SLAB_BYTES,
  keptBytes,
  keptCopyOf,
} from '../../../runtime/kept-bytes';

const carvers = [
  { name: 'transient', carve: transientBytes, max: TRANSIENT_CARVE_BYTES_MAX },
  { name: 'kept', carve: keptBytes, max: KEPT_CARVE_BYTES_MAX },
];

function region(b: Uint8Array): { buffer: ArrayBufferLike; from: number; to: number } {
  return { buffer: b.buffer, from: b.byteOffset, to: b.byteOffset + b.byteLength };
}

for (const { name, carve, max } of carvers) {
  test(`${name}: any run of carves: each is zero-filled, 8-byte aligned, and no two share a byte`, (t) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: max + 100 }), { maxLength: 200 }), (sizes) => {
        const carves = sizes.map((n) => carve(n));
        carves.forEach((c, i) => {
          t.is(c.length, sizes[i]);
          t.true(
            c.every((b) => b === 0),
            `carve ${i} of ${c.length} is zero-filled`,
          );
          c.fill(i & 0xff || 1);
          t.is(c.byteOffset % 8, 0);
        });
        // Written after all were carved: a shared byte would show another carve's fill.
        carves.forEach((c, i) => t.true(c.every((b) => b === (i & 0xff || 1))));
        const spans = carves.map(region);
        for (let i = 0; i < spans.length; i++) {
          for (let j = i + 1; j < spans.length; j++) {
            const a = spans[i];
            const b = spans[j];
            if (a === undefined || b === undefined || a.buffer !== b.buffer) continue;
            t.true(a.to <= b.from || b.to <= a.from, `carves ${i} and ${j} overlap`);
          }
        }
      }),
      { numRuns: 50 },
    );
  });
}

for (const { name, carve, max } of carvers) {
  test(`${name}: at most 64 bytes and above the carve limit: a buffer of its own; between, a slab view`, (t) => {
    for (const n of [0, 1, 64, max + 1, 100_000]) {
      const b = carve(n);
      t.is(b.byteOffset, 0, `${n}`);
      t.is(b.buffer.byteLength, n, `${n} has its own buffer`);
    }
    for (const n of [65, 326, max]) {
      const b = carve(n);
      t.true(b.buffer.byteLength > n, `${n} is a view of a slab`);
    }
  });
}

test('copies hold the bytes and do not follow later changes of the source', (t) => {
  const src = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const copy = transientCopy(src);
  const part = transientCopyOf(src, 10, 210);
  src.fill(0);
  t.deepEqual(
    [...copy],
    Array.from({ length: 300 }, (_, i) => i & 0xff),
  );
  t.deepEqual(
    [...part],
    Array.from({ length: 200 }, (_, i) => (i + 10) & 0xff),
  );
  t.throws(() => transientCopyOf(src, 5, 301));
  t.throws(() => transientBytes(-1));
  t.throws(() => transientBytes(1.5));
});

test('kept: a slab holds at least 8 of the largest carve, and a full slab starts a new one', (t) => {
  t.true(KEPT_SLAB_BYTES / KEPT_CARVE_BYTES_MAX >= 8);
  const first = keptBytes(KEPT_CARVE_BYTES_MAX);
  const carves = Array.from({ length: KEPT_SLAB_BYTES / KEPT_CARVE_BYTES_MAX + 1 }, () =>
    keptBytes(KEPT_CARVE_BYTES_MAX),
  );
  t.is(first.buffer.byteLength, KEPT_SLAB_BYTES);
  t.true(
    carves.some((c) => c.buffer !== first.buffer),
    'a full slab is never carved past',
  );
  const src = Uint8Array.from({ length: 200 }, (_, i) => i);
  const copy = keptCopyOf(src, 50, 150);
  src.fill(0);
  t.deepEqual(
    [...copy],
    Array.from({ length: 100 }, (_, i) => i + 50),
  );
  t.throws(() => keptCopyOf(src, 150, 50));
  t.throws(() => keptBytes(-1));
});
