/**
 * The public big-table API (issue #4, decision 13 in docs/decisions.md):
 *
 *   const bt = store.bigtable('messages', { indexes: ['sender', 'day'] });   // engine 'lsm'
 *   await bt.insert(pk, row); await bt.update(pk, patch); await bt.delete(pk); await bt.get(pk);
 *   for await (const { pk, row } of bt.scan({ gte, lt, limit, reverse })) {}
 *   for await (const { pk, row } of bt.byIndex('sender', 'bob', { limit })) {}
 *
 * Each row is its own replicated key, linearizable per row. Index entries are local derived
 * data of every replica, written in the same engine batch as the row's record. A scan lists a
 * majority of replicas' keys (so it sees every acknowledged write) and reads each row through
 * Paxos; an index lookup does the same with index entries and returns a row only after its
 * linearizable read shows the indexed column still matches. Neither is a snapshot: see README.
 */
import type { Consistency } from '../paxos/core/types';
import { ModelTag } from '../../models/model-tags';
import type { BigtableRow, BigtableValue } from '../../models/bigtable/bigtable-row';
import {
  checkIndexes,
  checkPk,
  checkRow,
  checkTableName,
  checkValue,
  decodeStoredRow,
  encodeStoredRow,
  indexPrefix,
  rowKey,
  rowRange,
  sameValue,
  schemaKey,
  BIGTABLE_INDEXED_STRING_BYTES_MAX,
  BIGTABLE_PK_BYTES_MAX,
  BIGTABLE_ROW_BYTES_MAX,
} from '../../models/bigtable/bigtable-row';
import type { BigtableOp } from '../../models/bigtable/bigtable';
import {
  BIGTABLE_GET_QUERY,
  BigtableStatus,
  decodeBigtableGet,
  decodeBigtableSchema,
  decodeBigtableWrite,
  encodeBigtableOp,
} from '../../models/bigtable/bigtable';
import { ScanMode } from '../paxos/engine-scan';
import { assert } from '../../runtime/assert';
import { ErrorCodes, PaxosStoreError, checked, describe, field, invalid } from './errors';
import { ModelChannel, validateConsistency, validateWriteOptions } from './model-client';
import type { ReadOptions, RequestBackend, WriteOptions } from './model-client';
import type { Call } from './bigtable-scan';
import { PageSource, mergeQuorum } from './bigtable-scan';

export type { BigtableRow, BigtableValue } from '../../models/bigtable/bigtable-row';

export interface BigtableOptions {
  /** Indexed columns (at most 8). Every handle of one table must name the same ones. */
  indexes?: string[];
}

export interface BigtableEntry {
  readonly pk: string;
  readonly row: BigtableRow;
}

export interface BigtableScanOptions {
  /** Inclusive lower bound on pk (UTF-8 byte order). */
  gte?: string;
  /** Exclusive upper bound on pk. */
  lt?: string;
  limit?: number;
  reverse?: boolean;
  /** 'linearizable' (default): each row read through Paxos. 'local': one replica's rows, may be stale. */
  consistency?: Consistency;
  /** Keys listed per page and per source (1..4096, default 256). */
  pageSize?: number;
}

export interface BigtableIndexOptions {
  limit?: number;
  consistency?: Consistency;
  pageSize?: number;
}

/** What a big-table handle needs from the store beyond a ModelChannel's backend. */
export interface BigtableBackend extends RequestBackend {
  readonly engine: string;
  readonly replicas: number;
  readonly groups: number;
  isUp(replica: number): boolean;
  scan: Call;
}

const PAGE_SIZE_DEFAULT = 256;

interface Candidate {
  readonly pk: string;
  /** The row as the listing replica holds it (local consistency), else read it. */
  readonly local: BigtableRow | undefined;
}

interface ReadBatch {
  readonly batch: Candidate[];
  readonly rows: Promise<Array<BigtableRow | undefined>>;
}

