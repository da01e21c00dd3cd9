/**
 * Issue 11 "Background repair": the store's own scan finds and repairs damage without a key
 * being touched. A closed lsm store gets bit flips in one replica's table files (records that
 * fail their checksum) and loses another replica's directory (that replica's groups start
 * amnesic, marked on disk); it reopens under a write load with a fast repair interval. The
 * scan reports what it found, repairs it, rebuilds the lost replica and clears its amnesia
 * markers, and no acknowledged write is lost: every key reads back its last acknowledged value
 * locally on every replica, and after a reopen the rebuilt replica serves from its own disk.
 *
 * Five replicas: with three, a key damaged on one replica and lost on another could only
 * recover from the third alone (a majority of the others is two), and would wait for good.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PaxosStore } from '../../index';
import type { PaxosStoreOptions, RepairRoundReport } from '../../index';
import { FAST, eventually, tempDir } from './helpers';
import { groupOfKey } from '../../actors/store/routing';
import { NAMESPACE_SEPARATOR } from '../../actors/store/kv';

const REPLICAS = 5;
const GROUPS = 2;
const KEYS = 40;
const VICTIMS = 4;
const WRITERS = 3;

/** Flips one bit in the middle of every occurrence of `needle` in the replica's files ending in `suffix`. */
function flipIn(dir: string, replica: number, needle: Buffer, suffix: string): number {
  let flipped = 0;
  const root = path.join(dir, `replica-${replica}`);
  const files = fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix));
  for (const entry of files) {
    const file = path.join(entry.parentPath, entry.name);
    const bytes = fs.readFileSync(file);
    let here = 0;
    for (let at = bytes.indexOf(needle); at >= 0 && here < 10; at = bytes.indexOf(needle, at + 1)) {
      const mid = at + (needle.length >> 1);
      bytes[mid] = (bytes[mid] ?? 0) ^ 0x08;
      here += 1;
    }
    if (here > 0) fs.writeFileSync(file, bytes);
    flipped += here;
  }
  return flipped;
}

/** The last acknowledged value of each key, and values a failed write may have left instead. */
class Acked {
  readonly last = new Map<string, Buffer>();
  readonly maybe = new Map<string, Buffer[]>();

  async put(store: PaxosStore, key: string, value: Buffer): Promise<void> {
    try {
      await store.kv('n').put(key, value);
      this.last.set(key, value);
      this.maybe.delete(key);
    } catch {
      this.maybe.set(key, [...(this.maybe.get(key) ?? []), value]);
    }
  }

  allowed(key: string): Buffer[] {
    const last = this.last.get(key);
    return [...(last === undefined ? [] : [last]), ...(this.maybe.get(key) ?? [])];
  }
}

async function firstSession(
  options: PaxosStoreOptions,
  acked: Acked,
  victims: Buffer[],
): Promise<void> {
  const store = await PaxosStore.open(options);
  try {
    for (let i = 0; i < KEYS; i++) await acked.put(store, `key-${i}`, Buffer.from(`v1-${i}`));
    for (let i = 0; i < VICTIMS; i++)
      await acked.put(store, `victim-${i}`, victims[i] ?? Buffer.alloc(0));
    // Every replica learns every value, so the victims are in every replica's tables.
    for (let r = 0; r < REPLICAS; r++) {
      for (let i = 0; i < VICTIMS; i++) await store.replica(r).kv('n').get(`victim-${i}`);
    }
  } finally {
    await store.close();
  }
  // A reopen moves LevelDB's log into table files, where random values are stored literally.
  await (await PaxosStore.open(options)).close();
}

function markers(dir: string, replica: number): string[] {
  return Array.from({ length: GROUPS }, (_, g) =>
    path.join(dir, `replica-${replica}`, `group-${g}.amnesic`),
  ).filter((f) => fs.existsSync(f));
}

async function localValues(
  store: PaxosStore,
  replica: number,
  key: string,
): Promise<Buffer | undefined> {
  return (await store.replica(replica).kv('n').get(key, { consistency: 'local' }))?.value;
}

/**
 * lsm: the flips land in table files, where each record has its own checksum: replica 1 holds
 * corrupted records. bitcask: they land in CRC-sealed batch frames that open skips as damage:
 * replica 1's groups turn amnesic too, so two of five replicas are rebuilt (one per round).
 */
