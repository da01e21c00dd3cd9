/**
 * LevelDB point reads on the calling thread (engines/inline-reads.ts): the gate decides per
 * call, a stalled inline read sends the next ones to the thread pool, and both paths answer the
 * same values.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { InlineGate } from '../../../engines/inline-gate';
import { INLINE_READ_DEFAULTS } from '../../../engines/inline-reads';
import { LsmEngine } from '../../../engines/lsm-engine';

async function withEngine(
  gate: InlineGate,
  run: (engine: LsmEngine) => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pxs-lsm-inline-'));
  const engine = new LsmEngine(path.join(root, 'db'), { inlineReads: gate });
  try {
    await engine.open();
    await engine.write(
      [
        { type: 'put', key: 'a', value: Uint8Array.of(1, 2, 3) },
        { type: 'put', key: 'b', value: new Uint8Array(300).fill(7) },
      ],
      { sync: false },
    );
    await run(engine);
  } finally {
    await engine.close();
    await rm(root, { recursive: true, force: true });
  }
}

const keys = ['a', 'b', 'absent'];

test('reads run inline while the gate allows, and answer what the pool would', async (t) => {
  const gate = new InlineGate(() => performance.now(), INLINE_READ_DEFAULTS);
  await withEngine(gate, async (engine) => {
    const inline = await engine.getMany(keys);
    t.is(gate.stats().inline, 1, 'one inline call for the batch');
    t.deepEqual(
      inline.map((v) => (v === undefined ? undefined : Array.from(v))),
      [[1, 2, 3], Array.from(new Uint8Array(300).fill(7)), undefined],
    );
    t.deepEqual(Array.from((await engine.get('a')) ?? []), [1, 2, 3]);
    t.is(gate.stats().inline, 2);
    t.is(engine.stats().reads, 4, 'every key read is counted');
  });
});

test('a batch above the gate size, or a stalled inline read, goes through the pool', async (t) => {
  // A clock that moves 100 ms at every look: every inline call seems to stall.
  let now = 0;
  const gate = new InlineGate(() => (now += 100), { ...INLINE_READ_DEFAULTS, sizeMax: 2 });
  await withEngine(gate, async (engine) => {
    const big = await engine.getMany(keys); // 3 keys > sizeMax 2: the pool
    t.deepEqual(gate.stats(), { inline: 0, pooled: 1, stalls: 0, slowestMs: 0 });
    const first = await engine.getMany(['a', 'b']); // inline, and it "stalls"
    t.is(gate.stats().inline, 1);
    t.is(gate.stats().stalls, 1);
    const after = await engine.getMany(['a', 'b']); // backed off: the pool
    t.is(gate.stats().pooled, 2);
    t.is(gate.stats().inline, 1, 'no inline read while backed off');
    for (const got of [first, after]) {
      t.deepEqual(
        got.map((v) => v?.length),
        [3, 300],
      );
    }
    t.deepEqual(
      big.map((v) => v?.length),
      [3, 300, undefined],
    );
  });
});
