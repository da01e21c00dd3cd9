/**
 * The small table and the JSON document through the public API (issue #4): table cells, rows,
 * whole-table reads, deletes and versions; thousands of one-cell writes in concurrent batches
 * (the change section merges many times) read back identically through every replica;
 * TABLE_TOO_LARGE exactly at the 20 MiB boundary, changing nothing. Documents: atomic
 * multi-op updates, incr values, append, remove, ifVersion (0 = only if absent), failed
 * updates changing nothing (WRONG_TYPE, TOO_LARGE), bad ops (INVALID_ARGUMENT), one model per
 * name across tables, documents and queues, linearizable reads through every replica (and a
 * random concurrent history checked against the sequential specs), and an lsm reopen.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { PaxosStore, PaxosStoreError } from '../../index';
import type { Doc, DocOp, JsonValue, Table } from '../../index';
import {
  TABLE_BYTES_MAX,
  TABLE_CELL_OVERHEAD,
  TABLE_HEADER_BYTES,
  TABLE_ROW_OVERHEAD,
} from '../../models/table/table';
import { DOC_BYTES_MAX, DOC_UPDATE_OPS_MAX } from '../../models/doc/doc';
import { checkHistory } from '../sim/linearizability';
import type { HistoryOp, Model } from '../sim/linearizability';
import { tableModel } from '../sim/models/table-model';
import type { TableInput, TableOutput, TableSpecState } from '../sim/models/table-model';
import { canonicalJson, docModel } from '../sim/models/doc-model';
import type { DocInput, DocOutput, DocSpecState } from '../sim/models/doc-model';
import { FAST, codeOf, eventually, openStore, tempDir } from './helpers';

type Rows = Record<string, Record<string, string>>;

const textCells = (cells: Record<string, Buffer>): Record<string, string> =>
  Object.fromEntries(Object.entries(cells).map(([col, v]) => [col, v.toString()]));
const textRows = (rows: Record<string, Record<string, Buffer>>): Rows =>
  Object.fromEntries(Object.entries(rows).map(([row, cells]) => [row, textCells(cells)]));

/** The public signatures are typed; bad input comes from untyped callers. */
type Loose<T> = { [K in keyof T]: (...args: unknown[]) => Promise<unknown> };
const loose = <T>(x: T): Loose<T> => x as unknown as Loose<T>;

async function rejects(
  t: ExecutionContext,
  p: Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  const error = await t.throwsAsync(p, undefined, what);
  t.true(error instanceof PaxosStoreError, what);
  t.is(codeOf(error), code, what);
}

/**
 * Runs a write that is idempotent in its effect on the data (set a cell to a value, delete),
 * retrying when racing proposers leave its outcome unknown; any other failure fails the test.
 */
async function settle<T>(
  t: ExecutionContext,
  what: string,
  run: () => Promise<T>,
  counts: { unknown: number },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      t.is(codeOf(error), 'UNKNOWN_OUTCOME', what);
      if (attempt > 20) throw error;
      counts.unknown += 1;
    }
  }
}

// ---- tables ----

test('table: cells, rows and the whole table; deletes; versions count mutations', async (t) => {
  const store = await openStore(t);
  const tb = store.table('users');
  t.is(await tb.get('alice', 'email'), undefined);
  t.deepEqual(await tb.row('alice'), {});
  t.deepEqual(await tb.all(), {});

  t.deepEqual(await tb.set('alice', 'email', 'a@x'), { version: 1 });
  t.deepEqual(await tb.set('alice', 'city', 'Lisbon'), { version: 2 });
  t.deepEqual(await tb.set('bob', 'email', Uint8Array.of(0, 255, 1)), { version: 3 });
  t.deepEqual(await tb.set('bob', 'note', ''), { version: 4 });
  t.deepEqual(
    await tb.set('alice', 'email', 'alice@x'),
    { version: 5 },
    'an overwrite is a mutation',
  );
  t.deepEqual(
    await tb.set('alice', 'email', 'alice@x'),
    { version: 6 },
    'so is writing the same value again',
  );
  t.deepEqual(await tb.set('ünï/cødé 🙂', 'c.o.l', 'v'), { version: 7 });

  t.deepEqual(await tb.get('alice', 'email'), Buffer.from('alice@x'));
  t.deepEqual(await tb.get('bob', 'email'), Buffer.from([0, 255, 1]), 'binary values round-trip');
  t.deepEqual(
    await tb.get('bob', 'note'),
    Buffer.alloc(0),
    'an empty value is a value, not absent',
  );
  t.is(await tb.get('bob', 'city'), undefined);
  t.is(await tb.get('carol', 'email'), undefined);
  t.deepEqual(textCells(await tb.row('alice')), { city: 'Lisbon', email: 'alice@x' });
  t.deepEqual(Object.keys(await tb.row('alice')), ['city', 'email'], 'columns in order');
  t.deepEqual(await tb.row('bob'), { email: Buffer.from([0, 255, 1]), note: Buffer.alloc(0) });
  t.deepEqual(textRows(await tb.all()), {
    alice: { city: 'Lisbon', email: 'alice@x' },
    bob: { email: '\u0000\uFFFD\u0001', note: '' },
    'ünï/cødé 🙂': { 'c.o.l': 'v' },
  });
  t.deepEqual(Object.keys(await tb.all()), ['alice', 'bob', 'ünï/cødé 🙂'], 'rows in order');

  // Deletes that remove something are mutations; those that remove nothing are not.
  t.deepEqual(await tb.delete('alice', 'city'), { version: 8 });
  t.deepEqual(
    await tb.delete('alice', 'city'),
    { version: 8 },
    'deleting an absent cell changes nothing',
  );
  t.deepEqual(await tb.delete('nobody', 'city'), { version: 8 });
  t.deepEqual(
    await tb.deleteRow('nobody'),
    { version: 8 },
    'deleting an absent row changes nothing',
  );
  t.is(await tb.get('alice', 'city'), undefined);
  t.deepEqual(textCells(await tb.row('alice')), { email: 'alice@x' });
  t.deepEqual(await tb.deleteRow('bob'), { version: 9 }, 'deleteRow of two cells is one mutation');
  t.deepEqual(await tb.row('bob'), {});
  t.is(await tb.get('bob', 'email'), undefined);
  t.deepEqual(
    await tb.set('bob', 'city', 'Oslo'),
    { version: 10 },
    'a deleted row can be written again',
  );
  t.deepEqual(
    textCells(await tb.row('bob')),
    { city: 'Oslo' },
    'only the new cell: deleteRow hid the old ones',
  );
  t.deepEqual(textRows(await tb.all()), {
    alice: { email: 'alice@x' },
    bob: { city: 'Oslo' },
    'ünï/cødé 🙂': { 'c.o.l': 'v' },
  });

  // Emptied, the table is gone and the name is free; the version keeps counting.
  t.deepEqual(await tb.deleteRow('alice'), { version: 11 });
  t.deepEqual(await tb.delete('bob', 'city'), { version: 12 });
  t.deepEqual(await tb.deleteRow('ünï/cødé 🙂'), { version: 13 });
  t.deepEqual(await tb.all(), {});
  t.deepEqual(await store.queue('users').push('now a queue'), { length: 1, version: 14 });
  await rejects(t, tb.set('x', 'y', 'z'), 'WRONG_TYPE', 'a queue refuses table writes');
  t.is((await store.queue('users').pop())?.toString(), 'now a queue');
  t.deepEqual(await tb.set('x', 'y', 'z'), { version: 16 }, 'a table again');
});

