/**
 * The `paxosstore serve` command line:
 *
 *   paxosstore serve --config FILE --node NAME --dir DIR
 *                    [--engine memory|lsm|bitcask|bitcask2] [--persist]
 *                    [--sync always|batch|none] [--workers N] [--groups N]
 *                    [--repair-interval-ms N] [--repair-keys-per-second N] [--no-repair]
 *                    [--journal [--journal-retain-entries N] [--journal-retain-bytes N]
 *                               [--journal-retain-acked N] [--journal-subscribers N]]
 *
 * Parsed with node:util parseArgs into tokens and checked here, strictly: no positionals, no
 * unknown option, no option twice, a value for every value option and none for a flag. We read
 * the tokens instead of letting `strict: true` throw so each mistake gets one line of our own
 * ("unknown option --foo") rather than Node's longer text. Errors are ClusterConfigError
 * (code INVALID_CONFIG). Defaults follow bin/paxosstore.ts: engine bitcask (a node keeps its
 * data), sync 'always' (the CLI's default: an acknowledged write is on disk); workers left to
 * the store's default (the cores) when absent.
 */
import { parseArgs } from 'node:util';
import { assert } from '../runtime/assert';
import type { ClusterConfig } from './cluster-config';
import { GROUPS_MAX, GROUPS_MIN } from './cluster-config';
import { ClusterConfigError } from './cluster-error';

export type ServeEngine = 'memory' | 'lsm' | 'bitcask' | 'bitcask2';
export type ServeSync = 'always' | 'batch' | 'none';

export interface ServeOptions {
  readonly configPath: string;
  readonly node: string;
  readonly dir: string;
  readonly engine: ServeEngine;
  /** memory engine only: log writes to `dir` so a restart reloads them. */
  readonly persist: boolean;
  readonly sync: ServeSync;
  /** undefined: the store's default (available cores). */
  readonly workers: number | undefined;
  /** undefined: the cluster file's groups, else the store's default (see groupsFor). */
  readonly groups: number | undefined;
  /** The background repair scan (README "Background repair"); undefined: the store's defaults. */
  readonly repair: {
    readonly enabled: boolean;
    readonly intervalMs: number | undefined;
    readonly keysPerSecond: number | undefined;
  };
  /**
   * The journal for subscriptions (README "Journal subscription"); undefined: off. Each bound
   * left undefined takes the store's default; the store checks them together at open.
   */
  readonly journal: ServeJournal | undefined;
}

export interface ServeJournal {
  readonly retainEntriesMax: number | undefined;
  readonly retainBytesMax: number | undefined;
  readonly retainAckedEntries: number | undefined;
  readonly subscribersMax: number | undefined;
}

/**
 * Key groups per replica of a node whose cluster file and command line name none. Fixed, not
 * the embedded store's default (one per worker, actors/store/groups-default.ts): every node
 * of a cluster must use the same count, and a rule on each machine's cores could differ.
 * Existing clusters were created with 8 and pass it explicitly, so it cannot change either.
 */
export const GROUPS_DEFAULT = 8;
/** The store's bound on worker threads (actors/store/options.ts). */
export const WORKERS_MAX = 64;
export const ARGS_MAX = 64;

const OPTIONS = {
  config: { type: 'string' },
  node: { type: 'string' },
  dir: { type: 'string' },
  engine: { type: 'string' },
  persist: { type: 'boolean' },
  sync: { type: 'string' },
  workers: { type: 'string' },
  groups: { type: 'string' },
  'repair-interval-ms': { type: 'string' },
  'repair-keys-per-second': { type: 'string' },
  'no-repair': { type: 'boolean' },
  journal: { type: 'boolean' },
  'journal-retain-entries': { type: 'string' },
  'journal-retain-bytes': { type: 'string' },
  'journal-retain-acked': { type: 'string' },
  'journal-subscribers': { type: 'string' },
} as const;
type OptionName = keyof typeof OPTIONS;

const ENGINES: readonly ServeEngine[] = ['memory', 'lsm', 'bitcask', 'bitcask2'];
const SYNCS: readonly ServeSync[] = ['always', 'batch', 'none'];

function fail(message: string): never {
  throw new ClusterConfigError(message);
}

