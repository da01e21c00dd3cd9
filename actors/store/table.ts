/**
 * The public small-table API (issue #4): rows × columns of byte values under one name. Writes
 * append to the table's change section, merged into the main section as it grows (see
 * models/table/table.ts); a table past its size limit (20 MiB) rejects TABLE_TOO_LARGE.
 */
import {
  TableStatus,
  decodeTableResult,
  encodeTableOp,
  encodeTableQuery,
} from '../../models/table/table';
import type { TableOp, TableQuery } from '../../models/table/table';
import { ModelTag } from '../../models/model-tags';
import { ErrorCodes, PaxosStoreError } from './errors';
import type { ReadOptions } from './model-client';
import {
  ModelChannel,
  objectKey,
  validateConsistency,
  validateKey,
  validateValue,
  validateWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';

export class Table {
  private readonly channel: ModelChannel;
  private readonly key: string;

  constructor(
    readonly name: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.key = objectKey(validateKey(name, 'table name'));
    this.channel = new ModelChannel(backend, replica, ModelTag.table);
  }

  async set(
    row: string,
    col: string,
    value: string | Uint8Array,
    options?: WriteOptions,
  ): Promise<{ version: number }> {
    const v = validateValue(value, this.channel.valueBytesMax);
    const op: TableOp = {
      type: 'set',
      row: validateKey(row, 'row'),
      col: validateKey(col, 'column'),
      value: v,
    };
    return this.write(op, validateWriteOptions(options));
  }

  async delete(row: string, col: string, options?: WriteOptions): Promise<{ version: number }> {
    return this.write(
      { type: 'delete', row: validateKey(row, 'row'), col: validateKey(col, 'column') },
      validateWriteOptions(options),
    );
  }

  async deleteRow(row: string, options?: WriteOptions): Promise<{ version: number }> {
    return this.write(
      { type: 'deleteRow', row: validateKey(row, 'row') },
      validateWriteOptions(options),
    );
  }

  async get(row: string, col: string, options?: ReadOptions): Promise<Buffer | undefined> {
    const query: TableQuery = {
      type: 'get',
      row: validateKey(row, 'row'),
      col: validateKey(col, 'column'),
    };
    const r = decodeTableResult('get', await this.read(query, options));
    return r.value === undefined ? undefined : Buffer.from(r.value);
  }

  /** One row as { [column]: value } (empty object when the row has no cells). */
  async row(row: string, options?: ReadOptions): Promise<Record<string, Buffer>> {
    const r = decodeTableResult(
      'row',
      await this.read({ type: 'row', row: validateKey(row, 'row') }, options),
    );
    return toBuffers(r.cells);
  }

  /** The whole table as { [row]: { [column]: value } }. */
  async all(options?: ReadOptions): Promise<Record<string, Record<string, Buffer>>> {
    const r = decodeTableResult('all', await this.read({ type: 'all' }, options));
    // fromEntries defines own properties, so a row named "__proto__" stays a row.
    return Object.fromEntries(
      Object.entries(r.rows).map(([row, cells]) => [row, toBuffers(cells)]),
    );
  }

  private async write(op: TableOp, requestId: string | undefined): Promise<{ version: number }> {
    const { body, version } = await this.channel.write(
      this.key,
      encodeTableOp(op),
      this.name,
      requestId,
    );
    const r = decodeTableResult(op.type, body);
    if (r.status === TableStatus.tooLarge) {
      throw new PaxosStoreError(
        ErrorCodes.TABLE_TOO_LARGE,
        `${this.name}: the table would pass its size limit`,
      );
    }
    return { version };
  }

  private read(query: TableQuery, options: ReadOptions | undefined): Promise<Uint8Array> {
    return this.channel.read(
      this.key,
      encodeTableQuery(query),
      validateConsistency(options),
      this.name,
    );
  }
}

function toBuffers(cells: Record<string, Uint8Array>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(cells).map(([col, v]) => [col, Buffer.from(v)]));
}
