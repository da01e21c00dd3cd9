import test from 'ava';
import { Simulation } from '../../../runtime/sim/simulation';
import type { SimDisk } from '../../../runtime/sim/sim-disk';
import type { DiskFaults } from '../../../runtime/sim/sim-disk';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

function setup(
  diskFaults: Partial<DiskFaults> = {},
  seed = 11,
): { sim: Simulation; disk: SimDisk } {
  const sim = new Simulation({ seed, tickMs: 10, nodeOf: () => 0, diskFaults });
  return { sim, disk: sim.disk(0) };
}

function readNow(sim: Simulation, disk: SimDisk, keys: string[]): (string | undefined)[] {
  let out: (string | undefined)[] | undefined;
  disk.read(keys, (values) => {
    out = values.map(dec);
  });
  sim.runUntil(() => out !== undefined, 100);
  if (out === undefined) throw new Error('read did not complete');
  return out;
}

test('a write acknowledged with sync survives a crash; unsynced writes are lost', (t) => {
  const { sim, disk } = setup();
  const done: string[] = [];
  disk.write([{ key: 'a', value: enc('1') }], true, () => done.push('a'));
  disk.write([{ key: 'b', value: enc('2') }], false, () => done.push('b'));
  sim.runFor(10);
  t.deepEqual(done, ['a', 'b']);
  t.deepEqual(
    readNow(sim, disk, ['a', 'b']),
    ['1', '2'],
    'unsynced write is visible before a crash',
  );
  sim.crash(0);
  sim.restart(0);
  t.deepEqual(readNow(sim, disk, ['a', 'b']), ['1', undefined]);
});

test('a later sync write makes earlier unsynced writes durable', (t) => {
  const { sim, disk } = setup();
  disk.write([{ key: 'a', value: enc('1') }], false, () => {});
  disk.write([{ key: 'b', value: enc('2') }], true, () => {});
  sim.runFor(10);
  sim.crash(0);
  sim.restart(0);
  t.deepEqual(readNow(sim, disk, ['a', 'b']), ['1', '2']);
});

test('flushAll makes completed writes durable', (t) => {
  const { sim, disk } = setup();
  disk.write([{ key: 'a', value: enc('1') }], false, () => {});
  sim.runFor(10);
  disk.flushAll();
  sim.crash(0);
  sim.restart(0);
  t.deepEqual(readNow(sim, disk, ['a']), ['1']);
});

test('writes complete in submission order, callbacks of a crashed node never fire', (t) => {
  const { sim, disk } = setup({ writeLatencyMinMs: 0.01, writeLatencyMaxMs: 5 });
  const order: number[] = [];
  for (let i = 0; i < 20; i++)
    disk.write([{ key: `k${i}`, value: enc(`${i}`) }], i % 3 === 0, () => order.push(i));
  sim.runFor(1);
  const before = order.length;
  sim.crash(0);
  sim.runFor(200);
  t.deepEqual(order, [...Array(before).keys()]);
  t.true(before < 20);
});

test('a torn tail keeps a prefix of atomic batches', (t) => {
  let sawPartial = false;
  for (let seed = 1; seed <= 40; seed++) {
    const { sim, disk } = setup({ tornTail: true }, seed);
    // Five unsynced batches of two keys each: any survivor set must be a prefix of whole batches.
    for (let i = 0; i < 5; i++) {
      disk.write(
        [
          { key: `x${i}`, value: enc('v') },
          { key: `y${i}`, value: enc('v') },
        ],
        false,
        () => {},
      );
    }
    sim.runFor(1);
    sim.crash(0);
    sim.restart(0);
    const got = readNow(
      sim,
      disk,
      [0, 1, 2, 3, 4].flatMap((i) => [`x${i}`, `y${i}`]),
    );
    const kept = [0, 1, 2, 3, 4].map((i) => {
      t.is(got[2 * i], got[2 * i + 1], `batch ${i} torn (seed ${seed})`);
      return got[2 * i] !== undefined;
    });
    const count = kept.filter(Boolean).length;
    t.deepEqual(
      kept,
      [0, 1, 2, 3, 4].map((i) => i < count),
      `not a prefix (seed ${seed})`,
    );
    if (count > 0 && count < 5) sawPartial = true;
  }
  t.true(sawPartial);
});

