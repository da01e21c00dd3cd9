/**
 * The simulated file system (`engines/fs/sim-fs.ts`): its crash model, table by table, and the
 * engine conformance suite run again for bitcask and memory-log on it (the engines' whole I/O
 * goes through the port, so they must behave exactly as on the real file system), and bitcask2.
 */
import test from 'ava';
import { BitcaskEngine } from '../../../../engines/bitcask/bitcask-engine';
import { Bitcask2Engine } from '../../../../engines/bitcask2/bitcask2-engine';
import type { Engine } from '../../../../engines/engine';
import { SIM_PAGE_BYTES, SimFileSystem } from '../../../../engines/fs/sim-fs';
import { MemoryLogEngine } from '../../../../engines/memory-log/memory-log-engine';
import { assert } from '../../../../runtime/assert';
import { Prng } from '../../../../runtime/sim/prng';
import { runEngineSuite } from '../../../conformance/engine-suite';

const ALL = { max: 10_000, random: () => 0 };

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

async function write(
  fs: SimFileSystem,
  file: string,
  data: string,
  position: number,
  sync: boolean,
): Promise<void> {
  const handle = await fs.open(file, 'r+');
  const bytes = Buffer.from(data, 'latin1');
  await handle.write(bytes, 0, bytes.length, position);
  if (sync) await handle.datasync();
  await handle.close();
}

/** What a file holds in each crash state ('-' when it is gone), sorted and deduplicated. */
function outcomes(fs: SimFileSystem, file: string): string[] {
  const seen = new Set<string>();
  for (const state of fs.crashStates(ALL).states) {
    seen.add(state.listing().has(file) ? text(state.bytesOf(file)) : '-');
  }
  return [...seen].sort();
}

test('sim fs: a new file exists after a crash only once its directory was synced', async (t) => {
  const fs = new SimFileSystem();
  await fs.mkdir('/d');
  await (await fs.open('/', 'r')).sync();
  const handle = await fs.open('/d/f', 'w');
  await handle.write(Buffer.from('abc'), 0, 3, 0);
  await handle.datasync(); // the data is durable, the name is not
  t.deepEqual(outcomes(fs, '/d/f'), ['-', 'abc']);
  await (await fs.open('/d', 'r')).sync();
  t.deepEqual(outcomes(fs, '/d/f'), ['abc']);
});

test('sim fs: an unsynced append may be lost, kept, or leave the new size with zeros', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/f', Buffer.from('old'), { flush: true });
  await (await fs.open('/', 'r')).sync();
  await write(fs, '/f', 'NEW', 3, false);
  t.deepEqual(outcomes(fs, '/f'), ['old', 'old\0\0\0', 'oldNEW']);
  await write(fs, '/f', 'x', 0, true);
  t.deepEqual(outcomes(fs, '/f'), ['xldNEW'], 'a sync makes everything before it durable');
});

test('sim fs: pages of one unsynced write are kept or lost independently (a hole, later pages intact)', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/f', new Uint8Array(0), { flush: true });
  await (await fs.open('/', 'r')).sync();
  const data = 'a'.repeat(SIM_PAGE_BYTES) + 'b'.repeat(SIM_PAGE_BYTES) + 'c';
  await write(fs, '/f', data, 0, false);
  const found = outcomes(fs, '/f');
  const hole = 'a'.repeat(SIM_PAGE_BYTES) + '\0'.repeat(SIM_PAGE_BYTES) + 'c';
  t.true(found.includes(hole), 'middle page lost, last page kept');
  t.true(found.includes(''), 'all lost');
  t.true(found.includes(data), 'all kept');
  t.true(found.includes('\0'.repeat(data.length)), 'size kept, data lost');
});

test('sim fs: a page rewritten twice may come back as either version or the durable one', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/f', Buffer.from('0000'), { flush: true });
  await (await fs.open('/', 'r')).sync();
  await write(fs, '/f', '1111', 0, false);
  await write(fs, '/f', '2222', 0, false);
  t.deepEqual(outcomes(fs, '/f'), ['0000', '1111', '2222']);
});

test('sim fs: a rename is atomic and pending until the directory sync; unlink likewise', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/a', Buffer.from('A'), { flush: true });
  await fs.writeFile('/b.tmp', Buffer.from('B'), { flush: true });
  await (await fs.open('/', 'r')).sync();
  await fs.rename('/b.tmp', '/b');
  await fs.unlink('/a');
  const listings = new Set<string>();
  for (const state of fs.crashStates(ALL).states)
    listings.add([...state.listing().keys()].join(' '));
  t.deepEqual([...listings].sort(), ['/a /b', '/a /b.tmp', '/b', '/b.tmp']);
  await (await fs.open('/', 'r')).sync();
  t.deepEqual([...fs.crashStates(ALL).states[0].listing().keys()], ['/b']);
});

