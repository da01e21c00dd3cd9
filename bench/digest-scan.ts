/**
 * The digest scan of one memory-engine group replica, one thread (decision 31): N settled kv
 * keys kept in a VolatileRecordPort's arena, digested by `digestReplica` with an offload pool as
 * a worker has one; process CPU per record digested (the pool's thread included), round 1 (all
 * buckets) and round 2 (`listOnly`, 8 of 4,096 buckets listed). `--module DIR` runs another
 * build's dist for A/B (a build without `digestCursor` scans through `scanAll`, as it did).
 *
 *   node dist/bench/digest-scan.js --keys 200000 --runs 3 [--module /tmp/base-dist]
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import * as os from 'node:os';
import type { KeyRecord } from '../actors/paxos/core/types';
import type { DigestAnswer, DigestRequest, StoredSource } from '../actors/paxos/replica-digest';
import type { Offload } from '../runtime/actor';

interface Port {
  keep(key: string, rec: KeyRecord): void;
  digestCursor?(): StoredSource;
  scanAll?(): StoredSource;
}

interface Build {
  readonly newPort: () => Port;
  readonly digest: (r: DigestRequest, stored: StoredSource, o: Offload) => Promise<DigestAnswer>;
  readonly record: (i: number) => KeyRecord;
  readonly pool: () => Offload & { close(): Promise<void> };
}

function load(dist: string): Build {
  const req = (p: string): Record<string, unknown> => require(path.join(dist, p)) as never;
  const port = req('actors/paxos/volatile-record-port') as {
    VolatileRecordPort: new () => Port;
  };
  const digest = req('actors/paxos/replica-digest') as {
    digestReplica: (r: DigestRequest, h: [], s: StoredSource, o: object) => Promise<DigestAnswer>;
  };
  const kr = req('actors/paxos/core/key-record') as {
    applyChosen: (r: KeyRecord, p: object, m: unknown) => void;
    emptyRecord: () => KeyRecord;
  };
  const models = req('models/all-models') as { allModels: unknown };
  const kv = req('models/kv/kv') as { encodeKvOp: (op: object) => Uint8Array };
  const tags = req('models/model-tags') as { ModelTag: { kv: number } };
  const registry = req('models/registry') as { tagged: (t: number, b: Uint8Array) => Uint8Array };
  const pool = req('runtime/offload-pool') as {
    OffloadPool: new () => Offload & { close(): Promise<void> };
  };
  return {
    newPort: () => new port.VolatileRecordPort(),
    digest: (r, s, o) => digest.digestReplica(r, [], s, { offload: o }),
    record: (i) => {
      const rec = kr.emptyRecord();
      const value = Buffer.alloc(100, i & 0xff);
      const op = registry.tagged(tags.ModelTag.kv, kv.encodeKvOp({ type: 'put', value }));
      kr.applyChosen(rec, { origin: 0, seq: 2 ** 32 + i, op }, models.allModels);
      return rec;
    },
    pool: () => new pool.OffloadPool(),
  };
}

function storedOf(port: Port): StoredSource {
  const stored = port.digestCursor?.() ?? port.scanAll?.();
  if (stored === undefined) throw new Error('this build has no scan of its records');
  return stored;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keys: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '3' },
      module: { type: 'string' },
    },
  });
  const keys = Number(values.keys);
  const runs = Number(values.runs);
  const dist = path.resolve(values.module ?? path.join(__dirname, '..'));
  const build = load(dist);
  const port = build.newPort();
  for (let i = 0; i < keys; i++) port.keep(`bench${String(i).padStart(9, '0')}`, build.record(i));
  const pool = build.pool();
  const requests: [string, DigestRequest][] = [
    ['round 1', { kind: 'digest', buckets: 4096, list: [], listKeysMax: 0 }],
    [
      'round 2',
      { kind: 'digest', buckets: 4096, list: [1, 2, 3, 4, 5, 6, 7, 8], listKeysMax: 100_000 },
    ],
  ];
  try {
    for (let run = 0; run < runs; run++) {
      for (const [name, request] of requests) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        const answer = await build.digest(
          { ...request, listOnly: name === 'round 2' },
          storedOf(port),
          pool,
        );
        const used = process.cpuUsage(cpu);
        console.log(
          `${path.basename(path.dirname(dist))}/${path.basename(dist)} ${name}: ${keys} records, ` +
            `${answer.keys} digested, ${answer.listed.length} listed, ` +
            `${(performance.now() - started).toFixed(0)} ms, cpu ${((used.user + used.system) / keys).toFixed(2)} us/record, ` +
            `load ${(os.loadavg()[0] ?? 0).toFixed(1)}`,
        );
      }
    }
  } finally {
    await pool.close();
  }
}

void main();