test('deletes, wipe, and injected write failures', (t) => {
  const { sim, disk } = setup();
  disk.write(
    [
      { key: 'a', value: enc('1') },
      { key: 'b', value: enc('2') },
    ],
    true,
    () => {},
  );
  disk.write([{ key: 'a', value: null }], true, () => {});
  sim.runFor(10);
  t.deepEqual(readNow(sim, disk, ['a', 'b']), [undefined, '2']);
  sim.setDiskFaults({ failWriteRate: 1 });
  let err: (Error & { code?: string }) | undefined;
  disk.write([{ key: 'c', value: enc('3') }], true, (e) => {
    err = e;
  });
  sim.runFor(10);
  t.is(err?.code, 'IO_ERROR');
  t.deepEqual(readNow(sim, disk, ['c']), [undefined]);
  sim.crash(0);
  sim.restart(0, { wipeDisk: true });
  t.is(sim.disk(0), disk, 'the disk object outlives restarts');
  t.deepEqual(readNow(sim, disk, ['b']), [undefined]);
});

test('values are copied in and out', (t) => {
  const { sim, disk } = setup();
  const v = enc('abc');
  disk.write([{ key: 'a', value: v }], true, () => {});
  v[0] = 0;
  sim.runFor(10);
  let first: Uint8Array | undefined;
  disk.read(['a'], (vs) => {
    first = vs[0];
  });
  sim.runFor(10);
  if (first !== undefined) first[0] = 0;
  t.deepEqual(readNow(sim, disk, ['a']), ['abc']);
});

test('scan returns visible entries sorted by key', (t) => {
  const { sim, disk } = setup();
  disk.write(
    [
      { key: 'b', value: enc('2') },
      { key: 'a', value: enc('1') },
    ],
    false,
    () => {},
  );
  let keys: string[] | undefined;
  disk.scan((entries) => {
    keys = entries.map((e) => e.key);
  });
  sim.runFor(10);
  t.deepEqual(keys, ['a', 'b']);
});

test('a process kill keeps completed unsynced writes; a later power loss still loses them', (t) => {
  const { sim, disk } = setup();
  disk.write([{ key: 'a', value: enc('1') }], false, () => {});
  sim.runFor(10);
  sim.crash(0, 'process');
  sim.restart(0);
  t.deepEqual(readNow(sim, disk, ['a']), ['1'], 'the page cache outlived the process');
  t.is(disk.stats.kills, 1);
  t.is(disk.unsyncedBatches, 1, 'still not durable');
  sim.crash(0, 'power');
  sim.restart(0);
  t.deepEqual(readNow(sim, disk, ['a']), [undefined]);
});

test('a process kill keeps a prefix of in-flight writes, fires no callback, damages nothing', (t) => {
  const kept = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const { sim, disk } = setup({ damagedTailRate: 1 }, seed);
    disk.write([{ key: 'd', value: enc('0') }], true, () => {});
    sim.runFor(10);
    const fired: string[] = [];
    for (const k of ['a', 'b', 'c'])
      disk.write([{ key: k, value: enc(k) }], false, () => fired.push(k));
    sim.crash(0, 'process');
    sim.runFor(10);
    t.deepEqual(fired, [], `seed ${seed}: no callback after the kill`);
    sim.restart(0);
    const got = readNow(sim, disk, ['d', 'a', 'b', 'c']);
    t.is(got[0], '0', `seed ${seed}: a kill never damages the durable tail`);
    t.false(disk.tailDamagedAtLastCrash);
    const n = got.slice(1).filter((v) => v !== undefined).length;
    t.deepEqual(
      got.slice(1),
      ['a', 'b', 'c'].map((k, i) => (i < n ? k : undefined)),
      'a prefix',
    );
    kept.add(n);
  }
  t.true(kept.has(0) && kept.has(3), `both ends of the prefix seen (${[...kept].join(',')})`);
});
