import test from 'ava';
import { CLIENT_ADDRESS } from '../../../runtime/actor';
import type { Actor, ActorHost, ActorId } from '../../../runtime/actor';
import { Simulation } from '../../../runtime/sim/simulation';
import type { FaultConfig } from '../../../runtime/sim/network';
import type { SimDisk } from '../../../runtime/sim/sim-disk';
import { probeFactory, receives } from './sim-fixtures';
import type { ProbeLogEntry } from './sim-fixtures';

const ACTORS = 6;
const nodeOfThree = (id: ActorId): number => id % 3;

/**
 * A relay: a message [hops, salt] is forwarded to another actor with hops - 1 until hops is 0,
 * then answered to the client. Each tick it also gossips to its neighbour, so traffic exists
 * without client input. Every choice is a function of its input, so all randomness is the sim's.
 */
function relayFactory(id: ActorId, host: ActorHost, disk: SimDisk): Actor {
  let ticks = 0;
  return {
    receive(from, payload) {
      const hops = payload[0] as number;
      const salt = payload[1] as number;
      if (from !== CLIENT_ADDRESS && hops === 255) return; // gossip
      // Persist before answering, so disk latency, faults and crashes shape the trace too.
      const reply = (): void => host.send(CLIENT_ADDRESS, new Uint8Array([id, salt]));
      if (hops === 0)
        disk.write([{ key: `r${id}`, value: payload.slice() }], salt % 2 === 0, reply);
      else
        host.send(
          (id + 1 + (salt % 5)) % ACTORS,
          new Uint8Array([hops - 1, (salt * 7 + id) & 0xff]),
        );
    },
    flush() {},
    tick() {
      ticks++;
      host.send((id + 1) % ACTORS, new Uint8Array([255, ticks & 0xff]));
    },
    close: () => Promise.resolve(),
  };
}

function relayRun(seed: number): { hash: string; entries: string[]; replies: string[] } {
  const faults: Partial<FaultConfig> = {
    dropRate: 0.1,
    duplicateRate: 0.1,
    delayMinMs: 0.2,
    delayMaxMs: 5,
  };
  const sim = new Simulation({
    seed,
    tickMs: 10,
    nodeOf: nodeOfThree,
    faults,
    traceEntriesMax: 100_000,
  });
  sim.setDiskFaults({ tornTail: true, failWriteRate: 0.05 });
  for (let id = 0; id < ACTORS; id++) sim.addActor(id, relayFactory, sim.disk(nodeOfThree(id)));
  const replies: string[] = [];
  sim.onClientReceive((from, p) => replies.push(`${sim.now()}:${from}:${[...p].join(',')}`));
  const workload = sim.forkPrng();
  for (let i = 0; i < 40; i++) {
    sim.schedule(workload.int(500), () =>
      sim.clientSend(workload.int(ACTORS), new Uint8Array([5, i])),
    );
  }
  sim.schedule(200, () => sim.crash(1));
  sim.schedule(300, () => sim.partition([[0], [1, 2]]));
  sim.schedule(350, () => sim.restart(1));
  sim.schedule(450, () => sim.heal());
  sim.runFor(1000);
  return { hash: sim.trace.hash(), entries: sim.trace.entries(), replies };
}

test('same seed replays the identical event trace', (t) => {
  const a = relayRun(1234);
  const b = relayRun(1234);
  t.true(a.entries.length > 1000, `trace too short: ${a.entries.length}`);
  t.deepEqual(a.entries, b.entries);
  t.is(a.hash, b.hash);
  t.deepEqual(a.replies, b.replies);
  t.true(a.replies.length > 0);
});

test('different seeds give different traces', (t) => {
  t.not(relayRun(1).hash, relayRun(2).hash);
});

function probeSim(
  faults: Partial<FaultConfig>,
  seed = 5,
): { sim: Simulation; log: ProbeLogEntry[] } {
  const sim = new Simulation({ seed, tickMs: 10, nodeOf: nodeOfThree, faults });
  const log: ProbeLogEntry[] = [];
  // Actor 0 forwards whatever the client sends to the actor named in byte 0.
  const config = {
    log,
    react: (host: ActorHost, from: ActorId, p: Uint8Array) => {
      if (from === CLIENT_ADDRESS) host.send(p[0] as number, p.subarray(1));
    },
  };
  for (let id = 0; id < ACTORS; id++) sim.addActor(id, probeFactory, config);
  return { sim, log };
}

function sendVia0(sim: Simulation, to: ActorId, count: number): void {
  for (let i = 0; i < count; i++) sim.clientSend(0, new Uint8Array([to, i]));
}

