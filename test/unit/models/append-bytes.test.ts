/**
 * appendBytes (models/append-bytes.ts): a state grows in place, and no view handed out ever
 * changes — the rule the persist path's O(1) prefix check relies on.
 */
import test from 'ava';
import {
  appendBufferOf,
  appendBytes,
  claimLead,
  extendsAppendView,
  isAppendView,
} from '../../../models/append-bytes';

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

test('appendBufferOf fills a fresh append buffer that grows in place', (t) => {
  const a = appendBufferOf(3, (out) => out.set([1, 2, 3]));
  t.deepEqual([...a], [1, 2, 3]);
  t.true(isAppendView(a));
  const b = appendBytes(a, bytes(4));
  t.is(b.buffer, a.buffer, 'spare room after the filled bytes');
  t.true(extendsAppendView(a, b));
});

test('claimLead frames a first view in its free lead byte once, without a copy', (t) => {
  const state = appendBufferOf(2, (out) => out.set([5, 6]));
  const framed = claimLead(state, 9, null);
  t.truthy(framed);
  t.is(framed?.buffer, state.buffer, 'no copy');
  t.deepEqual([...(framed ?? [])], [9, 5, 6]);
  t.deepEqual([...state], [5, 6], 'the unframed view kept its bytes');
  t.is(claimLead(state, 8, null), undefined, 'the lead byte is claimed once');
  const grown = appendBytes(framed ?? null, bytes(7));
  t.is(grown.buffer, state.buffer, 'the framed view grows in place');
  t.true(extendsAppendView(framed ?? bytes(), grown));
  t.is(claimLead(bytes(1), 9, null), undefined, 'a foreign state is never written into');
});

test('a framed state that outgrew its buffer, framed again, still continues the framed one', (t) => {
  // What the registry does with a model state: frame it, hand the model its unframed view,
  // frame what the model returns. A move to a new buffer must still read as an extension.
  let framed = claimLead(
    appendBufferOf(4, (out) => out.set([1, 2, 3, 4])),
    42,
    null,
  );
  t.truthy(framed);
  let moved = false;
  for (let i = 0; i < 64 && framed !== undefined; i++) {
    const before: Uint8Array = framed;
    const next = appendBytes(before.subarray(1), bytes(i, i, i, i, i, i, i, i));
    const again: Uint8Array | undefined =
      next.buffer === before.buffer
        ? new Uint8Array(next.buffer, before.byteOffset, next.length + 1)
        : claimLead(next, 42, before);
    t.truthy(again);
    if (again === undefined) break;
    if (again.buffer !== before.buffer) moved = true;
    t.true(extendsAppendView(before, again), `step ${i} continues the framed state`);
    t.is(again[0], 42);
    framed = again;
  }
  t.true(moved, 'the state moved at least once');
  const other = claimLead(appendBytes(bytes(1, 2), bytes(3)), 7, framed ?? null);
  t.truthy(other);
  t.false(extendsAppendView(framed ?? bytes(), other ?? bytes()), 'an unrelated copy does not');
});
