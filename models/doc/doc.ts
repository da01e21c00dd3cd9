/**
 * The document model: one JSON document (a tree whose root is an object) under one key. All
 * bytes here are untagged (model-tags.ts); the registry frames them.
 *
 * Data: the document as canonical JSON text in UTF-8 — object keys sorted by UTF-16 code units
 * (JS `<`), no whitespace, scalars as JSON.stringify writes them — so replicas that apply the
 * same updates hold identical bytes.
 *
 * One update is a list of ops applied in order, atomically: the first op that fails leaves the
 * document exactly as it was. Paths are dot-separated object keys ('a.b'), 1..DOC_DEPTH_MAX
 * non-empty segments; a key containing '.' is reachable only as part of a set value. Paths
 * walk objects only: arrays and scalars are leaves (set, append to or remove them whole).
 *   set(path, value)     missing intermediate objects are created
 *   incr(path, by)       the target is absent (counts as 0) or an integer; the sum must be a
 *                        safe integer; intermediates created as for set
 *   append(path, value)  the target is absent (becomes [value]) or an array
 *   remove(path)         removing what is not there is not an error
 * A non-object in the way of set / incr / append, or a target of the wrong type, fails the
 * update with `typeMismatch` (failedOp says which op).
 *
 * Versions: the core counts mutations; an absent key reads as version 0. `expectedVersion`
 * (the API's ifVersion) applies the update only when the current version equals it, so 0
 * means "only if the document does not exist"; otherwise `versionConflict`. Every successful
 * update is a mutation, even one that leaves the bytes as they were (as a KV put of the same
 * value is). A document exists once written: removing every key leaves `{}`, never null.
 *
 * Limits: canonical bytes above `bytesMax` (DOC_BYTES_MAX) or nesting deeper than
 * DOC_DEPTH_MAX (the root object is depth 1) fail with `tooLarge`; so does an op value nested
 * deeper than DOC_DEPTH_MAX, before any op applies. At most DOC_UPDATE_OPS_MAX ops per update.
 *
 * Checks, in order (the first that fails answers): malformed request (RESULT_BAD_REQUEST),
 * expectedVersion, too-deep op values, the ops one by one, the final document's limits.
 *
 * Bad input: the encoders assert (the API validates first). Apply and read still check paths,
 * values and counts, and answer RESULT_BAD_REQUEST instead of throwing: a replicated op that
 * threw would be re-applied, and throw, on every replica forever.
 *
 * Results start with a status byte (DocStatus); the rest is per kind, see the decoders.
 */
