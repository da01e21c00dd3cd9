/**
 * Pure pieces of the big table (issue #4, decision 13 in docs/decisions.md): row, patch and name
 * validation, the canonical row encoding, the order-preserving encoding of indexed values, and
 * the engine key layout of rows and index entries.
 *
 * A row is a flat object of JSON scalars (string, finite number, boolean, null) keyed by column
 * names `[A-Za-z][A-Za-z0-9_]{0,63}`. Validation returns a message (undefined = valid) rather
 * than throwing: the client turns it into INVALID_ARGUMENT, the replicated model into
 * RESULT_BAD_REQUEST (a replicated op must never throw).
 *
 * Engine keys (strings compared in UTF-8 byte order, engines/key-order.ts):
 *   schema        \u0001 table                             (the table's index list, replicated)
 *   row record    \u0001 table \u0000 pk                      (the row's replicated key)
 *   index entry   \u0002 table \u0000 column \u0000 enc(value) pk   (derived, local, empty value)
 * KV keys start with a namespace character and objects with \u0000, so neither prefix can
 * collide with another model. enc() is self-delimiting, so the entries of one value are
 * exactly the keys under `indexPrefix(table, column, value)`, ordered by pk.
 */
import { assert } from '../../runtime/assert';

export type BigtableValue = string | number | boolean | null;
export type BigtableRow = Record<string, BigtableValue>;

export const BIGTABLE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const BIGTABLE_COLUMN_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** Largest primary key in UTF-8 bytes. */
export const BIGTABLE_PK_BYTES_MAX = 512;
/** Largest encoded row (canonical JSON with its index list) in bytes. */
export const BIGTABLE_ROW_BYTES_MAX = 64 * 1024;
export const BIGTABLE_COLUMNS_MAX = 128;
export const BIGTABLE_INDEXES_MAX = 8;
/** Largest string value of an indexed column in UTF-8 bytes (index keys stay < 4 KiB). */
export const BIGTABLE_INDEXED_STRING_BYTES_MAX = 512;

export const ROW_KEY_PREFIX = '\u0001';
export const INDEX_KEY_PREFIX = '\u0002';
const SEPARATOR = '\u0000';

const encoder = new TextEncoder();

function utf8Bytes(s: string): number {
  return encoder.encode(s).length;
}

export function checkTableName(name: unknown): string | undefined {
  if (typeof name !== 'string' || !BIGTABLE_NAME_PATTERN.test(name)) {
    return 'big table name must match [A-Za-z0-9_.:-]{1,64}';
  }
  return undefined;
}

export function checkPk(pk: unknown): string | undefined {
  if (typeof pk !== 'string' || pk.length === 0) return 'pk must be a non-empty string';
  if (!pk.isWellFormed()) return 'pk must be well-formed UTF-16 (no lone surrogates)';
  const n = utf8Bytes(pk);
  if (n > BIGTABLE_PK_BYTES_MAX) return `pk is ${n} bytes; the limit is ${BIGTABLE_PK_BYTES_MAX}`;
  return undefined;
}

export function checkColumn(name: unknown): string | undefined {
  if (typeof name !== 'string' || !BIGTABLE_COLUMN_PATTERN.test(name)) {
    return `column name ${JSON.stringify(String(name))} must match [A-Za-z][A-Za-z0-9_]{0,63}`;
  }
  return undefined;
}

/** Index lists: distinct column names, at most BIGTABLE_INDEXES_MAX. Returns them sorted. */
export function checkIndexes(indexes: unknown): { indexes?: string[]; error?: string } {
  if (!Array.isArray(indexes)) return { error: 'indexes must be an array of column names' };
  if (indexes.length > BIGTABLE_INDEXES_MAX)
    return { error: `at most ${BIGTABLE_INDEXES_MAX} indexes` };
  for (const c of indexes) {
    const error = checkColumn(c);
    if (error !== undefined) return { error: `index: ${error}` };
  }
  const sorted = [...(indexes as string[])].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) return { error: `index ${sorted[i]} is listed twice` };
  }
  return { indexes: sorted };
}

export function checkValue(value: unknown, indexed: boolean, column: string): string | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `column ${column}: numbers must be finite`;
  if (typeof value !== 'string')
    return `column ${column}: values must be strings, finite numbers, booleans or null`;
  if (!value.isWellFormed()) return `column ${column}: string is not well-formed UTF-16`;
  if (indexed && utf8Bytes(value) > BIGTABLE_INDEXED_STRING_BYTES_MAX) {
    return `column ${column} is indexed; its strings are limited to ${BIGTABLE_INDEXED_STRING_BYTES_MAX} bytes`;
  }
  return undefined;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a row (or, with `patch`, a patch: at least one column) against an index list and
 * returns a normalised copy (columns sorted, -0 as 0), or an error message.
 */
