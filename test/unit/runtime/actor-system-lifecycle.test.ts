/**
 * ActorSystem lifecycle: option validation, stopActors/startActors (crash and restart), actor
 * exceptions, stats, close() awaiting every actor's close(), and a process that exits by
 * itself after close().
 */
import test from 'ava';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { MESSAGE_BYTES_MAX } from '../../../runtime/fragments';
import { ActorSystem } from '../../../runtime/actor-system';
import type { ActorSystemOptions } from '../../../runtime/actor-system';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import { Op, frame } from './fixtures/echo-actor';
import { Inbox, pollUntil, u32At } from './fixtures/inbox';

const ECHO_MODULE = path.join(__dirname, 'fixtures', 'echo-actor.js');
const ACTORS = [10, 11, 12, 13, 14, 15];

function options(counters: SharedArrayBuffer): ActorSystemOptions {
  return { workers: 2, actorModule: ECHO_MODULE, actorConfig: { counters }, actors: ACTORS };
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

test('invalid options are rejected with PXS_INVALID_OPTIONS', async (t) => {
  const good = options(new SharedArrayBuffer(8));
  const bad: Partial<ActorSystemOptions>[] = [
    { workers: 0 },
    { workers: 1.5 },
    { actorModule: 'relative/echo-actor.js' },
    { actors: [CLIENT_ADDRESS] },
    { actors: [1, 1] },
    { actors: [-1] },
    { ringBytes: 10 },
    { tickMs: 0 },
    { workerYoungMb: 2 },
    { workerYoungMb: 1.5 },
    { workerYoungMb: 4096 },
    { placement: [0, 2] }, // worker 2 of 2
    { placement: [0, -1] },
  ];
  for (const change of bad) {
    const error = await t.throwsAsync(ActorSystem.start({ ...good, ...change }));
    t.is(codeOf(error), 'PXS_INVALID_OPTIONS', JSON.stringify(change));
  }
});

test('a module without createActor fails start with a worker error', async (t) => {
  const error = await t.throwsAsync(
    ActorSystem.start({ ...options(new SharedArrayBuffer(8)), actorModule: __filename }),
  );
  t.is(codeOf(error), 'PXS_WORKER_DIED');
});

test('stopActors drops and counts messages; startActors restarts with fresh state', async (t) => {
  const counters = new SharedArrayBuffer(8);
  const created = new Int32Array(counters);
  const system = await ActorSystem.start(options(counters));
  const inbox = new Inbox(system);
  try {
    t.is(Atomics.load(created, 0), ACTORS.length, 'actorConfig SAB is shared with every worker');
    system.send(10, frame(Op.seq, 0));
    await system.stopActors([10]);
    system.send(10, frame(Op.echo, 1));
    system.send(11, frame(Op.echo, 2));
    await inbox.waitFor(() => inbox.count(Op.reply, 11) === 1, 'reply from 11');
    const stats = await pollUntil(
      () => system.stats(),
      (s) => (s[system.workerOf(10)]?.dropped ?? 0) >= 1,
      'drop counted',
    );
    t.is(inbox.count(Op.reply, 10), 0, 'a stopped actor must not answer');
    t.is(
      stats.reduce((n, s) => n + s.actors, 0),
      ACTORS.length - 1,
    );

    await system.startActors([10]);
    t.is(Atomics.load(created, 0), ACTORS.length + 1);
    system.send(10, frame(Op.status));
    await inbox.waitFor(() => inbox.count(Op.status, 10) === 1, 'status of restarted 10');
    const reply = inbox.records.find((r) => r.from === 10 && r.payload[0] === Op.status);
    t.is(u32At(reply?.payload ?? new Uint8Array(5), 1), 0, 'restarted actor kept old state');

    const error = await t.throwsAsync(system.startActors([10]));
    t.is(codeOf(error), 'PXS_START_FAILED');
  } finally {
    await system.close();
  }
});

test('an actor that throws is logged, stopped and counted; the others go on', async (t) => {
  // No restarts allowed: the actor stays down (actor-system-supervision.test.ts restarts it).
  const system = await ActorSystem.start({
    ...options(new SharedArrayBuffer(8)),
    supervision: { restartsMax: 0 },
  });
  const inbox = new Inbox(system);
  try {
    system.send(12, frame(Op.throw));
    const stats = await pollUntil(
      () => system.stats(),
      (s) => s.reduce((n, w) => n + w.actorFailures, 0) === 1,
      'failure counted',
    );
    t.is(
      stats.reduce((n, s) => n + s.actors, 0),
      ACTORS.length - 1,
    );
    system.send(12, frame(Op.echo, 1));
    system.send(13, frame(Op.echo, 2));
    await inbox.waitFor(() => inbox.count(Op.reply, 13) === 1, 'reply from 13');
    t.is(inbox.count(Op.reply, 12), 0);
  } finally {
    await system.close();
  }
});

test('stats report actors, traffic, ticks, ring occupancy and parks per worker', async (t) => {
  const system = await ActorSystem.start({ ...options(new SharedArrayBuffer(8)), tickMs: 2 });
  const inbox = new Inbox(system);
  try {
    for (const id of ACTORS) system.send(id, frame(Op.echo, id));
    await inbox.waitFor(() => inbox.count(Op.reply) === ACTORS.length, 'replies');
    const stats = await pollUntil(
      () => system.stats(),
      (s) => s.every((w) => w.ticks > 0 && w.parks > 0),
      'ticks and parks',
    );
    t.is(stats.length, 2);
    t.deepEqual(
      stats.map((s) => s.worker),
      [0, 1],
    );
    t.is(
      stats.reduce((n, s) => n + s.actors, 0),
      ACTORS.length,
    );
    t.is(
      stats.reduce((n, s) => n + s.messagesIn, 0),
      ACTORS.length,
    );
    t.is(
      stats.reduce((n, s) => n + s.messagesOut, 0),
      ACTORS.length,
    );
    for (const s of stats) {
      t.is(s.ringOccupancyBytes.length, 3, 'one entry per thread');
      t.is(s.dropped, 0);
      t.is(s.overflowRecords, 0);
    }
    const client = system.clientStats();
    t.is(client.messagesOut, ACTORS.length);
    t.is(client.messagesIn, ACTORS.length);
  } finally {
    await system.close();
  }
});

test('close() awaits every actor close(), then refuses sends', async (t) => {
  const counters = new SharedArrayBuffer(8);
  const system = await ActorSystem.start(options(counters));
  await system.close();
  t.is(Atomics.load(new Int32Array(counters), 1), ACTORS.length);
  const error = t.throws(() => system.send(10, frame(Op.echo, 1)));
  t.is(codeOf(error), 'PXS_CLOSED');
  await system.close(); // idempotent
});

test('messages larger than a ring record travel as fragments, both ways and between actors', async (t) => {
  const system = await ActorSystem.start({ ...options(new SharedArrayBuffer(8)), ringBytes: 4096 });
  const inbox = new Inbox(system);
  try {
    // 3.5 rings' worth: fragmented client→actor, then actor→client on the echo's reply path.
    const big = new Uint8Array(14_000).map((_, i) => (i * 7) & 0xff);
    big[0] = Op.echo;
    system.send(10, big);
    // And actor→actor: a relay through actor 11 (possibly on another worker) to actor 12.
    const relayed = new Uint8Array(5 + 9_000).map((_, i) => (i * 13) & 0xff);
    relayed[0] = 3; // RELAY
    new DataView(relayed.buffer).setUint32(1, 12, true);
    relayed[5] = Op.echo;
    system.send(11, relayed);
    await inbox.waitFor(() => inbox.count(Op.reply) >= 2, 'both big echoes');
    const reply = inbox.records.find(
      (r) => r.payload[0] === Op.reply && r.payload.length === big.length,
    );
    t.truthy(reply, 'the echo of the 14,000-byte message arrived whole');
    t.deepEqual(reply?.payload.subarray(1), big.subarray(1));
    const viaRelay = inbox.records.find(
      (r) => r.payload[0] === Op.reply && r.payload.length === relayed.length - 5,
    );
    t.deepEqual(
      viaRelay?.payload.subarray(1),
      relayed.subarray(6),
      'actor→actor fragments reassembled',
    );
    const tooBig = t.throws(() => system.send(10, new Uint8Array(MESSAGE_BYTES_MAX + 1)));
    t.is(codeOf(tooBig), 'PXS_PAYLOAD_TOO_LARGE');
    const toClient = t.throws(() => system.send(CLIENT_ADDRESS, new Uint8Array(1)));
    t.is(codeOf(toClient), 'PXS_INVALID_ADDRESS');
  } finally {
    await system.close();
  }
});

test('after close() the process exits by itself (no worker or timer left running)', async (t) => {
  const script = path.join(__dirname, 'fixtures', 'exit-after-close.js');
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // The bound only turns a hang into a failure; nothing here measures speed.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(guard);
  t.is(signal, null, 'the child had to be killed: something kept it alive after close()');
  t.is(code, 0);
  t.regex(output, /replied-by 2; closed/);
});
