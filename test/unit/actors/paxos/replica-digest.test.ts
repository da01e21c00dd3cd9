/**
 * The replica-alignment digest (actors/paxos/replica-digest.ts): what a key's digest covers,
 * how buckets fold, and which source wins for a key (memory over disk, recovering keys not
 * digested, corrupted records named).
 */
import test from 'ava';
import { emptyRecord } from '../../../../actors/paxos/core/key-record';
import type { KeyRecord } from '../../../../actors/paxos/core/types';
import { encodeSealedRecord } from '../../../../actors/paxos/codec';
import {
  DIGEST_STATES_MAX,
  STORED_KEYS_PER_TURN,
  bucketOf,
  digestReplica,
  isDigestRequest,
  keyDigest,
} from '../../../../actors/paxos/replica-digest';
import type { DigestRequest, HeldRecord } from '../../../../actors/paxos/replica-digest';
import { engineError } from '../../../../engines/errors';
import type { Offload } from '../../../../runtime/actor';
import { RuntimeError } from '../../../../runtime/errors';
import { OffloadPool } from '../../../../runtime/offload-pool';
import { windowOf } from '../../../../actors/paxos/core/recent-window';

function rec(chosen: number, version: number, data: string | null): KeyRecord {
  return {
    ...emptyRecord(),
    chosen,
    chosenOrigin: 0,
    chosenSeq: 1,
    version,
    data: data === null ? null : Buffer.from(data),
  };
}

const ALL: DigestRequest = { kind: 'digest', buckets: 4, list: [0, 1, 2, 3], listKeysMax: 100 };

async function* stored(
  entries: [string, Uint8Array][],
  failAfter?: number,
): AsyncIterable<[string, Uint8Array]> {
  let i = 0;
  for (const e of entries) {
    if (failAfter !== undefined && i === failAfter)
      throw engineError('CORRUPTED', 'bad record in the middle');
    i += 1;
    yield e;
  }
}

test('a key digest changes with the key, the instance, the chosen id, the version and every data byte', (t) => {
  const base = keyDigest('k', rec(3, 2, 'abc'));
  t.is(keyDigest('k', rec(3, 2, 'abc')), base, 'deterministic');
  for (const [what, other] of [
    ['key', keyDigest('k2', rec(3, 2, 'abc'))],
    ['instance', keyDigest('k', rec(4, 2, 'abc'))],
    ['chosen origin', keyDigest('k', { ...rec(3, 2, 'abc'), chosenOrigin: 1 })],
    ['chosen seq', keyDigest('k', { ...rec(3, 2, 'abc'), chosenSeq: 2 })],
    ['version', keyDigest('k', rec(3, 3, 'abc'))],
    ['data', keyDigest('k', rec(3, 2, 'abd'))],
    ['absent vs empty', keyDigest('k', rec(3, 2, null))],
  ] as const) {
    t.not(other, base, what);
  }
  t.not(keyDigest('k', rec(3, 2, null)), keyDigest('k', rec(3, 2, '')), 'deleted is not empty');
});

test('buckets are stable, in range, and spread keys', (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const b = bucketOf(`key-${i}`, 16);
    t.true(b >= 0 && b < 16);
    t.is(bucketOf(`key-${i}`, 16), b);
    seen.add(b);
  }
  t.is(seen.size, 16);
});

test('requests are validated', (t) => {
  t.true(isDigestRequest(ALL));
  t.true(isDigestRequest({ ...ALL, states: ['a', 'b'] }));
  const tooMany = Array.from({ length: DIGEST_STATES_MAX + 1 }, (_, i) => `k${i}`);
  for (const bad of [
    null,
    {},
    { ...ALL, kind: 'x' },
    { ...ALL, buckets: 0 },
    { ...ALL, buckets: 5000 },
    { ...ALL, list: [4] },
    { ...ALL, listKeysMax: -1 },
    { ...ALL, states: 'a' },
    { ...ALL, states: [1] },
    { ...ALL, states: tooMany },
  ]) {
    t.false(isDigestRequest(bad), JSON.stringify(bad));
  }
});