export class Bigtable {
  private readonly channel: ModelChannel;
  private readonly indexes: readonly string[];
  /** The table's index list, checked once per handle (INDEX_MISMATCH); reset on failure. */
  private schema: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly backend: BigtableBackend,
    private readonly replica: number | undefined,
    options?: BigtableOptions,
  ) {
    const indexes = checked('bigtable', () => {
      const nameError = checkTableName(name);
      if (nameError !== undefined) throw invalid(`${nameError}, got ${describe(name)}`);
      if (options !== undefined && (typeof options !== 'object' || options === null))
        throw invalid(`options must be an object, got ${describe(options)}`);
      const list = options === undefined ? undefined : field(options, 'indexes');
      if (list !== undefined && !Array.isArray(list))
        throw invalid(`indexes must be an array of column names, got ${describe(list)}`);
      const names: unknown[] = list === undefined ? [] : [...(list as unknown[])];
      for (const c of names)
        if (typeof c !== 'string')
          throw invalid(`index column names must be strings, got ${describe(c)}`);
      const result = checkIndexes(names);
      if (result.indexes === undefined) throw invalid(result.error ?? 'bad indexes');
      return result.indexes;
    });
    if (backend.engine !== 'lsm') {
      throw new PaxosStoreError(
        ErrorCodes.UNSUPPORTED_ENGINE,
        `big tables need engine 'lsm' (this store uses '${backend.engine}')`,
      );
    }
    this.indexes = Object.freeze(indexes);
    this.channel = new ModelChannel(backend, replica, ModelTag.bigtable);
  }

  /** Inserts a new row; ALREADY_EXISTS when the pk has one. */
  async insert(pk: string, row: BigtableRow, options?: WriteOptions): Promise<{ version: number }> {
    const valid = this.row(pk, row, 'row');
    const requestId = validateWriteOptions(options);
    await this.checkSchema();
    return (await this.write(pk, { type: 'insert', indexes: this.indexes, row: valid }, requestId))
      .result;
  }

  /** Sets the patch's columns of an existing row; NOT_FOUND when the pk has none. */
  async update(
    pk: string,
    patch: BigtableRow,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    const valid = this.row(pk, patch, 'patch');
    const requestId = validateWriteOptions(options);
    await this.checkSchema();
    return (
      await this.write(pk, { type: 'update', indexes: this.indexes, patch: valid }, requestId)
    ).result;
  }

  /** Removes a row; `removed` is false when there was none (not an error). */
  async delete(pk: string, options?: WriteOptions): Promise<{ removed: boolean; version: number }> {
    this.pk(pk);
    const requestId = validateWriteOptions(options);
    // A write like the others: a handle whose index list differs deletes nothing (INDEX_MISMATCH).
    await this.checkSchema();
    const { result, removed } = await this.write(pk, { type: 'delete' }, requestId);
    return { removed, version: result.version };
  }

  async get(pk: string, options?: ReadOptions): Promise<BigtableRow | undefined> {
    this.pk(pk);
    return this.read(
      pk,
      checked('bigtable.get', () => validateConsistency(options)),
    );
  }

  /** Rows in pk order (UTF-8 bytes) within [gte, lt), streamed in pages. */
  scan(options: BigtableScanOptions = {}): AsyncIterableIterator<BigtableEntry> {
    const base = rowRange(this.name);
    const { gte, lt, reverse, consistency, limit, pageSize } = checked('bigtable.scan', () => {
      if (typeof options !== 'object' || options === null)
        throw invalid(`scan options must be an object, got ${describe(options)}`);
      const rawGte = field(options, 'gte');
      const rawLt = field(options, 'lt');
      return {
        gte: rawGte === undefined ? base.gte : rowKey(this.name, bound(rawGte, 'gte')),
        lt: rawLt === undefined ? base.lt : rowKey(this.name, bound(rawLt, 'lt')),
        reverse: flag(field(options, 'reverse'), 'reverse'),
        consistency: validateConsistency({ consistency: field(options, 'consistency') }),
        limit: count(field(options, 'limit'), 'limit', Number.MAX_SAFE_INTEGER, 0),
        pageSize: count(field(options, 'pageSize'), 'pageSize', PAGE_SIZE_DEFAULT, 1, 4096),
      };
    });
    const local = consistency === 'local';
    const sources = this.sources(
      local,
      (replica, group) =>
        new PageSource(
          { replica, group, mode: ScanMode.records, withData: local, reverse, gte, lt, pageSize },
          this.backend.scan,
        ),
    );
    const prefix = base.gte.length;
    return this.verified(
      this.merge(sources, reverse, local),
      limit,
      pageSize,
      consistency,
      (entry) => ({
        pk: entry.key.slice(prefix),
        local: entry.data === null ? undefined : storedRowOf(entry.data),
      }),
    );
  }

  /** Rows whose `column` equals `value` (same type), in pk order; `column` must be indexed. */
  byIndex(
    column: string,
    value: BigtableValue,
    options: BigtableIndexOptions = {},
  ): AsyncIterableIterator<BigtableEntry> {
    const { consistency, limit, pageSize } = checked('bigtable.byIndex', () => {
      if (typeof column !== 'string' || !this.indexes.includes(column))
        throw invalid(`column ${describe(column)} is not indexed in ${this.name}`);
      // Indexed strings are at most 512 bytes: a longer one is refused before it is encoded.
      if (typeof value === 'string' && value.length > BIGTABLE_INDEXED_STRING_BYTES_MAX) {
        throw invalid(
          `column ${column} is indexed; its strings are limited to ${BIGTABLE_INDEXED_STRING_BYTES_MAX} bytes`,
        );
      }
      const valueError = checkValue(value, true, column);
      if (valueError !== undefined) throw invalid(valueError);
      if (typeof options !== 'object' || options === null)
        throw invalid(`byIndex options must be an object, got ${describe(options)}`);
      return {
        consistency: validateConsistency({ consistency: field(options, 'consistency') }),
        limit: count(field(options, 'limit'), 'limit', Number.MAX_SAFE_INTEGER, 0),
        pageSize: count(field(options, 'pageSize'), 'pageSize', PAGE_SIZE_DEFAULT, 1, 4096),
      };
    });
    const prefix = indexPrefix(this.name, column, value);
    const last = prefix.charCodeAt(prefix.length - 1);
    assert(last < 0x7f, () => `index prefix ends with code ${last}`);
    const lt = prefix.slice(0, -1) + String.fromCharCode(last + 1);
    const sources = this.sources(
      consistency === 'local',
      (replica, group) =>
        new PageSource(
          {
            replica,
            group,
            mode: ScanMode.keys,
            withData: false,
            reverse: false,
            gte: prefix,
            lt,
            pageSize,
          },
          this.backend.scan,
        ),
    );
    const matches = (row: BigtableRow): boolean => sameValue(row[column], value);
    return this.afterSchema(
      this.verified(
        this.merge(sources, false, consistency === 'local'),
        limit,
        pageSize,
        consistency,
        (entry) => ({ pk: entry.key.slice(prefix.length), local: undefined }),
        matches,
      ),
    );
  }

  /**
   * The first write or lookup of a handle fixes the table's index list on its schema key, or
   * checks that it matches the list the table was created with (INDEX_MISMATCH otherwise):
   * every row of a table is then indexed alike, whichever handle wrote it.
   */
  private checkSchema(): Promise<void> {
    this.schema ??= this.defineSchema().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    return this.schema;
  }

  private async defineSchema(): Promise<void> {
    const key = schemaKey(this.name);
    const { body } = await this.channel.write(
      key,
      encodeBigtableOp({ type: 'define', indexes: this.indexes }),
      this.name,
    );
    const r = decodeBigtableWrite(body);
    if (r.status === BigtableStatus.ok) return;
    assert(
      r.status === BigtableStatus.indexMismatch,
      () => `big table define answered status ${r.status}`,
    );
    const existing = decodeBigtableSchema(
      await this.channel.read(key, BIGTABLE_GET_QUERY, 'linearizable', this.name),
    );
    throw new PaxosStoreError(
      ErrorCodes.INDEX_MISMATCH,
      `${this.name} is indexed on ${JSON.stringify(existing)}; this handle names ${JSON.stringify(this.indexes)}`,
    );
  }

  private async *afterSchema(rows: AsyncGenerator<BigtableEntry>): AsyncGenerator<BigtableEntry> {
    await this.checkSchema();
    yield* rows;
  }

  /**
   * Page sources: every group of every replica that is up (linearizable: any acknowledged write
   * was accepted by a majority, which intersects the majority that must be up and trustworthy,
   * see mergeQuorum), or of one replica (local).
   */
  private sources(
    local: boolean,
    make: (replica: number, group: number) => PageSource,
  ): PageSource[] {
    const n = this.backend.replicas;
    const wanted = local ? 1 : n;
    const first = this.replica ?? 0;
    const chosen: number[] = [];
    for (let i = 0; i < n && chosen.length < wanted; i++) {
      const r = (first + i) % n;
      if (this.backend.isUp(r)) chosen.push(r);
    }
    if (chosen.length < (local ? 1 : this.quorum())) {
      throw new PaxosStoreError(
        ErrorCodes.UNAVAILABLE,
        `${this.name}: a scan needs ${local ? 1 : this.quorum()} replicas up, ${chosen.length} are`,
      );
    }
    const out: PageSource[] = [];
    for (const r of chosen) for (let g = 0; g < this.backend.groups; g++) out.push(make(r, g));
    return out;
  }

  private quorum(): number {
    return Math.floor(this.backend.replicas / 2) + 1;
  }

  private merge(
    sources: PageSource[],
    reverse: boolean,
    local: boolean,
  ): AsyncGenerator<{ key: string; data: Uint8Array | null }> {
    return mergeQuorum(sources, reverse, local ? 1 : this.quorum());
  }

  /**
   * Candidates in order → rows. Linearizable: each candidate is read through Paxos (a batch
   * of up to `pageSize` in parallel) and skipped when absent or no longer matching. Two
   * batches are in flight: the next batch's reads run while the current one is consumed.
   */
  private async *verified(
    candidates: AsyncGenerator<{ key: string; data: Uint8Array | null }>,
    limit: number,
    pageSize: number,
    consistency: Consistency,
    parse: (entry: { key: string; data: Uint8Array | null }) => Candidate,
    matches: (row: BigtableRow) => boolean = () => true,
  ): AsyncGenerator<BigtableEntry> {
    if (limit === 0) return;
    let yielded = 0;
    let batch: Candidate[] = [];
    let inflight: ReadBatch | undefined;
    const start = (b: Candidate[]): ReadBatch => {
      const rows = Promise.all(
        b.map((c) => (c.local !== undefined ? c.local : this.read(c.pk, consistency))),
      );
      rows.catch(() => undefined); // a batch abandoned at the limit must not reject unhandled
      return { batch: b, rows };
    };
    const emit = async function* (done: ReadBatch): AsyncGenerator<BigtableEntry> {
      const rows = await done.rows;
      assert(rows.length === done.batch.length, 'a read batch lost rows');
      for (let i = 0; i < done.batch.length && yielded < limit; i++) {
        const row = rows[i];
        const c = done.batch[i];
        assert(c !== undefined);
        if (row === undefined || !matches(row)) continue;
        yielded += 1;
        yield { pk: c.pk, row };
      }
    };
    for await (const entry of candidates) {
      batch.push(parse(entry));
      // Rows still to find, counting those the batch in flight may supply (at least one).
      const room = Math.max(1, limit - yielded - (inflight?.batch.length ?? 0));
      if (batch.length < Math.min(pageSize, room)) continue;
      const next = start(batch);
      batch = [];
      if (inflight !== undefined) yield* emit(inflight);
      inflight = next;
      if (yielded >= limit) return;
    }
    const last = batch.length > 0 ? start(batch) : undefined;
    if (inflight !== undefined) yield* emit(inflight);
    if (last !== undefined) yield* emit(last);
  }

  private async read(pk: string, consistency: Consistency): Promise<BigtableRow | undefined> {
    const bytes = await this.channel.read(
      rowKey(this.name, pk),
      BIGTABLE_GET_QUERY,
      consistency,
      pk,
    );
    return decodeBigtableGet(bytes)?.r;
  }

  private async write(
    pk: string,
    op: BigtableOp,
    requestId: string | undefined,
  ): Promise<{ result: { version: number }; removed: boolean }> {
    const { body, version } = await this.channel.write(
      rowKey(this.name, pk),
      encodeBigtableOp(op),
      `${this.name}/${pk}`,
      requestId,
    );
    const r = decodeBigtableWrite(body);
    switch (r.status) {
      case BigtableStatus.ok:
        return { result: { version }, removed: r.removed };
      case BigtableStatus.alreadyExists:
        throw new PaxosStoreError(
          ErrorCodes.ALREADY_EXISTS,
          `${this.name}: a row with pk ${JSON.stringify(pk)} exists`,
        );
      case BigtableStatus.notFound:
        throw new PaxosStoreError(
          ErrorCodes.NOT_FOUND,
          `${this.name}: no row with pk ${JSON.stringify(pk)}`,
        );
      case BigtableStatus.tooLarge:
        throw tooLarge(this.name, pk);
      default:
        throw invalid(`${this.name}: the store refused the row (status ${r.status})`);
    }
  }

  private pk(pk: unknown): void {
    if (typeof pk === 'string' && pk.length > BIGTABLE_PK_BYTES_MAX)
      throw invalid(`pk is longer than ${BIGTABLE_PK_BYTES_MAX} bytes`);
    const error = checkPk(pk);
    if (error !== undefined) throw invalid(`${error}, got ${describe(pk)}`);
  }

  /** A row or patch, checked and copied; one that can never fit a row is TOO_LARGE before it is sent. */
  private row(pk: unknown, row: unknown, what: 'row' | 'patch'): BigtableRow {
    this.pk(pk);
    const valid = checked(`bigtable.${what === 'row' ? 'insert' : 'update'}`, () => {
      const result = checkRow(snapshot(row), this.indexes, what);
      if (result.row === undefined) throw invalid(result.error ?? `bad ${what}`);
      return result.row;
    });
    // A patch is at most what it adds to a row: if its own encoding is too large, so is any row.
    const size = encodeStoredRow({ i: this.indexes, r: valid }).length;
    if (size > BIGTABLE_ROW_BYTES_MAX) throw tooLarge(this.name, pk as string);
    return valid;
  }
}

