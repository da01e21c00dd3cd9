/**
 * The table model (DESIGN.md §5 "table"): a small 2-D table under one key, rows × columns →
 * byte values; row and column names are strings. Ops: set(row, col, value), delete(row, col),
 * deleteRow(row). Queries: get(row, col), row(row), all(). All bytes here are untagged
 * (model-tags.ts); the registry frames them.
 *
 * Data layout, two separate byte ranges after a fixed header:
 *
 *   [layout u8 = 1][mainBytes u32][MAIN section: mainBytes][CHANGE section: to the end]
 *
 *   MAIN   the merged table: rows ascending, each [row str][cellsBytes u32][cells], cells
 *          ascending by column, each [col str][value bytes] (str/bytes = u32 length + bytes).
 *          A row without cells is never stored. Canonical: one encoding per table.
 *   CHANGE an append list of pending changes, oldest first. A record is the op's own bytes:
 *          [1][row str][col str][value bytes] set, [2][row str][col str] delete (a tombstone),
 *          [3][row str] deleteRow (hides every main cell of the row and earlier changes to it).
 *
 * A write appends its record to the change section; the header does not change, so the new
 * state is the old one plus the record. The state grows in place (models/append-bytes.ts: no
 * copy of the table per write), and the persist path writes only the appended bytes as a
 * change entry of the key's record (actors/paxos/record-sections.ts). Only when the change
 * section passes max(changeBytesMin, mainBytes) bytes or TABLE_CHANGE_RECORDS_MAX records
 * (tableShouldMerge) is it merged into a
 * fresh canonical main section, which storage then writes whole, as a new base. A one-cell
 * write on an 18 MiB table therefore copies and persists the cell's record, not the table
 * (bench/table-growth.ts). Reads merge on the fly: the latest change to a cell wins and
 * tombstones hide.
 *
 * Names sort by UTF-16 code units (JS `<`): any fixed order makes replicas' bytes identical.
 *
 * Size: a table's size is the length of its canonical layout (all changes merged, none
 * pending): TABLE_HEADER_BYTES + Σ rows (TABLE_ROW_OVERHEAD + row bytes) + Σ cells
 * (TABLE_CELL_OVERHEAD + col bytes + value bytes), names in UTF-8. A set that would make it
 * exceed `bytesMax` is refused with `tooLarge` and changes nothing. Far from the limit a bound
 * decides (each pending record merges into at most 3 more bytes); near it the exact size does,
 * as the predecessor's size plus the write's delta (sizeAfterSet), so a refused write costs a
 * lookup, never a merge. The stored layout (with pending changes) never exceeds `bytesMax`
 * either: a write that would push it over merges.
 *
 * Deletes that remove nothing change nothing (mutated false). A table left without cells is
 * stored as `data: null` (the key becomes absent).
 *
 * Results start with a status byte (TableStatus); the rest is per kind, see the decoders.
 */
