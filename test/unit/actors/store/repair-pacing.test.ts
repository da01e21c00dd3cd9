/**
 * The background repair's pacing (actors/store/repair-pacing.ts): table tests of pure
 * functions of explicit times, no clock and no timing assertions.
 */
import test from 'ava';
import {
  INSTALL_TOKENS,
  REPAIR_BATCH_KEYS_MAX,
  batchKeysFor,
  batchStep,
  batchesOf,
  charge,
  newPacer,
  refill,
  roundStart,
  waitMsFor,
} from '../../../../actors/store/repair-pacing';
import type { BatchStep, RoundStart } from '../../../../actors/store/repair-pacing';
import { resolveRepair } from '../../../../actors/store/repair-options';

test('a batch is a tenth of a second of the rate, 1..REPAIR_BATCH_KEYS_MAX keys', (t) => {
  const table: [number, number][] = [
    [1, 1],
    [9, 1],
    [10, 1],
    [11, 2],
    [100, 10],
    [500, 50],
    [640, 64],
    [10_000, REPAIR_BATCH_KEYS_MAX],
  ];
  for (const [rate, keys] of table) t.is(batchKeysFor(rate), keys, `${rate} keys/s`);
});

test('the bucket starts full, refills at the rate and never holds more than one batch', (t) => {
  const p = newPacer(1000, 100); // batch of 10
  t.is(p.level, 10);
  const drained = charge(p, 1000, 10, 100);
  t.is(drained.level, 0);
  t.is(refill(drained, 1050, 100).level, 5, '50 ms at 100/s is 5 tokens');
  t.is(refill(drained, 1_000_000, 100).level, 10, 'capped at one batch');
  t.is(refill(drained, 500, 100).level, 0, 'a clock that went back refills nothing');
});

test('the wait for a cost is what the missing tokens take to refill', (t) => {
  const empty = { level: 0, atMs: 0 };
  const table: [number, number, number][] = [
    // [cost, rate, wait ms]
    [0, 100, 0],
    [1, 100, 10],
    [10, 100, 100],
    [64, 100, 100], // above one batch: waits only for a full bucket
    [1, 1, 1000],
  ];
  for (const [cost, rate, wait] of table)
    t.is(waitMsFor(empty, 0, cost, rate), wait, `cost ${cost} at ${rate}/s`);
  t.is(waitMsFor({ level: 10, atMs: 0 }, 0, 10, 100), 0, 'enough tokens: no wait');
  t.is(waitMsFor({ level: -20, atMs: 0 }, 0, 1, 100), 210, 'a debt is waited off first');
});

test('a round starts an interval after the last one ended, whatever the load', (t) => {
  const table: [number, RoundStart][] = [
    // [now, decision] with the last round ended at 0, interval 100
    [50, 'wait'],
    [99, 'wait'],
    [100, 'run'],
    [5000, 'run'],
  ];
  for (const [now, decision] of table) t.is(roundStart(now, 0, 100), decision, `now ${now}`);
});

test('between batches: go when light, pause while busy, go anyway after the last pause', (t) => {
  const table: [number, number, BatchStep][] = [
    // [inFlight, pauses so far, step] with busy above 5 and at most 3 pauses
    [0, 0, 'go'],
    [5, 3, 'go'],
    [6, 0, 'pause'],
    [6, 2, 'pause'],
    [6, 3, 'go'],
  ];
  for (const [inFlight, pauses, step] of table)
    t.is(batchStep(inFlight, 5, pauses, 3), step, `${inFlight} in flight, ${pauses} pauses`);
});

test('batches keep every job, in order, none larger than asked', (t) => {
  t.deepEqual(batchesOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  t.deepEqual(batchesOf([], 3), []);
  t.deepEqual(batchesOf([1], 64), [[1]]);
  t.throws(() => batchesOf([1], 0));
});

test('repair options: defaults, and every bad field refused with INVALID_ARGUMENT', (t) => {
  const d = resolveRepair(undefined);
  t.deepEqual(
    { ...d, onRound: undefined },
    {
      enabled: true,
      intervalMs: 600_000,
      keysPerSecond: 500,
      busyInFlight: 32,
      onRound: undefined,
    },
  );
  t.false(resolveRepair({ enabled: false }).enabled);
  const onRound = (): void => undefined;
  t.is(resolveRepair({ onRound }).onRound, onRound);
  const bad: unknown[] = [
    null,
    [],
    'x',
    new Date(),
    { nope: 1 },
    { intervalMs: 5 },
    { keysPerSecond: 0 },
    { busyInFlight: -1 },
    { enabled: 1 },
    { onRound: {} },
  ];
  for (const o of bad)
    t.is(
      (t.throws(() => resolveRepair(o)) as { code?: unknown } | undefined)?.code,
      'INVALID_ARGUMENT',
      JSON.stringify(o),
    );
});
