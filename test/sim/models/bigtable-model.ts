/**
 * The sequential specification of one big-table row (one replicated key), for the
 * linearizability checker, and its simulator driver.
 *
 * - insert: ALREADY_EXISTS when the row exists, else the row is stored.
 * - update: NOT_FOUND when absent, else the patch's columns are set (others kept).
 * - delete: removes the row; `removed` says whether there was one.
 * - get: the row's columns, or null when absent.
 * Index lists do not change what a row reads as, so the spec leaves them out.
 */
import type { BigtableRow } from '../../../models/bigtable/bigtable-row';
import {
  BIGTABLE_GET_QUERY,
  BigtableStatus,
  decodeBigtableGet,
  decodeBigtableWrite,
  encodeBigtableOp,
} from '../../../models/bigtable/bigtable';
import { ModelTag } from '../../../models/model-tags';
import type { Model } from '../linearizability';
import type { ModelDriver } from '../model-workload';

export type BigtableInput =
  | { op: 'insert'; row: BigtableRow }
  | { op: 'update'; patch: BigtableRow }
  | { op: 'delete' }
  | { op: 'get' };

export type BigtableOutput =
  { status: 'ok' | 'alreadyExists' | 'notFound'; removed: boolean } | { row: BigtableRow | null };

/** The state: the row's canonical JSON (columns sorted), or null when absent. */
export type BigtableSpecState = string | null;

function canonicalRow(row: BigtableRow): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(row)
        .sort()
        .map((k) => [k, row[k] ?? null]),
    ),
  );
}

export function stepBigtable(
  state: BigtableSpecState,
  input: BigtableInput,
): { state: BigtableSpecState; output: BigtableOutput } {
  switch (input.op) {
    case 'insert':
      if (state !== null) return { state, output: { status: 'alreadyExists', removed: false } };
      return { state: canonicalRow(input.row), output: { status: 'ok', removed: false } };
    case 'update': {
      if (state === null) return { state, output: { status: 'notFound', removed: false } };
      const before = JSON.parse(state) as BigtableRow;
      return {
        state: canonicalRow({ ...before, ...input.patch }),
        output: { status: 'ok', removed: false },
      };
    }
    case 'delete':
      return { state: null, output: { status: 'ok', removed: state !== null } };
    case 'get':
      return { state, output: { row: state === null ? null : (JSON.parse(state) as BigtableRow) } };
  }
}

function canonicalOutput(o: BigtableOutput): string {
  return 'row' in o
    ? `row:${o.row === null ? 'null' : canonicalRow(o.row)}`
    : `${o.status}:${o.removed}`;
}

export const bigtableModel: Model<BigtableSpecState, BigtableInput, BigtableOutput> = {
  init: () => null,
  step: stepBigtable,
  equalOutput: (a, b) => canonicalOutput(a) === canonicalOutput(b),
  hash: (state) => state ?? '<absent>',
};

const STATUS_NAMES: Record<number, 'ok' | 'alreadyExists' | 'notFound'> = {
  [BigtableStatus.ok]: 'ok',
  [BigtableStatus.alreadyExists]: 'alreadyExists',
  [BigtableStatus.notFound]: 'notFound',
};

/** The output of a write result body (the version already split off). */
export function bigtableWriteOutput(body: Uint8Array): BigtableOutput {
  const r = decodeBigtableWrite(body);
  const status = STATUS_NAMES[r.status];
  if (status === undefined)
    throw new Error(`big table status ${r.status} in a well-formed workload`);
  return { status, removed: r.removed };
}

const INDEXES = ['a'];

export const bigtableDriver: ModelDriver<BigtableInput, BigtableOutput> = {
  name: 'bigtable',
  tag: ModelTag.bigtable,
  model: bigtableModel as Model<unknown, BigtableInput, BigtableOutput>,
  // Row keys (bigtable-row.ts rowKey): the cluster persists their chosen state (decision 13).
  keys: ['\u0001t\u0000row1', '\u0001t\u0000row2'],
  randomInput(prng, client, n): BigtableInput {
    const r = prng.int(100);
    // Unique values keep the search small; column `a` is indexed and changes often.
    if (r < 25) return { op: 'insert', row: { a: `c${client}-${n}`, b: n } };
    const patch: BigtableRow = prng.chance(0.5)
      ? { a: `u${client}-${n}` }
      : { b: client * 100 + n, c: null };
    if (r < 50) return { op: 'update', patch };
    if (r < 62) return { op: 'delete' };
    return { op: 'get' };
  },
  encode(input) {
    switch (input.op) {
      case 'insert':
        return {
          kind: 'write',
          op: encodeBigtableOp({ type: 'insert', indexes: INDEXES, row: input.row }),
        };
      case 'update':
        return {
          kind: 'write',
          op: encodeBigtableOp({ type: 'update', indexes: INDEXES, patch: input.patch }),
        };
      case 'delete':
        return { kind: 'write', op: encodeBigtableOp({ type: 'delete' }) };
      case 'get':
        return { kind: 'read', query: BIGTABLE_GET_QUERY };
    }
  },
  decode(input, body) {
    if (input.op === 'get') return { row: decodeBigtableGet(body)?.r ?? null };
    return bigtableWriteOutput(body);
  },
  mutated: (input, output) =>
    'status' in output && output.status === 'ok' && (input.op !== 'delete' || output.removed),
};
