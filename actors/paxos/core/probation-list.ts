/**
 * The key cache's probation segment (key-cache.ts): a FIFO of KeyStates linked through fields
 * of the KeyStates themselves (`probationPrev`, `probationNext`, `inProbation`).
 *
 * Why not a `Set<KeyState>` (what it was): every new key entered it, and a Set of tens of
 * thousands of keys is one more big hash table per core, grown by copying, probed on every add
 * and delete with an identity hash (docs/decisions.md "The probation segment as a list in the
 * KeyState"). Linked through the KeyState, an add or a removal writes a few fields of objects
 * the caller already holds, and the segment allocates nothing.
 */
import { assert } from '../../../runtime/assert';
import type { KeyState } from './key-state';

export class ProbationList {
  private head: KeyState | null = null;
  private tail: KeyState | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(ks: KeyState): boolean {
    return ks.inProbation;
  }

  /** Appends `ks` at the back (the youngest end). A key is in the list at most once. */
  add(ks: KeyState): void {
    if (ks.inProbation) assert(false, `${ks.key} is in the probation segment already`);
    const tail = this.tail;
    ks.probationPrev = tail;
    ks.probationNext = null;
    if (tail === null) this.head = ks;
    else tail.probationNext = ks;
    this.tail = ks;
    ks.inProbation = true;
    this.count += 1;
  }

  /** Unlinks `ks`; false when it was not in the list. */
  delete(ks: KeyState): boolean {
    if (!ks.inProbation) return false;
    const prev = ks.probationPrev;
    const next = ks.probationNext;
    if (prev === null) this.head = next;
    else prev.probationNext = next;
    if (next === null) this.tail = prev;
    else next.probationPrev = prev;
    ks.probationPrev = null;
    ks.probationNext = null;
    ks.inProbation = false;
    this.count -= 1;
    assert(this.count >= 0, () => `probation segment of ${this.count} keys`);
    assert(
      (this.count === 0) === (this.head === null && this.tail === null),
      () => `probation segment of ${this.count} keys with head ${this.head?.key}`,
    );
    return true;
  }

  /** Removes and returns the oldest key (undefined when empty). */
  shift(): KeyState | undefined {
    const ks = this.head;
    if (ks === null) return undefined;
    this.delete(ks);
    return ks;
  }
}
