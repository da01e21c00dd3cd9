/**
 * The public document API (issue #4): a JSON tree under one name. One `update` is a list of
 * ops applied atomically (all or none), optionally only at an expected version.
 */
import {
  DOC_BYTES_MAX,
  DOC_UPDATE_OPS_MAX,
  DocStatus,
  decodeDocResult,
  encodeDocQuery,
  encodeDocUpdate,
  isValidDocPath,
} from '../../models/doc/doc';
import type { DocOp, JsonValue } from '../../models/doc/doc';
import { ModelTag } from '../../models/model-tags';
import { assert } from '../../runtime/assert';
import { ErrorCodes, PaxosStoreError, checked, describe, field, invalid } from './errors';
import type { ReadOptions } from './model-client';
import {
  ModelChannel,
  objectKey,
  validateConsistency,
  validateCount,
  validateKey,
  validateWriteOptions,
} from './model-client';
import type { RequestBackend, WriteOptions } from './model-client';

export type { DocOp, JsonValue } from '../../models/doc/doc';

export interface DocUpdateOptions {
  /** Apply only if the document is at this version (0: only if it does not exist yet). */
  ifVersion?: number;
}

/** Longest document path, in UTF-8 bytes (a path names keys of the document, like a key). */
export const DOC_PATH_BYTES_MAX = 1024;

function validatePath(path: unknown, index: number): string {
  if (typeof path !== 'string')
    throw invalid(`op ${index}: path must be a string, got ${describe(path)}`);
  if (path.length > DOC_PATH_BYTES_MAX || Buffer.byteLength(path, 'utf8') > DOC_PATH_BYTES_MAX) {
    throw invalid(`op ${index}: path is longer than ${DOC_PATH_BYTES_MAX} bytes`);
  }
  if (!isValidDocPath(path)) throw invalid(`op ${index}: invalid path ${describe(path)}`);
  return path;
}

/**
 * A JSON value: plain objects, arrays (no holes), well-formed strings, finite numbers,
 * booleans, null. `budget` counts a lower bound of the value's JSON bytes, so a value that can
 * never fit a document is refused (TOO_LARGE) before it is walked or copied in full.
 */
function validateJson(
  value: unknown,
  index: number,
  budget: { left: number },
  depth = 0,
): JsonValue {
  if (depth > 64) throw invalid(`op ${index}: value nested deeper than 64`);
  spend(budget, 1, index);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return jsonString(value, index, budget);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`op ${index}: numbers must be finite`);
    return value;
  }
  if (Array.isArray(value)) {
    const length = value.length;
    spend(budget, length, index);
    const out: JsonValue[] = [];
    for (let i = 0; i < length; i++) {
      if (!Object.prototype.hasOwnProperty.call(value, i))
        throw invalid(`op ${index}: arrays must not have holes`);
      out.push(validateJson(value[i], index, budget, depth + 1));
    }
    return out;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    // fromEntries defines own properties: a "__proto__" key is kept as data, never a prototype.
    const keys = Object.keys(value);
    spend(budget, keys.length, index);
    return Object.fromEntries(
      keys.map((k) => {
        const key = jsonString(k, index, budget);
        return [key, validateJson((value as Record<string, unknown>)[k], index, budget, depth + 1)];
      }),
    );
  }
  throw invalid(`op ${index}: value is not JSON (${describe(value)})`);
}

function jsonString(text: string, index: number, budget: { left: number }): string {
  spend(budget, text.length, index);
  // Stored as UTF-8 JSON text: a lone surrogate would not survive as the same string.
  if (!text.isWellFormed())
    throw invalid(`op ${index}: strings must be well-formed UTF-16 (no lone surrogates)`);
  return text;
}

function spend(budget: { left: number }, bytes: number, index: number): void {
  budget.left -= bytes;
  if (budget.left < 0)
    throw new PaxosStoreError(
      ErrorCodes.TOO_LARGE,
      `op ${index}: the value passes the document limit (${DOC_BYTES_MAX} bytes)`,
    );
}