test('sim fs: a truncate that is not synced may be undone', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/f', Buffer.from('abcdef'), { flush: true });
  await (await fs.open('/', 'r')).sync();
  const handle = await fs.open('/f', 'r+');
  await handle.truncate(2);
  // Also the old size with the page as the truncate left it (zeros): size and page are chosen
  // independently.
  t.deepEqual(outcomes(fs, '/f'), ['ab', 'ab\0\0\0\0', 'abcdef']);
  await handle.datasync();
  t.deepEqual(outcomes(fs, '/f'), ['ab']);
});

test('sim fs: too many states are sampled with the caller’s seed, the extremes first', async (t) => {
  const fs = new SimFileSystem();
  await fs.writeFile('/f', new Uint8Array(0), { flush: true });
  await (await fs.open('/', 'r')).sync();
  await write(fs, '/f', 'z'.repeat(SIM_PAGE_BYTES * 12), 0, false);
  const prng = new Prng(7);
  const result = fs.crashStates({ max: 20, random: () => prng.next() });
  t.true(result.sampled);
  t.true(result.total > 20);
  t.is(result.states.length, 20);
  t.is(result.states[0].bytesOf('/f').length, 0, 'first: everything lost');
  t.is(result.states[1].bytesOf('/f').length, SIM_PAGE_BYTES * 12, 'second: everything kept');
  const again = fs.crashStates({
    max: 20,
    random: (() => {
      const p = new Prng(7);
      return () => p.next();
    })(),
  });
  t.deepEqual(
    again.states.map((s) => text(s.bytesOf('/f'))),
    result.states.map((s) => text(s.bytesOf('/f'))),
    'same seed, same states',
  );
});

test('sim fs: errors carry node’s codes', async (t) => {
  const fs = new SimFileSystem();
  const code = async (action: () => Promise<unknown>): Promise<unknown> =>
    ((await t.throwsAsync(action)) as { code?: string }).code;
  t.is(await code(() => fs.open('/missing', 'r')), 'ENOENT');
  await fs.writeFile('/f', Buffer.from('x'), { flush: false });
  t.is(await code(() => fs.open('/f', 'wx')), 'EEXIST');
  t.is(await code(() => fs.link('/f', '/f')), 'EEXIST');
  t.is(await code(() => fs.unlink('/nope')), 'ENOENT');
  t.is(await code(() => fs.rename('/nope', '/x')), 'ENOENT');
  t.is(await code(() => fs.readdir('/f')), 'ENOTDIR');
});

// The conformance suite again, with every file on a simulated disk of its own per test.
const diskOf = new WeakMap<Engine, SimFileSystem>();

for (const [name, ordered, make] of [
  [
    'bitcask on the simulated fs',
    true,
    (fs: SimFileSystem, dir: string) => new BitcaskEngine(dir, { fs }),
  ],
  [
    'bitcask (tiny files) on the simulated fs',
    true,
    (fs: SimFileSystem, dir: string) => new BitcaskEngine(dir, { fs, fileBytesMax: 1024 }),
  ],
  [
    'memory-log on the simulated fs',
    true,
    (fs: SimFileSystem, dir: string) =>
      new MemoryLogEngine(dir, { fs, fileBytesMax: 1024, compactDeadBytes: 2048 }),
  ],
  [
    'bitcask2 (tiny files, buffer and buckets) on the simulated fs',
    false,
    (fs: SimFileSystem, dir: string) =>
      new Bitcask2Engine(dir, { fs, fileBytesMax: 1024, bufferKeysMax: 3, keysPerBucket: 2 }),
  ],
] as const) {
  runEngineSuite({
    name,
    capabilities: { persistent: true, ordered },
    factory: async () => {
      const fs = new SimFileSystem();
      const engine = make(fs, '/disk/nested/db');
      diskOf.set(engine, fs);
      return { engine, cleanup: async () => undefined };
    },
    reopen: (previous) => {
      const fs = diskOf.get(previous);
      const known = previous instanceof BitcaskEngine || previous instanceof Bitcask2Engine;
      assert(fs !== undefined && known, 'sim suite: reopen of an unknown engine');
      const engine = make(fs, previous.dir);
      diskOf.set(engine, fs);
      return engine;
    },
  });
}