test('table: bad input rejects with INVALID_ARGUMENT and changes nothing', async (t) => {
  const store = await openStore(t, { valueBytesMax: 16 });
  const tb = store.table('t');
  await tb.set('r', 'c', 'keep');
  const lt = loose(tb);
  const badNames: unknown[] = [
    '',
    42,
    undefined,
    null,
    'a'.repeat(1025),
    'ab\uD800',
    Buffer.from('r'),
  ];
  const calls: [string, () => Promise<unknown>][] = [
    ['set value 17 bytes', () => tb.set('r', 'c', 'x'.repeat(17))],
    ['set value number', () => lt.set('r', 'c', 42)],
    ['set value undefined', () => lt.set('r', 'c')],
    ['set value array', () => lt.set('r', 'c', ['v'])],
    ['get options', () => lt.get('r', 'c', { consistency: 'strong' })],
    ['row options', () => lt.row('r', null)],
    ['all options', () => lt.all('x')],
  ];
  for (const name of badNames) {
    const n = JSON.stringify(name) ?? String(name);
    calls.push(
      [`set row ${n}`, () => lt.set(name, 'c', 'v')],
      [`set col ${n}`, () => lt.set('r', name, 'v')],
    );
    calls.push(
      [`get row ${n}`, () => lt.get(name, 'c')],
      [`get col ${n}`, () => lt.get('r', name)],
    );
    calls.push(
      [`delete ${n}`, () => lt.delete('r', name)],
      [`deleteRow ${n}`, () => lt.deleteRow(name)],
    );
    calls.push([`row ${n}`, () => lt.row(name)]);
  }
  for (const [what, call] of calls) await rejects(t, call(), 'INVALID_ARGUMENT', what);
  for (const name of badNames) {
    for (const make of [
      () => store.table(name as string),
      () => store.replica(1).table(name as string),
      () => store.doc(name as string),
      () => store.replica(2).doc(name as string),
    ]) {
      const error = t.throws(make, undefined, String(name));
      t.is(codeOf(error), 'INVALID_ARGUMENT', String(name));
    }
  }
  t.deepEqual(textRows(await tb.all()), { r: { c: 'keep' } });
  t.deepEqual(
    await tb.set('r', 'c', 'x'.repeat(16)),
    { version: 2 },
    'a value at the limit is fine; nothing else was applied',
  );
  t.is((await store.stats()).inFlight, 0);
});

test.serial(
  'table: thousands of one-cell writes in concurrent batches through every replica read back identically everywhere',
  async (t) => {
    const store = await openStore(t);
    const name = 'many';
    const ROWS = 37;
    const CELLS = 1200; // distinct cells; each is written twice
    const BATCH = 60; // divides CELLS: one batch never writes one cell twice
    const expected = new Map<string, Map<string, string>>();
    const cellOf = (k: number): { row: string; col: string } => ({
      row: `r${(k % CELLS) % ROWS}`,
      col: `c${k % CELLS}`,
    });
    const counts = { unknown: 0 };
    const versions: number[] = [];
    const started = performance.now();
    for (let base = 0; base < 2 * CELLS; base += BATCH) {
      const batch = Array.from({ length: BATCH }, (_, j) => base + j);
      const acked = await Promise.all(
        batch.map((k) => {
          const { row, col } = cellOf(k);
          const value = `v${k}-${'x'.repeat(k % 23)}`;
          return settle(
            t,
            `set ${row}/${col}`,
            () =>
              store
                .replica(k % 3)
                .table(name)
                .set(row, col, value),
            counts,
          );
        }),
      );
      versions.push(...acked.map((a) => a.version));
      for (const k of batch) {
        const { row, col } = cellOf(k);
        const cells = expected.get(row) ?? new Map<string, string>();
        cells.set(col, `v${k}-${'x'.repeat(k % 23)}`);
        expected.set(row, cells);
      }
    }
    t.is(
      new Set(versions).size,
      versions.length,
      'every acknowledged set has a version of its own',
    );
    if (counts.unknown === 0)
      t.deepEqual(
        [...versions].sort((a, b) => a - b),
        versions.map((_, i) => i + 1),
      );

    // Tombstones and row deletes over a merged table, concurrently too.
    const deletes = Array.from({ length: CELLS }, (_, k) => k).filter((k) => k % 7 === 0);
    for (let i = 0; i < deletes.length; i += BATCH) {
      await Promise.all(
        deletes.slice(i, i + BATCH).map((k) => {
          const { row, col } = cellOf(k);
          return settle(
            t,
            `delete ${row}/${col}`,
            () =>
              store
                .replica(k % 3)
                .table(name)
                .delete(row, col),
            counts,
          );
        }),
      );
    }
    for (const k of deletes) expected.get(cellOf(k).row)?.delete(cellOf(k).col);
    await Promise.all(
      ['r3', 'r5', 'r30'].map((row, i) =>
        settle(t, `deleteRow ${row}`, () => store.replica(i).table(name).deleteRow(row), counts),
      ),
    );
    for (const row of ['r3', 'r5', 'r30']) expected.delete(row);
    // A few more cells after the deletes, left pending in the change section.
    for (let i = 0; i < 5; i++) {
      await store
        .replica(i % 3)
        .table(name)
        .set('r3', `late${i}`, `l${i}`);
      expected.set(
        'r3',
        (expected.get('r3') ?? new Map<string, string>()).set(`late${i}`, `l${i}`),
      );
    }
    const want: Rows = Object.fromEntries(
      [...expected].map(([row, cells]) => [row, Object.fromEntries(cells)]),
    );
    const cellCount = Object.values(want).reduce((n, cells) => n + Object.keys(cells).length, 0);
    t.true(cellCount > CELLS / 2, `${cellCount} cells`);

    for (let r = 0; r < 3; r++) {
      const tb = store.replica(r).table(name);
      t.deepEqual(textRows(await tb.all()), want, `all() via replica ${r}`);
      for (const row of ['r0', 'r3', 'r5', 'r36', 'nope'])
        t.deepEqual(textCells(await tb.row(row)), want[row] ?? {}, `row ${row} via replica ${r}`);
      for (const k of [0, 1, 7, 8, 100, CELLS - 1]) {
        const { row, col } = cellOf(k);
        t.is(
          (await tb.get(row, col))?.toString(),
          want[row]?.[col],
          `get ${row}/${col} via replica ${r}`,
        );
      }
    }
    t.log(
      `${versions.length} sets + ${deletes.length} deletes in ${Math.round(performance.now() - started)} ms, ${counts.unknown} unknown outcomes retried`,
    );
  },
);

