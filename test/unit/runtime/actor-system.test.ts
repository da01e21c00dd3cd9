/**
 * ActorSystem data path with real worker threads and the echo actor: round trips, ping-pong
 * across workers, async sends, and 100k-message runs that must arrive complete and in order
 * per pair, with rings small enough that the overflow path is taken.
 */
import test from 'ava';
import path from 'node:path';
import { ActorSystem } from '../../../runtime/actor-system';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import { Op, frame } from './fixtures/echo-actor';
import { Inbox, u32At } from './fixtures/inbox';

const ECHO_MODULE = path.join(__dirname, 'fixtures', 'echo-actor.js');
const ACTORS = [1, 2, 3, 4, 5, 6, 7, 8];

async function startSystem(ringBytes?: number): Promise<{ system: ActorSystem; inbox: Inbox }> {
  const system = await ActorSystem.start({
    workers: 2,
    actorModule: ECHO_MODULE,
    actorConfig: {},
    actors: ACTORS,
    ...(ringBytes === undefined ? {} : { ringBytes }),
  });
  return { system, inbox: new Inbox(system) };
}

/** Two actors pinned to different workers, and two pinned to the same one. */
function pairs(system: ActorSystem): { cross: [number, number]; same: [number, number] } {
  const on0 = ACTORS.filter((id) => system.workerOf(id) === 0);
  const on1 = ACTORS.filter((id) => system.workerOf(id) === 1);
  const [a0, b0] = on0;
  const [a1] = on1;
  if (a0 === undefined || b0 === undefined || a1 === undefined) throw new Error('bad placement');
  return { cross: [a0, a1], same: [a0, b0] };
}

async function status(system: ActorSystem, inbox: Inbox, id: number): Promise<number[]> {
  const before = inbox.count(Op.status, id);
  system.send(id, frame(Op.status));
  await inbox.waitFor(() => inbox.count(Op.status, id) > before, `status of ${id}`);
  const last = inbox.records.filter((r) => r.from === id && r.payload[0] === Op.status).pop();
  if (last === undefined) throw new Error('status vanished');
  return [1, 5, 9, 13].map((at) => u32At(last.payload, at));
}

test('client -> actor -> client round trip reaches every actor', async (t) => {
  const { system, inbox } = await startSystem();
  try {
    for (const id of ACTORS) system.send(id, frame(Op.echo, id * 1000));
    await inbox.waitFor(() => inbox.count(Op.reply) === ACTORS.length, 'replies');
    for (const id of ACTORS) {
      const replies = inbox.records.filter((r) => r.from === id);
      t.is(replies.length, 1, `actor ${id}`);
      t.is(u32At(replies[0]?.payload ?? new Uint8Array(8), 1), id * 1000);
    }
    t.true(new Set(ACTORS.map((id) => system.workerOf(id))).size === 2, 'actors on both workers');
  } finally {
    await system.close();
  }
});

test('an explicit placement pins each actor it names; the others are hashed', async (t) => {
  // Actors 1..4 on worker 1, 5..8 on worker 0 (index = actor id; id 0 is not started).
  const placement = [0, 1, 1, 1, 1, 0, 0, 0, 0];
  const system = await ActorSystem.start({
    workers: 2,
    actorModule: ECHO_MODULE,
    actorConfig: {},
    actors: [...ACTORS, 100],
    placement,
  });
  const inbox = new Inbox(system);
  try {
    t.deepEqual(
      ACTORS.map((id) => system.workerOf(id)),
      ACTORS.map((id) => placement[id]),
    );
    const [s0, s1] = await system.stats();
    const hashed = system.workerOf(100);
    t.is(s0?.actors, 4 + (hashed === 0 ? 1 : 0), 'worker 0 hosts 5..8 (and 100 if hashed there)');
    t.is(s1?.actors, 4 + (hashed === 1 ? 1 : 0));
    // Actor 1 relays to actor 2 (same worker): a local delivery, then the echo comes back.
    system.send(1, frame(Op.relay, 2, Op.echo, 7));
    await inbox.waitFor(() => inbox.count(Op.reply) === 1, 'relayed echo');
    const [after0, after1] = await system.stats();
    t.true((after1?.localMessages ?? 0) >= 1, 'the relay stayed on worker 1');
    t.is(after0?.localMessages, 0);
  } finally {
    await system.close();
  }
});

test('ping-pong between actors on different workers ends with exactly one DONE', async (t) => {
  const { system, inbox } = await startSystem();
  try {
    const [a, b] = pairs(system).cross;
    t.not(system.workerOf(a), system.workerOf(b));
    system.send(a, frame(Op.ping, b, 2001));
    await inbox.waitFor(() => inbox.count(Op.done) === 1, 'DONE');
    // 2001 hops starting at a: the last (n = 0) lands on b, which reports.
    const done = inbox.records.find((r) => r.payload[0] === Op.done);
    t.is(done?.from, b);
    const [sa, sb] = await system.stats();
    t.true((sa?.messagesIn ?? 0) >= 1000 && (sb?.messagesIn ?? 0) >= 1000);
    t.is(inbox.count(Op.done), 1);
  } finally {
    await system.close();
  }
});

