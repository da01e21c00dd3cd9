/**
 * The small-table API in one short run: set cells (each write answers the table's version),
 * get a cell, a row and the whole table, delete a cell and a row, reads through each replica,
 * and a table name refusing other models (WRONG_TYPE).
 *
 *   npx tsc -p . && node dist/examples/table.js
 */
import { PaxosStore, PaxosStoreError } from '../index';

const text = (cells: Record<string, Buffer>): Record<string, string> =>
  Object.fromEntries(Object.entries(cells).map(([col, v]) => [col, v.toString()]));

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const users = store.table('users');

    // set writes one cell (row × column) and answers the table's version after the write.
    console.log('set alice.email     ->', await users.set('alice', 'email', 'alice@example.com'));
    console.log('set alice.city      ->', await users.set('alice', 'city', 'Lisbon'));
    console.log('set bob.email       ->', await users.set('bob', 'email', 'bob@example.com'));
    console.log('set bob.city        ->', await users.set('bob', 'city', 'Oslo'));
    console.log('set bob.city again  ->', await users.set('bob', 'city', 'Bergen'), '(overwrites)');

    console.log('get alice.city      ->', (await users.get('alice', 'city'))?.toString());
    console.log('get alice.phone     ->', await users.get('alice', 'phone'), '(absent cell)');
    console.log('row bob             ->', text(await users.row('bob')));
    console.log('row carol           ->', await users.row('carol'), '(absent row)');

    // Any replica serves the table; a linearizable read sees the latest write everywhere.
    await store.replica(2).table('users').set('carol', 'email', 'carol@example.com');
    for (let r = 0; r < 3; r++) {
      const all = await store.replica(r).table('users').all();
      console.log(`replica ${r} rows      ->`, Object.keys(all));
    }

    // delete removes one cell; deleteRow removes every cell of a row.
    console.log('delete alice.city   ->', await users.delete('alice', 'city'));
    console.log('deleteRow bob       ->', await users.deleteRow('bob'));
    const all = await users.all();
    console.log(
      'all                 ->',
      Object.fromEntries(Object.entries(all).map(([row, cells]) => [row, text(cells)])),
    );

    // A name holds one model at a time: the table refuses queue and doc operations.
    try {
      await store.queue('users').push('x');
    } catch (error) {
      if (!(error instanceof PaxosStoreError) || error.code !== 'WRONG_TYPE') throw error;
      console.log("queue('users').push -> WRONG_TYPE (users is a table)");
    }
  } finally {
    await store.close();
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