test('dropRate 1 loses every cross-node message but no same-node or client message', (t) => {
  const { sim, log } = probeSim({ dropRate: 1 });
  sendVia0(sim, 1, 20); // node 0 -> node 1
  sendVia0(sim, 3, 20); // node 0 -> node 0
  sim.runFor(100);
  t.is(receives(log, 0).length, 40);
  t.is(receives(log, 1).length, 0);
  t.deepEqual(
    receives(log, 3).map((e) => e.bytes),
    [...Array(20).keys()].map((i) => [i]),
  );
  t.is(sim.stats.droppedFault, 20);
});

test('duplicateRate 1 delivers every cross-node message twice', (t) => {
  const { sim, log } = probeSim({ duplicateRate: 1 });
  sendVia0(sim, 2, 10);
  sim.runFor(100);
  const got = receives(log, 2)
    .map((e) => (e.bytes as number[])[0] as number)
    .sort((a, b) => a - b);
  t.deepEqual(
    got,
    [...Array(10).keys()].flatMap((i) => [i, i]),
  );
});

test('random delay reorders cross-node messages; same-node stays FIFO', (t) => {
  const { sim, log } = probeSim({ delayMinMs: 0, delayMaxMs: 10 });
  sendVia0(sim, 1, 50);
  sendVia0(sim, 3, 50);
  sim.runFor(100);
  const cross = receives(log, 1).map((e) => (e.bytes as number[])[0]);
  const local = receives(log, 3).map((e) => (e.bytes as number[])[0]);
  t.is(cross.length, 50);
  t.notDeepEqual(cross, [...Array(50).keys()]);
  t.deepEqual(local, [...Array(50).keys()]);
});

test('partition cuts links between groups, heal restores them', (t) => {
  const { sim, log } = probeSim({});
  sim.partition([[0, 2], [1]]);
  sendVia0(sim, 1, 5);
  sendVia0(sim, 2, 5);
  sim.runFor(50);
  t.is(receives(log, 1).length, 0);
  t.is(receives(log, 2).length, 5);
  sim.heal();
  sendVia0(sim, 1, 5);
  sim.runFor(50);
  t.is(receives(log, 1).length, 5);
  sim.setFaults({ partitionedLinks: [[0, 2]] });
  sendVia0(sim, 2, 5);
  sendVia0(sim, 1, 5);
  sim.runFor(50);
  t.is(receives(log, 2).length, 5);
  t.is(receives(log, 1).length, 10);
});

test('a partition made while messages are in flight drops them at delivery', (t) => {
  const { sim, log } = probeSim({ delayMinMs: 5, delayMaxMs: 5 });
  sendVia0(sim, 1, 3);
  sim.runFor(1); // forwarded by actor 0, now on the wire for 5 ms
  sim.partition([[0], [1, 2]]);
  sim.runFor(20);
  t.is(receives(log, 1).length, 0);
  t.is(sim.stats.droppedPartition, 3);
});

test('crash drops actors without close and loses in-flight traffic; restart re-creates', (t) => {
  const { sim, log } = probeSim({ delayMinMs: 5, delayMaxMs: 5 });
  sendVia0(sim, 1, 3);
  sim.runFor(1);
  sim.crash(1);
  t.is(sim.actor(1), undefined);
  t.false(sim.isUp(1));
  sim.runFor(1);
  sim.restart(1);
  sim.runFor(20);
  t.is(receives(log, 1).length, 0, 'messages in flight to the crashed node are lost');
  t.is(log.filter((e) => e.what === 'close').length, 0);
  t.is(log.filter((e) => e.what === 'create' && e.actor === 1).length, 2);
  sendVia0(sim, 1, 3);
  sim.runFor(20);
  t.is(receives(log, 1).length, 3);
});

test('messages from a node that crashes while they are in flight are lost', (t) => {
  const { sim, log } = probeSim({ delayMinMs: 5, delayMaxMs: 5 });
  sendVia0(sim, 1, 3);
  sim.runFor(1);
  sim.crash(0);
  sim.restart(0);
  sim.runFor(20);
  t.is(receives(log, 1).length, 0);
});

test('payloads are copied on send', (t) => {
  const sim = new Simulation({ seed: 1, tickMs: 10, nodeOf: nodeOfThree });
  const log: ProbeLogEntry[] = [];
  sim.addActor(0, probeFactory, { log });
  const buf = new Uint8Array([1, 2, 3]);
  sim.clientSend(0, buf);
  buf[0] = 99;
  sim.runFor(1);
  t.deepEqual(
    receives(log, 0).map((e) => e.bytes),
    [[1, 2, 3]],
  );
});

