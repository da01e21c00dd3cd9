/**
 * The JSON document API in one short run: an atomic multi-op update (set, incr, append,
 * remove) answering the new version and each incr's value, reads of the whole document and of
 * a path, ifVersion for optimistic concurrency (0: create only if absent; a stale version is
 * VERSION_CONFLICT), and a failed update (WRONG_TYPE) leaving the document unchanged.
 *
 *   npx tsc -p . && node dist/examples/doc.js
 */
import { PaxosStore, PaxosStoreError } from '../index';
import type { ErrorCode } from '../index';

/** Runs `update`, expecting it to fail with `code`; prints the code. */
async function expectError(what: string, code: ErrorCode, update: Promise<unknown>): Promise<void> {
  try {
    await update;
  } catch (error) {
    if (!(error instanceof PaxosStoreError) || error.code !== code) throw error;
    console.log(`${what} -> ${code}`);
    return;
  }
  throw new Error(`${what} succeeded; expected ${code}`);
}

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const cart = store.doc('cart-42');

    // ifVersion 0: only if the document does not exist yet (create).
    console.log(
      'create (ifVersion 0)      ->',
      await cart.update(
        [
          { op: 'set', path: 'owner', value: 'alice' },
          { op: 'set', path: 'items', value: [] },
        ],
        { ifVersion: 0 },
      ),
    );
    await expectError(
      'create again (ifVersion 0)',
      'VERSION_CONFLICT',
      cart.update([{ op: 'set', path: 'owner', value: 'mallory' }], { ifVersion: 0 }),
    );

    // One update, many ops, applied atomically; values has each incr's new value.
    console.log(
      'add an item, count it     ->',
      await cart.update([
        { op: 'append', path: 'items', value: { sku: 'tea', qty: 2 } },
        { op: 'incr', path: 'totals.count', by: 2 },
        { op: 'incr', path: 'totals.cents', by: 900 },
        { op: 'set', path: 'updated.by', value: 'alice' },
      ]),
    );
    console.log('get                       ->', JSON.stringify(await cart.get()));
    console.log("get('totals.count')       ->", await cart.get('totals.count'));
    console.log("get('nope.nothing')       ->", await cart.get('nope.nothing'));

    // Optimistic concurrency: keep the version an update answered, then update only if nobody
    // wrote in between (here a write through replica 1 did).
    const { version } = await cart.update([{ op: 'remove', path: 'updated' }]);
    console.log(`remove updated            -> version ${version}`);
    await store
      .replica(1)
      .doc('cart-42')
      .update([{ op: 'incr', path: 'totals.count', by: 1 }]);
    await expectError(
      `update ifVersion ${version} (stale)`,
      'VERSION_CONFLICT',
      cart.update([{ op: 'set', path: 'status', value: 'paid' }], { ifVersion: version }),
    );
    console.log(
      `update ifVersion ${version + 1}        ->`,
      await cart.update([{ op: 'set', path: 'status', value: 'paid' }], { ifVersion: version + 1 }),
    );

    // A failed update changes nothing: the set before the bad incr is not applied either.
    const before = JSON.stringify(await cart.get());
    await expectError(
      "set status, incr 'owner'",
      'WRONG_TYPE',
      cart.update([
        { op: 'set', path: 'status', value: 'refunded' },
        { op: 'incr', path: 'owner', by: 1 }, // owner is a string
      ]),
    );
    const after = JSON.stringify(await cart.get());
    console.log('unchanged                 ->', after === before, after);
    if (after !== before) throw new Error('a failed update changed the document');

    // Every replica reads the same document.
    for (let r = 0; r < 3; r++) {
      console.log(
        `replica ${r} status          ->`,
        await store.replica(r).doc('cart-42').get('status'),
      );
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
