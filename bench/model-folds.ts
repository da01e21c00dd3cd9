/**
 * model-folds (issue 10): the worst single apply of a big object's model, on one thread, no
 * Paxos and no persist: a queue or set grown to ~15.5 MiB and a table to ~18.5 MiB (256 KiB
 * values), then `--ops` small writes through the model registry, timing each apply. The
 * maximum is a fold (queue dead prefix, set change section, table merge): the time such a
 * write holds the actor thread before its base is even written.
 *
 *   node dist/bench/model-folds.js --models queue,set --ops 100000
 *
 * Queue: 256 KiB pushes alternating with pops (a steadily full queue). Set: adds of distinct
 * 20-byte members. Table: sets of `--table-columns` distinct 20-byte cells, round robin.
 */
import { performance } from 'node:perf_hooks';
import { allModels } from '../models/all-models';
import { ModelTag } from '../models/model-tags';
import { encodeQueueOp } from '../models/queue/queue';
import { tagged } from '../models/registry';
import { encodeSetOp } from '../models/set/set';
import { encodeTableOp } from '../models/table/table';
import { parseBenchArgsOrExit, stringFlag } from './cli-args';
import type { BenchFlags, ParsedBenchArgs } from './cli-args';

const MODELS = ['queue', 'set', 'table'] as const;
type FoldModel = (typeof MODELS)[number];
const FILL_BYTES = 256 * 1024;

interface Options {
  readonly models: readonly FoldModel[];
  readonly ops: number;
  readonly tableColumns: number;
}

const FLAGS: BenchFlags = {
  models: { type: 'string', help: ['a,b', MODELS.join(','), 'objects to measure'] },
  ops: { type: 'string', help: ['N', '100000', 'small writes timed (a fold every ~main/8)'] },
  'table-columns': { type: 'string', help: ['N', '16', 'distinct cells of the table writes'] },
};

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`--${name} ${value}`);
  return n;
}

function optionsOf(args: ParsedBenchArgs): Options {
  const models = (stringFlag(args, 'models') ?? MODELS.join(',')).split(',');
  for (const m of models) {
    if (!(MODELS as readonly string[]).includes(m)) throw new TypeError(`unknown model ${m}`);
  }
  return {
    models: models as FoldModel[],
    ops: positive(stringFlag(args, 'ops') ?? '100000', 'ops'),
    tableColumns: positive(stringFlag(args, 'table-columns') ?? '16', 'table-columns'),
  };
}

const big = (i: number): Uint8Array => {
  const v = new Uint8Array(FILL_BYTES).fill(7);
  new DataView(v.buffer).setUint32(0, i);
  return v;
};
const small = (i: number): Uint8Array => new TextEncoder().encode(`member-${i}`.padEnd(20, '.'));

/** The ops that grow the object, and its i-th small write. */
function workload(model: FoldModel, o: Options): [Uint8Array[], (i: number) => Uint8Array] {
  switch (model) {
    case 'queue':
      return [
        Array.from({ length: 62 }, (_, i) =>
          tagged(ModelTag.queue, encodeQueueOp({ type: 'push', values: [big(i)] })),
        ),
        (i) =>
          tagged(
            ModelTag.queue,
            encodeQueueOp(i % 2 === 1 ? { type: 'pop' } : { type: 'push', values: [big(i)] }),
          ),
      ];
    case 'set':
      return [
        Array.from({ length: 62 }, (_, i) =>
          tagged(ModelTag.set, encodeSetOp({ type: 'add', members: [big(i)] })),
        ),
        (i) => tagged(ModelTag.set, encodeSetOp({ type: 'add', members: [small(i)] })),
      ];
    case 'table':
      return [
        Array.from({ length: 74 }, (_, i) =>
          tagged(
            ModelTag.table,
            encodeTableOp({ type: 'set', row: `r${i >> 4}`, col: `c${i % 16}`, value: big(i) }),
          ),
        ),
        (i) =>
          tagged(
            ModelTag.table,
            encodeTableOp({
              type: 'set',
              row: 'w',
              col: `c${i % o.tableColumns}`,
              value: small(i),
            }),
          ),
      ];
  }
}

function measure(model: FoldModel, o: Options): void {
  const [grow, write] = workload(model, o);
  let data: Uint8Array | null = null;
  for (const op of grow) data = allModels.apply(data, 0, op).data;
  const times: number[] = [];
  for (let i = 0; i < o.ops; i++) {
    const t0 = performance.now();
    data = allModels.apply(data, 0, write(i)).data;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): string => (times[Math.floor(q * (times.length - 1))] ?? 0).toFixed(3);
  const mib = ((data?.length ?? 0) / 1024 / 1024).toFixed(1);
  console.log(
    `| ${model} | ${mib} MiB | ${o.ops} | ${at(0.5)} | ${at(0.99)} | ${at(1)} | ${times.filter((t) => t > 10).length} |`,
  );
}

function main(): void {
  const o = parseBenchArgsOrExit(
    'model-folds',
    'node dist/bench/model-folds.js [options]',
    FLAGS,
    process.argv.slice(2),
    optionsOf,
  );
  console.log('| model | stored | ops | p50 ms | p99 ms | max ms | ops > 10 ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const model of o.models) measure(model, o);
}

main();