import { VERIFY, assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { RESULT_BAD_REQUEST } from '../model-tags';
import type { StateMachine } from '../state-machine';

const OP_UPDATE = 1;
const QUERY_GET = 1;
const STEP_SET = 1;
const STEP_INCR = 2;
const STEP_APPEND = 3;
const STEP_REMOVE = 4;

/** The default limit on a document's canonical JSON bytes. */
export const DOC_BYTES_MAX = 1024 * 1024;
/** The deepest nesting a document may have (the root object is 1); also the most path segments. */
export const DOC_DEPTH_MAX = 64;
/** The most ops one update may carry. */
export const DOC_UPDATE_OPS_MAX = 1024;

export interface DocLimits {
  readonly bytesMax: number;
}

export const DOC_LIMITS: DocLimits = { bytesMax: DOC_BYTES_MAX };

/** versionConflict as KvStatus, tooLarge as QueueStatus / SetStatus: one code, one meaning. */
export const DocStatus = {
  ok: 0,
  versionConflict: 1,
  tooLarge: 2,
  typeMismatch: 3,
  badRequest: RESULT_BAD_REQUEST,
} as const;
export type DocStatus = (typeof DocStatus)[keyof typeof DocStatus];

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type DocOp =
  | { readonly op: 'set'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'incr'; readonly path: string; readonly by: number }
  | { readonly op: 'append'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string };

export interface DocUpdate {
  readonly ops: readonly DocOp[];
  /** Apply only when the document's current version (0 when absent) equals this. */
  readonly expectedVersion?: number;
}

/** `path` absent or '' reads the whole document. */
export interface DocQuery {
  readonly path?: string;
}

export interface DocUpdateResult {
  readonly status: DocStatus;
  /** After a successful update its new version; otherwise the current one (0 when absent). */
  readonly version: number;
  /** The index of the op that failed (typeMismatch, badRequest, a too-deep value). */
  readonly failedOp: number | undefined;
  /** ok only: the new value of each incr op, in op order. */
  readonly values: number[];
}

export interface DocGetResult {
  readonly status: typeof DocStatus.ok | typeof DocStatus.badRequest;
  readonly found: boolean;
  /** The document's version (0 when absent), whether or not the path was found. */
  readonly version: number;
  readonly value: JsonValue | undefined;
}

export interface DocResults {
  readonly update: DocUpdateResult;
  readonly get: DocGetResult;
}
export type DocResultKind = keyof DocResults;

// ---- paths ----

/** The segments of a valid path ('' is the root, valid for reads only); undefined if invalid. */
function parsePath(path: string): string[] | undefined {
  if (path === '') return [];
  if (!path.isWellFormed()) return undefined;
  const segments = path.split('.');
  if (segments.length > DOC_DEPTH_MAX || segments.some((s) => s.length === 0)) return undefined;
  return segments;
}

/** True when `path` is a valid update path: 1..DOC_DEPTH_MAX non-empty dot-separated keys. */
export function isValidDocPath(path: string): boolean {
  return typeof path === 'string' && path !== '' && parsePath(path) !== undefined;
}

// ---- the tree: objects are Maps, so a key like "__proto__" is just a key ----

type DocNode = null | boolean | number | string | DocNode[] | DocObject;
type DocObject = Map<string, DocNode>;

/** Nesting depth of valid JSON text, without recursion (JSON.parse itself does not recurse). */
function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\')
        i++; // the escaped character cannot end the string
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') deepest = Math.max(deepest, ++depth);
    else if (ch === ']' || ch === '}') depth--;
  }
  assert(depth === 0 && !inString, 'jsonTextDepth of unbalanced text');
  return deepest;
}

/** From JSON.parse output; callers bound the depth first, so the recursion is bounded. */
function toNode(x: unknown): DocNode {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return x === 0 ? 0 : x; // -0 would not survive the text anyway
  if (Array.isArray(x)) return x.map(toNode);
  assert(typeof x === 'object', () => `doc value of type ${typeof x}`);
  const obj = x as Record<string, unknown>;
  return new Map(Object.keys(obj).map((k) => [k, toNode(obj[k])]));
}

/** Decode failures (symbols: a string would collide with a JSON string value). */
const BAD: unique symbol = Symbol('bad request');
const DEEP: unique symbol = Symbol('nested too deep');

/** Parses JSON text nested at most DOC_DEPTH_MAX deep. */
function parseValue(text: string): DocNode | typeof BAD | typeof DEEP {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return BAD;
  }
  return jsonTextDepth(text) > DOC_DEPTH_MAX ? DEEP : toNode(parsed);
}

function nodeDepth(node: DocNode): number {
  if (Array.isArray(node)) return 1 + node.reduce((d: number, n) => Math.max(d, nodeDepth(n)), 0);
  if (node instanceof Map) {
    let d = 0;
    for (const child of node.values()) d = Math.max(d, nodeDepth(child));
    return 1 + d;
  }
  return 0;
}

function writeCanonical(node: DocNode, parts: string[]): void {
  if (Array.isArray(node)) {
    parts.push('[');
    node.forEach((child, i) => {
      if (i > 0) parts.push(',');
      writeCanonical(child, parts);
    });
    parts.push(']');
  } else if (node instanceof Map) {
    parts.push('{');
    [...node.keys()].sort().forEach((key, i) => {
      if (i > 0) parts.push(',');
      parts.push(JSON.stringify(key), ':');
      writeCanonical(node.get(key) as DocNode, parts);
    });
    parts.push('}');
  } else {
    parts.push(JSON.stringify(node));
  }
}

