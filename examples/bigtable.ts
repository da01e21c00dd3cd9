/**
 * The big-table API in one short run (engine 'lsm'): insert rows, get one, update an indexed
 * column, look rows up by index (the moved row leaves its old value's results), range scans
 * forward and in reverse with a limit, delete, typed errors (ALREADY_EXISTS, NOT_FOUND), and
 * reads through another replica.
 *
 *   npx tsc -p . && node dist/examples/bigtable.js
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PaxosStore, PaxosStoreError } from '../index';
import type { Bigtable, BigtableEntry } from '../index';

async function list(rows: AsyncIterable<BigtableEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const { pk, row } of rows) out.push(`${pk}:${String(row.sender)}/${String(row.day)}`);
  return out;
}

async function expectCode(what: string, p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
    throw new Error(`${what} should have failed with ${code}`);
  } catch (error) {
    if (!(error instanceof PaxosStoreError) || error.code !== code) throw error;
    console.log(`${what.padEnd(28)} -> ${code}`);
  }
}

async function demo(store: PaxosStore, messages: Bigtable): Promise<void> {
  // Each row is its own replicated key; its index entries change in the same write.
  for (const [pk, sender, day] of [
    ['m01', 'ana', 1],
    ['m02', 'bo', 1],
    ['m03', 'ana', 2],
    ['m04', 'cy', 2],
    ['m05', 'bo', 3],
  ] as const) {
    await messages.insert(pk, { sender, day, text: `hello from ${sender}` });
  }
  console.log('get m03                      ->', await messages.get('m03'));
  await expectCode('insert m03 again', messages.insert('m03', { sender: 'x' }), 'ALREADY_EXISTS');
  await expectCode('update m99 (missing)', messages.update('m99', { day: 9 }), 'NOT_FOUND');

  console.log("byIndex sender 'ana'         ->", await list(messages.byIndex('sender', 'ana')));
  console.log('update m03 sender -> bo      ->', await messages.update('m03', { sender: 'bo' }));
  console.log(
    "byIndex sender 'ana'         ->",
    await list(messages.byIndex('sender', 'ana')),
    '(m03 moved)',
  );
  console.log("byIndex sender 'bo'          ->", await list(messages.byIndex('sender', 'bo')));
  console.log('byIndex day 2                ->', await list(messages.byIndex('day', 2)));

  console.log(
    "scan gte 'm02' lt 'm05'      ->",
    await list(messages.scan({ gte: 'm02', lt: 'm05' })),
  );
  console.log(
    'scan reverse limit 2         ->',
    await list(messages.scan({ reverse: true, limit: 2 })),
  );
  console.log('delete m01                   ->', await messages.delete('m01'));
  // Any replica serves the table; its reads are linearizable too.
  const viaReplica2 = store.replica(2).bigtable('messages', { indexes: ['sender', 'day'] });
  console.log('scan through replica 2       ->', await list(viaReplica2.scan()));
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxs-example-bigtable-'));
  const store = await PaxosStore.open({ replicas: 3, engine: 'lsm', dir, workers: 2, groups: 4 });
  try {
    await demo(store, store.bigtable('messages', { indexes: ['sender', 'day'] }));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
