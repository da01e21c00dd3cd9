/**
 * appendBytes (models/append-bytes.ts): a state grows in place, and no view handed out ever
 * changes — the rule the persist path's O(1) prefix check relies on.
 */
import test from 'ava';
import { appendBytes, extendsAppendView, isAppendView } from '../../../models/append-bytes';

const bytes = (...n: number[]): Uint8Array => Uint8Array.from(n);

test('appending to the latest view grows in place and keeps every earlier view', (t) => {
  const a = appendBytes(null, bytes(1, 2, 3));
  const b = appendBytes(a, bytes(4));
  const c = appendBytes(b, bytes(5, 6));
  t.deepEqual([...a], [1, 2, 3]);
  t.deepEqual([...b], [1, 2, 3, 4]);
  t.deepEqual([...c], [1, 2, 3, 4, 5, 6]);
  t.is(b.buffer, a.buffer, 'no copy while there is spare capacity');
  t.is(c.buffer, a.buffer);
  t.true(extendsAppendView(a, c));
  t.true(extendsAppendView(b, c));
  t.false(extendsAppendView(c, b), 'a shorter view does not extend a longer one');
  t.true(isAppendView(c));
});

test('appending to an older view (a branch) copies and leaves the newer view alone', (t) => {
  const a = appendBytes(null, bytes(1));
  const b = appendBytes(a, bytes(2));
  const branch = appendBytes(a, bytes(9));
  t.deepEqual([...b], [1, 2], 'the newer view kept its bytes');
  t.deepEqual([...branch], [1, 9]);
  t.not(branch.buffer, a.buffer);
  t.false(extendsAppendView(b, branch));
  t.true(extendsAppendView(a, branch), 'a copy continues the view it copied');
});

test('a state from elsewhere is copied, never written into, and is not an append view', (t) => {
  const foreign = bytes(7, 8);
  const grown = appendBytes(foreign, bytes(9));
  t.deepEqual([...foreign], [7, 8]);
  t.deepEqual([...grown], [7, 8, 9]);
  t.false(isAppendView(foreign));
  t.false(extendsAppendView(foreign, grown));
});

test('growth past the spare capacity moves to a new buffer; old views stay intact', (t) => {
  let state = appendBytes(null, bytes(0));
  const first = state;
  const views: Uint8Array[] = [];
  for (let i = 1; i < 2000; i++) {
    state = appendBytes(state, bytes(i & 0xff));
    views.push(state);
  }
  t.is(state.length, 2000);
  t.not(state.buffer, first.buffer, 'the buffer moved at least once');
  for (const [i, v] of views.entries()) t.is(v[v.length - 1], (i + 1) & 0xff);
  t.deepEqual([...first], [0]);
});
