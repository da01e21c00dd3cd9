/**
 * The big-table row model (DESIGN.md §5 "bigtable", decision 13): each row is its own
 * replicated key (bigtable-row.ts rowKey), so this state machine sees one row. Ops:
 *   insert(row)   → ALREADY_EXISTS when the row exists; otherwise stores it.
 *   update(patch) → NOT_FOUND when the row is absent; otherwise sets the patch's columns.
 *   delete()      → removes the row (`removed` false when there was none; not an error).
 * Query: get → the row or absent. Every op carries the table's index list, stored with the row,
 * so a row's index entries are a pure function of its stored bytes (indexKeysOfRow) and every
 * replica derives the same entries from the same applied state.
 *
 * A replicated op is re-validated here (a client bug must not throw in every replica): a bad op
 * answers RESULT_BAD_REQUEST and changes nothing; a row that would pass
 * BIGTABLE_ROW_BYTES_MAX answers tooLarge and changes nothing. Failed ops do not mutate.
 *
 * Layouts (untagged; the registry frames them):
 *   op      [kind u8][JSON: insert {"i":[..],"r":{..}} | update {"i":[..],"p":{..}} | delete none]
 *   query   [1]
 *   result  [status u8] + get: [found u8][stored row JSON]; writes: [removed u8] for delete
 */
import { assert } from '../../runtime/assert';
import type { BigtableRow, StoredRow } from './bigtable-row';
import {
  BIGTABLE_INDEXES_MAX,
  BIGTABLE_ROW_BYTES_MAX,
  checkIndexes,
  checkRow,
  decodeStoredRow,
  encodeStoredRow,
  INDEX_KEY_PREFIX,
  ROW_KEY_PREFIX,
  indexKeysOfRow,
  parseRowKey,
} from './bigtable-row';
import { ModelTag, RESULT_BAD_REQUEST } from '../model-tags';
import { decodeInstallOp, isInstallOp } from '../install-op';
import type { StateMachine } from '../state-machine';

const OP_INSERT = 1;
const OP_UPDATE = 2;
const OP_DELETE = 3;
const OP_DEFINE = 4;
const QUERY_GET = 1;

export const BigtableStatus = {
  ok: 0,
  alreadyExists: 1,
  notFound: 2,
  tooLarge: 3,
  indexMismatch: 4,
  badRequest: RESULT_BAD_REQUEST,
} as const;
export type BigtableStatus = (typeof BigtableStatus)[keyof typeof BigtableStatus];

export type BigtableOp =
  | { readonly type: 'insert'; readonly indexes: readonly string[]; readonly row: BigtableRow }
  | { readonly type: 'update'; readonly indexes: readonly string[]; readonly patch: BigtableRow }
  | { readonly type: 'delete' }
  /** On a table's schema key (schemaKey): fixes its index list, or checks it matches. */
  | { readonly type: 'define'; readonly indexes: readonly string[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeBigtableOp(op: BigtableOp): Uint8Array {
  if (op.type === 'delete') return Uint8Array.of(OP_DELETE);
  const body =
    op.type === 'insert'
      ? { i: op.indexes, r: op.row }
      : op.type === 'update'
        ? { i: op.indexes, p: op.patch }
        : { i: op.indexes };
  const json = encoder.encode(JSON.stringify(body));
  const out = new Uint8Array(1 + json.length);
  out[0] = op.type === 'insert' ? OP_INSERT : op.type === 'update' ? OP_UPDATE : OP_DEFINE;
  out.set(json, 1);
  return out;
}

export const BIGTABLE_GET_QUERY = Uint8Array.of(QUERY_GET);

type Applied = ReturnType<StateMachine['apply']>;

function status(s: BigtableStatus, removed = false): Uint8Array {
  return Uint8Array.of(s, removed ? 1 : 0);
}

function refuse(data: Uint8Array | null, s: BigtableStatus): Applied {
  return { data, mutated: false, result: status(s) };
}

/** The op's index list and columns, validated; undefined when the op is malformed. */
function parseBody(
  op: Uint8Array,
  field: 'r' | 'p',
): { indexes: string[]; columns: BigtableRow } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(op.subarray(1)));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { indexes } = checkIndexes((body as { i?: unknown }).i);
  if (indexes === undefined) return undefined;
  const { row } = checkRow(
    (body as Record<string, unknown>)[field],
    indexes,
    field === 'r' ? 'row' : 'patch',
  );
  return row === undefined ? undefined : { indexes, columns: row };
}

