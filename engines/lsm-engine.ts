/**
 * LsmEngine: LevelDB through `level` (DESIGN.md §5), for big tables, secondary indexes and
 * range scans. Keys are stored as UTF-8, so iteration is in UTF-8 byte order (`key-order.ts`).
 *
 * Durability (see engines/README.md): `sync: true` resolves only after LevelDB has fsynced its
 * log; `sync: false` resolves once the log record is written to the OS, which survives a
 * process crash (kill -9) but not a power loss.
 *
 * Damage found at open: LevelDB (paranoid_checks off, as `level` opens it) skips a log record
 * that fails its checksum and opens anyway. It says so only in its info log (`dir/LOG`,
 * rewritten at every open): "dropping N bytes; Corruption: ...". A record cut short at the end
 * of the log (a write the crash interrupted) and zeros there are not reported, so what is
 * reported was written whole and damaged later: it may have held acknowledged promises or
 * accepts. `openReport()` says so, and the Paxos shell makes the group amnesic (decisions 9
 * and 27). Opening with paranoid checks instead would refuse to open at all, and `level`
 * does not expose that option.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Level } from 'level';
import { assert } from '../runtime/assert';
import type {
  OpenReport,
  BatchOp,
  Engine,
  EngineCapabilities,
  EngineStats,
  IterateRange,
  WriteOptions,
} from './engine';
import { mkdirDurable } from './durable-dir';
import { StatsCounter } from './engine-stats';
import { engineError } from './errors';
import type { InlineGate } from './inline-gate';
import { inlineReads } from './inline-reads';
import { mapLevelError } from './lsm-errors';

type Db = Level<string, Uint8Array>;

/**
 * A key no caller can have: every other key is a string stored as UTF-8, and the byte 0xFF
 * never occurs in UTF-8. Close deletes it with `sync: true`, which appends a record to
 * LevelDB's log and fsyncs the log, so every write before it is durable once close resolves
 * (LevelDB's own close syncs nothing, and an empty batch never reaches LevelDB).
 */
const CLOSE_SYNC_KEY = Buffer.from([0xff, 0xfe, 0x73, 0x79, 0x6e, 0x63]);
type LevelOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };
type DirectBatch = (ops: readonly BatchOp[], options: WriteOptions) => Promise<void>;
/** classic-level's synchronous point read (abstract-level 3's `getSync`), when it has one. */
type GetSync = (key: string) => Uint8Array | undefined;

export interface LsmEngineOptions {
  /**
   * The gate of point reads on the calling thread (engines/inline-reads.ts); default: the
   * thread's. null: every read goes through the thread pool.
   */
  readonly inlineReads?: InlineGate | null;
}

/** The public batch: abstract-level checks and encodes every op, then calls `_batch`. */
function levelBatch(db: Db, batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
  const ops: LevelOp[] = batch.map((op) =>
    op.type === 'put'
      ? { type: 'put', key: op.key, value: op.value }
      : { type: 'del', key: op.key },
  );
  // `sync` is a classic-level option that level's shared typings do not declare.
  const batchOptions: { sync: boolean; valueEncoding: 'view' } = {
    sync: options.sync,
    valueEncoding: 'view',
  };
  return db.batch(ops, batchOptions);
}

/**
 * classic-level's `_batch` (abstract-level's implementer API), when calling it is the same as
 * calling `batch`: no prewrite hook and no 'write' listener, so all `batch` adds is checking and
 * cloning every op and encoding keys and values by identity ('utf8' strings and 'view' bytes go
 * to the binding as they are; this engine owns the db and validates nothing it has not already
 * been given valid). That per-op work was ~10 % of the lsm write path's CPU (issue 10, disk
 * engines). Undefined (use `batch`) if the shape is not the one this was written against.
 */
