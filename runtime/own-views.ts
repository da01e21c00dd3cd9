/**
 * Byte views that are about to cross a thread by structured clone get buffers of their own.
 *
 * Structured clone copies a typed array's whole ArrayBuffer, not just the view: a 100-byte data
 * state carved from a 4 KiB kept slab (kept-bytes.ts) or a 64 KiB transient one would cross as
 * its whole slab, and an answer holding a thousand of them (a backup page, a repair's chosen
 * states) as megabytes. `ownViews` returns the value with every such view replaced by an exact
 * copy. Containers (arrays, plain objects, Maps) are rebuilt only along a path to a replaced
 * view: the rest of the value, and the value handed in, are left as they are (they may be a
 * core's live records).
 *
 * Used where an actor's control-plane answer leaves its worker (worker-runtime.ts `inspect`).
 */
import { assert } from './assert';

/** Answers are plain data a few levels deep; deeper nesting is a bug, not data. */
export const OWN_VIEWS_DEPTH_MAX = 32;

const copyOfView = Uint8Array.prototype.slice;

/** `value`, with every byte view that does not span its whole buffer copied into its own. */
export function ownViews<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > OWN_VIEWS_DEPTH_MAX) assert(false, `an answer nested past ${OWN_VIEWS_DEPTH_MAX}`);
  if (value instanceof Uint8Array) {
    // Uint8Array's slice (a copy), also for a Buffer, whose own slice is a view.
    return value.byteLength === value.buffer.byteLength ? value : copyOfView.call(value);
  }
  if (Array.isArray(value)) return walkArray(value, depth);
  if (value instanceof Map) return walkMap(value, depth);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return walkObject(value as Record<string, unknown>, depth);
}

function walkArray(items: unknown[], depth: number): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    const next = walk(item, depth + 1);
    if (next !== item && out === undefined) out = items.slice();
    if (out !== undefined) out[i] = next;
  }
  return out ?? items;
}

function walkMap(map: Map<unknown, unknown>, depth: number): Map<unknown, unknown> {
  let changed = false;
  const entries: [unknown, unknown][] = [];
  for (const [k, v] of map) {
    const next = walk(v, depth + 1);
    if (next !== v) changed = true;
    entries.push([k, next]);
  }
  return changed ? new Map(entries) : map;
}

function walkObject(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const field = obj[key];
    const next = walk(field, depth + 1);
    if (next !== field) {
      out ??= { ...obj };
      out[key] = next;
    }
  }
  return out ?? obj;
}
