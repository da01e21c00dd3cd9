/**
 * `paxosstore status` output: one row per node, as an aligned text table.
 *
 *   NODE  SET  ZONE  UP    KEYS  BEHIND
 *   n1    s0   a     yes   1042       0
 *   n2    s0   b     no       -       -
 *
 * Text columns are left-aligned, numbers right-aligned; an unknown number (a node that did not
 * answer) is "-". Cells come partly from other nodes' answers, so control characters are
 * replaced and each cell is cut to CELL_CHARS_MAX: one hostile name cannot break the layout.
 */
import { assert } from '../runtime/assert';

export interface StatusRow {
  readonly node: string;
  readonly set: string;
  readonly zone: string | undefined;
  readonly up: boolean;
  /** Keys the replica holds; undefined when unknown. The caller validates counts decoded from a node. */
  readonly keys: number | undefined;
  /**
   * Groups whose digests on this node differed from a majority of its Set's replicas at the
   * node's last repair-scan comparison (server/groups-behind.ts); undefined when unknown.
   */
  readonly groupsBehind: number | undefined;
}

export const STATUS_ROWS_MAX = 8192;
export const CELL_CHARS_MAX = 64;

const HEADERS = ['NODE', 'SET', 'ZONE', 'UP', 'KEYS', 'BEHIND'] as const;
/** Which columns are numbers (right-aligned). */
const NUMERIC = [false, false, false, false, true, true] as const;
const GAP = '  ';

export function formatStatusTable(rows: readonly StatusRow[]): string {
  assert(rows.length <= STATUS_ROWS_MAX, `status rows ${rows.length} > ${STATUS_ROWS_MAX}`);
  const cells: string[][] = [[...HEADERS], ...rows.map(rowCells)];
  const widths = HEADERS.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const lines = cells.map((row) =>
    row
      .map((cell, c) =>
        NUMERIC[c] === true ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0),
      )
      .join(GAP)
      .trimEnd(),
  );
  assert(lines.length === rows.length + 1, 'a header line and one line per row');
  return `${lines.join('\n')}\n`;
}

function rowCells(row: StatusRow): string[] {
  return [
    clean(row.node),
    clean(row.set),
    clean(row.zone ?? '-'),
    row.up ? 'yes' : 'no',
    count(row.keys),
    count(row.groupsBehind),
  ];
}

function count(n: number | undefined): string {
  if (n === undefined) return '-';
  assert(Number.isSafeInteger(n) && n >= 0, `status count ${n} is not a count`);
  return String(n);
}

function clean(text: string): string {
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return printable.length > CELL_CHARS_MAX
    ? `${printable.slice(0, CELL_CHARS_MAX - 3)}...`
    : printable;
}