function directBatchOf(db: Db): DirectBatch | undefined {
  const level = db as unknown as {
    _batch?: unknown;
    hooks?: { prewrite?: { noop?: unknown } };
    listenerCount?: (event: string) => number;
  };
  const batch = level._batch;
  if (typeof batch !== 'function' || level.hooks?.prewrite?.noop !== true) return undefined;
  if (level.listenerCount?.('write') !== 0) return undefined;
  const run = batch as (this: unknown, ops: readonly BatchOp[], options: object) => Promise<void>;
  return (ops, options) => {
    // The encodings abstract-level would have set on each op are the ones the db was opened
    // with; the binding reads only type, key and value, and the options' `sync`.
    assert(db.status === 'open', () => `lsm write: level status ${db.status}`);
    return ops.length === 0 ? Promise.resolve() : run.call(db, ops, { sync: options.sync });
  };
}

/**
 * The db's synchronous point read, bound, if its binding has one (classic-level 3: abstract-level
 * 3's `supports.getSync`); undefined keeps every read on the thread pool.
 */
function getSyncOf(db: Db): GetSync | undefined {
  const level = db as unknown as { supports?: { getSync?: unknown }; getSync?: unknown };
  if (level.supports?.getSync !== true || typeof level.getSync !== 'function') return undefined;
  const getSync = level.getSync as (this: Db, key: string) => Uint8Array | undefined;
  return (key) => getSync.call(db, key);
}

export class LsmEngine implements Engine {
  readonly name = 'lsm';
  readonly capabilities: EngineCapabilities = Object.freeze({ persistent: true, ordered: true });
  /** Absolute path of the LevelDB directory. */
  readonly dir: string;
  private db: Db | undefined = undefined;
  /** classic-level's own batch, past abstract-level's per-op checks (`directBatchOf`). */
  private direct: DirectBatch | undefined = undefined;
  /** What the last open found in LevelDB's info log (undefined before the first open). */
  private report: OpenReport | undefined = undefined;
  private readonly counter = new StatsCounter();
  /** Writes not yet answered by LevelDB; close waits for them before its syncing write. */
  private readonly writesInFlight = new Set<Promise<unknown>>();
  /** open and close run one at a time, in call order. */
  private transition: Promise<void> = Promise.resolve();
  /** The open db's `getSync` (undefined: closed, or a binding without one). */
  private getSync: GetSync | undefined = undefined;
  private readonly inlineReads: InlineGate | null;

