/**
 * The persisted record's encode (`encodeSealedRecord`, actors/paxos/codec.ts) in two builds, one
 * process, alternating rounds: `--keys` kv records, each written `--writes` times through the kv
 * model (so its recent window holds min(writes, 16) entries) with an accepted value, encoded in
 * a random order so that, as on a worker, each record is cold. Prints each build's median CPU
 * per record over the rounds and its sealed bytes per record. `--decode`: the same records,
 * sealed by each build, opened and decoded (`decodeRecord(openRecord(...))`, a load's work).
 *
 *   node dist/bench/record-encode-ab.js --a /tmp/base-dist [--b dist] [--keys 90000] [--writes 8]
 *     [--rounds 10] [--decode]
 */
import { resolve } from 'node:path';
import type { KeyRecord, StateMachine } from '../actors/paxos/core/types';
import { assert } from '../runtime/assert';
import { Prng } from '../runtime/sim/prng';
import { AB_BUILD_FLAGS, abBuilds, parseBenchArgsOrExit, positiveIntFlag } from './cli-args';
import type { BenchFlags } from './cli-args';

interface Build {
  encodeSealedRecord(rec: KeyRecord): Uint8Array;
  decodeRecord(payload: Uint8Array): KeyRecord;
  openRecord(sealed: Uint8Array): Uint8Array;
  emptyRecord(): KeyRecord;
  applyChosen(
    rec: KeyRecord,
    p: { origin: number; seq: number; op: Uint8Array },
    sm: StateMachine,
  ): void;
  encodeKvOp(op: { type: 'put'; value: Uint8Array }): Uint8Array;
  kvStateMachine: StateMachine;
}

function loadBuild(dir: string): Build {
  const load = (path: string): Record<string, unknown> =>
    require(resolve(dir, path)) as Record<string, unknown>;
  const build = {
    ...load('actors/paxos/codec.js'),
    ...load('engines/record-codec.js'),
    ...load('actors/paxos/core/key-record.js'),
    ...load('models/kv/kv.js'),
  } as unknown as Build;
  assert(typeof build.encodeSealedRecord === 'function', `${dir}: no encodeSealedRecord`);
  return build;
}

/** The records of one build, built with its own model and shuffled (seeded: both alike). */
function records(b: Build, keys: number, writes: number): KeyRecord[] {
  const prng = new Prng(11);
  const put = (fill: number): Uint8Array =>
    b.encodeKvOp({ type: 'put', value: new Uint8Array(100).fill(fill) });
  const out: KeyRecord[] = [];
  let seq = 3 * 2 ** 32;
  for (let k = 0; k < keys; k++) {
    const rec = b.emptyRecord();
    for (let i = 0; i < writes; i++) {
      seq += 1 + prng.int(30_000);
      b.applyChosen(rec, { origin: i % 3 === 0 ? 1 : 0, seq, op: put(i) }, b.kvStateMachine);
    }
    rec.promised = 2 ** 33 + 5;
    rec.acceptedBallot = rec.promised;
    rec.accepted = { origin: 1, seq: seq + 5, op: put(writes) };
    out.push(rec);
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [out[i], out[j]] = [out[j] as KeyRecord, out[i] as KeyRecord];
  }
  return out;
}

/** CPU us per record of one pass, and the sealed bytes per record. */
function pass(b: Build, recs: readonly KeyRecord[]): { us: number; bytes: number } {
  const start = process.cpuUsage();
  let bytes = 0;
  for (const rec of recs) bytes += b.encodeSealedRecord(rec).length;
  const used = process.cpuUsage(start);
  return { us: (used.user + used.system) / recs.length, bytes: bytes / recs.length };
}

/** CPU us per record of decoding each sealed record, and the sealed bytes per record. */
function decodePass(b: Build, sealed: readonly Uint8Array[]): { us: number; bytes: number } {
  const start = process.cpuUsage();
  let bytes = 0;
  let entries = 0;
  for (const s of sealed) {
    bytes += s.length;
    // A build before the window's columns (decision "The recent window as columns") had `recent`.
    const rec = b.decodeRecord(b.openRecord(s)) as KeyRecord & { recent?: unknown[] };
    entries += rec.recent?.length ?? rec.recentResults.length;
  }
  const used = process.cpuUsage(start);
  assert(entries >= sealed.length, `${entries} window entries in ${sealed.length} records`);
  return { us: (used.user + used.system) / sealed.length, bytes: bytes / sealed.length };
}

const median = (xs: number[]): number => xs.slice().sort((x, y) => x - y)[xs.length >> 1] ?? 0;

const FLAGS: BenchFlags = {
  ...AB_BUILD_FLAGS,
  keys: { type: 'string', help: ['N', '90000', 'records (distinct keys)'] },
  writes: { type: 'string', help: ['N', '8', 'kv writes per key before the encode'] },
  rounds: { type: 'string', help: ['N', '10', 'passes per build, alternating'] },
  decode: { type: 'boolean', help: ['', 'off', 'time the decode of sealed records instead'] },
};

function main(): void {
  const o = parseBenchArgsOrExit(
    'record-encode-ab',
    'node dist/bench/record-encode-ab.js --a <dir> [--b <dir>] [flags]',
    FLAGS,
    process.argv.slice(2),
    (args) => {
      return {
        ...abBuilds(args),
        keys: positiveIntFlag(args, 'keys', 90_000),
        writes: positiveIntFlag(args, 'writes', 8),
        rounds: positiveIntFlag(args, 'rounds', 10),
        decode: args.values.decode === true,
      };
    },
  );
  const builds = [loadBuild(o.a), loadBuild(o.b)] as const;
  const sets = builds.map((b) => records(b, o.keys, o.writes));
  // Copies: a sealed record is a view of a slab or scratch the next encode may reuse.
  const sealed = builds.map((b, i) => (sets[i] ?? []).map((r) => b.encodeSealedRecord(r).slice()));
  const us: [number[], number[]] = [[], []];
  const bytes = [0, 0];
  for (let round = 0; round < o.rounds; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const b = builds[i as 0 | 1];
      const r = o.decode ? decodePass(b, sealed[i] ?? []) : pass(b, sets[i] ?? []);
      us[i as 0 | 1].push(r.us);
      bytes[i] = r.bytes;
    }
  }
  const line = (label: string, i: 0 | 1): string =>
    `${label}: median ${median(us[i]).toFixed(3)} cpu us/record, ${(bytes[i] ?? 0).toFixed(0)} B/record`;
  const what = o.decode ? 'decode' : 'encode';
  console.log(`${what}: ${o.keys} records, ${o.writes} writes each, ${o.rounds} rounds`);
  console.log(line(`a ${o.a}`, 0));
  console.log(line(`b ${o.b}`, 1));
}

if (require.main === module) main();