/** `argv` is what follows `serve`. */
export function parseServeArgs(argv: readonly string[]): ServeOptions {
  if (argv.length > ARGS_MAX) fail(`too many arguments (${argv.length}, at most ${ARGS_MAX})`);
  const values = optionValues(argv);
  const configPath = required(values, 'config');
  const node = required(values, 'node');
  const dir = required(values, 'dir');
  const engine = oneOf(values.get('engine'), 'engine', ENGINES, 'bitcask');
  const persist = values.has('persist');
  if (persist && engine !== 'memory')
    fail(`--persist is an option of the memory engine; ${engine} always persists`);
  const options: ServeOptions = {
    configPath,
    node,
    dir,
    engine,
    persist,
    sync: oneOf(values.get('sync'), 'sync', SYNCS, 'always'),
    workers: integer(values.get('workers'), 'workers', 1, WORKERS_MAX),
    groups: integer(values.get('groups'), 'groups', GROUPS_MIN, GROUPS_MAX),
    repair: {
      enabled: !values.has('no-repair'),
      intervalMs: integer(values.get('repair-interval-ms'), 'repair-interval-ms', 100, 86_400_000),
      keysPerSecond: integer(
        values.get('repair-keys-per-second'),
        'repair-keys-per-second',
        1,
        1_000_000,
      ),
    },
    journal: journalOptions(values, engine, persist),
  };
  assert(
    options.configPath.length > 0 && options.node.length > 0 && options.dir.length > 0,
    'required options are non-empty',
  );
  return options;
}

/** Option name → its value ('' for the flag), checking every token. */
function optionValues(argv: readonly string[]): Map<OptionName, string> {
  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  assert(tokens !== undefined, 'parseArgs returns tokens when asked');
  const values = new Map<OptionName, string>();
  for (const token of tokens) {
    if (token.kind === 'positional')
      fail(`unexpected argument ${JSON.stringify(token.value)} (serve takes options only)`);
    if (token.kind === 'option-terminator') fail('unexpected -- (serve takes options only)');
    if (token.kind !== 'option') continue;
    const name = token.name;
    if (!Object.hasOwn(OPTIONS, name)) fail(`unknown option ${token.rawName}`);
    const option = name as OptionName;
    if (values.has(option)) fail(`--${option} is given twice`);
    if (OPTIONS[option].type === 'boolean') {
      if (token.value !== undefined) fail(`--${option} takes no value`);
      values.set(option, '');
    } else {
      // Like strict parseArgs: `--node --dir x` is a missing value, not a node named "--dir".
      const value = token.value;
      if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('-')))
        fail(`--${option} needs a value`);
      values.set(option, value);
    }
  }
  return values;
}

const JOURNAL_BOUNDS = [
  'journal-retain-entries',
  'journal-retain-bytes',
  'journal-retain-acked',
  'journal-subscribers',
] as const;

/** `--journal` and its bounds (the store's ranges, actors/store/journal-options.ts). */
function journalOptions(
  values: Map<OptionName, string>,
  engine: ServeEngine,
  persist: boolean,
): ServeJournal | undefined {
  if (!values.has('journal')) {
    const bound = JOURNAL_BOUNDS.find((b) => values.has(b));
    if (bound !== undefined) fail(`--${bound} needs --journal`);
    return undefined;
  }
  if (engine === 'memory' && !persist)
    fail('--journal needs a durable engine: lsm, bitcask, bitcask2 or memory --persist');
  return {
    retainEntriesMax: integer(
      values.get('journal-retain-entries'),
      'journal-retain-entries',
      1,
      2 ** 31,
    ),
    retainBytesMax: integer(
      values.get('journal-retain-bytes'),
      'journal-retain-bytes',
      1024,
      2 ** 40,
    ),
    retainAckedEntries: integer(
      values.get('journal-retain-acked'),
      'journal-retain-acked',
      0,
      2 ** 31,
    ),
    subscribersMax: integer(values.get('journal-subscribers'), 'journal-subscribers', 1, 1024),
  };
}

function required(values: Map<OptionName, string>, option: OptionName): string {
  const value = values.get(option);
  if (value === undefined) fail(`--${option} is required`);
  return value;
}

function oneOf<T extends string>(
  value: string | undefined,
  option: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    fail(`--${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return found;
}

function integer(
  value: string | undefined,
  option: string,
  lo: number,
  hi: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi)
    fail(`--${option} must be an integer in ${lo}..${hi}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Key groups per replica for a node: the cluster file's when it gives them (every node must use
 * the same count, so a different --groups is refused), else --groups, else the store's default.
 */
export function groupsFor(config: ClusterConfig, options: ServeOptions): number {
  if (config.groups !== undefined) {
    if (options.groups !== undefined && options.groups !== config.groups) {
      fail(`--groups ${options.groups} differs from the cluster file's groups ${config.groups}`);
    }
    return config.groups;
  }
  return options.groups ?? GROUPS_DEFAULT;
}
