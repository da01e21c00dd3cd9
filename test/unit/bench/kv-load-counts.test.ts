/** kv-load's thread line: per-thread CPU per op, and the phrase that names the bottleneck. */
import test from 'ava';
import { bottleneck, clientHeapBytes, formatPerOp, perOp } from '../../../bench/kv-load-counts';
import type { Totals } from '../../../bench/kv-load-counts';

function totals(
  atMs: number,
  threadCpu: number[],
  processCpu: number,
  gcMs: number[],
  spinOffs = [0, 0],
  persist: Partial<Totals> = {},
  threadCpuWait: number[] = threadCpu.map(() => 0),
  parked: number[] = threadCpu.map(() => 0),
): Totals {
  return {
    batches: 0,
    lingered: 0,
    persisted: 0,
    persistedBytes: 0,
    appendsInline: 0,
    appendsPooled: 0,
    appendStalls: 0,
    readsInline: 0,
    readsPooled: 0,
    readStalls: 0,
    paxos: 0,
    peerPayloads: 0,
    resultPayloads: 0,
    ringRecords: 0,
    local: 0,
    localObjects: 0,
    wakes: 0,
    clientRecords: 0,
    clientWakes: 0,
    acked: 0,
    threadCpu,
    threadCpuWait,
    parked,
    gcMs,
    turns: [0, 0],
    recordsIn: [0, 0],
    spinOffs,
    processCpu,
    atMs,
    ...persist,
  };
}

test('per-thread us/op and shares come from the deltas over the phase', (t) => {
  // One second, 1000 ops: client 0.2 s, workers 0.5 s each, process 1.5 s (rest 0.3 s).
  const c = perOp(
    totals(0, [0, 0, 0], 0, [0, 0, 0]),
    totals(
      1000,
      [200_000, 500_000, 500_000],
      1_500_000,
      [10, 100, 50],
      [3, 0],
      {},
      [100_000, 250_000, 200_000],
      [600_000, 150_000, 300_000],
    ),
    1000,
  );
  t.deepEqual(c.spinOffs, [3, 0]);
  t.deepEqual(c.cpuWaitShares, [0.1, 0.25, 0.2]);
  t.deepEqual(c.parkedShares, [0.6, 0.15, 0.3]);
  t.regex(
    formatPerOp('x', c),
    /w0 50% \(cpu wait 25%, parked 15%, gc 10%, 0 turns\/s, NaN records\/turn, spin off 3x\)/,
  );
  t.regex(formatPerOp('x', c), /client 20% \(cpu wait 10%, parked 60%, gc 1%\)/);
  t.deepEqual(c.threadMicrosPerOp, [200, 500, 500]);
  t.is(c.restMicrosPerOp, 300);
  t.deepEqual(c.threadShares, [0.2, 0.5, 0.5]);
  t.deepEqual(c.gcShares, [0.01, 0.1, 0.05]);
  t.is(c.processCores, 1.5);
  t.regex(
    formatPerOp('x', c),
    /cpu us\/op by thread: client 200\.0, w0 500\.0, w1 500\.0, rest 300\.0/,
  );
  // The client thread's heap bytes per op, once measured (kv-load's clientHeapBytes).
  t.regex(
    formatPerOp('x', { ...c, clientHeapBytesPerOp: 3400.4 }),
    /by thread: client 200\.0 \(heap 3,400 B\/op\), w0 500\.0/,
  );
});

test('clientHeapBytes counts what this thread allocates while it runs', (t) => {
  const heap = clientHeapBytes();
  const kept: number[][] = [];
  for (let i = 0; i < 1000; i++) kept.push(new Array<number>(100).fill(i));
  const bytes = heap.stop();
  // 1000 arrays of 100 numbers: at least 800 KB of elements, whatever the collector did.
  t.true(bytes >= 800_000, `${bytes} bytes`);
  t.is(kept.length, 1000);
});

test('the bottleneck phrase names a saturated thread, full cores, or neither', (t) => {
  const base = perOp(totals(0, [0, 0, 0], 0, [0, 0, 0]), totals(1000, [0, 0, 0], 0, [0, 0, 0]), 1);
  const shares = (s: number[], cores: number) => ({
    ...base,
    threadShares: s,
    processCores: cores,
    machineCores: 2,
  });
  t.is(bottleneck(shares([0.3, 0.95, 0.5], 1.9)), 'w0 saturated');
  t.regex(bottleneck(shares([0.3, 0.5, 0.5], 1.8)), /^cores full/);
  t.regex(bottleneck(shares([0.3, 0.5, 0.5], 1.2)), /^cores not full/);
  // Workers parked for a good share of the phase: the parked and cpu-wait ranges, whatever the
  // cores (the client's own parked time does not count).
  const parked = (p: number[], w: number[]) => ({
    ...shares([0.3, 0.6, 0.6], 1.7),
    parkedShares: p,
    cpuWaitShares: w,
  });
  t.is(
    bottleneck(parked([0.7, 0.19, 0.23], [0.2, 0.21, 0.22])),
    'no thread saturated: workers parked 19–23% for want of work, waited for a CPU 21–22%',
  );
  t.regex(bottleneck(parked([0.7, 0.05, 0.2], [0, NaN, NaN])), /parked 5–20%.*a CPU \?$/);
  t.regex(bottleneck(parked([0.9, 0.05, 0.05], [0, 0, 0])), /^cores full/);
  // A saturated thread is named first, parked or not.
  t.is(
    bottleneck({ ...parked([0, 0.3, 0.3], [0, 0, 0]), threadShares: [0.1, 0.95, 0.4] }),
    'w0 saturated',
  );
});

test('the persist line: engine batches, records and bytes per op, only when something persisted', (t) => {
  const none = perOp(totals(0, [0], 0, [0]), totals(1000, [0], 0, [0]), 1000);
  t.notRegex(formatPerOp('x', none), /persist per op/);
  const c = perOp(
    totals(0, [0], 0, [0], undefined, {
      batches: 100,
      lingered: 0,
      persisted: 700,
      persistedBytes: 70_000,
    }),
    totals(1000, [0], 0, [0], undefined, {
      batches: 500,
      lingered: 200,
      persisted: 3500,
      persistedBytes: 1_030_000,
      appendsInline: 300,
      appendsPooled: 100,
      appendStalls: 2,
    }),
    1000,
  );
  t.is(c.batches, 0.4);
  t.is(c.persisted, 2.8);
  t.regex(
    formatPerOp('x', c),
    /persist per op: engine batches 0\.400, records 2\.800, bytes 960 \(7\.0 records per batch, 0\.200 lingered; appends inline 0\.300, pooled 0\.100, 2 stalls\)/,
  );
});

test("the persist line names lsm's key loads on the worker thread and through the pool", (t) => {
  const c = perOp(
    totals(0, [0], 0, [0], undefined, { batches: 100, persisted: 700, persistedBytes: 70_000 }),
    totals(1000, [0], 0, [0], undefined, {
      batches: 500,
      persisted: 3500,
      persistedBytes: 1_030_000,
      readsInline: 250,
      readsPooled: 50,
      readStalls: 1,
    }),
    1000,
  );
  t.regex(formatPerOp('x', c), /lingered; read calls inline 0\.250, pooled 0\.050, 1 stalls\)/);
  t.notRegex(formatPerOp('x', c), /appends inline/);
});
