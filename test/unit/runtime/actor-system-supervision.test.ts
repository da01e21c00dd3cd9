/**
 * ActorSystem supervision: an actor that throws or reports a failure is restarted (with
 * ActorHost.restarted), bounded and with backoff; one that keeps failing is marked failed and
 * stays down until the embedder starts it; a worker thread that dies is respawned with its
 * actors, and the rings to and from it work again. Also the pure restart budget.
 */
import test from 'ava';
import path from 'node:path';
import { ActorSystem } from '../../../runtime/actor-system';
import type { ActorSystemOptions, SupervisionEvent } from '../../../runtime/actor-system';
import { RestartBudget } from '../../../runtime/restart-budget';
import { Op, frame } from './fixtures/echo-actor';
import { Inbox, pollUntil } from './fixtures/inbox';

const ECHO_MODULE = path.join(__dirname, 'fixtures', 'echo-actor.js');
const ACTORS = [10, 11, 12, 13, 14, 15];

function options(counters: SharedArrayBuffer, restartsMax = 3): ActorSystemOptions {
  return {
    workers: 2,
    actorModule: ECHO_MODULE,
    actorConfig: { counters },
    actors: ACTORS,
    supervision: { restartsMax, windowMs: 60_000, backoffMs: 20, backoffMsMax: 200 },
  };
}

test('restart budget: backoff doubles up to its cap, the bound is per window, reset clears it', (t) => {
  const budget = new RestartBudget({
    restartsMax: 4,
    windowMs: 1000,
    backoffMs: 100,
    backoffMsMax: 300,
  });
  t.deepEqual(
    [budget.next(0), budget.next(10), budget.next(20), budget.next(30)],
    [100, 200, 300, 300],
  );
  t.is(budget.next(40), undefined, 'bound spent within the window');
  t.is(budget.next(1005), 300, 'the oldest restart left the window');
  t.is(budget.restarts, 5);
  budget.reset();
  t.is(budget.next(1010), 100);
});

test('an actor that throws, or reports a failure, is restarted as a supervised restart', async (t) => {
  const counters = new SharedArrayBuffer(12);
  const restarted = new Int32Array(counters);
  const system = await ActorSystem.start(options(counters));
  const events: SupervisionEvent[] = [];
  system.onSupervision((e) => events.push(e));
  const inbox = new Inbox(system);
  try {
    system.send(12, frame(Op.throw));
    await pollUntil(
      async () => system.actorState(12),
      (s) => s === 'running' && Atomics.load(restarted, 2) === 1,
      'restart of 12',
    );
    system.send(12, frame(Op.echo, 1));
    await inbox.waitFor(() => inbox.count(Op.reply, 12) === 1, 'reply from restarted 12');
    system.send(13, frame(Op.fail));
    await pollUntil(
      async () => system.actorState(13),
      (s) => s === 'running' && Atomics.load(restarted, 2) === 2,
      'restart of 13',
    );
    t.deepEqual(
      events.map((e) => `${e.kind}:${e.actors.join()}`),
      ['down:12', 'up:12', 'down:13', 'up:13'],
    );
    t.is(system.supervisionStats().actorRestarts, 2);
  } finally {
    await system.close();
  }
});

test('an actor that keeps failing is marked failed after the bound; startActors revives it', async (t) => {
  const system = await ActorSystem.start(options(new SharedArrayBuffer(12), 2));
  const events: SupervisionEvent[] = [];
  system.onSupervision((e) => events.push(e));
  const inbox = new Inbox(system);
  try {
    for (let round = 0; round < 3; round++) {
      await pollUntil(
        async () => system.actorState(14),
        (s) => s === 'running',
        `14 running (${round})`,
      );
      system.send(14, frame(Op.throw));
      await pollUntil(
        async () => events.filter((e) => e.kind === 'down').length,
        (n) => n === round + 1,
        `14 down (${round})`,
      );
    }
    await pollUntil(
      async () => system.actorState(14),
      (s) => s === 'failed',
      '14 failed',
    );
    t.deepEqual(system.supervisionStats().failedActors, [14]);
    t.is(system.supervisionStats().actorRestarts, 2);
    const inspected = await system.inspect(14, {});
    t.false(inspected.ok);
    await system.startActors([14]);
    t.is(system.actorState(14), 'running');
    system.send(14, frame(Op.echo, 7));
    await inbox.waitFor(() => inbox.count(Op.reply, 14) === 1, 'reply from revived 14');
  } finally {
    await system.close();
  }
});

test('a worker thread that dies is respawned with its actors; rings work both ways again', async (t) => {
  const counters = new SharedArrayBuffer(12);
  const system = await ActorSystem.start(options(counters));
  const events: SupervisionEvent[] = [];
  system.onSupervision((e) => events.push(e));
  const inbox = new Inbox(system);
  try {
    const victim = system.workerOf(10);
    const onVictim = ACTORS.filter((id) => system.workerOf(id) === victim);
    const other = ACTORS.find((id) => system.workerOf(id) !== victim);
    t.not(other, undefined);
    system.send(10, frame(Op.exit));
    await pollUntil(
      async () => system.supervisionStats(),
      (s) => s.workerRestarts === 1 && s.workers.every((w) => w.state === 'up'),
      'respawn',
    );
    t.is(
      Atomics.load(new Int32Array(counters), 2),
      onVictim.length,
      'every actor of the worker restarted',
    );
    for (const id of onVictim) t.is(system.actorState(id), 'running');
    // Client → respawned worker → client, and other worker → respawned worker → client.
    system.send(10, frame(Op.echo, 1));
    await inbox.waitFor(() => inbox.count(Op.reply, 10) === 1, 'reply from 10');
    // `other` relays an ECHO to 10; 10's REPLY goes back to `other`, which forwards it to us.
    const head = frame(Op.relay, 10);
    const inner = frame(Op.echo, 2);
    const relay = new Uint8Array(head.length + inner.length);
    relay.set(head, 0);
    relay.set(inner, head.length);
    system.send(other ?? 0, relay);
    await inbox.waitFor(() => inbox.count(Op.reply, other) === 1, 'reply through the other worker');
    const stats = await system.stats();
    t.is(stats[victim]?.state, 'up');
    t.deepEqual(
      events.map((e) => e.kind),
      ['down', 'up'],
    );
  } finally {
    await system.close();
  }
});
