/**
 * Live bytes per settled key and the cost of a full collection, one thread, no Paxos (decision
 * 29): N compact records of kv keys held (a) as decision 28 held them, a `Map` of key string →
 * latin1 string, and (b) in a RecordArena. Prints heap + array-buffer bytes per key beyond the
 * key's and value's own bytes, and the time of a forced full collection with them alive.
 *
 *   node --expose-gc dist/bench/arena-memory.js --keys 1000000 --writes 1
 *
 * Options: --keys N (1,000,000), --writes N (1: times each key was written, filling its
 * recent window), --value-bytes N (100).
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { applyChosen, emptyRecord } from '../actors/paxos/core/key-record';
import { encodeCompactRecord } from '../actors/paxos/compact-record';
import { RecordArena } from '../actors/paxos/record-arena';
import { encodeKvOp, kvStateMachine } from '../models/kv/kv';

const KEY_PREFIX = 'mem\u0001k';

function keyOf(i: number): string {
  return `${KEY_PREFIX}${i.toString().padStart(10, '0')}`;
}

/** The compact bytes of a key written `writes` times with `valueBytes`-byte values. */
function recordBytes(writes: number, valueBytes: number, salt: number): Uint8Array {
  const rec = emptyRecord();
  for (let w = 0; w < writes; w++) {
    const op = encodeKvOp({ type: 'put', value: new Uint8Array(valueBytes).fill(salt & 0xff) });
    applyChosen(rec, { origin: w % 3, seq: 2 ** 32 + salt * 16 + w, op }, kvStateMachine);
  }
  return encodeCompactRecord(rec).slice();
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run node with --expose-gc');
  collect();
  collect();
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function measure(name: string, keys: number, valueBytes: number, fill: () => unknown): void {
  gc();
  const before = used();
  const held = fill();
  gc();
  const after = used();
  const t0 = performance.now();
  gc();
  const gcMs = (performance.now() - t0) / 2;
  const keyBytes = keyOf(0).length;
  const beyond = (after - before) / keys - keyBytes - valueBytes;
  console.log(
    `${name.padEnd(28)} ${((after - before) / keys).toFixed(0).padStart(5)} B/key live, ` +
      `${beyond.toFixed(0).padStart(5)} beyond key + value; full collection ${gcMs.toFixed(0)} ms`,
  );
  if (held === undefined) throw new Error('nothing held');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string' },
      writes: { type: 'string' },
      'value-bytes': { type: 'string' },
    },
  });
  const keys = Number(values.keys ?? 1_000_000);
  const writes = Number(values.writes ?? 1);
  const valueBytes = Number(values['value-bytes'] ?? 100);
  const samples = Array.from({ length: 64 }, (_, i) => recordBytes(writes, valueBytes, i));
  console.log(
    `${keys} keys written ${writes}x, ${valueBytes}-byte values, compact record ${samples[0]?.length} bytes`,
  );
  measure('Map<string, latin1 string>', keys, valueBytes, () => {
    const map = new Map<string, string>();
    for (let i = 0; i < keys; i++)
      map.set(keyOf(i), Buffer.from(samples[i % 64] as Uint8Array).toString('latin1'));
    return map;
  });
  measure('RecordArena', keys, valueBytes, () => {
    const arena = new RecordArena();
    for (let i = 0; i < keys; i++) arena.set(keyOf(i), samples[i % 64] as Uint8Array);
    return arena;
  });
}

if (require.main === module) main();
