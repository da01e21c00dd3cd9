/**
 * The set API in one short run: add and remove (with how many changed), has, size, members in
 * byte order, reads through each replica, and a replica crash and restart.
 *
 *   npx tsc -p . && node dist/examples/set.js
 */
import { PaxosStore } from '../index';

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const tags = store.set('tags');

    // add answers how many members were new; duplicates count once.
    console.log('add red, green, red   ->', await tags.add('red', 'green', 'red'));
    console.log('add green, blue       ->', await tags.add('green', 'blue'));
    console.log('size                  ->', await tags.size());
    console.log('has blue / has pink   ->', await tags.has('blue'), '/', await tags.has('pink'));

    // Members come back in byte order (so 'Z' < 'a', and a prefix sorts first).
    await tags.add('Zebra', 'bluish');
    console.log(
      'members               ->',
      (await tags.members()).map((b) => b.toString()),
    );

    // remove answers how many were present.
    console.log('remove red, pink      ->', await tags.remove('red', 'pink'));

    // Any replica serves the set; a linearizable read sees the latest write everywhere.
    await store.replica(2).set('tags').add('via-replica-2');
    for (let r = 0; r < 3; r++) {
      console.log(
        `replica ${r} has it      ->`,
        await store.replica(r).set('tags').has('via-replica-2'),
      );
    }

    // A crashed replica loses its memory; the other two keep serving, and it catches up.
    await store.replica(0).crash();
    await tags.add('while-0-was-down');
    await store.replica(0).restart();
    const after = await store.replica(0).set('tags').members();
    console.log('replica 0 after restart ->', after.map((b) => b.toString()).join(', '));
  } finally {
    await store.close();
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
