/** Options of PaxosStore.open, validated once (bad options reject with INVALID_ARGUMENT). */
import * as os from 'node:os';
import * as path from 'node:path';
import type { SyncMode } from '../../engines/engine';
import { ErrorCodes, PaxosStoreError, checked, describe, field, invalid } from './errors';
import { resolveJournal } from './journal-options';
import type { JournalOptions } from './journal-options';
import type { JournalLimits } from '../paxos/journal-limits';
import { GROUPS_MAX, GROUPS_MIN, defaultGroups } from './groups-default';
import { resolveRepair } from './repair-options';
import type { RepairOptions, ResolvedRepair } from './repair-options';
import { WORKER_HEAP_MB_MAX, WORKER_HEAP_MB_MIN } from '../../runtime/worker-heap';
import {
  WORKER_YOUNG_MB_MAX,
  WORKER_YOUNG_MB_MEMORY_DEFAULT,
  WORKER_YOUNG_MB_MIN,
} from '../../runtime/worker-young-gen';

export type EngineName = 'memory' | 'lsm' | 'bitcask' | 'bitcask2';

export interface PaxosStoreOptions {
  /** Replicas in the embedded Set (odd, 1..7). Default 3. */
  replicas?: number;
  /** Storage engine. Default 'memory'. 'lsm', 'bitcask' and 'bitcask2' need `dir`. */
  engine?: EngineName;
  /** Data directory (lsm): one LevelDB per replica per group under it, and paxosstore.json recording replicas/groups. */
  dir?: string;
  /**
   * memory engine only: also append every write to a log in `dir` (MemoryLogEngine), so a
   * restarted replica or store reloads its state. Default false. Needs `dir`; with another
   * engine (which persists anyway) `persist: true` is INVALID_ARGUMENT.
   */
  persist?: boolean;
  /** Worker threads hosting the actors. Default: available cores. */
  workers?: number;
  /** When a promise/accept is durable before it is answered. Default 'batch'. See README. */
  sync?: SyncMode;
  /**
   * Key groups per replica (each an actor with its own PaxosLogs and engine), fixed when the
   * store's dir is created. Default for a new store: one per worker, at least 2
   * (groups-default.ts); a dir opened without `groups` keeps the groups it was created with.
   */
  groups?: number;
  /** A request that finds no majority rejects within this many ms. Default 2000. */
  timeoutMs?: number;
  /**
   * Adaptive group commit (README "Group commit"): while a group's batches show concurrency,
   * a batch waits this many ms for more records before its engine write. Default 1 on lsm and
   * under sync 'always', 0 under sync 'batch' on the bitcask engines and memory with persist
   * (whose batch is one write(2) on the actor's thread); 0 never waits (lowest latency under
   * load, more engine writes). Durable groups only (disk engines, memory with persist; not
   * sync 'none').
   */
  groupCommitLingerMs?: number;
  /** Largest value in bytes. Default 256 KiB, at most 1 MiB. */
  valueBytesMax?: number;
  /**
   * Open a directory whose last `sync: 'none'` run crashed anyway (its acknowledged writes may
   * be lost). Default false: such an open rejects DATA_LOSS_POSSIBLE.
   */
  acceptDataLoss?: boolean;
  /**
   * Keys each replica keeps in memory as full Paxos state (spread over its groups); idle keys
   * beyond it are evicted and read back on their next use: from disk, or on the memory engine
   * from its compact in-memory form (the sealed record, ~100 bytes beyond key and value;
   * decision 28). Default 524,288 on disk engines, 131,072 on the memory engine (a miss there
   * costs a decode, not a disk read).
   */
  cachedKeysMax?: number;
  /**
   * The background repair scan (README "Background repair"): every `intervalMs` it compares the
   * replicas' digests like `verify()` and repairs what `verify({ repair: true })` would, at most
   * `keysPerSecond`, yielding to foreground load. Default: on, every 10 minutes, 500 keys/s.
   */
  repair?: RepairOptions;
  /**
   * Heap limit of each worker thread in MiB (V8's old generation). Default: half of the
   * machine's memory shared among the workers, and never below V8's own default
   * (runtime/worker-heap.ts). The memory engine keeps every key on the workers' heaps.
   */
  workerHeapMb?: number;
  /**
   * Young generation of each worker thread in MiB (V8's `maxYoungGenerationSizeMb`: three
   * semi-spaces, each rounded up to a power of two). Default 24 on the memory engine (without
   * persist), 48 (V8's own) on the others: shorter scavenge pauses than a larger one at the same
   * CPU per operation; larger values trade memory and pause length for fewer scavenges
   * (runtime/worker-young-gen.ts).
   */
  workerYoungMb?: number;
  /**
   * Keep a journal of every applied change per group, for `subscribe()` (README "Journal
   * subscription"). Needs a durable engine (a disk engine, or memory with persist). Default:
   * off for a new dir; a dir that kept a journal keeps it (default limits) until it is opened
   * with `journal: false`, which expires its subscribers at the next open with the journal.
   */
  journal?: boolean | JournalOptions;
}

