/**
 * A big small-table (issue 10): filling a table past its 20 MiB limit with 200 KiB cells on
 * lsm answers TABLE_TOO_LARGE (not UNKNOWN_OUTCOME), while writes to other keys of the same
 * group (one group: they share the big table's batches and mailbox) all succeed; the full
 * table then reads back, takes one-cell writes as change entries, and reopens intact (its
 * base and change chain fold back into the whole record at load). Outcome codes only, no
 * timing: the bench (bench/table-growth.ts) measures the cost.
 */
import test from 'ava';
import { PaxosStore } from '../../index';
import { TABLE_BYTES_MAX } from '../../models/table/table';
import { codeOf, tempDir } from './helpers';

const CELL_BYTES = 200 * 1024;
/** Enough writes to pass the limit, and a bound on the loop. */
const FILL_WRITES_MAX = Math.ceil(TABLE_BYTES_MAX / CELL_BYTES) + 8;

test('filling a table past its limit answers TABLE_TOO_LARGE and other keys never time out', async (t) => {
  const dir = tempDir(t);
  const options = {
    replicas: 3,
    groups: 1,
    workers: 1,
    engine: 'lsm',
    dir,
    timeoutMs: 10_000,
  } as const;
  const store = await PaxosStore.open(options);
  const table = store.table('big');
  const kv = store.kv('other');
  const fill = new Uint8Array(CELL_BYTES).fill(7);
  const fillCodes: string[] = [];
  let filling = true;
  const filler = (async () => {
    try {
      for (let i = 0; i < FILL_WRITES_MAX; i++) {
        try {
          await table.set(`r${Math.floor(i / 16)}`, `c${i % 16}`, fill);
          fillCodes.push('ok');
        } catch (error) {
          fillCodes.push(String(codeOf(error)));
          if (codeOf(error) === 'TABLE_TOO_LARGE') break;
        }
      }
    } finally {
      filling = false;
    }
  })();
  // Writers on other keys of the same group, for as long as the table is being filled.
  const otherCodes: Record<string, number> = {};
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; filling && i < 100_000; i++) {
      let code = 'ok';
      await kv
        .put(`k${w}-${i % 50}`, `v${i}`)
        .catch((error: unknown) => (code = String(codeOf(error))));
      otherCodes[code] = (otherCodes[code] ?? 0) + 1;
    }
  };
  await Promise.all([filler, writer(0), writer(1), writer(2), writer(3)]);
  t.is(fillCodes[fillCodes.length - 1], 'TABLE_TOO_LARGE', `fill ended with ${fillCodes.at(-1)}`);
  t.true(
    fillCodes.slice(0, -1).every((c) => c === 'ok'),
    `every fill write before the limit succeeded: ${JSON.stringify(fillCodes)}`,
  );
  t.true(fillCodes.length > 50, `the table took ${fillCodes.length - 1} cells`);
  t.deepEqual(Object.keys(otherCodes), ['ok'], `other keys: ${JSON.stringify(otherCodes)}`);
  t.true((otherCodes['ok'] ?? 0) > 0);
  // Past the limit: refused again, and the table still takes a write that fits.
  await t.throwsAsync(table.set('zz', 'c', fill), { code: 'TABLE_TOO_LARGE' });
  await table.set('r0', 'c0', 'small');
  for (let i = 0; i < 20; i++) await table.set('w', `c${i % 4}`, `v${i}`);
  const stats = await store.stats();
  const changes = stats.replicas.reduce((n, r) => n + (r?.['sectionChanges'] ?? 0), 0);
  t.true(changes >= 20, `one-cell writes went out as change entries (${changes})`);
  const before = await table.all();
  await store.close();
  // Reopen: every replica folds its base and chain back into the whole table. A restarted
  // replica's own record may lack the last write (chosen-only changes are not persisted; it
  // settles it from a peer), so each replica is read linearizably, and none may have found
  // its stored record damaged.
  const again = await PaxosStore.open(options);
  t.teardown(() => again.close());
  // Before any key loads, verify digests the stored records: bases with their chains folded.
  const report = await again.verify();
  t.true(report.ok, `verify after reopen: ${JSON.stringify(report.mismatches)}`);
  for (let r = 0; r < 3; r++) {
    const rows = await again.replica(r).table('big').all();
    t.deepEqual(rows, before, `replica ${r} after reopen`);
  }
  const after = await again.stats();
  t.deepEqual(
    after.replicas.map((r) => r?.['corrupted'] ?? 0),
    [0, 0, 0],
    'no replica found its sectioned record damaged',
  );
  t.is((await again.table('big').get('w', 'c3'))?.toString(), 'v19');
  // The first write after a load continues the chain on disk (an entry, not the whole table).
  const count = async (name: string): Promise<number> =>
    (await again.stats()).replicas.reduce((n, r) => n + (r?.[name] ?? 0), 0);
  const changesBefore = await count('sectionChanges');
  await again.table('big').set('w', 'c0', 'after');
  t.true((await count('sectionChanges')) >= changesBefore + 2, 'change entries after reopen');
});