test('the same keys met in any order, from memory or from disk, give the same buckets', async (t) => {
  const keys: [string, KeyRecord][] = Array.from({ length: 30 }, (_, i) => [
    `k${i}`,
    rec(i + 1, i, `v${i}`),
  ]);
  const fromMemory = await digestReplica(
    ALL,
    keys.map(([key, r]): HeldRecord => ({ key, status: 'ready', rec: r })),
    undefined,
  );
  const fromDisk = await digestReplica(
    ALL,
    [],
    stored(keys.reverse().map(([k, r]) => [k, encodeSealedRecord(r)])),
  );
  t.deepEqual(fromDisk.buckets, fromMemory.buckets);
  t.is(fromMemory.keys, 30);
  t.is(fromDisk.listed.length, 30);
  t.true(fromMemory.complete);
});

test('memory wins over disk; loading keys count from disk; recovering keys are unsettled; nothing-chosen keys are skipped', async (t) => {
  const held: HeldRecord[] = [
    { key: 'fresh', status: 'ready', rec: rec(5, 5, 'new') },
    { key: 'loading', status: 'loading', rec: emptyRecord() },
    { key: 'amnesic', status: 'recovering', rec: emptyRecord() },
    { key: 'promised-only', status: 'ready', rec: { ...emptyRecord(), promised: 7 } },
  ];
  const disk: [string, Uint8Array][] = [
    ['fresh', encodeSealedRecord(rec(4, 4, 'old'))],
    ['loading', encodeSealedRecord(rec(2, 1, 'disk'))],
    ['amnesic', encodeSealedRecord(rec(9, 9, 'stale'))],
  ];
  const answer = await digestReplica(ALL, held, stored(disk));
  t.is(answer.keys, 2);
  t.is(answer.unsettled, 1);
  const listed = Object.fromEntries(answer.listed.map((k) => [k.key, [k.chosen, k.version]]));
  t.deepEqual(listed, { fresh: [5, 5], loading: [2, 1] });
});

test('a record that fails its checksum is named as corrupted, never digested', async (t) => {
  const good = encodeSealedRecord(rec(1, 1, 'good'));
  const bad = encodeSealedRecord(rec(1, 1, 'flipped'));
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x40;
  const answer = await digestReplica(
    ALL,
    [],
    stored([
      ['a', good],
      ['b', bad],
    ]),
  );
  t.is(answer.keys, 1);
  t.is(answer.corrupted, 1);
  t.deepEqual(answer.corruptedKeys, ['b']);
  t.deepEqual(
    answer.listed.map((k) => k.key),
    ['a'],
  );
  // Still reported while the key recovers in memory; no longer once memory holds it settled.
  const recovering = await digestReplica(
    ALL,
    [{ key: 'b', status: 'recovering', rec: emptyRecord() }],
    stored([['b', bad]]),
  );
  t.deepEqual([recovering.unsettled, recovering.corruptedKeys], [1, ['b']]);
  const repaired = await digestReplica(
    ALL,
    [{ key: 'b', status: 'ready', rec: rec(1, 1, 'flipped') }],
    stored([['b', bad]]),
  );
  t.deepEqual([repaired.keys, repaired.corrupted], [1, 0]);
});

test('an engine scan that stops on a corrupted record marks the answer incomplete', async (t) => {
  const entries: [string, Uint8Array][] = ['a', 'b', 'c'].map((k) => [
    k,
    encodeSealedRecord(rec(1, 1, k)),
  ]);
  const answer = await digestReplica(ALL, [], stored(entries, 2));
  t.false(answer.complete);
  t.regex(answer.scanError ?? '', /CORRUPTED/);
  t.is(answer.keys, 2);
});

