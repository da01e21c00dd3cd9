/**
 * Consistent hashing of keys to Sets. Each Set puts `vnodes` points on a 32-bit ring, at
 * ringHash(`${setId}#${i}`); a key belongs to the Set owning the first point at or after
 * ringHash(key), wrapping past the top. Adding a Set moves only the keys that now fall on the
 * new Set's points (about 1/(sets+1) of them); removing one moves only its own keys.
 *
 * Why SHA-1 and not the store's FNV-1a (actors/paxos/core/home.ts): inside a Set the store picks
 * a key's group as `hashKey(key) % groups` and its home replica from FNV-1a with another seed.
 * If the Set were chosen from the same FNV family, the keys of one Set could crowd into some
 * groups (FNV-1a's low bits with different seeds are linked: bit 0 of two seeds' hashes always
 * differs by a constant). The first 32 bits of SHA-1 are unrelated to FNV-1a, so set choice
 * and group choice are independent; node:crypto's SHA-1 costs about a microsecond per key,
 * small beside a network round trip. SHA-1 is used for spread, not for security.
 *
 * A node asks the ring for every request it serves (does its Set own the key?), so the hash
 * is on the server's request path (issue 10, "Over TCP"): node:crypto's one-shot `hash` (no
 * Hash object) costs ~0.9 µs a key against ~1.6 for createHash/update/digest on this machine,
 * with the same bytes, and a ring of one Set answers without hashing at all.
 */
import { hash as oneShotHash } from 'node:crypto';
import { assert, VERIFY } from '../runtime/assert';

export const RING_VNODES_MAX = 1024;
export const RING_SETS_MAX = 1024;

/** The ring position of a text: the first 4 bytes of SHA-1 over its UTF-8, big-endian. */
export function ringHash(text: string): number {
  return oneShotHash('sha1', text, 'buffer').readUInt32BE(0);
}

export type RingHash = (text: string) => number;

export class HashRing {
  /** Ring points, ascending. */
  private readonly points: Uint32Array;
  /** owners[i]: index into setIds of the Set owning points[i]. */
  private readonly owners: Uint16Array;

  /**
   * `hash` is a parameter only so tests can show that their checks catch a bad hash; the
   * cluster always uses ringHash.
   */
  constructor(
    readonly setIds: readonly string[],
    readonly vnodes: number,
    private readonly hash: RingHash = ringHash,
  ) {
    assert(
      setIds.length >= 1 && setIds.length <= RING_SETS_MAX,
      `ring sets ${setIds.length} not in 1..${RING_SETS_MAX}`,
    );
    assert(
      Number.isInteger(vnodes) && vnodes >= 1 && vnodes <= RING_VNODES_MAX,
      `ring vnodes ${vnodes} not in 1..${RING_VNODES_MAX}`,
    );
    assert(new Set(setIds).size === setIds.length, 'ring set ids are unique');
    const entries: { point: number; id: string; owner: number }[] = [];
    setIds.forEach((id, owner) => {
      for (let i = 0; i < vnodes; i++) entries.push({ point: hash(`${id}#${i}`) >>> 0, id, owner });
    });
    // Two Sets may hash to one point; ordering ties by Set id keeps the ring independent of
    // the order the Sets are listed in.
    entries.sort((a, b) => a.point - b.point || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.points = Uint32Array.from(entries, (e) => e.point);
    this.owners = Uint16Array.from(entries, (e) => e.owner);
    assert(this.points.length === setIds.length * vnodes, 'one point per set per vnode');
    if (VERIFY) this.checkSorted();
  }

  /** Index (into setIds) of the Set owning `key`; one Set owns every key (no hash needed). */
  setIndexOf(key: string): number {
    if (this.setIds.length === 1) return 0;
    return this.ownerAt(this.hash(key) >>> 0);
  }

  setOf(key: string): string {
    const id = this.setIds[this.setIndexOf(key)];
    assert(id !== undefined, 'owner index is in range');
    return id;
  }

  /** The owner of the first point ≥ position (binary search), wrapping to the first point. */
  ownerAt(position: number): number {
    assert(
      Number.isInteger(position) && position >= 0 && position <= 0xffffffff,
      `ring position ${position} out of range`,
    );
    let lo = 0;
    let hi = this.points.length; // invariant: points[< lo] < position <= points[>= hi]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] ?? 0) < position) lo = mid + 1;
      else hi = mid;
    }
    const owner = this.owners[lo === this.points.length ? 0 : lo];
    assert(owner !== undefined && owner < this.setIds.length, `ring owner ${owner} out of range`);
    return owner;
  }

  private checkSorted(): void {
    for (let i = 1; i < this.points.length; i++) {
      assert(
        (this.points[i - 1] ?? 0) <= (this.points[i] ?? 0),
        `ring points out of order at ${i}`,
      );
    }
  }
}