/** Canonical JSON text; callers bound the depth first. */
function canonicalText(node: DocNode): string {
  const parts: string[] = [];
  writeCanonical(node, parts);
  return parts.join('');
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function decodeRoot(data: Uint8Array | null): DocObject {
  if (data === null) return new Map();
  const text = textDecoder.decode(data);
  if (VERIFY) assert(jsonTextDepth(text) <= DOC_DEPTH_MAX, 'stored doc nested too deep');
  const root = toNode(JSON.parse(text));
  assert(root instanceof Map, 'stored doc root is not an object');
  return root;
}

// ---- update ops, decoded ----

type Step =
  | { readonly kind: typeof STEP_SET; readonly path: string[]; readonly value: DocNode }
  | { readonly kind: typeof STEP_APPEND; readonly path: string[]; readonly value: DocNode }
  | { readonly kind: typeof STEP_INCR; readonly path: string[]; readonly by: number }
  | { readonly kind: typeof STEP_REMOVE; readonly path: string[] };

interface Decoded {
  readonly expectedVersion: number | undefined;
  readonly steps: Step[];
  /** The first op whose value is nested too deep (its step is left out of `steps`). */
  readonly deepOp: number | undefined;
}

type Refusal = { readonly status: DocStatus; readonly failedOp: number | undefined };

function decodeStep(r: ByteReader): Step | typeof BAD | typeof DEEP {
  const kind = r.u8();
  const path = parsePath(r.str());
  if (path === undefined || path.length === 0) return BAD;
  if (kind === STEP_INCR) {
    const by = r.f64();
    return Number.isSafeInteger(by) ? { kind, path, by } : BAD;
  }
  if (kind === STEP_REMOVE) return { kind, path };
  if (kind !== STEP_SET && kind !== STEP_APPEND) return BAD;
  const value = parseValue(r.str());
  if (value === BAD || value === DEEP) return value;
  return { kind, path, value };
}

function decodeUpdate(op: Uint8Array): Decoded | Refusal {
  const r = new ByteReader(op);
  assert(r.u8() === OP_UPDATE, () => `unknown doc op ${op[0]}`);
  const hasExpected = r.u8();
  const expected = r.f64();
  const count = r.u32();
  const bad: Refusal = { status: DocStatus.badRequest, failedOp: undefined };
  if (hasExpected > 1 || (hasExpected === 1 && !(Number.isSafeInteger(expected) && expected >= 0)))
    return bad;
  if (count === 0 || count > DOC_UPDATE_OPS_MAX) return bad;
  const steps: Step[] = [];
  let deepOp: number | undefined;
  // Decode every op even past a too-deep value: a malformed request is refused before all else.
  for (let i = 0; i < count; i++) {
    const step = decodeStep(r);
    if (step === BAD) return { status: DocStatus.badRequest, failedOp: i };
    if (step === DEEP) deepOp ??= i;
    else steps.push(step);
  }
  assert(r.remaining === 0, 'doc update has trailing bytes');
  return { expectedVersion: hasExpected === 1 ? expected : undefined, steps, deepOp };
}

// ---- applying ----

/** The object holding the path's last key, creating missing objects; undefined if blocked. */
function parentCreating(root: DocObject, path: readonly string[]): DocObject | undefined {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const child = node.get(key);
    if (child === undefined) {
      const made: DocObject = new Map();
      node.set(key, made);
      node = made;
    } else if (child instanceof Map) node = child;
    else return undefined;
  }
  return node;
}

/** The object holding the path's last key; undefined when the path does not lead there. */
function parentExisting(root: DocObject, path: readonly string[]): DocObject | undefined {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const child = node.get(path[i] as string);
    if (!(child instanceof Map)) return undefined;
    node = child;
  }
  return node;
}

function lastKey(path: readonly string[]): string {
  const key = path[path.length - 1];
  assert(key !== undefined, 'empty doc path');
  return key;
}

