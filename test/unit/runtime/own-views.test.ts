/** own-views.ts: views of shared buffers leave with exact copies; nothing else is rebuilt. */
import test from 'ava';
import { OWN_VIEWS_DEPTH_MAX, ownViews } from '../../../runtime/own-views';
import { keptCopyOf } from '../../../runtime/kept-bytes';

function kept(fill: number): Uint8Array {
  const src = new Uint8Array(100).fill(fill);
  const view = keptCopyOf(src, 0, src.length);
  return view;
}

test('a view of a shared slab becomes an exact copy; a whole-buffer view stays itself', (t) => {
  const view = kept(7);
  t.true(view.buffer.byteLength > view.byteLength, 'a kept carve is a view of a slab');
  const own = ownViews(view);
  t.not(own, view);
  t.is(own.buffer.byteLength, 100);
  t.deepEqual([...own], [...view]);
  const whole = new Uint8Array(100);
  t.is(ownViews(whole), whole);
});

test('a Buffer view is copied too (a Buffer slice is a view, not a copy)', (t) => {
  const pool = Buffer.allocUnsafe(4096).fill(3);
  const view = pool.subarray(10, 110);
  const own = ownViews(view);
  t.is(own.buffer.byteLength, 100);
  own[0] = 9;
  t.is(pool[10], 3, 'the copy does not write through to the pool');
});

test('containers are rebuilt only along paths to replaced views; the input is untouched', (t) => {
  const shared = kept(1);
  const untouched = { n: 1, bytes: new Uint8Array(4), list: [1, 2, 3] };
  const answer = {
    entries: [{ key: 'a', data: shared, recent: [{ result: kept(2) }] }, untouched],
    byKey: new Map([['a', { data: kept(3) }]]),
    plain: untouched,
    text: 'x',
    none: null,
  };
  const out = ownViews(answer);
  t.not(out, answer);
  t.is(out.plain, untouched, 'a subtree without shared views is the same object');
  t.is(out.entries[1], untouched);
  const first = out.entries[0] as { data: Uint8Array; recent: { result: Uint8Array }[] };
  t.is(first.data.buffer.byteLength, 100);
  t.is(first.recent[0]?.result.buffer.byteLength, 100);
  t.is(out.byKey.get('a')?.data.buffer.byteLength, 100);
  t.is((answer.entries[0] as { data: Uint8Array }).data, shared, 'the input keeps its view');
  t.true(shared.buffer.byteLength > 100);
});

test('a value with nothing to replace comes back as itself', (t) => {
  const value = { a: [1, { b: 'c' }], m: new Map([[1, 2]]), d: new Date(0) };
  t.is(ownViews(value), value);
  t.is(ownViews(undefined), undefined);
  t.is(ownViews(5), 5);
});

test('nesting past the bound is refused, not walked forever', (t) => {
  let deep: unknown = kept(4);
  for (let i = 0; i <= OWN_VIEWS_DEPTH_MAX + 1; i++) deep = [deep];
  t.throws(() => ownViews(deep));
  let ok: unknown = kept(5);
  for (let i = 0; i < OWN_VIEWS_DEPTH_MAX; i++) ok = [ok];
  t.notThrows(() => ownViews(ok));
});