async function flippedAndLost(t: ExecutionContext, engine: 'lsm' | 'bitcask'): Promise<void> {
  const dir = tempDir(t, 'pxs-repair-');
  const base: PaxosStoreOptions = {
    ...FAST,
    replicas: REPLICAS,
    groups: GROUPS,
    engine,
    dir,
    sync: 'always',
  };
  const acked = new Acked();
  const victims = Array.from({ length: VICTIMS }, () => randomBytes(1024));
  await firstSession({ ...base, repair: { enabled: false } }, acked, victims);
  for (const v of victims)
    t.true(
      flipIn(dir, 1, v.subarray(400, 464), engine === 'lsm' ? '.ldb' : '.data') >= 1,
      'a victim was found in replica 1 files',
    );
  // bitcask: the groups of replica 1 that held a victim skip a damaged frame and turn amnesic
  // (marked at their first load).
  const victimGroups = [
    ...new Set(victims.map((_, i) => groupOfKey(`n${NAMESPACE_SEPARATOR}victim-${i}`, GROUPS))),
  ];
  const damagedGroups = engine === 'bitcask' ? victimGroups : [];
  fs.rmSync(path.join(dir, 'replica-3'), { recursive: true, force: true });

  const rounds: RepairRoundReport[] = [];
  const store = await PaxosStore.open({
    ...base,
    repair: { intervalMs: 100, keysPerSecond: 20_000, onRound: (r) => rounds.push(r) },
  });
  t.teardown(() => store.close());
  t.is(markers(dir, 3).length, GROUPS, 'the lost replica is marked amnesic');

  // Load: writers overwrite the old keys and add new ones while the scan runs.
  let stop = false;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let n = 0; !stop && n < 2000; n++) {
      const key = n % 2 === 0 ? `key-${(n * WRITERS + w) % KEYS}` : `new-${w}-${n}`;
      // One writer per key at a time: old keys are split between writers by index.
      if (key.startsWith('key-') && Number(key.slice(4)) % WRITERS !== w) continue;
      await acked.put(store, key, Buffer.from(`w${w}-${n}`));
    }
  });
  // Rounds report at their end (a marker goes mid-round): wait for the reports, then the files.
  const expected = [
    ...damagedGroups.map((g) => `1/${g}`),
    ...Array.from({ length: GROUPS }, (_, g) => `3/${g}`),
  ].sort();
  const clearedSoFar = (): string[] =>
    rounds
      .flatMap((r) => r.amnesiaCleared)
      .map((c) => `${c.replica}/${c.group}`)
      .sort();
  const rebuilt = await eventually(async () => clearedSoFar().length >= expected.length, 600, 50);
  t.deepEqual(clearedSoFar(), expected, 'every amnesic group was rebuilt once');
  t.deepEqual([...markers(dir, 1), ...markers(dir, 3)], [], 'no amnesia marker is left');
  stop = true;
  const stoppedAt = Date.now();
  await Promise.all(writers);
  t.true(rebuilt, `the amnesia markers are cleared: ${JSON.stringify(rounds.slice(-2))}`);

  // With the load stopped, a round that finds nothing: every replica at every key's newest state.
  const settled = await eventually(
    async () => {
      const last = rounds.at(-1);
      return (
        last !== undefined &&
        last.startedAt > stoppedAt &&
        last.outcome === 'done' &&
        last.groupsScanned === GROUPS &&
        last.behind + last.diverged + last.corrupted === 0 &&
        last.repairFailed === 0
      );
    },
    600,
    50,
  );
  t.true(settled, `a clean round: ${JSON.stringify(rounds.slice(-2))}`);
  const stats = (await store.stats()).repair;
  if (engine === 'lsm')
    t.true(stats.corrupted >= VICTIMS, `the flipped records were reported (${stats.corrupted})`);
  // Keys are not all "behind" in digests: a key whose newest value is on disk only as an accepted
  // value (chosen-only changes are not written, docs/decisions.md 3) has no chosen state to
  // compare. The rebuild lists records of any kind, so the lost replica gets those too (the
  // local reads below check it: the victims are never touched by the load). Whether a round
  // also counts keys of the lost replica `behind` depends on how far the rebuild got before the
  // round's digests (seen 0 once in CI at load ~3, the rebuild complete and every write there):
  // the rebuild itself is asserted above, what it restored is checked key by key below.
  // lsm's flipped records are corrupted ones, read again through the other replicas; bitcask's
  // damage makes its groups amnesic instead (their rebuild is asserted above).
  if (engine === 'lsm') t.true(stats.repaired > 0, JSON.stringify(stats));
  t.deepEqual(clearedSoFar(), expected, 'and no group was rebuilt twice');

  // No acknowledged write lost, on any replica (local reads: each replica's own state).
  const keys = [...new Set([...acked.last.keys(), ...acked.maybe.keys()])];
  t.true(keys.length > KEYS + VICTIMS, 'the load wrote new keys');
  for (let r = 0; r < REPLICAS; r++) {
    for (const key of keys) {
      const got = await localValues(store, r, key);
      const ok = acked.allowed(key).some((v) => got?.equals(v) === true);
      if (!ok) t.fail(`replica ${r} key ${key}: ${got?.toString('hex').slice(0, 16) ?? 'absent'}`);
    }
  }
  await store.close();

  // The rebuilt replica is trusted again: it serves from its own disk, recovering nothing.
  const again = await PaxosStore.open({ ...base, repair: { enabled: false } });
  t.teardown(() => again.close());
  for (const key of keys.slice(0, 20)) {
    const got = (await again.replica(3).kv('n').get(key))?.value;
    t.true(
      acked.allowed(key).some((v) => got?.equals(v) === true),
      key,
    );
  }
  t.is(
    (await again.stats()).replicas[3]?.recoveries ?? 0,
    0,
    'replica 3 starts as a normal replica',
  );
  if (engine === 'bitcask') {
    // The rebuild acknowledged the damage its open found (the DAMAGE file): replica 1 finds
    // the same damaged frames at this open, and its groups load without turning amnesic again.
    for (let i = 0; i < VICTIMS; i++) await again.replica(1).kv('n').get(`victim-${i}`);
    t.deepEqual(markers(dir, 1), [], 'no group of replica 1 is amnesic again');
  }
}