test.serial(
  'table: TABLE_TOO_LARGE exactly past 20 MiB, and the refused write changes nothing',
  async (t) => {
    const store = await openStore(t);
    const tb = store.table('huge');
    const VALUE = 256 * 1024; // the default valueBytesMax
    const col = (i: number): string => `c${String(i).padStart(3, '0')}`;
    const cellCost = (c: string, valueBytes: number): number =>
      TABLE_CELL_OVERHEAD + Buffer.byteLength(c) + valueBytes;
    let size = TABLE_HEADER_BYTES + TABLE_ROW_OVERHEAD + 1; // row 'r'
    let n = 0;
    let version = 0;
    while (size + cellCost(col(n), VALUE) + cellCost(col(n + 1), 0) <= TABLE_BYTES_MAX) {
      ({ version } = await tb.set('r', col(n), Buffer.alloc(VALUE, n % 251)));
      size += cellCost(col(n), VALUE);
      n += 1;
    }
    // One more cell fills the table to exactly the limit.
    const last = TABLE_BYTES_MAX - size - cellCost(col(n), 0);
    t.true(last >= 0 && last <= VALUE, `last value ${last}`);
    ({ version } = await tb.set('r', col(n), Buffer.alloc(last, 7)));
    t.is(version, n + 1);
    n += 1;
    t.log(`${n} cells fill the table to ${TABLE_BYTES_MAX} bytes`);

    const refusals: [string, (tbl: Table) => Promise<unknown>][] = [
      ['a new empty cell', (tbl) => tbl.set('r', 'z', '')],
      ['a new row', (tbl) => tbl.set('s', 'c', '')],
      [
        'the last cell one byte longer',
        (tbl) => tbl.set('r', col(n - 1), Buffer.alloc(last + 1, 8)),
      ],
      [
        'a cell grown to the value limit',
        (tbl) => tbl.set('r', col(n - 1), Buffer.alloc(VALUE, 9)),
      ],
    ];
    for (const [what, call] of refusals) {
      for (let r = 0; r < 3; r++)
        await rejects(
          t,
          call(store.replica(r).table('huge')),
          'TABLE_TOO_LARGE',
          `${what} via replica ${r}`,
        );
    }
    // Nothing changed: every cell as written, through every replica; the version did not move.
    for (let r = 0; r < 3; r++) {
      const sample = [0, 1, 13, 40, 77, n - 2];
      const cells = await Promise.all(
        sample.map((i) => store.replica(r).table('huge').get('r', col(i))),
      );
      t.true(
        cells.every(
          (v, j) => v?.length === VALUE && v.every((b) => b === (sample[j] as number) % 251),
        ),
        `values via replica ${r}`,
      );
      t.deepEqual(
        await store
          .replica(r)
          .table('huge')
          .get('r', col(n - 1)),
        Buffer.alloc(last, 7),
      );
      t.is(await store.replica(r).table('huge').get('r', 'z'), undefined);
      t.deepEqual(await store.replica(r).table('huge').row('s'), {});
    }
    t.deepEqual(
      await tb.set('r', col(n - 1), Buffer.alloc(last, 6)),
      { version: version + 1 },
      'a same-size overwrite fits exactly',
    );
    t.deepEqual(await tb.delete('r', col(0)), { version: version + 2 }, 'deletes always fit');
    t.deepEqual(await tb.set('s', 'c', 'now it fits'), { version: version + 3 });
    t.is((await tb.get('s', 'c'))?.toString(), 'now it fits');
  },
);

// ---- documents ----

test('doc: an update applies all its ops atomically; incr answers values; append; remove; get by path', async (t) => {
  const store = await openStore(t);
  const d = store.doc('order');
  t.is(await d.get(), undefined, 'a document never written is absent');
  t.is(await d.get('a.b'), undefined);

  t.deepEqual(
    await d.update([
      { op: 'set', path: 'customer.name', value: 'Ann' },
      { op: 'set', path: 'customer.tags', value: ['new', 1, true, null, { k: 'v' }] },
      { op: 'incr', path: 'count', by: 3 },
      { op: 'incr', path: 'count', by: -1 },
      { op: 'append', path: 'log', value: 'created' },
      { op: 'incr', path: 'stats.views' } as unknown as DocOp,
    ]),
    { version: 1, values: [3, 2, 1] },
    'missing objects are created; incr starts at 0 and defaults to by 1',
  );
  t.deepEqual(await d.get(), {
    count: 2,
    customer: { name: 'Ann', tags: ['new', 1, true, null, { k: 'v' }] },
    log: ['created'],
    stats: { views: 1 },
  });
  t.is(await d.get('customer.name'), 'Ann');
  t.deepEqual(await d.get('customer'), { name: 'Ann', tags: ['new', 1, true, null, { k: 'v' }] });
  t.is(await d.get('customer.tags.0'), undefined, 'paths walk objects only, not arrays');
  t.is(await d.get('count.x'), undefined, 'nor scalars');
  t.is(await d.get('nope'), undefined);
  t.deepEqual(await d.get(''), await d.get(), "'' is the whole document");

  t.deepEqual(
    await d.update([
      { op: 'append', path: 'log', value: { at: 2 } },
      { op: 'append', path: 'log', value: [1, 2] },
      { op: 'remove', path: 'customer.tags' },
      { op: 'remove', path: 'not.there' },
      { op: 'set', path: 'customer.name', value: 'Anna' },
      { op: 'incr', path: 'count', by: 40 },
    ]),
    { version: 2, values: [42] },
  );
  t.deepEqual(await d.get(), {
    count: 42,
    customer: { name: 'Anna' },
    log: ['created', { at: 2 }, [1, 2]],
    stats: { views: 1 },
  });
  t.deepEqual(
    await d.update([{ op: 'remove', path: 'not.there' }]),
    { version: 3, values: [] },
    'an update that changes no byte is still an update',
  );
  t.deepEqual(
    await d.update([
      { op: 'set', path: 'x', value: 1 },
      { op: 'remove', path: 'x' },
      { op: 'incr', path: 'x', by: 5 },
    ]),
    { version: 4, values: [5] },
    'ops apply in order, each seeing the ones before',
  );
  t.deepEqual(await d.update([{ op: 'set', path: 'customer', value: 'just a string' }]), {
    version: 5,
    values: [],
  });
  t.is(await d.get('customer.name'), undefined);
  t.deepEqual(
    await d.update(
      ['count', 'customer', 'log', 'stats', 'x'].map((path): DocOp => ({ op: 'remove', path })),
    ),
    { version: 6, values: [] },
  );
  t.deepEqual(await d.get(), {}, 'removing every key leaves an empty document, not an absent one');
  t.deepEqual(
    await d.update([
      { op: 'set', path: 'n', value: -0 },
      { op: 'set', path: 'f', value: 1.5 },
      { op: 'set', path: 's', value: 'ü\u0000"\\' },
      { op: 'set', path: 'e', value: {} },
    ]),
    { version: 7, values: [] },
  );
  t.deepEqual(await d.get(), { e: {}, f: 1.5, n: 0, s: 'ü\u0000"\\' });
});

