/**
 * What a model derives from a big state by walking its bytes (a queue's head and count, a
 * set's entry offsets and pending members), cached per append buffer (append-bytes.ts) so that
 * an op on a big state walks only the bytes appended since the previous op: O(bytes) once per
 * buffer, then O(tail) per op. Shared by the queue's and the set's log layouts.
 *
 * A cache of a pure function, so replicas stay deterministic. It is valid because an append
 * buffer never rewrites bytes a view covers: a view at least as long as the cached one, from
 * the same start, holds the cached one's bytes as its prefix, and only its tail is walked. A
 * shorter view (an older state applied again) or a view from another start walks afresh and
 * replaces the entry. A state that is not an append view is walked whole and not cached.
 *
 * Also the little-endian u32 the models' layouts frame their entries with.
 */
import { assert } from '../runtime/assert';
import { isAppendView } from './append-bytes';

/** A derived shape: `length` is the number of the state's bytes it describes. */
export interface WalkedShape {
  length: number;
}

export interface ShapeWalk<S extends WalkedShape> {
  /** A shape of `data`'s first bytes (none, or a prefix the model parses at once). */
  readonly start: (data: Uint8Array) => S;
  /** Extends `shape` over data[shape.length, data.length); sets shape.length to data.length. */
  readonly extend: (data: Uint8Array, shape: S) => void;
}

interface Cached<S> {
  readonly start: number;
  readonly shape: S;
}

export class AppendShapes<S extends WalkedShape> {
  private readonly byBuffer = new WeakMap<ArrayBuffer, Cached<S>>();

  constructor(
    private readonly what: string,
    private readonly walk: ShapeWalk<S>,
  ) {}

  /**
   * The shape of `data`. For an append view it is the cache's own object (shared by the
   * longer views of its buffer): callers only read it, and only before the next call.
   */
  of(data: Uint8Array): S {
    let shape: S;
    if (!isAppendView(data)) {
      shape = this.walk.start(data);
    } else {
      const buffer = data.buffer as ArrayBuffer;
      const hit = this.byBuffer.get(buffer);
      if (hit !== undefined && hit.start === data.byteOffset && hit.shape.length <= data.length) {
        shape = hit.shape;
      } else {
        shape = this.walk.start(data);
        this.byBuffer.set(buffer, { start: data.byteOffset, shape });
      }
    }
    this.walk.extend(data, shape);
    assert(
      shape.length === data.length,
      () => `${this.what} shape of ${shape.length} bytes, data ${data.length}`,
    );
    return shape;
  }
}

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) |
      ((bytes[at + 1] as number) << 8) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 24)) >>>
    0
  );
}

export function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = (n >>> 24) & 0xff;
}