/** Stores a row after checking it against its index list and the size limit. */
function store(data: Uint8Array | null, stored: StoredRow): Applied {
  const checked = checkRow(stored.r, stored.i);
  if (checked.row === undefined) return refuse(data, BigtableStatus.badRequest);
  const bytes = encodeStoredRow({ i: stored.i, r: checked.row });
  if (bytes.length > BIGTABLE_ROW_BYTES_MAX) return refuse(data, BigtableStatus.tooLarge);
  return { data: bytes, mutated: true, result: status(BigtableStatus.ok) };
}

function applyOp(data: Uint8Array | null, op: Uint8Array): Applied {
  switch (op[0]) {
    case OP_INSERT: {
      const body = parseBody(op, 'r');
      if (body === undefined) return refuse(data, BigtableStatus.badRequest);
      if (data !== null) return refuse(data, BigtableStatus.alreadyExists);
      return store(data, { i: body.indexes, r: body.columns });
    }
    case OP_UPDATE: {
      const body = parseBody(op, 'p');
      if (body === undefined) return refuse(data, BigtableStatus.badRequest);
      if (data === null) return refuse(data, BigtableStatus.notFound);
      const before = decodeStoredRow(data);
      return store(data, { i: body.indexes, r: { ...before.r, ...body.columns } });
    }
    case OP_DELETE:
      if (op.length !== 1) return refuse(data, BigtableStatus.badRequest);
      return {
        data: null,
        mutated: data !== null,
        result: status(BigtableStatus.ok, data !== null),
      };
    case OP_DEFINE:
      return applyDefine(data, op);
    default:
      return refuse(data, BigtableStatus.badRequest);
  }
}

/**
 * A table's schema key holds its index list, fixed by the first define: a later define with the
 * same list succeeds without a change, another list answers indexMismatch.
 */
function applyDefine(data: Uint8Array | null, op: Uint8Array): Applied {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(op.subarray(1)));
  } catch {
    return refuse(data, BigtableStatus.badRequest);
  }
  const { indexes } = checkIndexes(
    typeof body === 'object' && body !== null ? (body as { i?: unknown }).i : undefined,
  );
  if (indexes === undefined) return refuse(data, BigtableStatus.badRequest);
  const wanted = encoder.encode(JSON.stringify({ s: indexes }));
  if (data === null) return { data: wanted, mutated: true, result: status(BigtableStatus.ok) };
  const same = data.length === wanted.length && data.every((b, i) => b === wanted[i]);
  return refuse(data, same ? BigtableStatus.ok : BigtableStatus.indexMismatch);
}

/** The index list a schema key's data holds (a get of the schema key answers it). */
export function decodeBigtableSchema(bytes: Uint8Array): string[] | undefined {
  assert(
    bytes.length >= 2 && bytes[0] === BigtableStatus.ok,
    () => `big table schema result status ${bytes[0]}`,
  );
  if (bytes[1] === 0) return undefined;
  const parsed = JSON.parse(decoder.decode(bytes.subarray(2))) as { s?: unknown };
  assert(Array.isArray(parsed.s), 'a big table schema without an index list');
  return parsed.s as string[];
}