test('doc: ifVersion — 0 only if absent; a stale version is VERSION_CONFLICT and changes nothing', async (t) => {
  const store = await openStore(t);
  const d = store.doc('cas');
  await rejects(
    t,
    d.update([{ op: 'set', path: 'a', value: 1 }], { ifVersion: 1 }),
    'VERSION_CONFLICT',
    'an absent doc is version 0',
  );
  t.is(await d.get(), undefined, 'the refused update did not create it');
  t.deepEqual(await d.update([{ op: 'set', path: 'a', value: 1 }], { ifVersion: 0 }), {
    version: 1,
    values: [],
  });
  await rejects(
    t,
    d.update([{ op: 'set', path: 'a', value: 2 }], { ifVersion: 0 }),
    'VERSION_CONFLICT',
    'ifVersion 0 on an existing doc',
  );
  t.deepEqual(await d.update([{ op: 'incr', path: 'a', by: 1 }], { ifVersion: 1 }), {
    version: 2,
    values: [2],
  });
  for (const stale of [0, 1, 3, 100]) {
    await rejects(
      t,
      d.update([{ op: 'incr', path: 'a', by: 1 }], { ifVersion: stale }),
      'VERSION_CONFLICT',
      `ifVersion ${stale} at 2`,
    );
  }
  t.deepEqual(await d.get(), { a: 2 });
  t.deepEqual(
    await store
      .replica(2)
      .doc('cas')
      .update([{ op: 'incr', path: 'a', by: 1 }], { ifVersion: 2 }),
    { version: 3, values: [3] },
  );
  t.deepEqual(
    await d.update([{ op: 'incr', path: 'a', by: 1 }]),
    { version: 4, values: [4] },
    'without ifVersion it always applies',
  );

  // Of concurrent updates at one version, at most one applies.
  const racers = await Promise.all(
    [0, 1, 2, 0, 1, 2].map(async (r, i) => {
      try {
        return {
          ok: true as const,
          value: await store
            .replica(r)
            .doc('cas')
            .update([{ op: 'set', path: 'winner', value: i }], { ifVersion: 4 }),
        };
      } catch (error) {
        t.true(
          ['VERSION_CONFLICT', 'UNKNOWN_OUTCOME'].includes(codeOf(error) as string),
          String(codeOf(error)),
        );
        return { ok: false as const };
      }
    }),
  );
  const won = racers.flatMap((r, i) => (r.ok ? [i] : []));
  t.true(won.length <= 1, `winners ${JSON.stringify(won)}`);
  const winner = await d.get('winner');
  if (won.length === 1) {
    t.is(winner, won[0]);
    t.deepEqual(racers[won[0] as number], { ok: true, value: { version: 5, values: [] } });
  }
  const next = await d.update([{ op: 'incr', path: 'a', by: 1 }]);
  t.is(next.version, winner === undefined ? 5 : 6, 'at most one racer took a version');
});

test('doc: a failed update changes nothing (WRONG_TYPE, TOO_LARGE), not even its earlier ops', async (t) => {
  const store = await openStore(t);
  const d = store.doc('typed');
  await d.update([
    { op: 'set', path: 'name', value: 'x' },
    { op: 'set', path: 'list', value: [1] },
    { op: 'set', path: 'obj', value: { k: 1 } },
    { op: 'set', path: 'float', value: 1.5 },
    { op: 'set', path: 'max', value: Number.MAX_SAFE_INTEGER },
    { op: 'set', path: 'min', value: Number.MIN_SAFE_INTEGER },
    { op: 'set', path: 'nul', value: null },
  ]);
  const before = await d.get();
  const first: DocOp = { op: 'set', path: 'touched', value: true };
  const mismatches: [string, DocOp][] = [
    ['incr a string', { op: 'incr', path: 'name', by: 1 }],
    ['incr an array', { op: 'incr', path: 'list', by: 1 }],
    ['incr an object', { op: 'incr', path: 'obj', by: 1 }],
    ['incr a non-integer', { op: 'incr', path: 'float', by: 1 }],
    ['incr past MAX_SAFE_INTEGER', { op: 'incr', path: 'max', by: 1 }],
    ['incr past MIN_SAFE_INTEGER', { op: 'incr', path: 'min', by: -1 }],
    ['append to a string', { op: 'append', path: 'name', value: 1 }],
    ['append to an object', { op: 'append', path: 'obj', value: 1 }],
    ['append to a number', { op: 'append', path: 'max', value: 1 }],
    ['set through a string', { op: 'set', path: 'name.x', value: 1 }],
    ['set through an array', { op: 'set', path: 'list.0', value: 1 }],
    ['set through null', { op: 'set', path: 'nul.x', value: 1 }],
    ['incr through a number', { op: 'incr', path: 'float.x.y', by: 1 }],
    ['append through a string', { op: 'append', path: 'name.x', value: 1 }],
  ];
  for (const [what, op] of mismatches) {
    await rejects(
      t,
      d.update([first, { op: 'incr', path: 'obj.k', by: 1 }, op]),
      'WRONG_TYPE',
      what,
    );
    await rejects(
      t,
      store.replica(1).doc('typed').update([op, first]),
      'WRONG_TYPE',
      `${what}, first op`,
    );
  }
  // A mismatch created by an earlier op of the same update.
  await rejects(
    t,
    d.update([
      { op: 'set', path: 'fresh', value: 's' },
      { op: 'incr', path: 'fresh', by: 1 },
    ]),
    'WRONG_TYPE',
    'set then incr',
  );
  await rejects(
    t,
    d.update([
      { op: 'remove', path: 'list' },
      { op: 'set', path: 'obj', value: 0 },
      { op: 'set', path: 'obj.k', value: 1 },
    ]),
    'WRONG_TYPE',
    'set a scalar, then set through it',
  );
  // Too large: past 1 MiB of canonical JSON, at once or by growth.
  const big = 'x'.repeat(200_000);
  await rejects(
    t,
    d.update(
      Array.from({ length: 6 }, (_, i): DocOp => ({ op: 'set', path: `big${i}`, value: big })),
    ),
    'TOO_LARGE',
    '6 × 200 kB',
  );
  const deep = (n: number): JsonValue => (n === 0 ? 1 : { a: deep(n - 1) });
  await rejects(
    t,
    d.update([first, { op: 'set', path: 'nest', value: deep(64) }]),
    'TOO_LARGE',
    'the document nested 65 deep',
  );
  await rejects(
    t,
    d.update([
      first,
      { op: 'set', path: Array.from({ length: 64 }, () => 'p').join('.'), value: [] },
    ]),
    'TOO_LARGE',
    '64 path segments holding an array: 65 deep',
  );

  for (let r = 0; r < 3; r++)
    t.deepEqual(await store.replica(r).doc('typed').get(), before, `unchanged via replica ${r}`);
  t.deepEqual(
    await d.update([first]),
    { version: 2, values: [] },
    'no failed update took a version',
  );
  t.deepEqual(
    await d.update([{ op: 'set', path: 'nest', value: deep(63) }]),
    { version: 3, values: [] },
    '64 deep fits',
  );
  // Exactly 1 MiB fits (the text is ASCII: its length is its byte length; key order does not change it).
  t.deepEqual(await d.update([{ op: 'set', path: 'nest', value: '' }]), { version: 4, values: [] });
  const fill = DOC_BYTES_MAX - JSON.stringify(await d.get()).length;
  t.deepEqual(
    await d.update([{ op: 'set', path: 'nest', value: 'x'.repeat(fill) }]),
    { version: 5, values: [] },
    'exactly 1 MiB fits',
  );
  t.deepEqual(
    await d.update([{ op: 'incr', path: 'obj.k', by: 1 }]),
    { version: 6, values: [2] },
    'a same-size change fits',
  );
  await rejects(
    t,
    d.update([{ op: 'incr', path: 'obj.k', by: 8 }]),
    'TOO_LARGE',
    'one byte more (2 → 10)',
  );
  await rejects(
    t,
    d.update([{ op: 'append', path: 'list', value: 1 }]),
    'TOO_LARGE',
    'growth past 1 MiB',
  );
  t.is(await d.get('obj.k'), 2);
});