export interface ResolvedOptions {
  readonly replicas: number;
  readonly engine: EngineName;
  readonly dir: string | undefined;
  readonly persist: boolean;
  readonly workers: number;
  readonly sync: SyncMode;
  readonly groups: number;
  /**
   * The caller left `groups` unset: `groups` is the default for a new store, and a dir that
   * already holds one keeps its recorded groups (data-dir.ts).
   */
  readonly groupsUnset: boolean;
  readonly timeoutMs: number;
  /** 0: a batch never waits for more records. */
  readonly groupCommitLingerMs: number;
  readonly valueBytesMax: number;
  readonly acceptDataLoss: boolean;
  readonly cachedKeysMax: number;
  readonly repair: ResolvedRepair;
  /** undefined: the runtime's default (worker-heap.ts). */
  readonly workerHeapMb: number | undefined;
  /** undefined: the runtime's default (worker-young-gen.ts). */
  readonly workerYoungMb: number | undefined;
  readonly tickMs: number;
  /** undefined: no journal. */
  readonly journal: JournalLimits | undefined;
  /**
   * The caller left `journal` unset: a dir whose groups kept a journal keeps it (default
   * limits) rather than opening a gap (README "Journal subscription"; journal-gap-file.ts).
   */
  readonly journalUnset: boolean;
}

/**
 * The largest valueBytesMax allowed. A request carrying one such value must fit in one mailbox
 * payload (ringBytes/2 - 8, about 2 MiB with the default 4 MiB rings) with room to spare;
 * RequestPipeline sends it in a batch of its own when it passes PAYLOAD_SOFT_BYTES_MAX.
 */
export const VALUE_BYTES_MAX_LIMIT = 1024 * 1024;

const CACHED_KEYS_DEFAULT = 512 * 1024;
/** persist-linger.ts's own bound: a longer linger is a misconfiguration, not a tuning. */
const GROUP_COMMIT_LINGER_MS_MAX = 100;

/**
 * The group commit's linger by default: 1 ms where a batch's engine write is dear (an fdatasync
 * under sync 'always'; LevelDB's write, a trip through libuv's pool), none where it is one
 * write(2) on the actor's thread (the bitcask engines and memory with persist under 'batch'):
 * waiting there only delays the answers and costs a timer and a wake-up per batch (kv-load,
 * docs/decisions.md "The durable write path: no linger for an inline append").
 */
function lingerMsDefault(engine: string, sync: string): number {
  return sync === 'batch' && engine !== 'lsm' ? 0 : 1;
}
/** The memory engine's default (decision 28): every key beyond it is in compact form. */
const CACHED_KEYS_MEMORY_DEFAULT = 128 * 1024;

const KNOWN = new Set([
  'replicas',
  'engine',
  'dir',
  'persist',
  'workers',
  'sync',
  'groups',
  'timeoutMs',
  'groupCommitLingerMs',
  'valueBytesMax',
  'acceptDataLoss',
  'cachedKeysMax',
  'repair',
  'workerHeapMb',
  'workerYoungMb',
  'journal',
]);