/** Applies one step in place; false when it does not fit the data (typeMismatch). */
function applyStep(root: DocObject, step: Step, values: number[]): boolean {
  const key = lastKey(step.path);
  if (step.kind === STEP_REMOVE) {
    parentExisting(root, step.path)?.delete(key);
    return true;
  }
  const parent = parentCreating(root, step.path);
  if (parent === undefined) return false;
  const current = parent.get(key);
  if (step.kind === STEP_SET) parent.set(key, step.value);
  else if (step.kind === STEP_APPEND) {
    if (current === undefined) parent.set(key, [step.value]);
    else if (Array.isArray(current)) current.push(step.value);
    else return false;
  } else {
    const base = current === undefined ? 0 : current; // absent counts as 0; null does not
    if (typeof base !== 'number' || !Number.isSafeInteger(base)) return false;
    const next = base + step.by;
    if (!Number.isSafeInteger(next)) return false;
    parent.set(key, next);
    values.push(next);
  }
  return true;
}

/** [status u8][version f64][failedOp f64, -1 none][count u32][incr values f64 × count] */
function updateResult(
  status: DocStatus,
  version: number,
  failedOp: number | undefined,
  values: readonly number[] = [],
): Uint8Array {
  const w = new ByteWriter(21 + 8 * values.length);
  w.u8(status);
  w.f64(version);
  w.f64(failedOp ?? -1);
  w.u32(values.length);
  for (const v of values) w.f64(v);
  return w.finish();
}

type Applied = ReturnType<StateMachine['apply']>;

function applyUpdate(
  data: Uint8Array | null,
  version: number,
  op: Uint8Array,
  limits: DocLimits,
): Applied {
  const current = data === null ? 0 : version;
  const refuse = (status: DocStatus, failedOp?: number): Applied => ({
    data,
    mutated: false,
    result: updateResult(status, current, failedOp),
  });
  const decoded = decodeUpdate(op);
  if ('status' in decoded) return refuse(decoded.status, decoded.failedOp);
  if (decoded.expectedVersion !== undefined && decoded.expectedVersion !== current) {
    return refuse(DocStatus.versionConflict);
  }
  if (decoded.deepOp !== undefined) return refuse(DocStatus.tooLarge, decoded.deepOp);
  // A fresh tree from the stored bytes: a failing op can scribble on it, `data` stays intact.
  const root = decodeRoot(data);
  const values: number[] = [];
  for (let i = 0; i < decoded.steps.length; i++) {
    if (!applyStep(root, decoded.steps[i] as Step, values))
      return refuse(DocStatus.typeMismatch, i);
  }
  // Depth is bounded here (at most DOC_DEPTH_MAX path segments above a value at most as deep).
  if (nodeDepth(root) > DOC_DEPTH_MAX) return refuse(DocStatus.tooLarge);
  const next = textEncoder.encode(canonicalText(root));
  if (next.length > limits.bytesMax) return refuse(DocStatus.tooLarge);
  return {
    data: next,
    mutated: true,
    result: updateResult(DocStatus.ok, version + 1, undefined, values),
  };
}

/** The node at a path; undefined when absent or when a non-object is in the way. */
function nodeAt(root: DocObject, path: readonly string[]): DocNode | undefined {
  if (path.length === 0) return root;
  return parentExisting(root, path)?.get(lastKey(path));
}

/** get: [status u8][found u8][version f64][canonical JSON text of the value] */
function readGet(data: Uint8Array | null, version: number, query: Uint8Array): Uint8Array {
  const r = new ByteReader(query);
  assert(r.u8() === QUERY_GET, () => `unknown doc query ${query[0]}`);
  const path = parsePath(r.str());
  assert(r.remaining === 0, 'doc query has trailing bytes');
  const current = data === null ? 0 : version;
  const node = data === null || path === undefined ? undefined : nodeAt(decodeRoot(data), path);
  const text = node === undefined ? new Uint8Array(0) : textEncoder.encode(canonicalText(node));
  const w = new ByteWriter(10 + text.length);
  w.u8(path === undefined ? DocStatus.badRequest : DocStatus.ok);
  w.u8(node === undefined ? 0 : 1);
  w.f64(current);
  w.raw(text);
  return w.finish();
}

export function createDocStateMachine(limits: DocLimits = DOC_LIMITS): StateMachine {
  assert(
    Number.isSafeInteger(limits.bytesMax) && limits.bytesMax >= 2,
    () => `doc bytesMax ${limits.bytesMax}`,
  );
  return {
    apply(data, version, op) {
      assert(op.length >= 1, 'empty doc op');
      assert(Number.isSafeInteger(version) && version >= 0, () => `doc version ${version}`);
      const out = applyUpdate(data, version, op, limits);
      assert(out.data !== null || data === null, 'a doc update removed the document');
      return out;
    },
    read(data, version, query) {
      assert(query.length >= 1, 'empty doc query');
      return readGet(data, version, query);
    },
  };
}