test('doc: bad updates and paths reject with INVALID_ARGUMENT and change nothing', async (t) => {
  const store = await openStore(t);
  const d = store.doc('bad');
  await d.update([{ op: 'set', path: 'keep', value: 1 }]);
  const ld = loose(d);
  const ok: DocOp = { op: 'set', path: 'touched', value: 1 };
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const calls: [string, () => Promise<unknown>][] = [
    ['no ops', () => ld.update()],
    ['an empty op list', () => d.update([])],
    ['ops not an array', () => ld.update(ok)],
    [
      `${DOC_UPDATE_OPS_MAX + 1} ops`,
      () => d.update(Array.from({ length: DOC_UPDATE_OPS_MAX + 1 }, () => ok)),
    ],
    ['an op that is null', () => ld.update([ok, null])],
    ['an op that is a string', () => ld.update(['set'])],
    ['unknown op', () => ld.update([ok, { op: 'delete', path: 'keep' }])],
    ['op missing', () => ld.update([{ path: 'keep', value: 1 }])],
    ['set with no value', () => ld.update([{ op: 'set', path: 'a' }])],
    ['set value undefined', () => ld.update([{ op: 'set', path: 'a', value: undefined }])],
    ['append value undefined', () => ld.update([{ op: 'append', path: 'a', value: undefined }])],
    ['value NaN', () => ld.update([{ op: 'set', path: 'a', value: NaN }])],
    ['value Infinity', () => ld.update([{ op: 'set', path: 'a', value: -Infinity }])],
    ['value nested NaN', () => ld.update([{ op: 'set', path: 'a', value: { b: [1, NaN] } }])],
    ['value a function', () => ld.update([{ op: 'set', path: 'a', value: () => 1 }])],
    [
      'value nested function',
      () => ld.update([{ op: 'append', path: 'a', value: { f: () => 1 } }]),
    ],
    [
      'value nested undefined',
      () => ld.update([{ op: 'set', path: 'a', value: { b: undefined } }]),
    ],
    ['value a symbol', () => ld.update([{ op: 'set', path: 'a', value: Symbol('s') }])],
    ['value a bigint', () => ld.update([{ op: 'set', path: 'a', value: 1n }])],
    ['value a Date', () => ld.update([{ op: 'set', path: 'a', value: new Date(0) }])],
    ['value a Map', () => ld.update([{ op: 'set', path: 'a', value: new Map() }])],
    ['value a class instance', () => ld.update([{ op: 'set', path: 'a', value: new Point() }])],
    ['value a Buffer', () => ld.update([{ op: 'set', path: 'a', value: Buffer.from('x') }])],
    ['value cyclic', () => ld.update([{ op: 'set', path: 'a', value: cyclic }])],
    ['incr by NaN', () => ld.update([{ op: 'incr', path: 'a', by: NaN }])],
    ['incr by 1.5', () => ld.update([{ op: 'incr', path: 'a', by: 1.5 }])],
    ['incr by a string', () => ld.update([{ op: 'incr', path: 'a', by: '1' }])],
    ['incr by 2^53', () => ld.update([{ op: 'incr', path: 'a', by: 2 ** 53 }])],
    ['ifVersion -1', () => d.update([ok], { ifVersion: -1 })],
    ['ifVersion 1.5', () => d.update([ok], { ifVersion: 1.5 })],
    ['ifVersion NaN', () => d.update([ok], { ifVersion: NaN })],
    ['ifVersion "1"', () => ld.update([ok], { ifVersion: '1' })],
    ['get options', () => ld.get('keep', { consistency: 'strong' })],
    ['get path number', () => ld.get(1)],
  ];
  const badPaths: unknown[] = [
    '',
    '.',
    'a.',
    '.a',
    'a..b',
    'a\uD800',
    7,
    null,
    undefined,
    ['a'],
    Array.from({ length: 65 }, () => 'p').join('.'),
  ];
  for (const path of badPaths) {
    const p = JSON.stringify(path) ?? String(path);
    for (const op of ['set', 'append', 'incr', 'remove']) {
      calls.push([`${op} path ${p}`, () => ld.update([ok, { op, path, value: 1, by: 1 }])]);
    }
    if (path !== '' && path !== undefined) calls.push([`get ${p}`, () => ld.get(path)]);
  }
  for (const [what, call] of calls) await rejects(t, call(), 'INVALID_ARGUMENT', what);
  t.deepEqual(await d.get(), { keep: 1 });
  t.deepEqual(await d.update([ok]), { version: 2, values: [] }, 'nothing else was applied');
  t.is((await store.stats()).inFlight, 0);
});

// ---- one model per name ----

