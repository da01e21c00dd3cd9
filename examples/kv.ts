/**
 * The key-value API in one short run: put/get with versions, compare-and-set, counters,
 * delete, reads through each replica, and surviving a replica crash.
 *
 *   npx tsc -p . && node dist/examples/kv.js
 */
import { PaxosStore, PaxosStoreError } from '../index';

async function main(): Promise<void> {
  // An embedded Set of three replicas on worker threads, state in memory.
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const users = store.kv('users');

    // Every mutation of a key bumps its version.
    console.log('put alice=hello  ->', await users.put('alice', 'hello'));
    const alice = await users.get('alice');
    console.log('get alice        ->', alice?.value.toString(), `(version ${alice?.version})`);

    // Compare-and-set on the version: exactly one of two racing writers wins.
    console.log('cas alice@1=bye  ->', await users.cas('alice', 1, 'bye'));
    try {
      await users.cas('alice', 1, 'too late');
    } catch (error) {
      if (!(error instanceof PaxosStoreError) || error.code !== 'VERSION_CONFLICT') throw error;
      console.log('cas alice@1 again -> VERSION_CONFLICT (it is at version 2 now)');
    }
    // Version 0 means "only if absent".
    console.log('cas bob@0=new    ->', await users.cas('bob', 0, 'new'));

    // Counters are decimal text.
    const counters = store.kv('counters');
    await counters.incr('visits');
    console.log('incr visits by 5 ->', await counters.incr('visits', 5));

    // Any replica serves any key; a linearizable read sees the latest write everywhere.
    await store.replica(0).kv('users').put('carol', 'written via replica 0');
    for (let r = 0; r < 3; r++) {
      const got = await store.replica(r).kv('users').get('carol');
      console.log(`replica ${r} reads carol ->`, got?.value.toString());
    }

    // A crashed replica loses its memory; the other two keep serving, and it catches up.
    await store.replica(2).crash();
    await users.put('carol', 'written while replica 2 was down');
    await store.replica(2).restart();
    const recovered = await store.replica(2).kv('users').get('carol');
    console.log(
      'replica 2 after restart ->',
      recovered?.value.toString(),
      `(version ${recovered?.version})`,
    );

    // Delete: the key reads as absent, and its version keeps counting.
    console.log('delete alice     ->', await users.delete('alice'));
    console.log('get alice        ->', await users.get('alice'));
  } finally {
    await store.close();
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