export const docStateMachine: StateMachine = createDocStateMachine();

// ---- encodings for clients ----

function valueText(value: JsonValue): string {
  const text = JSON.stringify(value);
  assert(typeof text === 'string', 'doc value is not JSON');
  return text;
}

/** The update's bytes; asserts what the API validates (paths, by, count, expectedVersion). */
export function encodeDocUpdate(update: DocUpdate): Uint8Array {
  const { ops, expectedVersion } = update;
  assert(
    ops.length >= 1 && ops.length <= DOC_UPDATE_OPS_MAX,
    () => `doc update of ${ops.length} ops`,
  );
  assert(
    expectedVersion === undefined ||
      (Number.isSafeInteger(expectedVersion) && expectedVersion >= 0),
    () => `doc expectedVersion ${expectedVersion}`,
  );
  const w = new ByteWriter();
  w.u8(OP_UPDATE);
  w.u8(expectedVersion === undefined ? 0 : 1);
  w.f64(expectedVersion ?? 0);
  w.u32(ops.length);
  for (const op of ops) {
    assert(isValidDocPath(op.path), () => `doc path ${JSON.stringify(op.path)}`);
    const kind = { set: STEP_SET, incr: STEP_INCR, append: STEP_APPEND, remove: STEP_REMOVE }[
      op.op
    ];
    w.u8(kind);
    w.str(op.path);
    if (op.op === 'incr') {
      assert(Number.isSafeInteger(op.by), () => `doc incr by ${op.by}`);
      w.f64(op.by);
    } else if (op.op === 'set' || op.op === 'append') w.str(valueText(op.value));
  }
  return w.finish();
}

export function encodeDocQuery(q: DocQuery = {}): Uint8Array {
  const path = q.path ?? '';
  assert(path === '' || isValidDocPath(path), () => `doc path ${JSON.stringify(path)}`);
  const w = new ByteWriter(5 + path.length * 3);
  w.u8(QUERY_GET);
  w.str(path);
  return w.finish();
}

const STATUSES: readonly number[] = Object.values(DocStatus);

const decoders: { readonly [K in DocResultKind]: (bytes: Uint8Array) => DocResults[K] } = {
  update: (bytes) => {
    const r = new ByteReader(bytes);
    const status = r.u8() as DocStatus;
    assert(STATUSES.includes(status), () => `doc status ${status}`);
    const version = r.f64();
    const failedOp = r.f64();
    const count = r.u32();
    assert(status === DocStatus.ok || count === 0, 'doc values on a failed update');
    const values: number[] = [];
    for (let i = 0; i < count; i++) values.push(r.f64());
    assert(r.remaining === 0, 'doc update result has trailing bytes');
    return { status, version, failedOp: failedOp < 0 ? undefined : failedOp, values };
  },
  get: (bytes) => {
    const r = new ByteReader(bytes.subarray(0, 10));
    const status = r.u8();
    assert(
      status === DocStatus.ok || status === DocStatus.badRequest,
      () => `doc get status ${status}`,
    );
    const found = r.u8();
    assert(found === 0 || found === 1, () => `doc get found flag ${found}`);
    const version = r.f64();
    const text = textDecoder.decode(bytes.subarray(10));
    assert(found === 1 || text === '', 'doc get result: a value without found');
    return {
      status,
      found: found === 1,
      version,
      value: found === 1 ? (JSON.parse(text) as JsonValue) : undefined,
    };
  },
};

/** Decodes the result of an update or a get. */
export function decodeDocResult<K extends DocResultKind>(
  kind: K,
  bytes: Uint8Array,
): DocResults[K] {
  return decoders[kind](bytes);
}

/** The document a data state holds (null data: undefined, no document). */
export function decodeDocData(data: Uint8Array | null): JsonValue | undefined {
  return data === null ? undefined : (JSON.parse(textDecoder.decode(data)) as JsonValue);
}