test('a name is a table or a document (or a queue): the others are WRONG_TYPE through every replica', async (t) => {
  const store = await openStore(t);
  const tableOps = (tb: Table): [string, Promise<unknown>][] => [
    ['set', tb.set('r', 'c', 'v')],
    ['delete', tb.delete('r', 'c')],
    ['deleteRow', tb.deleteRow('r')],
    ['get', tb.get('r', 'c')],
    ['row', tb.row('r')],
    ['all', tb.all()],
  ];
  const docOps = (d: Doc): [string, Promise<unknown>][] => [
    ['update', d.update([{ op: 'set', path: 'a', value: 1 }])],
    ['update ifVersion 0', d.update([{ op: 'set', path: 'a', value: 1 }], { ifVersion: 0 })],
    ['get', d.get()],
    ['get path', d.get('a')],
  ];

  // A document refuses table ops; a table refuses doc ops; both refuse queue and set ops.
  const { version: docVersion } = await store
    .doc('doc-name')
    .update([{ op: 'set', path: 'a', value: 'doc' }]);
  const { version: tableVersion } = await store.table('table-name').set('r', 'c', 'table');
  for (let r = 0; r < 3; r++) {
    const rep = store.replica(r);
    for (const [what, p] of tableOps(rep.table('doc-name')))
      await rejects(t, p, 'WRONG_TYPE', `table.${what} on a doc via ${r}`);
    for (const [what, p] of docOps(rep.doc('table-name')))
      await rejects(t, p, 'WRONG_TYPE', `doc.${what} on a table via ${r}`);
    for (const n of ['doc-name', 'table-name']) {
      await rejects(t, rep.queue(n).push('v'), 'WRONG_TYPE', `queue.push on ${n} via ${r}`);
      await rejects(t, rep.queue(n).length(), 'WRONG_TYPE', `queue.length on ${n} via ${r}`);
      await rejects(t, rep.set(n).add('m'), 'WRONG_TYPE', `set.add on ${n} via ${r}`);
    }
  }
  const error = await t.throwsAsync(store.table('doc-name').set('r', 'c', 'v'));
  t.regex(error?.message ?? '', /doc-name/, 'the message names the object');
  t.notRegex(error?.message ?? '', /\u0000/, 'not the internal key');
  t.deepEqual(await store.doc('doc-name').get(), { a: 'doc' });
  t.deepEqual(textRows(await store.table('table-name').all()), { r: { c: 'table' } });
  t.deepEqual(
    await store.doc('doc-name').update([{ op: 'incr', path: 'n', by: 1 }]),
    { version: docVersion + 1, values: [1] },
    'refusals took no version',
  );
  t.deepEqual(
    await store.table('table-name').set('r', 'c2', 'v'),
    { version: tableVersion + 1 },
    'refusals took no version',
  );

  // KV namespaces are apart from object names.
  t.deepEqual(await store.kv('doc-name').put('doc-name', 'kv'), { version: 1 });
  t.deepEqual(await store.doc('doc-name').get('a'), 'doc');

  // An emptied table frees its name: a document may take it (ifVersion 0: it is absent), and
  // then the name keeps one version count across models. A document is never emptied.
  await store.table('table-name').deleteRow('r');
  t.deepEqual(await store.doc('table-name').get(), undefined);
  t.deepEqual(
    await store.doc('table-name').update([{ op: 'remove', path: 'a' }], { ifVersion: 0 }),
    { version: tableVersion + 3, values: [] },
    'set, deleteRow, then the document',
  );
  t.deepEqual(await store.doc('table-name').get(), {});
  for (const [what, p] of tableOps(store.table('table-name')))
    await rejects(t, p, 'WRONG_TYPE', `table.${what} on the new doc`);
  t.deepEqual(
    await store
      .doc('table-name')
      .update([{ op: 'set', path: 'b', value: 1 }], { ifVersion: tableVersion + 3 }),
    { version: tableVersion + 4, values: [] },
  );
  await store.doc('doc-name').update(['a', 'n'].map((path): DocOp => ({ op: 'remove', path })));
  t.deepEqual(await store.doc('doc-name').get(), {});
  await rejects(
    t,
    store.table('doc-name').set('r', 'c', 'v'),
    'WRONG_TYPE',
    'an empty document still holds its name',
  );
  // A queue emptied frees its name for a table.
  await store.queue('q-name').push('x');
  await rejects(t, store.table('q-name').set('r', 'c', 'v'), 'WRONG_TYPE', 'table on a queue');
  await rejects(t, store.doc('q-name').get(), 'WRONG_TYPE', 'doc on a queue');
  await store.queue('q-name').pop();
  t.deepEqual(await store.table('q-name').set('r', 'c', 'v'), { version: 3 });
  t.is(await store.queue('other').pop(), undefined, 'a pop of a never-used name claims nothing');
  t.deepEqual(
    await store.doc('other').update([{ op: 'set', path: 'x', value: 1 }], { ifVersion: 0 }),
    { version: 1, values: [] },
  );
});

// ---- linearizable reads through every replica ----

test('writes through one replica are seen by linearizable reads through every replica', async (t) => {
  const store = await openStore(t);
  const rows = new Map<string, Map<string, string>>();
  const doc: { n: number; log: string[]; last?: string } = { n: 0, log: [] };
  let docVersion = 0;
  for (let i = 0; i < 12; i++) {
    const w = store.replica(i % 3);
    const row = `r${i % 4}`;
    if (i % 5 === 4) {
      await w.table('lin-t').deleteRow(row);
      rows.delete(row);
    } else {
      await w.table('lin-t').set(row, `c${i % 3}`, `v${i}`);
      rows.set(row, (rows.get(row) ?? new Map<string, string>()).set(`c${i % 3}`, `v${i}`));
    }
    const u = await w.doc('lin-d').update(
      [
        { op: 'incr', path: 'n', by: i },
        { op: 'append', path: 'log', value: `e${i}` },
        { op: 'set', path: 'last', value: `w${i % 3}` },
      ],
      { ifVersion: docVersion },
    );
    docVersion += 1;
    doc.n += i;
    doc.log.push(`e${i}`);
    doc.last = `w${i % 3}`;
    t.deepEqual(u, { version: docVersion, values: [doc.n] });
    const want: Rows = Object.fromEntries(
      [...rows].map(([r, cells]) => [r, Object.fromEntries(cells)]),
    );
    for (let r = 0; r < 3; r++) {
      const tb = store.replica(r).table('lin-t');
      const d = store.replica(r).doc('lin-d');
      const at = `after step ${i}, replica ${r}`;
      t.deepEqual(textRows(await tb.all()), want, at);
      t.deepEqual(textCells(await tb.row(row)), want[row] ?? {}, at);
      t.is((await tb.get(row, `c${i % 3}`))?.toString(), want[row]?.[`c${i % 3}`], at);
      t.deepEqual(await d.get(), { ...doc }, at);
      t.is(await d.get('n'), doc.n, at);
      t.deepEqual(await d.get('log'), doc.log, at);
    }
  }
});

/** Public outputs: what the API answers, as the spec's outputs project onto it. */
type PublicTableOutput =
  | { status: 'ok' | 'tooLarge' }
  | { value: string | undefined }
  | { cells: Record<string, string> }
  | { rows: Rows };
type PublicDocOutput =
  { version: number; values: number[] } | { error: string } | { value: JsonValue | undefined };

const publicTableModel: Model<TableSpecState, TableInput, PublicTableOutput> = {
  ...tableModel,
  step: (state, input) => {
    const { state: next, output } = tableModel.step(state, input);
    return {
      state: next,
      output: 'status' in output ? { status: output.status } : (output as PublicTableOutput),
    };
  },
  equalOutput: (a, b) => isDeepStrictEqual(a, b),
};

const DOC_ERRORS: Record<string, string> = {
  versionConflict: 'VERSION_CONFLICT',
  typeMismatch: 'WRONG_TYPE',
  tooLarge: 'TOO_LARGE',
  badRequest: 'INVALID_ARGUMENT',
};

/** Outputs compared as canonical JSON text (object key order is not part of a document). */
const docText = (o: PublicDocOutput): string =>
  'value' in o ? (o.value === undefined ? 'undefined' : canonicalJson(o.value)) : JSON.stringify(o);