export function checkRow(
  row: unknown,
  indexes: readonly string[],
  what: 'row' | 'patch' = 'row',
): { row?: BigtableRow; error?: string } {
  if (!isPlainObject(row)) return { error: `${what} must be a plain object of column values` };
  const names = Object.keys(row);
  if (names.length > BIGTABLE_COLUMNS_MAX)
    return { error: `${what} has ${names.length} columns; the limit is ${BIGTABLE_COLUMNS_MAX}` };
  if (what === 'patch' && names.length === 0)
    return { error: 'patch must set at least one column' };
  if (Object.getOwnPropertySymbols(row).length > 0)
    return { error: `${what} must not have symbol keys` };
  names.sort();
  const entries: Array<[string, BigtableValue]> = [];
  for (const name of names) {
    const error = checkColumn(name) ?? checkValue(row[name], indexes.includes(name), name);
    if (error !== undefined) return { error };
    const value = row[name] as BigtableValue;
    entries.push([name, Object.is(value, -0) ? 0 : value]);
  }
  assert(entries.length === names.length, 'checkRow lost a column');
  return { row: Object.fromEntries(entries) };
}

// ---- canonical stored form ----

/** A stored row: its index list (sorted) and its columns (sorted). */
export interface StoredRow {
  readonly i: readonly string[];
  readonly r: BigtableRow;
}

/** Canonical bytes: one encoding per (indexes, row), so replicas store identical bytes. */
export function encodeStoredRow(stored: StoredRow): Uint8Array {
  const r = Object.fromEntries(
    Object.keys(stored.r)
      .sort()
      .map((c) => [c, stored.r[c] as BigtableValue]),
  );
  return encoder.encode(JSON.stringify({ i: [...stored.i].sort(), r }));
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeStoredRow(bytes: Uint8Array): StoredRow {
  const parsed = JSON.parse(decoder.decode(bytes)) as StoredRow;
  assert(
    Array.isArray(parsed.i) && isPlainObject(parsed.r),
    'stored big table row has a bad shape',
  );
  return parsed;
}

// ---- order-preserving value encoding ----

const TYPE_NULL = '\u0001';
const TYPE_FALSE = '\u0002';
const TYPE_TRUE = '\u0003';
const TYPE_NUMBER = '\u0004';
const TYPE_STRING = '\u0005';

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/**
 * Encodes a scalar so that encoded strings compare (in code point order) as the values do:
 * null < false < true < numbers (numeric order) < strings (code point order). Numbers become
 * 16 hex digits of their IEEE bits, sign bit flipped for positives and all bits flipped for
 * negatives. Strings escape \u0000 and \u0001 (as \u0001\u0001 and \u0001\u0002) and end with
 * \u0000, which sorts below every escaped character: the encoding is prefix-free.
 */
export function encodeIndexValue(value: BigtableValue): string {
  if (value === null) return TYPE_NULL;
  if (value === false) return TYPE_FALSE;
  if (value === true) return TYPE_TRUE;
  if (typeof value === 'number') {
    assert(Number.isFinite(value), () => `index value ${value} is not finite`);
    f64[0] = value === 0 ? 0 : value; // -0 sorts with 0
    let hi = f64Words[1] as number;
    let lo = f64Words[0] as number;
    if (hi >>> 31 === 1) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    return TYPE_NUMBER + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }
  assert(typeof value === 'string', () => `index value of type ${typeof value}`);
  return (
    TYPE_STRING +
    value.replace(/[\u0000\u0001]/g, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002')) +
    SEPARATOR
  );
}

// ---- engine keys ----

export function rowKey(table: string, pk: string): string {
  return ROW_KEY_PREFIX + table + SEPARATOR + pk;
}

/**
 * The replicated key holding a table's index list (its schema). It sorts just below the
 * table's rows and parses as no row (no separator), so it has no index entries.
 */
export function schemaKey(table: string): string {
  return ROW_KEY_PREFIX + table;
}

/** The key range holding every row of a table. */
export function rowRange(table: string): { gte: string; lt: string } {
  return { gte: ROW_KEY_PREFIX + table + SEPARATOR, lt: ROW_KEY_PREFIX + table + '\u0001' };
}

/** The table and pk of a row key; undefined for any other key. */
export function parseRowKey(key: string): { table: string; pk: string } | undefined {
  if (!key.startsWith(ROW_KEY_PREFIX)) return undefined;
  const at = key.indexOf(SEPARATOR, 1);
  if (at < 0) return undefined;
  return { table: key.slice(1, at), pk: key.slice(at + 1) };
}

/** The prefix of every index entry of one (table, column, value); entries add the pk. */
export function indexPrefix(table: string, column: string, value: BigtableValue): string {
  return INDEX_KEY_PREFIX + table + SEPARATOR + column + SEPARATOR + encodeIndexValue(value);
}

export function indexKey(table: string, column: string, value: BigtableValue, pk: string): string {
  return indexPrefix(table, column, value) + pk;
}

/** The index entries a stored row has: one per indexed column present in the row. */
export function indexKeysOfRow(table: string, pk: string, stored: StoredRow): string[] {
  const out: string[] = [];
  for (const column of stored.i) {
    if (Object.hasOwn(stored.r, column))
      out.push(indexKey(table, column, stored.r[column] as BigtableValue, pk));
  }
  assert(out.length <= BIGTABLE_INDEXES_MAX, () => `row ${pk} has ${out.length} index entries`);
  return out;
}

/** Strict equality of scalars as the index sees them (-0 equals 0). */
export function sameValue(a: BigtableValue | undefined, b: BigtableValue): boolean {
  return a !== undefined && typeof a === typeof b && (a === b || (a === null && b === null));
}