function validateOp(op: unknown, index: number, budget: { left: number }): DocOp {
  if (typeof op !== 'object' || op === null)
    throw invalid(`op ${index} must be an object, got ${describe(op)}`);
  const o = op as Record<string, unknown>;
  const kind = o.op;
  const path = validatePath(o.path, index);
  switch (kind) {
    case 'set':
      return { op: 'set', path, value: validateJson(o.value, index, budget) };
    case 'append':
      return { op: 'append', path, value: validateJson(o.value, index, budget) };
    case 'incr':
      return { op: 'incr', path, by: validateCount(`op ${index} by`, o.by ?? 1) };
    case 'remove':
      return { op: 'remove', path };
    default:
      throw invalid(`op ${index}: unknown op ${describe(kind)}`);
  }
}

/** The ops of an update, read once each (a sparse array's hole is refused, not skipped). */
function validateOps(ops: unknown): DocOp[] {
  if (!Array.isArray(ops)) throw invalid(`update takes an array of ops, got ${describe(ops)}`);
  const length = ops.length;
  if (length === 0 || length > DOC_UPDATE_OPS_MAX)
    throw invalid(`update takes 1..${DOC_UPDATE_OPS_MAX} ops, got ${length}`);
  const budget = { left: DOC_BYTES_MAX };
  const out: DocOp[] = [];
  for (let i = 0; i < length; i++) out.push(validateOp(ops[i], i, budget));
  assert(
    out.length === length && budget.left >= 0,
    () => `validateOps kept ${out.length} of ${length} ops, budget ${budget.left}`,
  );
  return out;
}

export class Doc {
  private readonly channel: ModelChannel;
  private readonly key: string;

  constructor(
    readonly name: string,
    backend: RequestBackend,
    replica: number | undefined,
  ) {
    this.key = objectKey(validateKey(name, 'document name'));
    this.channel = new ModelChannel(backend, replica, ModelTag.doc);
  }

  /** Applies every op or none. Resolves with the new version and each incr's new value. */
  async update(
    ops: readonly DocOp[],
    options?: DocUpdateOptions & WriteOptions,
  ): Promise<{ version: number; values: number[] }> {
    const requestId = validateWriteOptions(options);
    const { valid, ifVersion } = checked('doc.update', () => {
      const v = validateOps(ops);
      if (options !== undefined && (typeof options !== 'object' || options === null))
        throw invalid(`options must be an object, got ${describe(options)}`);
      const raw = options === undefined ? undefined : field(options, 'ifVersion');
      const expected = raw === undefined ? undefined : validateCount('ifVersion', raw);
      if (expected !== undefined && expected < 0) throw invalid('ifVersion must be >= 0');
      return { valid: v, ifVersion: expected };
    });
    const op = encodeDocUpdate({ ops: valid, expectedVersion: ifVersion });
    // An update whose own bytes pass the document limit can never apply: refuse it before it
    // is replicated (the state machine would refuse it too, after a round trip).
    if (op.length > DOC_BYTES_MAX) {
      throw new PaxosStoreError(
        ErrorCodes.TOO_LARGE,
        `${this.name}: an update of ${op.length} bytes passes the document limit`,
      );
    }
    const { body, version } = await this.channel.write(this.key, op, this.name, requestId);
    const r = decodeDocResult('update', body);
    switch (r.status) {
      case DocStatus.ok:
        return { version, values: r.values };
      case DocStatus.versionConflict:
        throw new PaxosStoreError(
          ErrorCodes.VERSION_CONFLICT,
          `${this.name}: version is ${r.version}`,
        );
      case DocStatus.tooLarge:
        throw new PaxosStoreError(
          ErrorCodes.TOO_LARGE,
          `${this.name}: the document would pass its size limit`,
        );
      case DocStatus.typeMismatch:
        throw new PaxosStoreError(
          ErrorCodes.WRONG_TYPE,
          `${this.name}: op ${r.failedOp} does not fit the document`,
        );
      default:
        throw invalid(`${this.name}: op ${r.failedOp} is malformed`);
    }
  }

  /** The value at `path` (the whole document without one), or undefined. */
  async get(path?: string, options?: ReadOptions): Promise<JsonValue | undefined> {
    const consistency = checked('doc.get', () => {
      if (path !== undefined && path !== '') validatePath(path, 0);
      return validateConsistency(options);
    });
    const bytes = await this.channel.read(
      this.key,
      encodeDocQuery({ path }),
      consistency,
      this.name,
    );
    const r = decodeDocResult('get', bytes);
    if (r.status !== DocStatus.ok) throw invalid(`${this.name}: bad path`);
    return r.found ? r.value : undefined;
  }
}