/**
 * A plain object's own columns, each read once: checkRow reads a column twice (to check it,
 * then to keep it), and a getter must not answer a valid value to the first read and another
 * to the second. Anything else is returned as it is, for checkRow to refuse.
 */
function snapshot(row: unknown): unknown {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return row;
  const proto: unknown = Object.getPrototypeOf(row);
  if (proto !== Object.prototype && proto !== null) return row;
  if (Object.getOwnPropertySymbols(row).length > 0) return row;
  const out = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(row)) out[name] = (row as Record<string, unknown>)[name];
  return out;
}

function storedRowOf(tagged: Uint8Array): BigtableRow {
  assert(tagged[0] === ModelTag.bigtable, () => `a big table key holds model ${tagged[0]}`);
  return decodeStoredRow(tagged.subarray(1)).r;
}

function tooLarge(name: string, pk: string): PaxosStoreError {
  return new PaxosStoreError(
    ErrorCodes.TOO_LARGE,
    `${name}: row ${JSON.stringify(pk)} would pass ${BIGTABLE_ROW_BYTES_MAX} bytes`,
  );
}

/** A scan bound is a pk (at most 512 bytes, well-formed) or '' (before every pk). */
function bound(pk: unknown, what: string): string {
  if (typeof pk !== 'string') throw invalid(`${what} must be a string, got ${describe(pk)}`);
  if (pk.length > BIGTABLE_PK_BYTES_MAX || Buffer.byteLength(pk, 'utf8') > BIGTABLE_PK_BYTES_MAX) {
    throw invalid(`${what} is longer than ${BIGTABLE_PK_BYTES_MAX} bytes (the longest pk)`);
  }
  if (!pk.isWellFormed()) throw invalid(`${what} must be well-formed UTF-16 (no lone surrogates)`);
  return pk;
}

function flag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`${what} must be a boolean, got ${describe(v)}`);
  return v;
}

function count(
  v: unknown,
  what: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw invalid(`${what} must be an integer in ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}