test('only the requested buckets are listed, up to listKeysMax', async (t) => {
  const held: HeldRecord[] = Array.from({ length: 50 }, (_, i) => ({
    key: `k${i}`,
    status: 'ready',
    rec: rec(1, 1, 'x'),
  }));
  const one = await digestReplica(
    { kind: 'digest', buckets: 4, list: [2], listKeysMax: 100 },
    held,
    undefined,
  );
  t.true(one.listed.length > 0);
  t.true(one.listed.every((k) => bucketOf(k.key, 4) === 2));
  const capped = await digestReplica(
    { kind: 'digest', buckets: 4, list: [0, 1, 2, 3], listKeysMax: 10 },
    held,
    undefined,
  );
  t.is(capped.listed.length, 10);
  t.true(capped.listTruncated);
});

test('the states asked for come whole, copied at the cut, from memory or from disk', async (t) => {
  const live = {
    ...rec(4, 3, 'mem'),
    ...windowOf([{ instance: 4, origin: 0, seq: 1, result: Uint8Array.of(7) }]),
  };
  const held: HeldRecord[] = [
    { key: 'held', status: 'ready', rec: live },
    { key: 'amnesic', status: 'recovering', rec: emptyRecord() },
  ];
  const disk: [string, Uint8Array][] = [
    ['on-disk', encodeSealedRecord(rec(2, 1, 'disk'))],
    ['not-asked', encodeSealedRecord(rec(2, 1, 'other'))],
  ];
  const request: DigestRequest = {
    kind: 'digest',
    buckets: 4,
    list: [],
    listKeysMax: 0,
    states: ['held', 'on-disk', 'amnesic', 'absent'],
  };
  const pending = digestReplica(request, held, stored(disk));
  live.chosen = 5; // the core moves on while the disk is scanned
  const answer = await pending;
  const byKey = Object.fromEntries(answer.states.map((s) => [s.key, s]));
  t.deepEqual(
    Object.keys(byKey).sort(),
    ['held', 'on-disk'],
    'recovering and absent keys have no state',
  );
  t.is(byKey['held']?.chosen, 4);
  t.is(Buffer.from(byKey['held']?.data ?? []).toString(), 'mem');
  t.deepEqual(
    byKey['held']?.recent.map((e) => [...e.result]),
    [[7]],
  );
  t.is(
    byKey['held']?.digest,
    keyDigest('held', rec(4, 3, 'mem'))
      .toString(16)
      .padStart(16, '0'),
  );
  t.deepEqual([byKey['on-disk']?.chosen, byKey['on-disk']?.version], [2, 1]);
  t.deepEqual(answer.listed, []);
});

/** A group of every kind of key: held, on disk, recovering, corrupted, large and small values. */
function mixedGroup(): {
  held: HeldRecord[];
  disk: [string, Uint8Array][];
  request: DigestRequest;
} {
  const held: HeldRecord[] = [];
  const disk: [string, Uint8Array][] = [];
  for (let i = 0; i < 300; i++) {
    const size = i % 7 === 0 ? 20_000 + i : i % 50;
    const r = rec(i + 1, i, 'x'.repeat(size) + String(i));
    if (i % 3 === 0)
      held.push({ key: `k${i}`, status: i % 30 === 0 ? 'recovering' : 'ready', rec: r });
    else disk.push([`k${i}`, encodeSealedRecord(i % 3 === 1 ? r : rec(i + 1, i, null))]);
  }
  const bad = encodeSealedRecord(rec(1, 1, 'flipped'));
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x40;
  disk.push(['bad', bad]);
  const request: DigestRequest = {
    kind: 'digest',
    buckets: 8,
    list: [1, 5],
    listKeysMax: 40,
    states: ['k3', 'k7', 'k8', 'k30'],
  };
  return { held, disk, request };
}

const TINY_SLICES = { sliceBytesMax: 4096, sliceKeysMax: 16, offloadBytesMin: 1024 };