  constructor(dir: string, options: LsmEngineOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw engineError('INVALID_ARGUMENT', 'LsmEngine needs a non-empty directory path');
    }
    this.dir = path.resolve(dir);
    this.inlineReads = options.inlineReads === undefined ? inlineReads : options.inlineReads;
  }

  open(): Promise<void> {
    return this.serialize(() => this.openNow());
  }

  /** Idempotent. Operations still running when close starts are finished or rejected. */
  close(): Promise<void> {
    return this.serialize(() => this.closeNow());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const db = this.requireOpen();
    if (this.inlineAllows(1)) return this.getManyNow([key])[0];
    let value: Uint8Array | undefined;
    try {
      value = await db.get(key);
    } catch (err) {
      throw mapLevelError(err, 'get');
    }
    this.counter.countRead();
    return value === undefined ? undefined : plainView(value);
  }

  /**
   * Many point reads: on the calling thread while LevelDB's caches answer them (the inline-read
   * gate), else in one LevelDB call (one threadpool task instead of one per key).
   */
  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    const db = this.requireOpen();
    if (this.inlineAllows(keys.length)) return this.getManyNow(keys);
    let values: Array<Uint8Array | undefined>;
    try {
      values = await db.getMany(keys as string[]);
    } catch (err) {
      throw mapLevelError(err, 'getMany');
    }
    assert(values.length === keys.length, () => `getMany: ${values.length} of ${keys.length}`);
    for (let i = 0; i < keys.length; i++) this.counter.countRead();
    return values.map((v) => (v === undefined ? undefined : plainView(v)));
  }

  /** One LevelDB write batch: atomic, and copied synchronously before this returns. */
  async write(batch: readonly BatchOp[], options: WriteOptions): Promise<void> {
    const db = this.requireOpen();
    assert(typeof options.sync === 'boolean', 'lsm.write: options.sync must be a boolean');
    for (const op of batch) {
      // What abstract-level's batch would check, and the binding needs (it writes anything
      // else as an empty value): a string key and a Uint8Array value.
      assert(typeof op.key === 'string', 'lsm.write: key must be a string');
      assert(op.type === 'del' || op.value instanceof Uint8Array, 'lsm.write: bad put value');
    }
    // The binding reads only `type`, `key` and `value`, a BatchOp's own shape, synchronously
    // within the call: the ops go as they are, with no copy of each.
    const written =
      this.direct !== undefined ? this.direct(batch, options) : levelBatch(db, batch, options);
    this.writesInFlight.add(written);
    try {
      await written;
    } catch (err) {
      throw mapLevelError(err, 'write');
    } finally {
      this.writesInFlight.delete(written);
    }
    this.counter.countBatch(batch, options.sync);
  }

  iterate(range: IterateRange): AsyncIterable<[string, Uint8Array]> {
    return this.iterateStream(range);
  }

  stats(): EngineStats {
    return this.counter.snapshot();
  }

  private async openNow(): Promise<void> {
    if (this.db !== undefined) return;
    try {
      // LevelDB creates only the last path component and never fsyncs its parent: ours to do.
      await mkdirDurable(this.dir);
    } catch (err) {
      throw engineError('IO_ERROR', `lsm open: cannot create ${this.dir}`, err);
    }
    const db: Db = new Level<string, Uint8Array>(this.dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    try {
      await db.open({ createIfMissing: true });
    } catch (err) {
      throw mapLevelError(err, 'open');
    }
    assert(db.status === 'open', `lsm open: status ${db.status}`);
    this.report = await readOpenReport(this.dir);
    this.direct = directBatchOf(db);
    this.getSync = getSyncOf(db);
    this.db = db;
  }

  /** Log records LevelDB skipped at the last open (see the file comment). */
  openReport(): OpenReport | undefined {
    return this.report;
  }

  private async closeNow(): Promise<void> {
    const db = this.db;
    if (db === undefined) return;
    // Forget the handle first, so operations that start from now on fail with NOT_OPEN.
    this.db = undefined;
    this.direct = undefined;
    this.getSync = undefined;
    try {
      // A clean close promises durability in every sync mode (a sync 'none' store removes its
      // UNSYNCED-RUN marker after it): fsync the log once every write has reached LevelDB.
      await Promise.allSettled([...this.writesInFlight]);
      try {
        const syncDelete = { sync: true, keyEncoding: 'buffer' } as unknown as Parameters<
          Db['del']
        >[1];
        await db.del(CLOSE_SYNC_KEY as unknown as string, syncDelete);
      } finally {
        await db.close();
      }
    } catch (err) {
      throw mapLevelError(err, 'close');
    }
  }

  /**
   * Streams from a LevelDB iterator (which reads an implicit snapshot taken at the first
   * `next()`); classic-level fetches entries in bounded chunks, so memory does not grow with
   * the size of the range.
   */
  private async *iterateStream(range: IterateRange): AsyncGenerator<[string, Uint8Array]> {
    const db = this.requireOpen();
    const limit = range.limit ?? Number.MAX_SAFE_INTEGER;
    assert(Number.isInteger(limit) && limit >= 0, `lsm.iterate: limit ${limit}`);
    const iterator = db.iterator(levelRange(range, limit));
    try {
      for (let count = 0; count < limit; count++) {
        let entry: [string, Uint8Array] | undefined;
        try {
          entry = await iterator.next();
        } catch (err) {
          throw mapLevelError(err, 'iterate');
        }
        if (entry === undefined) return;
        yield [entry[0], plainView(entry[1])];
      }
    } finally {
      // Already closed when the database closed under us; nothing to report then.
      await iterator.close().catch(() => undefined);
    }
  }

  private inlineAllows(keys: number): boolean {
    return this.getSync !== undefined && this.inlineReads !== null && this.inlineReads.allows(keys);
  }

  /** Reads `keys` with getSync, timed as one call by the inline-read gate. */
  private getManyNow(keys: readonly string[]): Array<Uint8Array | undefined> {
    const getSync = this.getSync;
    const gate = this.inlineReads;
    assert(getSync !== undefined && gate !== null, 'inline read without getSync or gate');
    const values = new Array<Uint8Array | undefined>(keys.length);
    const start = gate.now();
    try {
      for (let i = 0; i < keys.length; i++) {
        const v = getSync(keys[i] as string);
        values[i] = v === undefined ? undefined : plainView(v);
      }
    } catch (err) {
      throw mapLevelError(err, 'getMany');
    } finally {
      gate.took(gate.now() - start);
    }
    for (let i = 0; i < keys.length; i++) this.counter.countRead();
    return values;
  }

  private requireOpen(): Db {
    const db = this.db;
    if (db === undefined) throw engineError('NOT_OPEN', 'lsm engine is not open');
    return db;
  }

  private serialize(step: () => Promise<void>): Promise<void> {
    const result = this.transition.then(step);
    this.transition = result.catch(() => undefined);
    return result;
  }
}

