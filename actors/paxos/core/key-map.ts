/**
 * The core's map of held keys (key → KeyState), with a small direct-mapped cache of the keys
 * used last in front of it.
 *
 * Why the cache (docs/decisions.md "A cache of recent KeyStates in front of the key map"): one
 * write looks its key up ~7 times over the three replicas (the request, each accept and
 * accepted reply, each chosen notice), every time with a string freshly decoded from a payload.
 * `Map.get` then hashes that string and walks a hash table of every held key (tens of thousands:
 * a table far larger than the CPU caches) to compare it with the stored key — the largest
 * single cost of the data path after the collector in the profiles of issue 10 (`keyState`).
 * The keys of the writes in flight are few (a few hundred), so most lookups after a write's
 * first one find its KeyState in a slot of this cache: a hash over the key's last characters,
 * one array slot (the array stays in cache) and a comparison with the held key, which settles
 * it. A slot never answers for another key (the comparison is of the whole key) and never for
 * an evicted key (`delete` clears its slot), so the map stays the one truth.
 *
 * Iteration order is the Map's insertion order (the CLOCK sweep of key-cache.ts relies on it).
 */
import { assert } from '../../../runtime/assert';
import type { KeyState } from './key-state';

/** Slots of the cache (a power of two). */
export const RECENT_SLOTS = 1024;
/** Characters of a key the slot hash reads, from its end (where keys usually differ). */
const HASHED_CHARS_MAX = 12;

/** The cache slot of a key: FNV-1a over its last HASHED_CHARS_MAX characters and its length. */
export function slotOf(key: string): number {
  const end = key.length;
  const start = end > HASHED_CHARS_MAX ? end - HASHED_CHARS_MAX : 0;
  let h = 0x811c9dc5 ^ end;
  for (let i = start; i < end; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 15)) & (RECENT_SLOTS - 1);
}

export class KeyMap {
  private readonly map = new Map<string, KeyState>();
  private readonly recent: (KeyState | null)[] = new Array<KeyState | null>(RECENT_SLOTS).fill(
    null,
  );
  /** Lookups answered by a slot, and lookups that went to the map (stats). */
  hits = 0;
  misses = 0;

  get size(): number {
    return this.map.size;
  }

  /** The held KeyState of `key`, or undefined. */
  get(key: string): KeyState | undefined {
    const slot = slotOf(key);
    const cached = this.recent[slot];
    if (cached !== null && cached !== undefined && cached.key === key) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const ks = this.map.get(key);
    if (ks !== undefined) this.recent[slot] = ks;
    return ks;
  }

  /** Holds `ks` under its key (at the back of the iteration order). */
  set(ks: KeyState): void {
    this.map.set(ks.key, ks);
    this.recent[slotOf(ks.key)] = ks;
  }

  /** Forgets `key` (its slot too: a slot never answers for a key the map no longer holds). */
  delete(key: string): boolean {
    const slot = slotOf(key);
    if (this.recent[slot]?.key === key) this.recent[slot] = null;
    const had = this.map.delete(key);
    assert(this.recent[slot]?.key !== key, () => `slot ${slot} still holds ${key}`);
    return had;
  }

  /** Moves a held key to the back of the iteration order (CLOCK's second chance). */
  moveToBack(ks: KeyState): void {
    assert(this.map.get(ks.key) === ks, () => `${ks.key} is not held`);
    this.map.delete(ks.key);
    this.map.set(ks.key, ks);
  }

  values(): IterableIterator<KeyState> {
    return this.map.values();
  }
}
