/**
 * The sequential specification of one key of the document model, for the linearizability
 * checker (and the reference the machine is property-tested against). Written over plain JS
 * objects, independently of the machine's Map-based tree.
 *
 * - A missing document has version 0; every successful update adds 1, even one that changes
 *   no byte. A failed update changes nothing. A document is never removed: removing every key
 *   leaves {}.
 * - ifVersion n: the update applies only when the current version (0 when absent) is n;
 *   otherwise versionConflict with the current version.
 * - An op value nested deeper than DOC_DEPTH_MAX: tooLarge at that op, before anything applies.
 * - Ops apply in order; the first that does not fit the data fails the whole update with
 *   typeMismatch at its index: set / incr / append through a non-object, incr of a non-integer
 *   or past the safe integers, append to a non-array.
 * - Then the whole document: deeper than DOC_DEPTH_MAX or its canonical JSON longer than
 *   bytesMax (UTF-8) → tooLarge.
 * - get(path): the value at the path (objects only are walked) with the document's version.
 */
import { assert } from '../../../runtime/assert';
import { DOC_BYTES_MAX, DOC_DEPTH_MAX } from '../../../models/doc/doc';
import type { DocOp, DocStatus, JsonValue } from '../../../models/doc/doc';
import type { Model } from '../linearizability';

export interface DocSpecState {
  /** Canonical JSON text; undefined: no document. */
  readonly doc: string | undefined;
  readonly version: number;
}

export type DocInput =
  { op: 'update'; ops: DocOp[]; ifVersion?: number } | { op: 'get'; path?: string };

export type DocStatusName = { [K in keyof typeof DocStatus]: K }[keyof typeof DocStatus];

export type DocOutput =
  | { status: DocStatusName; version: number; failedOp: number | undefined; values: number[] }
  | { found: boolean; version: number; value: JsonValue | undefined };

type Obj = { [key: string]: JsonValue };

function isObj(x: JsonValue | undefined): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Own properties only, so "__proto__" and "constructor" are ordinary keys. */
function own(o: Obj, key: string): JsonValue | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function put(o: Obj, key: string, value: JsonValue): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

function depth(x: JsonValue): number {
  if (Array.isArray(x)) return 1 + Math.max(0, ...x.map(depth));
  if (isObj(x)) return 1 + Math.max(0, ...Object.keys(x).map((k) => depth(x[k] as JsonValue)));
  return 0;
}

/** Sorted keys, no whitespace, scalars as JSON.stringify writes them. */
export function canonicalJson(x: JsonValue): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (isObj(x)) {
    const keys = Object.keys(x).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(x[k] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** What the value becomes on the wire (JSON text): -0 is 0, undefined members vanish. */
function wire(value: JsonValue): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** The object holding the path's last key, creating missing objects; undefined if blocked. */
function parentCreating(root: Obj, keys: readonly string[]): Obj | undefined {
  let node = root;
  for (const key of keys.slice(0, -1)) {
    const child = own(node, key);
    if (child === undefined) {
      const made: Obj = {};
      put(node, key, made);
      node = made;
    } else if (isObj(child)) node = child;
    else return undefined;
  }
  return node;
}

function lookup(root: JsonValue, keys: readonly string[]): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const key of keys) node = isObj(node) ? own(node, key) : undefined;
  return node;
}

/** Applies one op to `root` in place; false on a type mismatch. */
function applyOp(root: Obj, op: DocOp, values: number[]): boolean {
  const keys = op.path.split('.');
  const last = keys[keys.length - 1] as string;
  if (op.op === 'remove') {
    const parent = lookup(root, keys.slice(0, -1));
    if (isObj(parent) && Object.hasOwn(parent, last)) delete parent[last];
    return true;
  }
  const parent = parentCreating(root, keys);
  if (parent === undefined) return false;
  const current = own(parent, last);
  if (op.op === 'set') put(parent, last, wire(op.value));
  else if (op.op === 'append') {
    if (current === undefined) put(parent, last, [wire(op.value)]);
    else if (Array.isArray(current)) current.push(wire(op.value));
    else return false;
  } else {
    const base = current === undefined ? 0 : current;
    if (
      typeof base !== 'number' ||
      !Number.isSafeInteger(base) ||
      !Number.isSafeInteger(base + op.by)
    )
      return false;
    put(parent, last, base + op.by);
    values.push(base + op.by);
  }
  return true;
}

type Step = { state: DocSpecState; output: DocOutput };

function stepUpdate(
  state: DocSpecState,
  input: Extract<DocInput, { op: 'update' }>,
  bytesMax: number,
): Step {
  const current = state.doc === undefined ? 0 : state.version;
  const fail = (status: DocStatusName, failedOp?: number): Step => ({
    state,
    output: { status, version: current, failedOp, values: [] },
  });
  if (input.ifVersion !== undefined && input.ifVersion !== current) return fail('versionConflict');
  const deep = input.ops.findIndex((op) => 'value' in op && depth(wire(op.value)) > DOC_DEPTH_MAX);
  if (deep >= 0) return fail('tooLarge', deep);
  const root = (state.doc === undefined ? {} : JSON.parse(state.doc)) as Obj;
  const values: number[] = [];
  for (let i = 0; i < input.ops.length; i++) {
    if (!applyOp(root, input.ops[i] as DocOp, values)) return fail('typeMismatch', i);
  }
  const doc = canonicalJson(root);
  if (depth(root) > DOC_DEPTH_MAX || Buffer.byteLength(doc, 'utf8') > bytesMax)
    return fail('tooLarge');
  const version = state.version + 1;
  return {
    state: { doc, version },
    output: { status: 'ok', version, failedOp: undefined, values },
  };
}

function stepGet(state: DocSpecState, path: string | undefined): Step {
  if (state.doc === undefined)
    return { state, output: { found: false, version: 0, value: undefined } };
  const root = JSON.parse(state.doc) as JsonValue;
  const value = path === undefined || path === '' ? root : lookup(root, path.split('.'));
  return { state, output: { found: value !== undefined, version: state.version, value } };
}

/** Canonical text of an output: undefined distinct from absent. */
function outputText(o: DocOutput): string {
  const fields = Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
  return fields
    .map(([k, v]) => `${k}=${v === undefined ? 'undefined' : canonicalJson(v as JsonValue)}`)
    .join(';');
}

export function createDocModel(bytesMax = DOC_BYTES_MAX): Model<DocSpecState, DocInput, DocOutput> {
  return {
    init: () => ({ doc: undefined, version: 0 }),
    step: (state, input) => {
      const out =
        input.op === 'update' ? stepUpdate(state, input, bytesMax) : stepGet(state, input.path);
      assert(
        out.state.version >= state.version,
        () => `doc version went from ${state.version} to ${out.state.version}`,
      );
      assert(
        state.doc === undefined || out.state.doc !== undefined,
        'the doc spec removed a document',
      );
      return out;
    },
    equalOutput: (a, b) => outputText(a) === outputText(b),
    hash: (state) => `${state.version}:${state.doc ?? '-'}`,
  };
}

export const docModel = createDocModel();
