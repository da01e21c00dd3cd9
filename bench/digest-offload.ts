/**
 * Digest scans inline against the worker's offload pool (actors/paxos/digest-slices.ts): one
 * replica group's held keys digested by `digestReplica`, first on this thread, then with the
 * hashing in an OffloadPool. Reports the wall time and the longest stall of this thread's event
 * loop (the longest gap between turns of a 1 ms timer), which is what the actor's other work would wait.
 *
 *   node dist/bench/digest-offload.js --keys 20000 --value-bytes 1024 --rounds 5
 */
import { parseArgs } from 'node:util';
import { emptyRecord } from '../actors/paxos/core/key-record';
import type { HeldRecord } from '../actors/paxos/replica-digest';
import { digestReplica } from '../actors/paxos/replica-digest';
import type { DigestAnswer, DigestRequest } from '../actors/paxos/replica-digest';
import { assert } from '../runtime/assert';
import { OffloadPool } from '../runtime/offload-pool';

interface Result {
  readonly mode: string;
  readonly ms: number;
  readonly stallMsMax: number;
}

function heldKeys(keys: number, valueBytes: number): HeldRecord[] {
  return Array.from({ length: keys }, (_, i) => {
    const data = Buffer.alloc(valueBytes, i & 0xff);
    return {
      key: `key-${i}`,
      status: 'ready',
      rec: { ...emptyRecord(), chosen: i + 1, chosenSeq: i, version: i, data },
    };
  });
}

async function measure(
  mode: string,
  run: () => Promise<DigestAnswer>,
): Promise<{ result: Result; answer: DigestAnswer }> {
  // A 1 ms timer: the longest gap between its turns is the longest stretch this thread was busy.
  let last = performance.now();
  let stallMsMax = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMsMax = Math.max(stallMsMax, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  last = start;
  const answer = await run();
  const ms = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(timer);
  return { result: { mode, ms, stallMsMax }, answer };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '20000' },
      'value-bytes': { type: 'string', default: '1024' },
      rounds: { type: 'string', default: '5' },
    },
  });
  const keys = Number(values.keys);
  const valueBytes = Number(values['value-bytes']);
  const rounds = Number(values.rounds);
  assert(keys >= 1 && valueBytes >= 0 && rounds >= 1, 'bad arguments');
  const held = heldKeys(keys, valueBytes);
  const request: DigestRequest = { kind: 'digest', buckets: 64, list: [], listKeysMax: 0 };
  const pool = new OffloadPool();
  try {
    // Warm up both paths (module load, the pool's thread).
    await digestReplica(request, held, undefined);
    await digestReplica(request, held, undefined, { offload: pool });
    for (let round = 0; round < rounds; round++) {
      const inline = await measure('inline', () => digestReplica(request, held, undefined));
      const offloaded = await measure('offload', () =>
        digestReplica(request, held, undefined, { offload: pool }),
      );
      assert(
        JSON.stringify(inline.answer.buckets) === JSON.stringify(offloaded.answer.buckets),
        'answers differ',
      );
      for (const { result } of [inline, offloaded]) {
        console.log(
          `${result.mode.padEnd(8)} keys ${keys} × ${valueBytes} B: ${result.ms.toFixed(1)} ms, longest stall ${result.stallMsMax.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    await pool.close();
  }
}

void main();
