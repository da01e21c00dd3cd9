/**
 * RecordArena (actors/paxos/record-arena.ts, decision 29): a key → bytes map packed into slabs
 * with an open-addressing index. Checked against a plain Map under random sets, replacements
 * and deletes on small slabs, so slabs fill, seal, fall below half live and are evacuated
 * many times over; the index is checked against the slabs after every step.
 */
import test from 'ava';
import { RecordArena, SLAB_SHIFT_MIN } from '../../../../actors/paxos/record-arena';
import { Prng } from '../../../../runtime/sim/prng';

function valueOf(prng: Prng, i: number, bytesMax: number): Uint8Array {
  const n = prng.int(bytesMax + 1);
  return Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff);
}

function checkSame(
  t: import('ava').ExecutionContext,
  arena: RecordArena,
  model: Map<string, Uint8Array>,
): void {
  arena.checkIntegrity();
  t.is(arena.size, model.size);
  for (const [key, value] of model) {
    const got = arena.get(key);
    if (got === undefined || Buffer.compare(got, value) !== 0) {
      t.fail(`key ${key}: ${got === undefined ? 'missing' : 'differs'}`);
      return;
    }
  }
}

const KEYS = ['', 'a', 'zähler-☃-𝄞', 'k'.repeat(300)];

for (const seed of [1, 2, 3]) {
  test(`arena agrees with a Map under random sets and deletes, small slabs (seed ${seed})`, (t) => {
    const prng = new Prng(seed);
    const arena = new RecordArena(SLAB_SHIFT_MIN + 2); // 1 KiB slabs, entries > 128 B go big
    const model = new Map<string, Uint8Array>();
    const keyOf = (i: number): string => KEYS[i % 7] ?? `key-${i}`;
    let evacuated = 0;
    for (let step = 0; step < 6000; step++) {
      const i = prng.int(400);
      const key = keyOf(i);
      if (prng.int(3) === 0) {
        t.is(arena.delete(key), model.delete(key), `delete ${key}`);
      } else {
        const value = valueOf(prng, step, prng.int(10) === 0 ? 300 : 60);
        arena.set(key, value);
        model.set(key, value.slice());
      }
      if (step % 97 === 0) checkSame(t, arena, model);
      evacuated = arena.stats().evacuations;
    }
    checkSame(t, arena, model);
    t.true(evacuated > 20, `only ${evacuated} evacuations: the test did not exercise them`);
    const stats = arena.stats();
    // Every sealed slab is at least half live: the slabs hold at most 2x live + 2 slabs.
    t.true(stats.slabBytes <= 2 * stats.liveBytes + 2 * 1024, JSON.stringify(stats));
  });
}

test('arena snapshot: what was held when it was taken, whatever happens after', (t) => {
  const arena = new RecordArena(SLAB_SHIFT_MIN + 2);
  const model = new Map<string, Uint8Array>();
  for (let i = 0; i < 200; i++) {
    const value = Uint8Array.from({ length: 20 + (i % 30) }, (_, j) => (i + j) & 0xff);
    arena.set(`k${i}`, value);
    model.set(`k${i}`, value);
  }
  model.set('big', new Uint8Array(500).fill(9));
  arena.set('big', new Uint8Array(500).fill(9));
  const snapshot = arena.snapshot();
  // After the snapshot: deletes (which evacuate slabs) and new keys.
  for (let i = 0; i < 200; i += 2) arena.delete(`k${i}`);
  arena.set('later', Uint8Array.of(1));
  t.true(arena.stats().evacuations > 0);
  const seen = new Map<string, Uint8Array>();
  for (const [k, v] of snapshot) seen.set(k, v);
  const sorted = (m: Map<string, Uint8Array>): Array<[string, Uint8Array]> =>
    [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  t.deepEqual(sorted(seen), sorted(model));
});

test('arena: a replaced key holds its newest bytes; a deleted one is gone; clear forgets all', (t) => {
  const arena = new RecordArena();
  arena.set('x', Uint8Array.of(1, 2, 3));
  arena.set('x', Uint8Array.of(4));
  t.deepEqual(arena.get('x'), Uint8Array.of(4));
  t.is(arena.size, 1);
  t.true(arena.delete('x'));
  t.false(arena.delete('x'));
  t.is(arena.get('x'), undefined);
  arena.set('y', new Uint8Array(5));
  arena.clear();
  t.is(arena.size, 0);
  t.is(arena.get('y'), undefined);
  arena.checkIntegrity();
});

test('arena: the index grows past its first capacity and keeps every key', (t) => {
  const arena = new RecordArena();
  for (let i = 0; i < 20_000; i++) arena.set(`key-${i}`, Uint8Array.of(i & 0xff, i >> 8));
  arena.checkIntegrity();
  for (let i = 0; i < 20_000; i += 997)
    t.deepEqual(arena.get(`key-${i}`), Uint8Array.of(i & 0xff, i >> 8));
  const stats = arena.stats();
  // ~12 bytes per entry of slab plus ~11–21 of index: far below a Map entry's ~80–100.
  t.true(stats.liveBytes + stats.indexBytes < 20_000 * 40, JSON.stringify(stats));
});

/** What a cursor yields, as key → value (hex), reading `steps` entries at most. */
function drain(
  cursor: ReturnType<RecordArena['snapshotCursor']>,
  into: Map<string, string>,
  steps: number,
): boolean {
  const utf8 = new TextDecoder();
  for (let n = 0; n < steps; n++) {
    if (!cursor.next()) return false;
    const key = utf8.decode(cursor.bytes.subarray(cursor.keyFrom, cursor.keyTo));
    const value = Buffer.from(cursor.bytes.subarray(cursor.valueFrom, cursor.valueTo));
    into.set(key, value.toString('hex'));
  }
  return true;
}

test('cursors copy on write: each sees its snapshot while sets, deletes and evacuations go on', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const prng = new Prng(seed);
    const arena = new RecordArena(SLAB_SHIFT_MIN);
    const model = new Map<string, Uint8Array>();
    const cursors: {
      cursor: ReturnType<RecordArena['snapshotCursor']>;
      want: Map<string, string>;
      got: Map<string, string>;
      done: boolean;
    }[] = [];
    for (let step = 0; step < 3000; step++) {
      const key = `k${prng.int(300)}`;
      if (prng.int(4) === 0) {
        arena.delete(key);
        model.delete(key);
      } else {
        const value = valueOf(prng, step, 20);
        arena.set(key, value);
        model.set(key, value);
      }
      if (step % 500 === 0) {
        const want = new Map([...model].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
        cursors.push({ cursor: arena.snapshotCursor(), want, got: new Map(), done: false });
      }
      // Read a little of every open cursor between writes.
      for (const c of cursors) if (!c.done) c.done = !drain(c.cursor, c.got, prng.int(3));
    }
    for (const c of cursors) {
      if (!c.done) drain(c.cursor, c.got, 1_000_000);
      const sorted = (m: Map<string, string>): string[][] =>
        [...m].sort(([a], [b]) => (a < b ? -1 : 1));
      t.deepEqual(sorted(c.got), sorted(c.want), `seed ${seed}: a cursor saw its snapshot`);
    }
    checkSame(t, arena, model);
  }
});