test('flush runs once per instant after receives; ticks run every tickMs', (t) => {
  const sim = new Simulation({ seed: 9, tickMs: 10, nodeOf: () => 0 });
  const log: ProbeLogEntry[] = [];
  sim.addActor(0, probeFactory, { log, logTicks: true });
  sim.runFor(100.5);
  const ticks = log.filter((e) => e.what === 'tick');
  t.true(ticks.length >= 10 && ticks.length <= 11, `ticks ${ticks.length}`);
  for (let i = 1; i < ticks.length; i++) {
    t.is(
      Math.round(((ticks[i] as ProbeLogEntry).at - (ticks[i - 1] as ProbeLogEntry).at) * 1000),
      10_000,
    );
  }
  // Every receive and tick is followed by a flush before anything at a later time happens.
  for (let i = 0; i < log.length; i++) {
    const e = log[i] as ProbeLogEntry;
    if (e.what !== 'receive' && e.what !== 'tick') continue;
    const next = log.slice(i + 1).find((x) => x.what === 'flush' || x.at !== e.at);
    t.truthy(next);
    t.is(next?.what, 'flush');
  }
});

test('client traffic is never dropped by faults and replies reach the handler', (t) => {
  const sim = new Simulation({ seed: 3, tickMs: 10, nodeOf: nodeOfThree, faults: { dropRate: 1 } });
  const log: ProbeLogEntry[] = [];
  const echo = {
    log,
    react: (host: ActorHost, _f: ActorId, p: Uint8Array) => host.send(CLIENT_ADDRESS, p),
  };
  sim.addActor(1, probeFactory, echo);
  const got: number[] = [];
  sim.onClientReceive((from, p) => got.push(from, ...p));
  for (let i = 0; i < 10; i++) sim.clientSend(1, new Uint8Array([i]));
  t.true(sim.runUntil(() => got.length === 20, 10));
  t.deepEqual(
    got,
    [...Array(10).keys()].flatMap((i) => [1, i]),
  );
});

test('runUntil reports false when the predicate never holds and advances the clock', (t) => {
  const sim = new Simulation({ seed: 3, tickMs: 10, nodeOf: () => 0 });
  t.false(sim.runUntil(() => false, 50));
  t.is(sim.now(), 50);
  let fired = false;
  const h = sim.schedule(5, () => {
    fired = true;
  });
  h.cancel();
  sim.runFor(10);
  t.false(fired);
});

test('invalid configuration is reported with a code', (t) => {
  const err = t.throws(() => new Simulation({ seed: 1, tickMs: 0, nodeOf: () => 0 }));
  t.is((err as Error & { code?: string }).code, 'SIM_INVALID_CONFIG');
  const sim = new Simulation({ seed: 1, tickMs: 1, nodeOf: () => 0 });
  const err2 = t.throws(() => sim.setFaults({ dropRate: 2 }));
  t.is((err2 as Error & { code?: string }).code, 'SIM_INVALID_CONFIG');
});

/**
 * Objects (ActorHost.sendObject, SimulationOptions.objectMessages): actor 0 sends one object to
 * actor 1 on another node; every delivery is recorded, and `write` runs on the receiver's copy.
 */
function objectRun(
  duplicateRate: number,
  write: (message: { n: number; bytes: Uint8Array }) => void,
): { delivered: object[]; sent: object } {
  const sim = new Simulation({
    seed: 7,
    tickMs: 10,
    nodeOf: (id) => id,
    faults: { duplicateRate, delayMinMs: 0.1, delayMaxMs: 1 },
    objectMessages: true,
  });
  const delivered: object[] = [];
  const sent = { n: 1, bytes: Uint8Array.of(1, 2, 3) };
  const quiet = { flush() {}, tick() {}, close: () => Promise.resolve() };
  sim.addActor(
    0,
    (_id, host: ActorHost): Actor => {
      return {
        ...quiet,
        receive() {
          if (host.sendObject?.(1, sent) !== true) throw new Error('no object path');
          if (host.sendObject(CLIENT_ADDRESS, sent) !== false)
            throw new Error('objects to the client');
        },
      };
    },
    null,
  );
  sim.addActor(
    1,
    (): Actor => ({
      ...quiet,
      receive() {},
      receiveObject(_from, message) {
        delivered.push(message);
        write(message as typeof sent);
      },
    }),
    null,
  );
  sim.clientSend(0, Uint8Array.of(0));
  sim.runFor(50);
  return { delivered, sent };
}

test('objects: delivered as the very object; a duplicate hands over the same object again', (t) => {
  const { delivered, sent } = objectRun(1, () => undefined);
  t.true(delivered.length >= 2, `duplicated (${delivered.length})`);
  for (const m of delivered) t.is(m, sent);
});

test('objects: a message written after it was sent fails the run at its next delivery', (t) => {
  t.throws(() => objectRun(1, (m) => (m.bytes[0] = 9)), { message: /written after it was sent/ });
  t.throws(() => objectRun(1, (m) => (m.n += 1)), { message: /written after it was sent/ });
  // Without a duplicate there is no later delivery to see it: the check is per delivery.
  t.notThrows(() => objectRun(0, (m) => (m.n += 1)));
});