interface LevelRange {
  limit: number;
  reverse: boolean;
  gte?: string;
  lt?: string;
}

/** LevelDB reads `limit` as an int32 (-1 = none); larger limits are enforced by our loop. */
const LEVEL_LIMIT_MAX = 0x7fff_ffff;

function levelRange(range: IterateRange, limit: number): LevelRange {
  const options: LevelRange = {
    limit: limit <= LEVEL_LIMIT_MAX ? limit : -1,
    reverse: range.reverse === true,
  };
  if (range.gte !== undefined) options.gte = range.gte;
  if (range.lt !== undefined) options.lt = range.lt;
  return options;
}

/** level hands back Buffers; callers get a plain Uint8Array over the same fresh memory. */
function plainView(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * LevelDB's info-log lines for log records it skipped at open: "dropping N bytes; <status>"
 * (db_impl.cc LogReporter: a checksum mismatch, a bad length, a read error) and "Ignoring
 * error" (MaybeIgnoreError: a batch that failed to apply).
 */
const DROPPED_LINE = /dropping (\d+) bytes;|Ignoring error/g;
/** The info log is read up to this many bytes (recovery lines come first; it is tiny then). */
const INFO_LOG_BYTES_MAX = 1 << 20;

/**
 * Reads `dir/LOG`, which LevelDB rewrote during this open, for skipped records. A missing or
 * unreadable info log reports nothing (LevelDB writes it at every open; only a file system
 * that refused it would lack it, and then the open's own writes would have failed).
 */
export async function readOpenReport(dir: string): Promise<OpenReport> {
  let text: string;
  try {
    const bytes = await readFile(path.join(dir, 'LOG'));
    text = bytes.subarray(0, INFO_LOG_BYTES_MAX).toString('latin1');
  } catch {
    return { bytesDropped: 0, torn: false, mayHaveDroppedAcknowledged: false };
  }
  return parseInfoLog(text);
}

/** The open report that LevelDB's info log text implies. */
export function parseInfoLog(text: string): OpenReport {
  let bytesDropped = 0;
  let lines = 0;
  for (const m of text.matchAll(DROPPED_LINE)) {
    lines += 1;
    bytesDropped += m[1] === undefined ? 0 : Number(m[1]);
  }
  assert(Number.isFinite(bytesDropped) && bytesDropped >= 0, () => `dropped ${bytesDropped} bytes`);
  // A line that reports 0 bytes still means a record failed its checks.
  return { bytesDropped, torn: false, mayHaveDroppedAcknowledged: lines > 0 };
}