function intIn(name: string, v: unknown, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw invalid(`${name} must be an integer in ${lo}..${hi}, got ${describe(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/**
 * Only `undefined` (an absent option, or no options at all) means the default: `null`, `[]` or
 * any other value is checked like a value and refused when it is not one.
 */
export function resolveOptions(o: PaxosStoreOptions | undefined): ResolvedOptions {
  return checked('open', () => resolve(o));
}

function resolve(o: PaxosStoreOptions | undefined): ResolvedOptions {
  if (o !== undefined && !isPlainObject(o))
    throw invalid(`options must be a plain object, got ${describe(o)}`);
  // A snapshot of the caller's options: each is read once (a getter cannot answer twice).
  const opts: PaxosStoreOptions = {};
  if (o !== undefined) {
    for (const k of Object.keys(o)) {
      if (!KNOWN.has(k)) throw invalid(`unknown option ${describe(k)}`);
      (opts as Record<string, unknown>)[k] = field(o, k);
    }
  }
  const replicas = intIn('replicas', opts.replicas, 1, 7, 3);
  if (replicas % 2 === 0) throw invalid(`replicas must be odd, got ${replicas}`);
  const engine = opts.engine === undefined ? 'memory' : opts.engine;
  if (engine !== 'memory' && engine !== 'lsm' && engine !== 'bitcask' && engine !== 'bitcask2') {
    throw invalid(
      `engine must be 'memory', 'lsm', 'bitcask' or 'bitcask2', got ${describe(engine)}`,
    );
  }
  const sync = opts.sync === undefined ? 'batch' : opts.sync;
  if (sync !== 'always' && sync !== 'batch' && sync !== 'none')
    throw invalid(`sync must be 'always', 'batch' or 'none', got ${describe(sync)}`);
  if (opts.dir !== undefined) checkDir(opts.dir);
  if (engine !== 'memory' && opts.dir === undefined)
    throw invalid(`engine '${engine}' needs a dir`);
  const persist = bool('persist', opts.persist);
  if (persist && engine !== 'memory')
    throw invalid(`persist is an option of the memory engine; '${engine}' always persists`);
  if (persist && opts.dir === undefined)
    throw invalid(`persist: true needs a dir for the memory engine's log`);
  // The memory engine alone: everything on the workers' heaps, nothing on disk.
  const heapOnly = engine === 'memory' && !persist;
  return {
    replicas,
    engine,
    dir: opts.dir === undefined ? undefined : path.resolve(opts.dir),
    persist,
    ...workersAndGroups(opts),
    sync,
    timeoutMs: intIn('timeoutMs', opts.timeoutMs, 50, 600_000, 2000),
    groupCommitLingerMs: intIn(
      'groupCommitLingerMs',
      opts.groupCommitLingerMs,
      0,
      GROUP_COMMIT_LINGER_MS_MAX,
      lingerMsDefault(engine, sync),
    ),
    valueBytesMax: intIn('valueBytesMax', opts.valueBytesMax, 1, VALUE_BYTES_MAX_LIMIT, 256 * 1024),
    acceptDataLoss: bool('acceptDataLoss', opts.acceptDataLoss),
    cachedKeysMax: intIn(
      'cachedKeysMax',
      opts.cachedKeysMax,
      64,
      1 << 30,
      heapOnly ? CACHED_KEYS_MEMORY_DEFAULT : CACHED_KEYS_DEFAULT,
    ),
    workerHeapMb:
      opts.workerHeapMb === undefined
        ? undefined
        : intIn('workerHeapMb', opts.workerHeapMb, WORKER_HEAP_MB_MIN, WORKER_HEAP_MB_MAX, 0),
    workerYoungMb:
      opts.workerYoungMb === undefined
        ? heapOnly
          ? WORKER_YOUNG_MB_MEMORY_DEFAULT
          : undefined
        : intIn('workerYoungMb', opts.workerYoungMb, WORKER_YOUNG_MB_MIN, WORKER_YOUNG_MB_MAX, 0),
    repair: resolveRepair(opts.repair),
    tickMs: 10,
    journal: resolveJournalFor(opts.journal, engine, persist),
    journalUnset: opts.journal === undefined,
  };
}

/**
 * Workers default to the available cores; groups to one per worker, at least 2
 * (groups-default.ts), which only a new dir takes: `groupsUnset` lets a dir keep its own.
 */
function workersAndGroups(
  opts: PaxosStoreOptions,
): Pick<ResolvedOptions, 'workers' | 'groups' | 'groupsUnset'> {
  const cores =
    typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const workers = intIn('workers', opts.workers, 1, 64, Math.max(1, cores));
  const groups = intIn('groups', opts.groups, GROUPS_MIN, GROUPS_MAX, defaultGroups(workers));
  return { workers, groups, groupsUnset: opts.groups === undefined };
}

/** The journal lives beside the records: an engine that keeps nothing cannot hold it. */
function resolveJournalFor(
  o: unknown,
  engine: EngineName,
  persist: boolean,
): JournalLimits | undefined {
  const limits = resolveJournal(o);
  if (limits !== undefined && engine === 'memory' && !persist)
    throw new PaxosStoreError(
      ErrorCodes.UNSUPPORTED_ENGINE,
      "journal needs a durable engine: 'lsm', 'bitcask', 'bitcask2' or memory with persist",
    );
  return limits;
}

/** An object literal (or one with a null prototype): not an array, a Date, a Map, a boxed value. */
function isPlainObject(o: unknown): o is object {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  const proto: unknown = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

/** Longest `dir`, in UTF-8 bytes (Linux's PATH_MAX). */
export const DIR_BYTES_MAX = 4096;

/**
 * A directory path the file system takes as written: a lone surrogate would be written as
 * U+FFFD (another directory than the one named) and a NUL byte is refused by every fs call.
 */
function checkDir(dir: unknown): void {
  if (typeof dir !== 'string' || dir.length === 0)
    throw invalid(`dir must be a non-empty string, got ${describe(dir)}`);
  if (dir.length > DIR_BYTES_MAX || Buffer.byteLength(dir, 'utf8') > DIR_BYTES_MAX)
    throw invalid(`dir is longer than ${DIR_BYTES_MAX} bytes`);
  if (!dir.isWellFormed()) throw invalid('dir must be well-formed UTF-16 (no lone surrogates)');
  if (dir.includes('\0')) throw invalid('dir must not contain a NUL character');
}

/** True when the store keeps its data in `dir` (a disk engine, or memory with persist). */
export function usesDataDir(o: ResolvedOptions): o is ResolvedOptions & { readonly dir: string } {
  return o.dir !== undefined && (o.engine !== 'memory' || o.persist);
}

/**
 * The engine as recorded in the data dir: reopening a dir with another engine (or memory
 * with persist on a disk engine's dir) would find no data or misread it, so it is refused.
 */
export function engineLabel(o: ResolvedOptions): string {
  return o.engine === 'memory' && o.persist ? 'memory-persist' : o.engine;
}