test('hashing in the offload pool, in slices, gives the same answer as hashing inline', async (t) => {
  const pool = new OffloadPool();
  try {
    const { held, disk, request } = mixedGroup();
    const inline = await digestReplica(request, held, stored(disk));
    const offloaded = await digestReplica(request, held, stored(disk), {
      offload: pool,
      limits: TINY_SLICES,
    });
    const defaults = await digestReplica(request, held, stored(disk), { offload: pool });
    t.true(pool.stats().tasksRun > 2, `slices hashed in the pool: ${pool.stats().tasksRun}`);
    t.deepEqual(offloaded, inline);
    t.deepEqual(defaults, inline);
    t.true(
      inline.listTruncated &&
        inline.corrupted === 1 &&
        inline.unsettled > 0 &&
        inline.states.length === 3,
    );
  } finally {
    await pool.close();
  }
});

test('a busy pool leaves the hashing to the actor thread; a closed pool fails the scan', async (t) => {
  const { held, disk, request } = mixedGroup();
  const inline = await digestReplica(request, held, stored(disk));
  let refused = 0;
  const busy: Offload = {
    run: () => {
      refused++;
      return Promise.reject(new RuntimeError('PXS_OFFLOAD_BUSY', 'full'));
    },
  };
  t.deepEqual(
    await digestReplica(request, held, stored(disk), { offload: busy, limits: TINY_SLICES }),
    inline,
  );
  t.true(refused > 0);
  const closed = new OffloadPool();
  await closed.close();
  const error = await t.throwsAsync(() =>
    digestReplica(request, held, stored(disk), { offload: closed, limits: TINY_SLICES }),
  );
  t.is((error as RuntimeError).code, 'PXS_OFFLOAD_CLOSED');
});

// The cut keeps each held key's fields and a reference to its data array: the core replaces
// rec.data on every apply (models are pure), it never writes into it.
test('held records are taken at the cut when hashing is offloaded', async (t) => {
  const pool = new OffloadPool();
  try {
    const live = rec(4, 3, 'm'.repeat(5000));
    const held: HeldRecord[] = [{ key: 'held', status: 'ready', rec: live }];
    const request: DigestRequest = {
      kind: 'digest',
      buckets: 2,
      list: [0, 1],
      listKeysMax: 10,
      states: ['held'],
    };
    const pending = digestReplica(request, held, stored([]), {
      offload: pool,
      limits: TINY_SLICES,
    });
    live.chosen = 5; // the core moves on while the slices are hashed
    live.data = Buffer.from('replaced');
    const answer = await pending;
    const expected = keyDigest('held', rec(4, 3, 'm'.repeat(5000)))
      .toString(16)
      .padStart(16, '0');
    t.is(answer.listed[0]?.digest, expected);
    t.is(answer.states[0]?.digest, expected);
    t.is(pool.stats().tasksRun, 1);
  } finally {
    await pool.close();
  }
});

test('a stored scan that never waits still lets the thread run other work every STORED_KEYS_PER_TURN records', async (t) => {
  // The memory engine's arena answers its scan in microtasks only: without turns of its own
  // the fold would hold the actor's thread (its Paxos rounds and requests) for a whole group.
  const n = STORED_KEYS_PER_TURN * 3 + 5;
  const entries: [string, Uint8Array][] = Array.from({ length: n }, (_, i) => [
    `k${i}`,
    encodeSealedRecord(rec(1, 1, 'v')),
  ]);
  let ticks = 0;
  let seenAt = -1;
  let folded = 0;
  async function* counting(): AsyncIterable<[string, Uint8Array]> {
    for (const e of entries) {
      folded += 1;
      yield e;
    }
  }
  let timer: NodeJS.Immediate | undefined;
  const tick = (): void => {
    ticks += 1;
    if (seenAt < 0) seenAt = folded;
    timer = folded < n ? setImmediate(tick) : undefined;
  };
  timer = setImmediate(tick);
  const answer = await digestReplica(ALL, [], counting());
  if (timer !== undefined) clearImmediate(timer);
  t.is(answer.keys, n);
  t.true(ticks >= 3, `other work ran ${ticks} times during the scan`);
  t.true(seenAt > 0 && seenAt <= STORED_KEYS_PER_TURN + 1, `first turn after ${seenAt} records`);
});
