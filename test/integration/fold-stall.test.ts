/**
 * No head-of-line blocking behind a fold (issue 10): while a full queue folds its dead prefix
 * (a 16 MiB state rebuilt inside apply, its record written whole), the other keys of the same
 * worker — in the big queue's own group and in another group — keep being answered. The fold
 * schedule is a pure function of the op sequence, so the test first runs the same ops through
 * the queue model alone and checks that they fold (the test cannot pass without folds), then
 * replays them through the store with writers on other keys. Outcome codes and counts only, no
 * timing: a request that waited past its deadline fails with UNKNOWN_OUTCOME and the test with
 * it. bench/fold-stall.ts measures the latencies.
 */
import test from 'ava';
import { PaxosStore } from '../../index';
import { allModels } from '../../models/all-models';
import { ModelTag } from '../../models/model-tags';
import { QUEUE_BYTES_MAX, encodeQueueOp } from '../../models/queue/queue';
import type { QueueOp } from '../../models/queue/queue';
import { tagged } from '../../models/registry';
import { codeOf, tempDir } from './helpers';

const VALUE_BYTES = 256 * 1024;
/** Values that fill the queue to its limit (each costs 4 more bytes: one fewer fits). */
const FULL = Math.floor(QUEUE_BYTES_MAX / (VALUE_BYTES + 4));
/** Pops and pushes alternating once full: folds come every few MiB of pops. */
const CHURN = 96;

function valueOf(i: number): Uint8Array {
  const v = new Uint8Array(VALUE_BYTES).fill(3);
  new DataView(v.buffer).setUint32(0, i);
  return v;
}

function opsOf(): QueueOp[] {
  const ops: QueueOp[] = [];
  for (let i = 0; i < FULL; i++) ops.push({ type: 'push', values: [valueOf(i)] });
  for (let i = 0; i < CHURN; i++)
    ops.push(i % 2 === 0 ? { type: 'pop' } : { type: 'push', values: [valueOf(FULL + i)] });
  return ops;
}

/** Folds in the op sequence: ops after which the stored queue shrank by more than a value. */
function foldsOf(ops: readonly QueueOp[]): number {
  let data: Uint8Array | null = null;
  let folds = 0;
  for (const op of ops) {
    const next: Uint8Array | null = allModels.apply(
      data,
      0,
      tagged(ModelTag.queue, encodeQueueOp(op)),
    ).data;
    if ((next?.length ?? 0) + VALUE_BYTES < (data?.length ?? 0)) folds++;
    data = next;
  }
  return folds;
}

test('other keys of the worker are answered while a full queue folds', async (t) => {
  const ops = opsOf();
  const folds = foldsOf(ops);
  t.true(folds >= 2, `the op sequence folds the queue (${folds} folds)`);
  const store = await PaxosStore.open({
    replicas: 3,
    groups: 2,
    workers: 1,
    engine: 'bitcask',
    dir: tempDir(t),
    timeoutMs: 10_000,
  });
  t.teardown(() => store.close());
  const queue = store.queue('big');
  const codes: Record<string, number> = {};
  let running = true;
  const churn = (async () => {
    try {
      for (const op of ops) {
        if (op.type === 'pop') t.truthy(await queue.pop(), 'a full queue pops a value');
        else await queue.push(...op.values);
      }
    } finally {
      running = false;
    }
  })();
  // Keys of both groups (one worker hosts them all), for as long as the queue churns.
  const writer = async (w: number): Promise<void> => {
    const kv = store.kv(`other${w}`);
    for (let i = 0; running && i < 100_000; i++) {
      let code = 'ok';
      await kv.put(`k${i % 32}`, `v${i}`).catch((error: unknown) => (code = String(codeOf(error))));
      codes[code] = (codes[code] ?? 0) + 1;
    }
  };
  await Promise.all([churn, writer(0), writer(1), writer(2), writer(3)]);
  t.deepEqual(Object.keys(codes), ['ok'], `other keys: ${JSON.stringify(codes)}`);
  t.true((codes['ok'] ?? 0) >= 4, `other keys were written meanwhile (${codes['ok']})`);
  t.is(await queue.length(), FULL, 'the churn kept the queue full');
});