export const bigtableStateMachine: StateMachine = {
  apply(data, _version, op) {
    assert(op.length >= 1, 'empty big table op');
    const out = applyOp(data, op);
    assert(out.mutated || out.data === data, 'a big table op that did not mutate changed the data');
    assert(
      out.data === null || out.data.length <= BIGTABLE_ROW_BYTES_MAX,
      () => `big table row of ${out.data?.length} bytes`,
    );
    return out;
  },
  read(data, _version, query) {
    assert(
      query.length === 1 && query[0] === QUERY_GET,
      () => `unknown big table query ${query[0]}`,
    );
    if (data === null) return Uint8Array.of(BigtableStatus.ok, 0);
    const out = new Uint8Array(2 + data.length);
    out[0] = BigtableStatus.ok;
    out[1] = 1;
    out.set(data, 2);
    return out;
  },
};

export interface BigtableWriteResult {
  readonly status: BigtableStatus;
  /** delete only: a row was removed. */
  readonly removed: boolean;
}

export function decodeBigtableWrite(bytes: Uint8Array): BigtableWriteResult {
  assert(bytes.length === 2, () => `big table write result of ${bytes.length} bytes`);
  const s = bytes[0] as BigtableStatus;
  assert(Object.values(BigtableStatus).includes(s), () => `big table status ${s}`);
  return { status: s, removed: bytes[1] === 1 };
}

/** The stored row a get answered, or undefined when the row is absent. */
export function decodeBigtableGet(bytes: Uint8Array): StoredRow | undefined {
  assert(
    bytes.length >= 2 && bytes[0] === BigtableStatus.ok,
    () => `big table get result status ${bytes[0]}`,
  );
  assert(bytes[1] === 0 || bytes[1] === 1, () => `big table get found flag ${bytes[1]}`);
  if (bytes[1] === 0) return undefined;
  return decodeStoredRow(bytes.subarray(2));
}

/**
 * The index entries a replica keeps for one row key (decision 13): those of its applied row and
 * those of the row its accepted-but-unsettled op would produce. The second set makes the union
 * of any majority's entries cover every row whose latest chosen write matches, even before the
 * replicas in that majority have learned it was chosen (the write was accepted by a majority,
 * which intersects the one a lookup lists). Extra entries are harmless: lookups verify every
 * candidate with a linearizable read. Both inputs are tagged (model-tags.ts); other models
 * have no entries.
 */
export function bigtableIndexKeys(
  key: string,
  data: Uint8Array | null,
  acceptedOp: Uint8Array | null,
): string[] {
  const parsed = parseRowKey(key);
  if (parsed === undefined) return [];
  const own = data !== null && data[0] === ModelTag.bigtable ? data.subarray(1) : null;
  if (data !== null && own === null) return [];
  const keys = own === null ? [] : indexKeysOfRow(parsed.table, parsed.pk, decodeStoredRow(own));
  if (acceptedOp !== null && acceptedOp.length > 1 && acceptedOp[0] === ModelTag.bigtable) {
    const next = bigtableStateMachine.apply(own, 0, acceptedOp.subarray(1)).data;
    if (next !== null && next !== own) {
      for (const k of indexKeysOfRow(parsed.table, parsed.pk, decodeStoredRow(next)))
        if (!keys.includes(k)) keys.push(k);
    }
  } else if (acceptedOp !== null && isInstallOp(acceptedOp)) {
    // verify's repair installing a row wholesale (install-op.ts): its row counts like an op's.
    const installed = decodeInstallOp(acceptedOp)?.data ?? null;
    if (installed !== null && installed[0] === ModelTag.bigtable) {
      for (const k of indexKeysOfRow(
        parsed.table,
        parsed.pk,
        decodeStoredRow(installed.subarray(1)),
      ))
        if (!keys.includes(k)) keys.push(k);
    }
  }
  assert(keys.length <= 2 * BIGTABLE_INDEXES_MAX, () => `${keys.length} index entries for one row`);
  return keys;
}

/** The derived local data of big-table rows, as the Paxos shell takes it (DerivedKeys). */
export const bigtableDerived = {
  covers: (key: string): boolean => key.startsWith(ROW_KEY_PREFIX),
  isDerived: (engineKey: string): boolean => engineKey.startsWith(INDEX_KEY_PREFIX),
  keysOf: bigtableIndexKeys,
} as const;
