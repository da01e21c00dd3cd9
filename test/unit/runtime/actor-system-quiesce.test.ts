/**
 * close() lets the actors quiesce first (runtime/quiesce.ts): what an actor owes until close
 * is coming (Actor.quiesce) goes out, and every message it sets off, across workers, through
 * a worker's local queue and to the client, is delivered before any actor closes. An actor
 * that never says it is quiet delays the close by the bounded wait, no more.
 */
import test from 'ava';
import path from 'node:path';
import { ActorSystem } from '../../../runtime/actor-system';
import type { ActorSystemOptions } from '../../../runtime/actor-system';
import { Op, frame } from './fixtures/echo-actor';
import { Inbox } from './fixtures/inbox';

const ECHO_MODULE = path.join(__dirname, 'fixtures', 'echo-actor.js');
const ACTORS = [10, 11, 12, 13, 14, 15];

function options(counters: SharedArrayBuffer): ActorSystemOptions {
  return { workers: 2, actorModule: ECHO_MODULE, actorConfig: { counters }, actors: ACTORS };
}

test('ping chains owed until close cross the workers and reach the client before close ends', async (t) => {
  const counters = new SharedArrayBuffer(8);
  const system = await ActorSystem.start(options(counters));
  const inbox = new Inbox(system);
  const [a, ...rest] = ACTORS;
  t.true(a !== undefined);
  if (a === undefined) return;
  const across = rest.find((id) => system.workerOf(id) !== system.workerOf(a));
  const beside = rest.find((id) => system.workerOf(id) === system.workerOf(a));
  t.true(across !== undefined && beside !== undefined, 'actors on both workers');
  if (across === undefined || beside === undefined) return;
  // Owed until close is coming: nothing moves before close() asks the actors to quiesce. The
  // OWE records themselves may still be in the rings when the first round asks.
  system.send(a, frame(Op.owe, across, 301));
  system.send(beside, frame(Op.owe, a, 300));
  await system.close();
  t.is(inbox.count(Op.done), 2, 'both chains ended at the client before close() resolved');
  t.is(Atomics.load(new Int32Array(counters), 1), ACTORS.length, 'every actor closed');
});

test('an actor that is never quiet delays close by the bounded wait only', async (t) => {
  const counters = new SharedArrayBuffer(8);
  const system = await ActorSystem.start(options(counters));
  const inbox = new Inbox(system);
  system.send(10, frame(Op.busy));
  system.send(10, frame(Op.echo, 1));
  await inbox.waitFor(() => inbox.count(Op.reply, 10) === 1, 'the echo after BUSY');
  await system.close();
  t.is(Atomics.load(new Int32Array(counters), 1), ACTORS.length, 'every actor closed');
});

test('close after a worker died: the live workers quiesce, the dead one is left out', async (t) => {
  const counters = new SharedArrayBuffer(8);
  const system = await ActorSystem.start({ ...options(counters), supervision: { restartsMax: 0 } });
  const dead = 10;
  const live = ACTORS.find((id) => system.workerOf(id) !== system.workerOf(dead));
  t.true(live !== undefined);
  if (live === undefined) return;
  const down = new Promise<void>((resolve) =>
    system.onSupervision((e) => {
      if (e.kind === 'failed') resolve();
    }),
  );
  system.send(dead, frame(Op.exit));
  await down;
  const inbox = new Inbox(system);
  // A chain between two actors of the live worker, and messages into the dead one's rings.
  const beside = ACTORS.find((id) => id !== live && system.workerOf(id) === system.workerOf(live));
  t.true(beside !== undefined);
  if (beside === undefined) return;
  system.send(live, frame(Op.owe, beside, 50));
  for (let i = 0; i < 10; i++) system.send(dead, frame(Op.echo, i));
  await system.close();
  t.is(inbox.count(Op.done), 1, 'the live worker chain ended before close() resolved');
});