test('a send from an async callback (outside any turn) is flushed', async (t) => {
  const { system, inbox } = await startSystem();
  try {
    for (const id of ACTORS) system.send(id, frame(Op.later, id));
    await inbox.waitFor(() => inbox.count(Op.reply) === ACTORS.length, 'LATER replies');
    t.deepEqual(
      inbox.records.map((r) => r.from).sort((x, y) => x - y),
      ACTORS,
    );
  } finally {
    await system.close();
  }
});

test('100k client -> actor -> client echoes: no loss, no duplicate, in order', async (t) => {
  const { system, inbox } = await startSystem(16 * 1024);
  try {
    const total = 100_000;
    // One synchronous burst: far more than a 16 KiB ring holds, so the client overflows.
    for (let seq = 0; seq < total; seq++) {
      system.send(ACTORS[seq % ACTORS.length] ?? 1, frame(Op.echo, seq));
    }
    await inbox.waitFor(() => inbox.records.length >= total, '100k replies');
    const last = new Map<number, number>();
    for (const r of inbox.records) {
      const seq = u32At(r.payload, 1);
      t.is(ACTORS[seq % ACTORS.length], r.from);
      const previous = last.get(r.from) ?? -1;
      if (seq <= previous) t.fail(`actor ${r.from}: ${seq} after ${previous}`);
      last.set(r.from, seq);
    }
    t.is(inbox.records.length, total);
    t.is(new Set(inbox.records.map((r) => u32At(r.payload, 1))).size, total);
    t.true(system.clientStats().overflowRecords > 0, 'the overflow path was not exercised');
  } finally {
    await system.close();
  }
});

test('100k actor -> actor messages across workers and within a worker, in order', async (t) => {
  const { system, inbox } = await startSystem(16 * 1024);
  try {
    const { cross, same } = pairs(system);
    const total = 100_000;
    // Each FANOUT makes the first actor send `total` SEQ messages in one receive().
    system.send(cross[0], frame(Op.fanout, cross[1], total));
    system.send(same[1], frame(Op.fanout, same[0], total));
    for (const target of [cross[1], same[0]]) {
      let seen = [0, 0];
      for (let round = 0; round < 600 && (seen[0] ?? 0) < total; round++) {
        seen = await status(system, inbox, target);
        if ((seen[0] ?? 0) < total) await new Promise((r) => setTimeout(r, 50));
      }
      t.is(seen[0], total, `actor ${target} got every SEQ`);
      t.is(seen[1], 0, `actor ${target} saw SEQ out of order`);
    }
    const stats = await system.stats();
    t.true(
      stats.some((s) => s.overflowRecords > 0),
      'the worker overflow path was not exercised',
    );
    t.true(
      stats.some((s) => s.localMessages >= total),
      'same-worker sends used the local queue',
    );
    t.is(
      stats.reduce((n, s) => n + s.dropped, 0),
      0,
    );
  } finally {
    await system.close();
  }
});

test('a worker send to CLIENT_ADDRESS reaches onReceive with the actor as sender', async (t) => {
  const { system, inbox } = await startSystem();
  try {
    const inner = Uint8Array.of(Op.reply, 42);
    const relay = new Uint8Array(5 + inner.byteLength);
    relay.set(frame(Op.relay, CLIENT_ADDRESS));
    relay.set(inner, 5);
    system.send(3, relay);
    await inbox.waitFor(() => inbox.count(Op.reply, 3) === 1, 'relayed record');
    t.deepEqual([...(inbox.records[0]?.payload ?? [])], [Op.reply, 42]);
  } finally {
    await system.close();
  }
});

test('an inspect answer leaves its worker with byte views of their own, not whole slabs', async (t) => {
  const { system } = await startSystem();
  try {
    const answer = await system.inspect(ACTORS[0] as number, { kind: 'kept-views' });
    if (!answer.ok) return t.fail(answer.message);
    const { views, slabBytes } = answer.value as { views: Uint8Array[]; slabBytes: number[] };
    t.true(
      slabBytes.every((n) => n > 100),
      'in the worker, the views were carves of a slab',
    );
    t.deepEqual(
      views.map((v) => [v.length, v.buffer.byteLength]),
      [
        [100, 100],
        [80, 80],
      ],
    );
    t.deepEqual([...(views[1] as Uint8Array)].slice(0, 3), [10, 11, 12]);
  } finally {
    await system.close();
  }
});
