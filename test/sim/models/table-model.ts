/**
 * The sequential specification of one key of the table model, for the linearizability
 * checker (and the reference the machine is property-tested against).
 *
 * - A table is rows × columns → values; values are UTF-8 text here (the machine stores bytes).
 * - set always succeeds unless the table's size would exceed `bytesMax`: then `tooLarge` and
 *   nothing changes. Size = TABLE_HEADER_BYTES + Σ rows (TABLE_ROW_OVERHEAD + row bytes)
 *   + Σ cells (TABLE_CELL_OVERHEAD + col bytes + value bytes), names and values in UTF-8.
 * - delete / deleteRow report how many cells they removed; removing nothing changes nothing.
 * - Pending changes and merges are invisible: the spec has no change table at all.
 * - Versions are not observable through table results, so the state does not carry one.
 */
import { assert } from '../../../runtime/assert';
import {
  TABLE_BYTES_MAX,
  TABLE_CELL_OVERHEAD,
  TABLE_HEADER_BYTES,
  TABLE_ROW_OVERHEAD,
} from '../../../models/table/table';
import type { Model } from '../linearizability';

export type TableSpecState = ReadonlyMap<string, ReadonlyMap<string, string>>;

export type TableInput =
  | { op: 'set'; row: string; col: string; value: string }
  | { op: 'delete'; row: string; col: string }
  | { op: 'deleteRow'; row: string }
  | { op: 'get'; row: string; col: string }
  | { op: 'row'; row: string }
  | { op: 'all' };

export type TableOutput =
  /** set, delete, deleteRow */
  | { status: 'ok' | 'tooLarge'; removed: number }
  /** get: value undefined when the cell is absent */
  | { value: string | undefined }
  | { cells: Record<string, string> }
  | { rows: Record<string, Record<string, string>> };

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The size the table model's limit counts; 0 for an empty (absent) table. */
export function tableSpecSize(state: TableSpecState): number {
  if (state.size === 0) return 0;
  let n = TABLE_HEADER_BYTES;
  for (const [row, cells] of state) {
    n += TABLE_ROW_OVERHEAD + utf8(row);
    for (const [col, value] of cells) n += TABLE_CELL_OVERHEAD + utf8(col) + utf8(value);
  }
  return n;
}

/** A copy of `state` with one row replaced (dropped when it has no cells). */
function withRow(
  state: TableSpecState,
  row: string,
  cells: ReadonlyMap<string, string>,
): TableSpecState {
  const next = new Map(state);
  if (cells.size === 0) next.delete(row);
  else next.set(row, cells);
  return next;
}

function cellsObject(cells: ReadonlyMap<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    [...(cells ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function write(status: 'ok' | 'tooLarge', removed: number): TableOutput {
  return { status, removed };
}

function stepTable(
  state: TableSpecState,
  input: TableInput,
  bytesMax: number,
): { state: TableSpecState; output: TableOutput } {
  const cells = input.op === 'all' ? undefined : state.get(input.row);
  switch (input.op) {
    case 'set': {
      const next = withRow(state, input.row, new Map(cells).set(input.col, input.value));
      if (tableSpecSize(next) > bytesMax) return { state, output: write('tooLarge', 0) };
      return { state: next, output: write('ok', 0) };
    }
    case 'delete': {
      if (cells?.has(input.col) !== true) return { state, output: write('ok', 0) };
      const rest = new Map(cells);
      rest.delete(input.col);
      return { state: withRow(state, input.row, rest), output: write('ok', 1) };
    }
    case 'deleteRow':
      if (cells === undefined) return { state, output: write('ok', 0) };
      return { state: withRow(state, input.row, new Map()), output: write('ok', cells.size) };
    case 'get':
      return { state, output: { value: cells?.get(input.col) } };
    case 'row':
      return { state, output: { cells: cellsObject(cells) } };
    case 'all': {
      const rows = [...state.keys()]
        .sort()
        .map((row) => [row, cellsObject(state.get(row))] as const);
      return { state, output: { rows: Object.fromEntries(rows) } };
    }
    default:
      throw new Error(`unknown table op ${JSON.stringify(input)}`);
  }
}

/** Canonical text of a plain value: object keys sorted, undefined distinct from absent. */
function canonical(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (x === null || typeof x !== 'object') return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  const obj = x as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

export function createTableModel(
  bytesMax = TABLE_BYTES_MAX,
): Model<TableSpecState, TableInput, TableOutput> {
  return {
    init: () => new Map(),
    step: (state, input) => {
      const out = stepTable(state, input, bytesMax);
      assert(
        tableSpecSize(out.state) <= bytesMax,
        () => `table spec grew to ${tableSpecSize(out.state)} bytes`,
      );
      return out;
    },
    equalOutput: (a, b) => canonical(a) === canonical(b),
    hash: (state) =>
      canonical(Object.fromEntries([...state].map(([row, cells]) => [row, cellsObject(cells)]))),
  };
}

export const tableModel = createTableModel();