for (const engine of ['lsm', 'bitcask'] as const) {
  test.serial(
    `${engine}: the background scan repairs flipped records and rebuilds a lost replica under load, losing no acknowledged write`,
    (t) => flippedAndLost(t, engine),
  );
}

test.serial(
  'repair options are validated: unknown fields and bad values are INVALID_ARGUMENT',
  async (t) => {
    const bad: unknown[] = [
      { every: 5 },
      { intervalMs: 0 },
      { keysPerSecond: 1.5 },
      { enabled: 'yes' },
      { onRound: 3 },
      [],
      null,
    ];
    for (const repair of bad) {
      const error = await PaxosStore.open({ repair } as unknown as PaxosStoreOptions).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      t.is(
        (error as { code?: unknown } | undefined)?.code,
        'INVALID_ARGUMENT',
        JSON.stringify(repair),
      );
    }
    const store = await PaxosStore.open({ ...FAST, repair: { enabled: false } });
    t.teardown(() => store.close());
    const stats = (await store.stats()).repair;
    t.false(stats.enabled);
    t.is(stats.rounds, 0);
  },
);

test.serial(
  'lsm: a damaged log record skipped at open makes the group amnesic; the scan rebuilds it and clears the marker',
  async (t) => {
    const dir = tempDir(t, 'pxs-repair-log-');
    const base: PaxosStoreOptions = { ...FAST, groups: GROUPS, engine: 'lsm', dir, sync: 'always' };
    const acked = new Acked();
    let store = await PaxosStore.open({ ...base, repair: { enabled: false } });
    // Every key's newest record is on each replica's LevelDB log (no reopen since).
    for (let i = 0; i < KEYS; i++)
      await acked.put(store, `key-${i}`, Buffer.from(`value-${i}`.repeat(20)));
    await store.close();
    const groupDir = path.join(dir, 'replica-1', 'group-0');
    const log = fs.readdirSync(groupDir).find((f) => f.endsWith('.log'));
    t.truthy(log, 'replica 1 group 0 has a LevelDB log');
    const file = path.join(groupDir, log ?? '');
    const bytes = fs.readFileSync(file);
    t.true(bytes.length > 200, `log of ${bytes.length} bytes`);
    const at = 100;
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;
    fs.writeFileSync(file, bytes);

    const rounds: RepairRoundReport[] = [];
    store = await PaxosStore.open({
      ...base,
      repair: { intervalMs: 100, keysPerSecond: 20_000, onRound: (r) => rounds.push(r) },
    });
    t.teardown(() => store.close());
    const marker = path.join(dir, 'replica-1', 'group-0.amnesic');
    // The group turns amnesic at its first load (a repair read or a client's), marker first.
    const marked = await eventually(
      async () => {
        await store.replica(1).kv('n').get('key-0');
        return fs.existsSync(marker) || rounds.some((r) => r.amnesiaCleared.length > 0);
      },
      200,
      50,
    );
    t.true(marked, 'the damaged group was marked amnesic');
    // Rounds report at their end (the marker goes mid-round): wait for the report.
    const cleared = await eventually(
      async () => rounds.some((r) => r.amnesiaCleared.length > 0),
      600,
      50,
    );
    t.true(cleared, `the rebuild cleared the marker: ${JSON.stringify(rounds.slice(-2))}`);
    t.deepEqual(
      rounds.flatMap((r) => r.amnesiaCleared),
      [{ replica: 1, group: 0 }],
    );
    t.false(fs.existsSync(marker), 'the marker is gone');
    for (let r = 0; r < 3; r++) {
      for (const [key, value] of acked.last)
        t.deepEqual((await store.replica(r).kv('n').get(key))?.value, value, `replica ${r} ${key}`);
    }
  },
);

test.serial(
  'the scan yields to foreground load without giving up: rounds pause while busy and still complete',
  async (t) => {
    const store = await PaxosStore.open({ ...FAST, repair: { intervalMs: 20, busyInFlight: 0 } });
    t.teardown(() => store.close());
    let stop = false;
    let written = 0;
    // Eight writers keep requests in flight nearly all the time; busyInFlight 0 calls any busy.
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; !stop && n < 100_000; n++) {
        await store.kv('load').put(`k-${w}-${n % 50}`, `v-${n}`);
        written += 1;
      }
    });
    const rounds = await eventually(
      async () => {
        const { repair } = await store.stats();
        return repair.busyPauses > 0 && repair.rounds >= 2;
      },
      500,
      20,
    );
    const writtenDuring = written;
    stop = true;
    await Promise.all(writers);
    t.true(rounds, JSON.stringify((await store.stats()).repair));
    t.true(writtenDuring > 0, 'the writers ran while the rounds did');
  },
);
