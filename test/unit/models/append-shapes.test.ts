/**
 * AppendShapes (models/append-shapes.ts): a shape cached per append buffer is extended over the
 * tail of a longer view, and never reused for a shorter one or one from another start.
 */
import test from 'ava';
import { appendBufferOf, appendBytes } from '../../../models/append-bytes';
import { AppendShapes, readU32, writeU32 } from '../../../models/append-shapes';
import type { WalkedShape } from '../../../models/append-shapes';

/** A shape that sums the state's bytes and counts the bytes walked, to see what was re-read. */
interface SumShape extends WalkedShape {
  sum: number;
}

function counting(): { shapes: AppendShapes<SumShape>; walked: () => number } {
  let walked = 0;
  const shapes = new AppendShapes<SumShape>('sum', {
    start: () => ({ length: 0, sum: 0 }),
    extend: (data, shape) => {
      for (let i = shape.length; i < data.length; i++) shape.sum += data[i] as number;
      walked += data.length - shape.length;
      shape.length = data.length;
    },
  });
  return { shapes, walked: () => walked };
}

const sum = (data: Uint8Array): number => data.reduce((a, b) => a + b, 0);

test('a longer view of the same buffer walks only its tail', (t) => {
  const { shapes, walked } = counting();
  const a = appendBytes(null, Uint8Array.of(1, 2, 3));
  const b = appendBytes(a, Uint8Array.of(4, 5));
  t.is(b.buffer, a.buffer);
  t.is(shapes.of(a).sum, 6);
  t.is(shapes.of(b).sum, 15);
  t.is(walked(), 5, 'three bytes, then the two appended');
});

test('a shorter view after a longer one is walked afresh, not served the longer shape', (t) => {
  const { shapes } = counting();
  const a = appendBytes(null, Uint8Array.of(1, 2, 3));
  const b = appendBytes(a, Uint8Array.of(4, 5));
  t.is(shapes.of(b).sum, 15);
  t.is(shapes.of(a).sum, 6, 'an older state applied again');
  t.is(shapes.of(b).sum, 15);
});

test('a view from another start of the buffer is walked afresh', (t) => {
  const { shapes } = counting();
  const whole = appendBufferOf(6, (out) => out.set([1, 2, 3, 4, 5, 6]));
  const tail = whole.subarray(2);
  t.is(shapes.of(whole).sum, sum(whole));
  t.is(shapes.of(tail).sum, sum(tail));
});

test('a plain array is walked whole each time', (t) => {
  const { shapes, walked } = counting();
  const plain = Uint8Array.of(7, 8);
  t.is(shapes.of(plain).sum, 15);
  t.is(shapes.of(plain).sum, 15);
  t.is(walked(), 4);
});

test('u32 fields are little-endian and round-trip the whole range', (t) => {
  const out = new Uint8Array(8);
  writeU32(out, 0, 0x0102_0304);
  writeU32(out, 4, 0xffff_ffff);
  t.deepEqual([...out.subarray(0, 4)], [4, 3, 2, 1]);
  t.is(readU32(out, 0), 0x0102_0304);
  t.is(readU32(out, 4), 0xffff_ffff);
});
