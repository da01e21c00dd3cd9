/**
 * The public document API (issue #4): a JSON tree under one name. One `update` is a list of
 * ops applied atomically (all or none), optionally only at an expected version.
 */
import { DOC_BYTES_MAX, DOC_UPDATE_OPS_MAX, DocStatus, decodeDocResult, encodeDocQuery, encodeDocUpdate, isValidDocPath } from '../../engines/models/doc';
import type { DocOp, JsonValue } from '../../engines/models/doc';
import { ModelTag } from '../../engines/models/model-tags';
import { ErrorCodes, PaxosStoreError, invalid } from './errors';
import type { ReadOptions } from './model-client';
import { ModelChannel, objectKey, validateConsistency, validateCount, validateKey } from './model-client';
import type { StoreBackend } from './model-client';

export type { DocOp, JsonValue } from '../../engines/models/doc';

export interface DocUpdateOptions {
  /** Apply only if the document is at this version (0: only if it does not exist yet). */
  ifVersion?: number;
}

function validatePath(path: unknown, index: number): string {
  if (typeof path !== 'string' || !isValidDocPath(path)) throw invalid(`op ${index}: invalid path ${JSON.stringify(path)}`);
  return path;
}

/** A JSON value: plain objects, arrays, strings, finite numbers, booleans, null. */
function validateJson(value: unknown, index: number, depth = 0): JsonValue {
  if (depth > 64) throw invalid(`op ${index}: value nested deeper than 64`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`op ${index}: numbers must be finite`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => validateJson(v, index, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    // fromEntries defines own properties: a "__proto__" key is kept as data, never a prototype.
    const entries = Object.entries(value as Record<string, unknown>);
    return Object.fromEntries(entries.map(([k, v]) => [k, validateJson(v, index, depth + 1)]));
  }
  throw invalid(`op ${index}: value is not JSON (${typeof value})`);
}

function validateOp(op: unknown, index: number): DocOp {
  if (typeof op !== 'object' || op === null) throw invalid(`op ${index} must be an object`);
  const o = op as Record<string, unknown>;
  const path = validatePath(o.path, index);
  switch (o.op) {
    case 'set': return { op: 'set', path, value: validateJson(o.value, index) };
    case 'append': return { op: 'append', path, value: validateJson(o.value, index) };
    case 'incr': return { op: 'incr', path, by: validateCount(`op ${index} by`, o.by ?? 1) };
    case 'remove': return { op: 'remove', path };
    default: throw invalid(`op ${index}: unknown op ${JSON.stringify(o.op)}`);
  }
}

export class Doc {
  private readonly channel: ModelChannel;
  private readonly key: string;

  constructor(
    readonly name: string,
    backend: StoreBackend,
    replica: number | undefined,
  ) {
    this.key = objectKey(validateKey(name, 'document name'));
    this.channel = new ModelChannel(backend, replica, ModelTag.doc);
  }

  /** Applies every op or none. Resolves with the new version and each incr's new value. */
  async update(ops: readonly DocOp[], options?: DocUpdateOptions): Promise<{ version: number; values: number[] }> {
    if (!Array.isArray(ops) || ops.length === 0 || ops.length > DOC_UPDATE_OPS_MAX) {
      throw invalid(`update takes 1..${DOC_UPDATE_OPS_MAX} ops`);
    }
    const valid = ops.map((op, i) => validateOp(op, i));
    const ifVersion = options?.ifVersion === undefined ? undefined : validateCount('ifVersion', options.ifVersion);
    if (ifVersion !== undefined && ifVersion < 0) throw invalid('ifVersion must be >= 0');
    const op = encodeDocUpdate({ ops: valid, expectedVersion: ifVersion });
    // An update whose own bytes pass the document limit can never apply: refuse it before it
    // is replicated (the state machine would refuse it too, after a round trip).
    if (op.length > DOC_BYTES_MAX) {
      throw new PaxosStoreError(ErrorCodes.TOO_LARGE, `${this.name}: an update of ${op.length} bytes passes the document limit`);
    }
    const { body, version } = await this.channel.write(this.key, op, this.name);
    const r = decodeDocResult('update', body);
    switch (r.status) {
      case DocStatus.ok: return { version, values: r.values };
      case DocStatus.versionConflict: throw new PaxosStoreError(ErrorCodes.VERSION_CONFLICT, `${this.name}: version is ${r.version}`);
      case DocStatus.tooLarge: throw new PaxosStoreError(ErrorCodes.TOO_LARGE, `${this.name}: the document would pass its size limit`);
      case DocStatus.typeMismatch: throw new PaxosStoreError(ErrorCodes.WRONG_TYPE, `${this.name}: op ${r.failedOp} does not fit the document`);
      default: throw invalid(`${this.name}: op ${r.failedOp} is malformed`);
    }
  }

  /** The value at `path` (the whole document without one), or undefined. */
  async get(path?: string, options?: ReadOptions): Promise<JsonValue | undefined> {
    if (path !== undefined && path !== '') validatePath(path, 0);
    const bytes = await this.channel.read(this.key, encodeDocQuery({ path }), validateConsistency(options), this.name);
    const r = decodeDocResult('get', bytes);
    if (r.status !== DocStatus.ok) throw invalid(`${this.name}: bad path`);
    return r.found ? r.value : undefined;
  }
}