import { VERIFY, assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { appendBufferOf, appendBytes, isAppendView } from '../append-bytes';
import { readU32 as readLayoutU32 } from '../append-shapes';
import type { StateMachine } from '../state-machine';

const OP_SET = 1;
const OP_DELETE = 2;
const OP_DELETE_ROW = 3;
const QUERY_GET = 1;
const QUERY_ROW = 2;
const QUERY_ALL = 3;
const LAYOUT_V1 = 1;

/** [layout u8][mainBytes u32] */
export const TABLE_HEADER_BYTES = 5;
/** Bytes a row costs in the main section beyond its name: name length and cells length. */
export const TABLE_ROW_OVERHEAD = 8;
/** Bytes a cell costs in the main section beyond its column name and value: two lengths. */
export const TABLE_CELL_OVERHEAD = 8;
/** A merged state from this size on is kept in an append buffer (models/append-bytes.ts). */
const TABLE_APPEND_BUFFER_BYTES_MIN = 64 * 1024;
/** The default limit on a table's size (its canonical layout). */
export const TABLE_BYTES_MAX = 20 * 1024 * 1024;
/** The change section may always grow to this many bytes before a merge. */
export const TABLE_CHANGE_BYTES_MIN = 4 * 1024;
/**
 * ... and to the main section's size on big tables, so merges rewrite the main section rarely:
 * a table filled from empty is rewritten (and its record written whole) about twice in all; at
 * main / 8 it was nine times, ~540 MB of records over 3 replicas to fill 20 MiB. The change
 * records are also bounded in number: the cached index holds one entry per pending cell.
 */
export const TABLE_CHANGE_RECORDS_MAX = 65_536;
/** The smallest change record: a deleteRow of an empty row name ([3][len u32]). */
const CHANGE_RECORD_BYTES_MIN = 5;

export interface TableLimits {
  readonly bytesMax: number;
  readonly changeBytesMin: number;
}

export const TABLE_LIMITS: TableLimits = {
  bytesMax: TABLE_BYTES_MAX,
  changeBytesMin: TABLE_CHANGE_BYTES_MIN,
};

export const TableStatus = { ok: 0, tooLarge: 1 } as const;
export type TableStatus = (typeof TableStatus)[keyof typeof TableStatus];

export type TableOp =
  | { readonly type: 'set'; readonly row: string; readonly col: string; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly row: string; readonly col: string }
  | { readonly type: 'deleteRow'; readonly row: string };

export type TableQuery =
  | { readonly type: 'get'; readonly row: string; readonly col: string }
  | { readonly type: 'row'; readonly row: string }
  | { readonly type: 'all' };

/** A row's cells by column name. */
export type TableCells = Record<string, Uint8Array>;
/** A table's rows by row name (rows without cells do not appear). */
export type TableRows = Record<string, TableCells>;

export interface TableWriteResult {
  /** tooLarge only for set. */
  readonly status: TableStatus;
  /** Cells the op removed (0 for set). */
  readonly removed: number;
}

/** The typed result of each op and query kind. */
export interface TableResults {
  readonly set: TableWriteResult;
  readonly delete: TableWriteResult;
  readonly deleteRow: TableWriteResult;
  readonly get: { readonly value: Uint8Array | undefined };
  readonly row: { readonly cells: TableCells };
  readonly all: { readonly rows: TableRows };
}
export type TableResultKind = keyof TableResults;

/**
 * True when a change section of `changeBytes` (`changeRecords` records) should be merged into
 * a main of `mainBytes`.
 */
export function tableShouldMerge(
  mainBytes: number,
  changeBytes: number,
  changeBytesMin = TABLE_CHANGE_BYTES_MIN,
  changeRecords = 0,
): boolean {
  return (
    changeBytes > Math.max(changeBytesMin, mainBytes) || changeRecords > TABLE_CHANGE_RECORDS_MAX
  );
}

// ---- reading stored layouts without copies ----

const textDecoder = new TextDecoder();

/** A u32 of the table's layout, bounds-checked (the layout's own reads stay in its bytes). */
function readU32(bytes: Uint8Array, at: number): number {
  assert(at + 4 <= bytes.length, () => `table u32 at ${at} past ${bytes.length}`);
  return readLayoutU32(bytes, at);
}

/** ByteReader copies every byte field; this cursor hands out views into the stored layout. */
class LayoutCursor {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    assert(this.pos < this.buf.length, () => `table u8 at ${this.pos} past ${this.buf.length}`);
    return this.buf[this.pos++] as number;
  }

  /** A length-prefixed field as a view. */
  view(): Uint8Array {
    const n = readU32(this.buf, this.pos);
    const start = this.pos + 4;
    assert(
      start + n <= this.buf.length,
      () => `table field of ${n} at ${start} past ${this.buf.length}`,
    );
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  str(): string {
    return textDecoder.decode(this.view());
  }
}

interface Layout {
  readonly main: Uint8Array;
  readonly changes: Uint8Array;
}

function splitLayout(data: Uint8Array): Layout {
  assert(data.length >= TABLE_HEADER_BYTES, () => `table layout of ${data.length} bytes`);
  assert(data[0] === LAYOUT_V1, () => `table layout version ${data[0]}`);
  const end = TABLE_HEADER_BYTES + readU32(data, 1);
  assert(end <= data.length, () => `table main section ends at ${end}, past ${data.length}`);
  return { main: data.subarray(TABLE_HEADER_BYTES, end), changes: data.subarray(end) };
}

interface RowView {
  readonly name: string;
  readonly cells: Uint8Array;
}

/** The main section's rows (cells left as views); asserts they tile it. */
function mainRows(main: Uint8Array): RowView[] {
  const rows: RowView[] = [];
  const c = new LayoutCursor(main);
  // Each row consumes at least 8 bytes, so this ends within main.length / 8 steps.
  while (!c.done) rows.push({ name: c.str(), cells: c.view() });
  if (VERIFY)
    assertAscending(
      rows.map((r) => r.name),
      'rows',
    );
  return rows;
}

/** A row's cells (values as views) in stored order. */
function rowCells(cells: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  const c = new LayoutCursor(cells);
  // Each cell consumes at least 8 bytes.
  while (!c.done) out.push([c.str(), c.view()]);
  assert(out.length > 0, 'a stored table row without cells');
  if (VERIFY)
    assertAscending(
      out.map(([col]) => col),
      'columns',
    );
  return out;
}

function assertAscending(names: readonly string[], what: string): void {
  for (let i = 1; i < names.length; i++) {
    assert((names[i - 1] as string) < (names[i] as string), () => `table ${what} unsorted at ${i}`);
  }
}

// ---- change records (the op bytes themselves) ----

type ChangeRecord =
  | {
      readonly kind: typeof OP_SET;
      readonly row: string;
      readonly col: string;
      readonly value: Uint8Array;
    }
  | { readonly kind: typeof OP_DELETE; readonly row: string; readonly col: string }
  | { readonly kind: typeof OP_DELETE_ROW; readonly row: string };

function readRecord(c: LayoutCursor): ChangeRecord {
  const kind = c.u8();
  const row = c.str();
  switch (kind) {
    case OP_SET:
      return { kind, row, col: c.str(), value: c.view() };
    case OP_DELETE:
      return { kind, row, col: c.str() };
    case OP_DELETE_ROW:
      return { kind, row };
    default:
      throw new Error(`unknown table op ${kind}`);
  }
}

/** Parses one op; its bytes become the change record, so they must be exactly one record. */
function parseOp(op: Uint8Array): ChangeRecord {
  const c = new LayoutCursor(op);
  const record = readRecord(c);
  assert(c.done, 'table op has trailing bytes');
  return record;
}

/** The pending changes to one row, folded: what a reader must overlay on the main row. */
interface RowChanges {
  /** A deleteRow hides every main cell of the row. */
  cleared: boolean;
  /** Cells changed since (null: a tombstone). */
  readonly cells: Map<string, Uint8Array | null>;
}
type ChangeIndex = Map<string, RowChanges>;

function foldRecord(index: ChangeIndex, record: ChangeRecord): void {
  let rc = index.get(record.row);
  if (rc === undefined) {
    rc = { cleared: false, cells: new Map() };
    index.set(record.row, rc);
  }
  if (record.kind === OP_SET) rc.cells.set(record.col, record.value);
  else if (record.kind === OP_DELETE) rc.cells.set(record.col, null);
  else {
    rc.cleared = true;
    rc.cells.clear();
  }
}

function indexChanges(changes: Uint8Array): { index: ChangeIndex; records: number } {
  const index: ChangeIndex = new Map();
  const c = new LayoutCursor(changes);
  let records = 0;
  // Each record consumes at least 5 bytes.
  for (; !c.done; records++) foldRecord(index, readRecord(c));
  return { index, records };
}

// ---- the merged view ----

/** A stored table, parsed enough to answer reads. Shared by the shape cache: never mutate. */
interface TableView {
  readonly rows: RowView[];
  readonly rowsByName: ReadonlyMap<string, RowView>;
  readonly index: ChangeIndex;
  /** Change records in the change section (not only distinct cells). */
  records: number;
}

/**
 * The parsed view of a table state grown in place (models/append-bytes.ts), cached per append
 * buffer: a cache of a pure function, so replicas stay deterministic. Keyed by buffer, not by
 * view object, because the registry hands each apply a fresh `subarray(1)`; valid because an
 * append buffer never rewrites bytes a view covers, so a longer view from the same start is
 * the cached one plus change records, folded alone (O(tail) per write, where re-indexing the
 * change section per write made 45,000 one-cell writes near the limit take minutes). A shorter
 * view (an older state applied again) rebuilds. `size` is the canonical size at `sizeAt`.
 */
interface TableShape extends TableView {
  readonly start: number;
  length: number;
  size: number;
  sizeAt: number;
}
const shapes = new WeakMap<ArrayBuffer, TableShape>();
/** States from this size on have their parsed view cached. */
const SHAPE_BYTES_MIN = 64 * 1024;

function buildView(data: Uint8Array): TableView {
  const { main, changes } = splitLayout(data);
  const rows = mainRows(main);
  const rowsByName = new Map(rows.map((r) => [r.name, r] as const));
  assert(rowsByName.size === rows.length, 'table main rows repeat a name');
  const { index, records } = indexChanges(changes);
  return { rows, rowsByName, index, records };
}

function viewOf(data: Uint8Array | null): TableView {
  if (data === null) return { rows: [], rowsByName: new Map(), index: new Map(), records: 0 };
  const buffer = data.buffer;
  // Small tables parse in microseconds: no cache (and no memory per small key held).
  if (!(buffer instanceof ArrayBuffer) || !isAppendView(data) || data.length < SHAPE_BYTES_MIN)
    return buildView(data);
  const shape = shapes.get(buffer);
  if (shape === undefined || shape.start !== data.byteOffset || shape.length > data.length) {
    const fresh: TableShape = {
      ...buildView(data),
      start: data.byteOffset,
      length: data.length,
      size: -1,
      sizeAt: -1,
    };
    shapes.set(buffer, fresh);
    return fresh;
  }
  if (shape.length < data.length) {
    // Whole change records follow: this table only ever appends its ops' bytes.
    const c = new LayoutCursor(data.subarray(shape.length));
    // Each record consumes at least 5 bytes.
    for (; !c.done; shape.records++) foldRecord(shape.index, readRecord(c));
    shape.length = data.length;
  }
  if (VERIFY) {
    const fresh = buildView(data);
    assert(fresh.records === shape.records, () => `cached ${shape.records} change records`);
    assertSameIndex(shape.index, fresh.index);
  }
  return shape;
}

function assertSameIndex(a: ChangeIndex, b: ChangeIndex): void {
  assert(a.size === b.size, () => `cached table index of ${a.size} rows, ${b.size} stored`);
  for (const [row, rc] of a) {
    const other = b.get(row);
    assert(other !== undefined && other.cleared === rc.cleared, () => `cached row ${row}`);
    assert(other.cells.size === rc.cells.size, () => `cached row ${row} cells`);
    for (const [col, v] of rc.cells)
      assert(
        other.cells.get(col) === v || bytesEqual(other.cells.get(col), v),
        () => `cached cell ${row}/${col}`,
      );
  }
}

function bytesEqual(a: Uint8Array | null | undefined, b: Uint8Array | null): boolean {
  if (a === undefined || a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The shape of a cached state when `data` is the state it describes. */
function shapeOf(data: Uint8Array): TableShape | undefined {
  const buffer = data.buffer;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  const shape = shapes.get(buffer);
  return shape?.start === data.byteOffset ? shape : undefined;
}

/** A copy of the change index (for a merge, which folds one more record into it). */
function copyIndex(index: ChangeIndex): ChangeIndex {
  const out: ChangeIndex = new Map();
  for (const [row, rc] of index) out.set(row, { cleared: rc.cleared, cells: new Map(rc.cells) });
  return out;
}

function mainRow(view: TableView, row: string): RowView | undefined {
  return view.rowsByName.get(row);
}

function mergedRow(view: TableView, row: string): Map<string, Uint8Array> {
  return overlayRow(view, row, view.index.get(row));
}

/** The main row `row` with the pending changes `rc` laid over it. */
function overlayRow(
  view: TableView,
  row: string,
  rc: RowChanges | undefined,
): Map<string, Uint8Array> {
  const cells = new Map<string, Uint8Array>();
  const main = rc?.cleared === true ? undefined : mainRow(view, row);
  if (main !== undefined) for (const [col, value] of rowCells(main.cells)) cells.set(col, value);
  if (rc !== undefined) {
    for (const [col, value] of rc.cells) {
      if (value === null) cells.delete(col);
      else cells.set(col, value);
    }
  }
  return cells;
}

function lookupCell(view: TableView, row: string, col: string): Uint8Array | undefined {
  const rc = view.index.get(row);
  if (rc !== undefined && rc.cells.has(col)) return rc.cells.get(col) ?? undefined;
  if (rc?.cleared === true) return undefined;
  const main = mainRow(view, row);
  if (main === undefined) return undefined;
  return mainCells(main).get(col);
}

/** A main row's cells by column, parsed once per row view (a shape's rows are shared). */
const cellsOfRow = new WeakMap<RowView, Map<string, Uint8Array>>();

function mainCells(row: RowView): ReadonlyMap<string, Uint8Array> {
  let cells = cellsOfRow.get(row);
  if (cells === undefined) {
    cells = new Map(rowCells(row.cells));
    cellsOfRow.set(row, cells);
  }
  return cells;
}

/** True when the row has a live cell; stops at the first (no merged copy of the row). */
function rowHasCell(view: TableView, row: string): boolean {
  const rc = view.index.get(row);
  if (rc !== undefined) for (const value of rc.cells.values()) if (value !== null) return true;
  const main = rc?.cleared === true ? undefined : mainRow(view, row);
  if (main === undefined) return false;
  for (const col of mainCells(main).keys()) if (rc?.cells.has(col) !== true) return true;
  return false;
}

/** Every row with cells; rows in no particular order (encoders sort). */
function mergedTable(view: TableView): Map<string, Map<string, Uint8Array>> {
  const names = new Set<string>([...view.rows.map((r) => r.name), ...view.index.keys()]);
  const out = new Map<string, Map<string, Uint8Array>>();
  for (const name of names) {
    const cells = mergedRow(view, name);
    if (cells.size > 0) out.set(name, cells);
  }
  return out;
}

/** The pending changes to `record.row` with `record` folded in (a copy: views are shared). */
function rowChangesAfter(view: TableView, record: ChangeRecord): RowChanges {
  const rc = view.index.get(record.row);
  const after: RowChanges = { cleared: rc?.cleared ?? false, cells: new Map(rc?.cells) };
  const one: ChangeIndex = new Map([[record.row, after]]);
  foldRecord(one, record);
  assert(one.get(record.row) === after, 'fold replaced the row it was given');
  return after;
}

/**
 * True when no cell would be live after `record` (a delete); stops at the first live one
 * (usually the first main row). The view is not changed: it may be the cached shape.
 */
function isEmptyAfter(view: TableView, record: ChangeRecord): boolean {
  const after = rowChangesAfter(view, record);
  const changesOf = (row: string): RowChanges | undefined =>
    row === record.row ? after : view.index.get(row);
  for (const value of after.cells.values()) if (value !== null) return false;
  for (const [row, rc] of view.index) {
    if (row === record.row) continue;
    for (const value of rc.cells.values()) if (value !== null) return false;
  }
  for (const row of view.rows) {
    const rc = changesOf(row.name);
    if (rc === undefined) return false; // stored rows have cells
    if (rc.cleared) continue;
    if (rowCells(row.cells).some(([col]) => !rc.cells.has(col))) return false;
  }
  return true;
}

// ---- canonical encoding ----

function sortedNames<T>(map: ReadonlyMap<string, T>): string[] {
  return [...map.keys()].sort();
}

/** A row of the canonical layout, names encoded, cells in order. */
interface CanonicalRow {
  readonly name: Uint8Array;
  readonly cells: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
  readonly cellsBytes: number;
}

const nameEncoder = new TextEncoder();

/** The rows in canonical order with their encoded names, and the layout's total length. */
function canonicalRows(rows: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>): {
  rows: CanonicalRow[];
  length: number;
} {
  const out: CanonicalRow[] = [];
  let length = TABLE_HEADER_BYTES;
  for (const row of sortedNames(rows)) {
    const cells = rows.get(row);
    assert(cells !== undefined, () => `table row ${row} vanished`);
    if (cells.size === 0) continue;
    const encoded: Array<readonly [Uint8Array, Uint8Array]> = [];
    let cellsBytes = 0;
    for (const col of sortedNames(cells)) {
      const value = cells.get(col);
      assert(value !== undefined, () => `table cell ${row}/${col} vanished`);
      const name = nameEncoder.encode(col);
      encoded.push([name, value]);
      cellsBytes += TABLE_CELL_OVERHEAD + name.length + value.length;
    }
    const name = nameEncoder.encode(row);
    out.push({ name, cells: encoded, cellsBytes });
    length += TABLE_ROW_OVERHEAD + name.length + cellsBytes;
  }
  return { rows: out, length };
}

function putU32(out: Uint8Array, at: number, n: number): number {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = (n >>> 24) & 0xff;
  return at + 4;
}

function putField(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, putU32(out, at, bytes.length));
  return at + 4 + bytes.length;
}

/** Writes the canonical layout of `rows` (length as canonicalRows measured it) into `out`. */
function writeCanonical(out: Uint8Array, rows: readonly CanonicalRow[]): void {
  out[0] = LAYOUT_V1;
  let at = putU32(out, 1, out.length - TABLE_HEADER_BYTES);
  for (const row of rows) {
    at = putField(out, at, row.name);
    at = putU32(out, at, row.cellsBytes);
    for (const [col, value] of row.cells) at = putField(out, putField(out, at, col), value);
  }
  assert(at === out.length, () => `canonical table wrote ${at} of ${out.length} bytes`);
}

/**
 * The canonical layout (no pending changes) of a table; null when it has no cells. A big one
 * is written straight into an append buffer (it grows in place, and persists as change
 * entries, from its next write on; the registry frames it in its lead byte): a merge of a
 * 20 MiB table copies the cells once.
 */
function encodeCanonical(
  rows: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>,
): Uint8Array | null {
  const canonical = canonicalRows(rows);
  if (canonical.rows.length === 0) return null;
  const fill = (out: Uint8Array): void => writeCanonical(out, canonical.rows);
  if (canonical.length >= TABLE_APPEND_BUFFER_BYTES_MIN)
    return appendBufferOf(canonical.length, fill);
  const out = new Uint8Array(canonical.length);
  fill(out);
  return out;
}

// ---- ops ----

const EMPTY_LAYOUT = Uint8Array.of(LAYOUT_V1, 0, 0, 0, 0);

type Applied = ReturnType<StateMachine['apply']>;

/**
 * How many bytes merging can add beyond the stored layout's own. A pending set record is
 * 13 + r + c + v bytes and merges into at most a new row and a new cell of the main section
 * (TABLE_ROW_OVERHEAD + r + TABLE_CELL_OVERHEAD + c + v = 16 + r + c + v): at most 3 more bytes
 * per record, and there are at most changeBytes / 13 records. Deletes only shrink the table.
 */
function mergeGrowthMax(changeBytes: number): number {
  return Math.floor((changeBytes * 3) / 13);
}

/** [status u8][removed u32] */
function writeResult(status: TableStatus, removed: number): Uint8Array {
  const w = new ByteWriter(5);
  w.u8(status);
  w.u32(removed);
  return w.finish();
}

// ---- exact sizes near the limit ----

const textEncoder = new TextEncoder();

function utf8Length(s: string): number {
  return textEncoder.encode(s).length;
}

/**
 * The exact size of stored states whose size was computed (a cache of a pure function:
 * replicas stay deterministic). Near the limit each write adds its delta to its predecessor's
 * size instead of merging the whole table to measure it. A state grown in place is keyed by
 * its buffer, start and length (the registry hands each apply a fresh view of it); any other
 * by its own view.
 */
const sizeOfView = new WeakMap<Uint8Array, number>();
const sizeOfBuffer = new WeakMap<ArrayBuffer, { start: number; length: number; size: number }>();

function rememberSize(data: Uint8Array, size: number): void {
  assert(size >= 0 && size <= data.length * 2 + TABLE_HEADER_BYTES, () => `table size ${size}`);
  if (data.buffer instanceof ArrayBuffer && isAppendView(data))
    sizeOfBuffer.set(data.buffer, { start: data.byteOffset, length: data.length, size });
  else sizeOfView.set(data, size);
}

function knownSize(data: Uint8Array): number | undefined {
  const byView = sizeOfView.get(data);
  if (byView !== undefined) return byView;
  const known = data.buffer instanceof ArrayBuffer ? sizeOfBuffer.get(data.buffer) : undefined;
  return known?.start === data.byteOffset && known.length === data.length ? known.size : undefined;
}

/** The canonical size of a view without encoding it: Σ rows and cells, as the header says. */
function canonicalSize(view: TableView): number {
  let size = 0;
  for (const [row, cells] of mergedTable(view)) {
    size += TABLE_ROW_OVERHEAD + utf8Length(row);
    for (const [col, value] of cells) size += TABLE_CELL_OVERHEAD + utf8Length(col) + value.length;
  }
  return size === 0 ? 0 : size + TABLE_HEADER_BYTES;
}

function sizeOf(data: Uint8Array | null, view: TableView): number {
  if (data === null) return 0;
  const known = knownSize(data);
  if (known !== undefined) return known;
  // A state without pending changes is canonical: its length is its size (after a merge).
  const size = view.index.size === 0 ? data.length : canonicalSize(view);
  rememberSize(data, size);
  return size;
}

/** The canonical size after a set, from the size before and the cell and row it replaces. */
function sizeAfterSet(data: Uint8Array | null, record: ChangeRecord): number {
  assert(record.kind === OP_SET, 'sizeAfterSet of a delete');
  const view = viewOf(data);
  const before = sizeOf(data, view);
  const old = lookupCell(view, record.row, record.col);
  const cell = TABLE_CELL_OVERHEAD + utf8Length(record.col) + record.value.length;
  let after: number;
  if (old !== undefined) after = before - old.length + record.value.length;
  else if (rowHasCell(view, record.row)) after = before + cell;
  else after = before + TABLE_ROW_OVERHEAD + utf8Length(record.row) + cell;
  return before === 0 ? after + TABLE_HEADER_BYTES : after;
}

/** The state with the record merged into a fresh canonical main section. */
function mergeWith(data: Uint8Array | null, record: ChangeRecord): Uint8Array | null {
  const shared = viewOf(data);
  const view: TableView = { ...shared, index: copyIndex(shared.index) };
  foldRecord(view.index, record);
  const merged = encodeCanonical(mergedTable(view));
  if (merged === null) return null;
  rememberSize(merged, merged.length);
  return merged;
}

/**
 * Appends one change record. The state grows in place (appendBytes: no copy of the table per
 * write); it merges only when the change section has grown past its threshold or when the
 * stored layout would pass the limit. Far from the limit a bound on the merged size decides;
 * near it the exact size does (its delta from the predecessor's, sizeAfterSet), so a refused
 * write near the limit costs a lookup, not a merge of the whole table.
 */
function appendChange(
  data: Uint8Array | null,
  op: Uint8Array,
  record: ChangeRecord,
  removed: number,
  limits: TableLimits,
): Applied {
  const { main, changes } = splitLayout(data ?? EMPTY_LAYOUT);
  const storedLength = (data ?? EMPTY_LAYOUT).length + op.length;
  const changeLength = changes.length + op.length;
  // A record takes at least CHANGE_RECORD_BYTES_MIN bytes: below this many change bytes the
  // record count cannot decide, and counting would parse a small table per write.
  const records =
    data !== null && changeLength > TABLE_CHANGE_RECORDS_MAX * CHANGE_RECORD_BYTES_MIN
      ? viewOf(data).records + 1
      : 0;
  const merge = tableShouldMerge(main.length, changeLength, limits.changeBytesMin, records);
  const nearLimit = storedLength + mergeGrowthMax(changeLength) > limits.bytesMax;
  let size: number | undefined;
  if (nearLimit && record.kind === OP_SET) {
    size = sizeAfterSet(data, record);
    if (size > limits.bytesMax)
      return { data, mutated: false, result: writeResult(TableStatus.tooLarge, 0) };
  }
  const ok = writeResult(TableStatus.ok, removed);
  if (!merge && storedLength <= limits.bytesMax) {
    const next = appendBytes(data ?? EMPTY_LAYOUT, op);
    if (size !== undefined) rememberSize(next, size);
    if (VERIFY) {
      const exact = tableSize(next);
      assert(size === undefined || size === exact, () => `table size ${size} != ${exact}`);
      assert(nearLimit || exact <= storedLength + mergeGrowthMax(changeLength), 'size bound');
    }
    return { data: next, mutated: true, result: ok };
  }
  const merged = mergeWith(data, record);
  assert(merged !== null, 'a table write that leaves cells merged to nothing');
  assert(merged.length <= limits.bytesMax, () => `merged table of ${merged.length} bytes`);
  return { data: merged, mutated: true, result: ok };
}

function applyDelete(
  data: Uint8Array | null,
  op: Uint8Array,
  record: ChangeRecord,
  limits: TableLimits,
): Applied {
  assert(record.kind !== OP_SET, 'applyDelete of a set');
  const view = viewOf(data);
  const removed =
    record.kind === OP_DELETE
      ? lookupCell(view, record.row, record.col) === undefined
        ? 0
        : 1
      : mergedRow(view, record.row).size;
  if (removed === 0) return { data, mutated: false, result: writeResult(TableStatus.ok, 0) };
  if (isEmptyAfter(view, record))
    return { data: null, mutated: true, result: writeResult(TableStatus.ok, removed) };
  const out = appendChange(data, op, record, removed, limits);
  // A delete never grows the table, and the table fit before it.
  assert(
    out.result[0] === TableStatus.ok,
    () => `table delete refused with status ${out.result[0]}`,
  );
  return out;
}

function applyOp(data: Uint8Array | null, op: Uint8Array, limits: TableLimits): Applied {
  const record = parseOp(op);
  if (record.kind === OP_SET) return appendChange(data, op, record, 0, limits);
  return applyDelete(data, op, record, limits);
}

// ---- queries ----

function writeCells(w: ByteWriter, cells: ReadonlyMap<string, Uint8Array>): void {
  w.u32(cells.size);
  for (const col of sortedNames(cells)) {
    const value = cells.get(col);
    assert(value !== undefined, () => `table cell ${col} vanished`);
    w.str(col);
    w.bytes(value);
  }
}

/** get: [ok][found u8][value raw] */
function readGet(view: TableView, row: string, col: string): Uint8Array {
  const value = lookupCell(view, row, col);
  const out = new Uint8Array(2 + (value?.length ?? 0));
  out[0] = TableStatus.ok;
  if (value !== undefined) {
    out[1] = 1;
    out.set(value, 2);
  }
  return out;
}

/** row: [ok][count u32]([col str][value bytes])* ascending */
function readRow(view: TableView, row: string): Uint8Array {
  const w = new ByteWriter();
  w.u8(TableStatus.ok);
  writeCells(w, mergedRow(view, row));
  return w.finish();
}

/** all: [ok][rows u32]([row str][count u32]([col str][value bytes])*)* ascending */
function readAll(view: TableView): Uint8Array {
  const rows = mergedTable(view);
  const w = new ByteWriter(1024);
  w.u8(TableStatus.ok);
  w.u32(rows.size);
  for (const row of sortedNames(rows)) {
    const cells = rows.get(row);
    assert(cells !== undefined, () => `table row ${row} vanished`);
    w.str(row);
    writeCells(w, cells);
  }
  return w.finish();
}

function readQuery(data: Uint8Array | null, query: Uint8Array): Uint8Array {
  const r = new ByteReader(query);
  const kind = r.u8();
  const view = viewOf(data);
  let out: Uint8Array;
  if (kind === QUERY_GET) out = readGet(view, r.str(), r.str());
  else if (kind === QUERY_ROW) out = readRow(view, r.str());
  else if (kind === QUERY_ALL) out = readAll(view);
  else throw new Error(`unknown table query ${kind}`);
  assert(r.remaining === 0, 'table query has trailing bytes');
  return out;
}

function assertLimit(n: number, min: number, what: string): void {
  assert(Number.isSafeInteger(n) && n >= min && n < 2 ** 32, () => `table ${what} ${n}`);
}

export function createTableStateMachine(limits: TableLimits = TABLE_LIMITS): StateMachine {
  assertLimit(limits.bytesMax, TABLE_HEADER_BYTES, 'bytesMax');
  assertLimit(limits.changeBytesMin, 0, 'changeBytesMin');
  return {
    apply(data, _version, op) {
      assert(op.length >= 1, 'empty table op');
      assert(
        data === null || data.length > TABLE_HEADER_BYTES,
        'an empty table must be stored as null',
      );
      const out = applyOp(data, op, limits);
      assert(
        out.data === null || out.data.length <= limits.bytesMax,
        () => `table stored ${out.data?.length} bytes`,
      );
      return out;
    },
    read(data, _version, query) {
      assert(query.length >= 1, 'empty table query');
      return readQuery(data, query);
    },
  };
}

export const tableStateMachine: StateMachine = createTableStateMachine();

// ---- encodings for clients, tests and benches ----

function assertName(name: string, what: string): void {
  // A lone surrogate would be stored as U+FFFD: the cell would not be found by its own name.
  assert(
    typeof name === 'string' && name.isWellFormed(),
    () => `table ${what} name is not well-formed UTF-16`,
  );
}

export function encodeTableOp(op: TableOp): Uint8Array {
  const w = new ByteWriter(64 + (op.type === 'set' ? op.value.length : 0));
  assertName(op.row, 'row');
  switch (op.type) {
    case 'set':
      assertName(op.col, 'column');
      w.u8(OP_SET);
      w.str(op.row);
      w.str(op.col);
      w.bytes(op.value);
      break;
    case 'delete':
      assertName(op.col, 'column');
      w.u8(OP_DELETE);
      w.str(op.row);
      w.str(op.col);
      break;
    case 'deleteRow':
      w.u8(OP_DELETE_ROW);
      w.str(op.row);
      break;
  }
  return w.finish();
}

export function encodeTableQuery(q: TableQuery): Uint8Array {
  const w = new ByteWriter(64);
  switch (q.type) {
    case 'get':
      assertName(q.row, 'row');
      assertName(q.col, 'column');
      w.u8(QUERY_GET);
      w.str(q.row);
      w.str(q.col);
      break;
    case 'row':
      assertName(q.row, 'row');
      w.u8(QUERY_ROW);
      w.str(q.row);
      break;
    case 'all':
      w.u8(QUERY_ALL);
      break;
  }
  return w.finish();
}

function decodeWrite(bytes: Uint8Array): TableWriteResult {
  const r = new ByteReader(bytes);
  const status = r.u8();
  assert(
    status === TableStatus.ok || status === TableStatus.tooLarge,
    () => `table status ${status}`,
  );
  const removed = r.u32();
  assert(r.remaining === 0, 'table write result has trailing bytes');
  return { status, removed };
}

function readOk(r: ByteReader, what: string): void {
  const status = r.u8();
  assert(status === TableStatus.ok, () => `table ${what} result status ${status}`);
}

function readCells(r: ByteReader): TableCells {
  const n = r.u32();
  const entries: Array<[string, Uint8Array]> = [];
  // Bounded by n; each cell takes at least 8 bytes, so a bad n fails fast in the reader.
  for (let i = 0; i < n; i++) entries.push([r.str(), r.bytes()]);
  // fromEntries defines own properties: a column named "__proto__" stays a column.
  return Object.fromEntries(entries);
}

const decoders: { readonly [K in TableResultKind]: (bytes: Uint8Array) => TableResults[K] } = {
  set: decodeWrite,
  delete: decodeWrite,
  deleteRow: decodeWrite,
  get: (bytes) => {
    assert(
      bytes.length >= 2 && bytes[0] === TableStatus.ok,
      () => `table get result status ${bytes[0]}`,
    );
    assert(bytes[1] === 0 || bytes[1] === 1, () => `table get found flag ${bytes[1]}`);
    assert(bytes[1] === 1 || bytes.length === 2, 'table get result: a value without found');
    return { value: bytes[1] === 1 ? bytes.slice(2) : undefined };
  },
  row: (bytes) => {
    const r = new ByteReader(bytes);
    readOk(r, 'row');
    const cells = readCells(r);
    assert(r.remaining === 0, 'table row result has trailing bytes');
    return { cells };
  },
  all: (bytes) => {
    const r = new ByteReader(bytes);
    readOk(r, 'all');
    const n = r.u32();
    const rows: Array<[string, TableCells]> = [];
    for (let i = 0; i < n; i++) rows.push([r.str(), readCells(r)]);
    assert(r.remaining === 0, 'table all result has trailing bytes');
    return { rows: Object.fromEntries(rows) };
  },
};

/** Decodes the result of an op or query of the given kind. */
export function decodeTableResult<K extends TableResultKind>(
  kind: K,
  bytes: Uint8Array,
): TableResults[K] {
  return decoders[kind](bytes);
}

/** The canonical data (no pending changes) of a table; null when it has no cells. */
export function encodeTableData(rows: TableRows): Uint8Array | null {
  const map = new Map<string, Map<string, Uint8Array>>();
  for (const [row, cells] of Object.entries(rows)) {
    assertName(row, 'row');
    for (const col of Object.keys(cells)) assertName(col, 'column');
    map.set(row, new Map(Object.entries(cells)));
  }
  return encodeCanonical(map);
}

/** The table a data state holds, pending changes merged (values are copies). */
export function decodeTableData(data: Uint8Array | null): TableRows {
  const merged = mergedTable(viewOf(data));
  const rows: Array<[string, TableCells]> = [];
  for (const row of sortedNames(merged)) {
    const cells = merged.get(row);
    assert(cells !== undefined, () => `table row ${row} vanished`);
    rows.push([
      row,
      Object.fromEntries(
        sortedNames(cells).map((col) => [col, (cells.get(col) as Uint8Array).slice()]),
      ),
    ]);
  }
  return Object.fromEntries(rows);
}

/** A table's size as the limit counts it: its canonical layout's length (0 when absent). */
export function tableSize(data: Uint8Array | null): number {
  return encodeCanonical(mergedTable(viewOf(data)))?.length ?? 0;
}

export interface TableSections {
  readonly headerBytes: number;
  readonly mainBytes: number;
  readonly changeBytes: number;
}

/** The byte ranges of a stored layout: header, main section, change section. */
export function tableSections(data: Uint8Array | null): TableSections {
  if (data === null) return { headerBytes: 0, mainBytes: 0, changeBytes: 0 };
  const { main, changes } = splitLayout(data);
  return { headerBytes: TABLE_HEADER_BYTES, mainBytes: main.length, changeBytes: changes.length };
}

/**
 * Bytes an engine storing only appends between merges would write for the op that turned
 * `before` into `after`: the appended change record when `after` extends `before`, otherwise
 * (a merge, a first write, or a table emptied to null) the whole new layout.
 */
export function tableBytesWritten(before: Uint8Array | null, after: Uint8Array | null): number {
  if (after === null) return 0;
  if (before === null || after.length < before.length) return after.length;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) return after.length;
  return after.length - before.length;
}