const publicDocModel: Model<DocSpecState, DocInput, PublicDocOutput> = {
  ...docModel,
  step: (state, input) => {
    const { state: next, output } = docModel.step(state, input);
    let out: PublicDocOutput;
    if ('status' in output) {
      out =
        output.status === 'ok'
          ? { version: output.version, values: output.values }
          : { error: DOC_ERRORS[output.status] as string };
    } else out = { value: output.value };
    return { state: next, output: out };
  },
  equalOutput: (a, b) => docText(a) === docText(b),
};

type Recorder = <I, O>(
  history: HistoryOp<I, O>[],
  input: I,
  write: boolean,
  run: () => Promise<O>,
  errors?: readonly string[],
) => Promise<void>;

interface LinHistories {
  readonly table: HistoryOp<TableInput, PublicTableOutput>[];
  readonly doc: HistoryOp<DocInput, PublicDocOutput>[];
}

const PATHS = ['n', 'a.b', 'a', 'log'];

/** One client of the linearizability test: 40 random table and doc ops, recorded in `h`. */
async function linClient(
  store: PaxosStore,
  c: number,
  h: LinHistories,
  record: Recorder,
): Promise<void> {
  let seed = 0x9e3779b9 * (c + 1);
  const next = (n: number): number => {
    // mulberry32: exact 32-bit arithmetic.
    seed = (seed + 0x6d2b79f5) | 0;
    let z = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    z = (z + Math.imul(z ^ (z >>> 7), 61 | z)) ^ z;
    return ((z ^ (z >>> 14)) >>> 0) % n;
  };
  for (let i = 0; i < 40; i++) {
    const r = (c + i) % 3;
    const tb = store.replica(r).table('lin-t');
    const d = store.replica(r).doc('lin-d');
    const row = `r${next(2)}`;
    const col = `c${next(3)}`;
    switch (next(12)) {
      case 0:
      case 1: {
        const value = `c${c}-${i}`;
        await record(
          h.table,
          { op: 'set', row, col, value },
          true,
          async () => (await tb.set(row, col, value), { status: 'ok' as const }),
        );
        break;
      }
      case 2:
        await record(
          h.table,
          { op: 'delete', row, col },
          true,
          async () => (await tb.delete(row, col), { status: 'ok' as const }),
        );
        break;
      case 3:
        if (next(2) === 0)
          await record(
            h.table,
            { op: 'deleteRow', row },
            true,
            async () => (await tb.deleteRow(row), { status: 'ok' as const }),
          );
        else
          await record(h.table, { op: 'get', row, col }, false, async () => ({
            value: (await tb.get(row, col))?.toString(),
          }));
        break;
      case 4:
        await record(h.table, { op: 'row', row }, false, async () => ({
          cells: textCells(await tb.row(row)),
        }));
        break;
      case 5:
        await record(h.table, { op: 'all' }, false, async () => ({
          rows: textRows(await tb.all()),
        }));
        break;
      case 6:
      case 7:
      case 8:
      case 9: {
        const ops: DocOp[] = Array.from({ length: 1 + next(2) }, (): DocOp => {
          const path = PATHS[next(PATHS.length)] as string;
          switch (next(4)) {
            case 0:
              return { op: 'set', path, value: next(3) === 0 ? `s${c}-${i}` : { b: i } };
            case 1:
              return { op: 'incr', path, by: 1 + next(3) };
            case 2:
              return { op: 'append', path, value: `c${c}-${i}` };
            default:
              return { op: 'remove', path };
          }
        });
        const ifVersion = next(3) === 0 ? next(8) : undefined;
        const input: DocInput =
          ifVersion === undefined ? { op: 'update', ops } : { op: 'update', ops, ifVersion };
        await record(
          h.doc,
          input,
          true,
          () => d.update(ops, ifVersion === undefined ? undefined : { ifVersion }),
          ['VERSION_CONFLICT', 'WRONG_TYPE'],
        );
        break;
      }
      default: {
        const path = next(3) === 0 ? undefined : (PATHS[next(PATHS.length)] as string);
        await record(
          h.doc,
          path === undefined ? { op: 'get' } : { op: 'get', path },
          false,
          async () => ({ value: await d.get(path) }),
        );
      }
    }
  }
}

test.serial(
  'random concurrent table and doc ops through every replica are linearizable',
  async (t) => {
    const store = await openStore(t);
    const tableHistory: HistoryOp<TableInput, PublicTableOutput>[] = [];
    const docHistory: HistoryOp<DocInput, PublicDocOutput>[] = [];
    let nextId = 1;
    let unknown = 0;
    const record = async <I, O>(
      history: HistoryOp<I, O>[],
      input: I,
      write: boolean,
      run: () => Promise<O>,
      errors: readonly string[] = [],
    ): Promise<void> => {
      const id = nextId++;
      const call = performance.now();
      try {
        const output = await run();
        history.push({ id, key: 'k', input, call, ret: performance.now(), output });
      } catch (error) {
        const code = codeOf(error) as string;
        if (errors.includes(code)) {
          history.push({
            id,
            key: 'k',
            input,
            call,
            ret: performance.now(),
            output: { error: code } as O,
          });
          return;
        }
        t.is(code, 'UNKNOWN_OUTCOME', JSON.stringify(input));
        if (write) {
          unknown += 1;
          history.push({ id, key: 'k', input, call, ret: undefined });
        }
      }
    };
    const histories: LinHistories = { table: tableHistory, doc: docHistory };
    const client = (c: number): Promise<void> => linClient(store, c, histories, record);
    await Promise.all([0, 1, 2, 3].map(client));
    t.true(
      tableHistory.length > 20 && docHistory.length > 20,
      `${tableHistory.length} + ${docHistory.length}`,
    );
    const errors = docHistory.filter(
      (h) =>
        h.ret !== undefined &&
        typeof h.output === 'object' &&
        h.output !== null &&
        'error' in h.output,
    ).length;
    t.deepEqual(checkHistory(tableHistory, publicTableModel), { ok: true });
    t.deepEqual(checkHistory(docHistory, publicDocModel), { ok: true });
    t.log(
      `${tableHistory.length} table ops, ${docHistory.length} doc ops (${errors} refused), ${unknown} unknown outcomes`,
    );
  },
);

// ---- lsm ----

