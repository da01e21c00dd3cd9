/**
 * The seeded fault scenarios with replicas that message each other as objects, as the store's
 * replicas of a group do on their one worker thread (decision "Same-thread messages as
 * objects"): delays, drops, duplicates (the same object twice), partitions, late delivery to a
 * later incarnation. Each object is fingerprinted when sent and at every delivery, so a sender
 * or receiver writing into a message, its value or a record it carries after the send fails
 * the run; states written in place (a lent record's data) are the hazard this watches.
 */
import test from 'ava';
import { runScenario } from './sim-runner';

test('objects between replicas, memory engine, keys cached, states written in place: linearizable, agreement, liveness', (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'always',
    salt: 43,
    volatile: true,
    readBursts: true,
    objectMessages: true,
  });
});

test('objects between replicas, durable disks, kills and power losses: linearizable, agreement, liveness', (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'always',
    salt: 47,
    crashKind: 'mixed',
    objectMessages: true,
  });
});

test('objects between replicas, amnesic restarts (recovery from fetch replies): linearizable, agreement, liveness', (t) => {
  runScenario(t, { wipe: true, sync: 'always', salt: 53, objectMessages: true });
});

test("objects between replicas, memory with persist, sync 'batch', kill -9, eviction: linearizable, agreement, liveness", (t) => {
  runScenario(t, {
    wipe: false,
    sync: 'batch',
    salt: 59,
    kept: true,
    evict: true,
    crashKind: 'process',
    objectMessages: true,
  });
});
