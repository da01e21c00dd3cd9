/**
 * The queue API in one short run: push (with the new length and the queue's version), FIFO
 * pop, peek and length, range, reads through each replica, and a name that is a queue refusing
 * set operations (WRONG_TYPE) until it is emptied.
 *
 *   npx tsc -p . && node dist/examples/queue.js
 */
import { PaxosStore, PaxosStoreError } from '../index';

async function main(): Promise<void> {
  const store = await PaxosStore.open({ replicas: 3, engine: 'memory', workers: 2, groups: 4 });
  try {
    const jobs = store.queue('jobs');

    // push appends at the tail and answers the new length and the queue's version.
    console.log('push resize, thumb ->', await jobs.push('resize', 'thumb'));
    console.log('push upload        ->', await jobs.push('upload'));
    console.log('length             ->', await jobs.length());
    console.log('peek               ->', (await jobs.peek())?.toString());
    console.log(
      'range(0, 10)       ->',
      (await jobs.range(0, 10)).map((b) => b.toString()),
    );

    // Any replica serves the queue; a linearizable read sees the latest write everywhere.
    await store.replica(1).queue('jobs').push('written via replica 1');
    for (let r = 0; r < 3; r++) {
      console.log(`replica ${r} length  ->`, await store.replica(r).queue('jobs').length());
    }

    // pop removes the head, in FIFO order; on an empty queue it answers undefined.
    for (;;) {
      const head = await jobs.pop();
      if (head === undefined) break;
      console.log('pop                ->', head.toString());
    }
    console.log('pop (empty)        ->', await jobs.pop());

    // A name holds one model at a time.
    await store.queue('inbox').push('mail');
    try {
      await store.set('inbox').add('x');
    } catch (error) {
      if (!(error instanceof PaxosStoreError) || error.code !== 'WRONG_TYPE') throw error;
      console.log("set('inbox').add   -> WRONG_TYPE (inbox is a queue)");
    }
    await store.queue('inbox').pop();
    console.log(
      "set('inbox').add   ->",
      await store.set('inbox').add('x'),
      '(the emptied name is free again)',
    );
  } finally {
    await store.close();
  }
  console.log('closed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
