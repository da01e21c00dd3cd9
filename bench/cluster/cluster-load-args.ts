/**
 * Command-line options of `npm run bench:cluster` (bench/cluster-load.ts), parsed with
 * node:util parseArgs and validated once here; everything after this may assert.
 */
import { parseArgs } from 'node:util';

export const SYNC_MODES = ['always', 'batch'] as const;
export type BenchSync = (typeof SYNC_MODES)[number];
export const SYSTEMS = ['paxosstore', 'etcd'] as const;
export type BenchSystem = (typeof SYSTEMS)[number];
export const ENGINES = ['memory', 'lsm', 'bitcask', 'bitcask2'] as const;
export type BenchEngine = (typeof ENGINES)[number];
export const PHASES = ['all', 'write'] as const;
export type BenchPhases = (typeof PHASES)[number];

export interface ClusterLoadOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly clients: number;
  readonly keys: number;
  readonly valueBytes: number;
  /** PaxosStore sync modes to run, in order. etcd has one mode (fsync per commit on a majority). */
  readonly syncs: readonly BenchSync[];
  readonly engine: BenchEngine;
  readonly workers: number;
  readonly groups: number | undefined;
  /** Which systems to run; both unless --only. */
  readonly systems: readonly BenchSystem[];
  /** When set, node n1 of every PaxosStore cluster runs under `--cpu-prof` into this directory. */
  readonly cpuProfDir: string | undefined;
  /**
   * Node options every PaxosStore server process starts with (`--node-flags="--a --b=1"`, split on
   * spaces), before the script: V8 flags such as `--single-threaded-gc` or `--perf-basic-prof`.
   */
  readonly nodeFlags: readonly string[];
  /** `write` skips the read phase (what you want under a profiler). */
  readonly phases: BenchPhases;
  readonly json: boolean;
  readonly help: boolean;
}

/** Bounds, so a typo cannot start a bench that runs for a day or opens a million requests. */
const SECONDS_MAX = 3600;
const CLIENTS_MAX = 65_536;
const KEYS_MAX = 100_000_000;
const VALUE_BYTES_MAX = 1024 * 1024;
const WORKERS_MAX = 64;
const GROUPS_MAX = 256;
const NODE_FLAGS_MAX = 16;

export const USAGE =
  'usage: cluster-load [--seconds N] [--warmup N] [--clients N] [--keys N] [--value-bytes N] ' +
  '[--sync always|batch] [--engine memory|lsm|bitcask|bitcask2] [--workers N] [--groups N] ' +
  '[--only paxosstore|etcd] [--cpu-prof-dir DIR] [--node-flags="FLAGS"] [--phases all|write] [--json]';

export class UsageError extends Error {
  readonly code = 'USAGE';
}

function numberIn(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  const ok = Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
  if (!ok)
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${text}`,
    );
  return n;
}

function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === text);
  if (found === undefined)
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${text}`);
  return found;
}

/** `--node-flags`: node/V8 options only (each starts with `--`), so no script or file slips in. */
function nodeFlags(text: string | undefined): readonly string[] {
  if (text === undefined) return [];
  const flags = text.split(' ').filter((f) => f.length > 0);
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9_-]*(=[^\s]*)?$/.test(f));
  if (bad !== undefined)
    throw new UsageError(`--node-flags takes --flag or --flag=value items, got ${bad}`);
  if (flags.length > NODE_FLAGS_MAX)
    throw new UsageError(`--node-flags takes at most ${NODE_FLAGS_MAX} flags`);
  return flags;
}

/** Parses argv (without node and script); throws UsageError with one clear line. */
export function parseClusterLoadArgs(argv: readonly string[]): ClusterLoadOptions {
  let values: ReturnType<typeof parseRaw>['values'];
  try {
    values = parseRaw(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const groups =
    values.groups === undefined
      ? undefined
      : numberIn('groups', values.groups, 0, 1, GROUPS_MAX, true);
  return {
    seconds: numberIn('seconds', values.seconds, 10, 0.1, SECONDS_MAX, false),
    warmupSeconds: numberIn('warmup', values.warmup, 1, 0, SECONDS_MAX, false),
    clients: numberIn('clients', values.clients, 256, 1, CLIENTS_MAX, true),
    keys: numberIn('keys', values.keys, 10_000, 1, KEYS_MAX, true),
    valueBytes: numberIn('value-bytes', values['value-bytes'], 100, 1, VALUE_BYTES_MAX, true),
    syncs: values.sync === undefined ? SYNC_MODES : [oneOf('sync', values.sync, SYNC_MODES)],
    engine: values.engine === undefined ? 'bitcask' : oneOf('engine', values.engine, ENGINES),
    workers: numberIn('workers', values.workers, 1, 1, WORKERS_MAX, true),
    groups,
    systems: values.only === undefined ? SYSTEMS : [oneOf('only', values.only, SYSTEMS)],
    cpuProfDir: values['cpu-prof-dir'],
    nodeFlags: nodeFlags(values['node-flags']),
    phases: values.phases === undefined ? 'all' : oneOf('phases', values.phases, PHASES),
    json: values.json === true,
    help: values.help === true,
  };
}

function parseRaw(argv: readonly string[]) {
  const text = { type: 'string' } as const;
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      seconds: text,
      warmup: text,
      clients: text,
      keys: text,
      'value-bytes': text,
      sync: text,
      engine: text,
      workers: text,
      groups: text,
      only: text,
      'cpu-prof-dir': text,
      'node-flags': text,
      phases: text,
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
}