test('lsm: tables (merged and pending changes) and documents survive close and reopen', async (t) => {
  const dir = tempDir(t);
  const options = { ...FAST, engine: 'lsm' as const, dir };
  const first = await PaxosStore.open(options);
  t.teardown(() => first.close());
  const want: Rows = {};
  // Enough to merge the change section several times, then a few changes left pending.
  for (let i = 0; i < 400; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        first.table('t').set(`r${(i + j) % 9}`, `c${i + j}`, `v${i + j}`),
      ),
    );
    for (let j = 0; j < 20; j++) (want[`r${(i + j) % 9}`] ??= {})[`c${i + j}`] = `v${i + j}`;
  }
  await first.table('t').deleteRow('r4');
  delete want.r4;
  await first.table('t').delete('r0', 'c0');
  delete want.r0?.c0;
  await first.table('t').set('r0', 'pending', 'p');
  (want.r0 ??= {}).pending = 'p';
  const tableVersion = 400 + 3;
  await first.doc('d').update([
    { op: 'set', path: 'a.b', value: [1, { c: 'x' }] },
    { op: 'incr', path: 'n', by: 7 },
  ]);
  await first.doc('d').update([{ op: 'append', path: 'a.b', value: null }]);
  await first.table('gone').set('r', 'c', 'v');
  await first.table('gone').deleteRow('r');
  await first.close();

  const second = await PaxosStore.open(options);
  t.teardown(() => second.close());
  for (let r = 0; r < 3; r++) {
    t.deepEqual(textRows(await second.replica(r).table('t').all()), want, `replica ${r}`);
    t.deepEqual(
      await second.replica(r).doc('d').get(),
      { a: { b: [1, { c: 'x' }, null] }, n: 7 },
      `replica ${r}`,
    );
    t.deepEqual(await second.replica(r).table('gone').all(), {}, `replica ${r}`);
  }
  t.deepEqual(
    await second.table('t').set('r0', 'after', 'a'),
    { version: tableVersion + 1 },
    'the version survives',
  );
  t.deepEqual(await second.doc('d').update([{ op: 'incr', path: 'n', by: 1 }], { ifVersion: 2 }), {
    version: 3,
    values: [8],
  });
  t.deepEqual(
    await second.doc('gone').update([{ op: 'set', path: 'x', value: 1 }], { ifVersion: 0 }),
    { version: 3, values: [] },
    'an emptied table name stays free after reopen',
  );
});

// ---- regressions of bugs found by these tests ----

test('a column or row named "__proto__" is an ordinary name in row()/all()', async (t) => {
  const store = await openStore(t);
  const tb = store.table('proto');
  await tb.set('__proto__', '__proto__', 'x');
  await tb.set('r', '__proto__', 'y');
  t.deepEqual((await tb.get('__proto__', '__proto__'))?.toString(), 'x');
  const row = await tb.row('r');
  t.true(Object.hasOwn(row, '__proto__'), 'row(r) has the column __proto__');
  t.is(Object.getPrototypeOf(row), Object.prototype);
  const all = await tb.all();
  t.deepEqual(Object.keys(all), ['__proto__', 'r']);
});

test('an object key "__proto__" inside a document value is kept as data', async (t) => {
  const store = await openStore(t);
  const d = store.doc('proto');
  await d.update([{ op: 'set', path: '__proto__', value: 1 }]);
  t.deepEqual(await d.get('__proto__'), 1, 'as a path it is an ordinary key');
  await d.update([
    { op: 'set', path: 'a', value: JSON.parse('{"__proto__":{"x":1},"b":2}') as JsonValue },
  ]);
  t.deepEqual(JSON.stringify(await d.get('a')), '{"__proto__":{"x":1},"b":2}');
});

test('incr and append treat a null value as the wrong type (only an absent target counts as 0 / empty)', async (t) => {
  const store = await openStore(t);
  const d = store.doc('null-incr');
  await d.update([{ op: 'set', path: 'n', value: null }]);
  await rejects(
    t,
    d.update([{ op: 'append', path: 'n', value: 1 }]),
    'WRONG_TYPE',
    'append treats null as a non-array',
  );
  await rejects(
    t,
    d.update([{ op: 'incr', path: 'n', by: 1 }]),
    'WRONG_TYPE',
    'incr should treat null as a non-integer',
  );
  t.deepEqual(await d.get(), { n: null });
});

/**
 * Payloads past one ring record (~2 MiB): big table results, catch-up of a big table record, a
 * big doc update. These once stopped the Paxos group actor (or killed its worker thread); they
 * now travel as fragments. SHORT bounds the wait if that ever regresses.
 */
const SHORT = { timeoutMs: 5_000 };

test('row() and all() of a table past 2 MiB answer, and the group keeps serving', async (t) => {
  const store = await openStore(t, SHORT);
  const tb = store.table('wide');
  for (let i = 0; i < 9; i++) await tb.set('r', `c${i}`, Buffer.alloc(256 * 1024, i));
  for (let r = 0; r < 3; r++) {
    const row = await store.replica(r).table('wide').row('r');
    t.deepEqual(
      Object.keys(row),
      Array.from({ length: 9 }, (_, i) => `c${i}`),
      `row via replica ${r}`,
    );
    t.true(
      Object.values(row).every((v, i) => v.length === 256 * 1024 && v.every((b) => b === i)),
      `row values via replica ${r}`,
    );
    t.deepEqual(
      Object.keys((await store.replica(r).table('wide').all()).r ?? {}).length,
      9,
      `all via replica ${r}`,
    );
  }
  t.deepEqual(await tb.set('r', 'after', 'x'), { version: 10 });
});

test('a replica restarted behind a table past 2 MiB catches up; the others keep serving', async (t) => {
  const store = await openStore(t, SHORT);
  await store.replica(0).crash();
  for (let i = 0; i < 12; i++)
    await store
      .replica(1)
      .table('wide')
      .set('r', `c${i}`, Buffer.alloc(256 * 1024, i));
  await store.replica(0).restart();
  t.deepEqual(await store.replica(1).table('wide').set('r', 'z', 'z'), { version: 13 });
  t.deepEqual(await store.replica(2).table('wide').get('r', 'z'), Buffer.from('z'));
  t.true(
    await eventually(
      async () =>
        (
          await store
            .replica(0)
            .table('wide')
            .get('r', 'c11')
            .catch(() => undefined)
        )?.equals(Buffer.alloc(256 * 1024, 11)) === true,
      100,
      50,
    ),
    'replica 0 caught up',
  );
  t.deepEqual(await store.replica(0).table('wide').set('r', 'y', 'y'), { version: 14 });
});

test('doc updates of 2 MiB and more are TOO_LARGE (the doc limit is 1 MiB), and nothing stops', async (t) => {
  const store = await openStore(t, SHORT);
  const d = store.doc('big');
  for (const n of [2_097_050, 2_100_000, 5_000_000]) {
    await rejects(
      t,
      d.update([{ op: 'set', path: 'a', value: 'x'.repeat(n) }]),
      'TOO_LARGE',
      `a ${n}-byte value`,
    );
  }
  await rejects(
    t,
    d.update(
      Array.from({ length: DOC_UPDATE_OPS_MAX }, (_, i): DocOp => ({
        op: 'set',
        path: `k${i}`,
        value: 'y'.repeat(3000),
      })),
    ),
    'TOO_LARGE',
    `${DOC_UPDATE_OPS_MAX} ops of 3 kB`,
  );
  t.is(await d.get(), undefined);
  t.deepEqual(await d.update([{ op: 'set', path: 'b', value: 1 }], { ifVersion: 0 }), {
    version: 1,
    values: [],
  });
  for (let r = 0; r < 3; r++)
    t.deepEqual(await store.replica(r).doc('big').get(), { b: 1 }, `via replica ${r}`);
});
