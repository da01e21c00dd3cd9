/**
 * The account's id index: the ids of its kept journal entries as sorted fixed-size slots
 * [hash u32][pos f64], kept inside the account's data (so every replica holds the same bytes)
 * and searched in place by binary search: a write looks an id up in O(log n) without decoding
 * or scanning the journal. The index covers the base run only (the entries as of the last
 * merge); a merge builds the next one from the kept slots and the change run's (docs/decisions.md,
 * "The account journal: a deterministic opId floor" and "The account journal in sections").
 *
 * `pos` is the entry's absolute position: its byte offset counted from the account's first
 * entry ever, so dropping entries from the front of the journal never rewrites a slot (the
 * data keeps the absolute position of its first kept entry, `base`; offset = pos - base).
 * Slots sort by (hash, pos); for equal hashes the newest entry is last. Hashes may collide: a
 * lookup confirms each candidate against the entry's own id bytes.
 */
import { assert } from '../../runtime/assert';
import { ENTRY_FIXED, EntryKind } from './account-journal';
import type { JournalView } from './account-journal';

export const SLOT_BYTES = 12;

/** Id classes: add/subtract opIds, and finished (committed / rolled back) txIds. */
export const IdClass = { op: 1, finished: 2 } as const;
export type IdClass = (typeof IdClass)[keyof typeof IdClass];

/** 32-bit FNV-1a over the class byte and the id bytes: cheap, well spread for short ids. */
export function idHash(idClass: IdClass, id: Uint8Array): number {
  let h = (0x811c9dc5 ^ idClass) >>> 0;
  h = Math.imul(h, 0x01000193) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h = (h ^ (id[i] as number)) >>> 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface Slot {
  readonly hash: number;
  readonly pos: number;
}

const compareSlot = (h1: number, p1: number, h2: number, p2: number): number =>
  h1 !== h2 ? h1 - h2 : p1 - p2;

/** The slots in place (a view into the account's data). */
export class IdIndexView {
  private readonly view: DataView;
  readonly count: number;

  constructor(readonly bytes: Uint8Array) {
    assert(bytes.length % SLOT_BYTES === 0, () => `id index of ${bytes.length} bytes`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.count = bytes.length / SLOT_BYTES;
  }

  hash(i: number): number {
    return this.view.getUint32(i * SLOT_BYTES, true);
  }

  pos(i: number): number {
    return this.view.getFloat64(i * SLOT_BYTES + 4, true);
  }

  /** The first slot not below (hash, pos): at most log2(count) + 1 steps. */
  lowerBound(hash: number, pos: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSlot(this.hash(mid), this.pos(mid), hash, pos) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The slot index holding exactly (hash, pos); asserts it is there. */
  indexOf(slot: Slot): number {
    const i = this.lowerBound(slot.hash, slot.pos);
    assert(
      i < this.count && this.hash(i) === slot.hash && this.pos(i) === slot.pos,
      () => `id index lacks slot (${slot.hash}, ${slot.pos})`,
    );
    return i;
  }

  /**
   * The positions of the entries whose id hashes to `hash`, newest first. The run of equal
   * hashes is a handful at most (a 32-bit hash over at most ACCOUNT_RETAIN_MAX ids).
   */
  candidates(hash: number): number[] {
    const out: number[] = [];
    for (let i = this.lowerBound(hash, -1); i < this.count && this.hash(i) === hash; i++)
      out.unshift(this.pos(i));
    return out;
  }
}

function writeSlot(view: DataView, at: number, slot: Slot): void {
  view.setUint32(at, slot.hash, true);
  view.setFloat64(at + 4, slot.pos, true);
}

/** The canonical index of a list of slots (building from scratch: tests, legacy data). */
export function indexOf(slots: readonly Slot[]): Uint8Array {
  const sorted = [...slots].sort((a, b) => compareSlot(a.hash, a.pos, b.hash, b.pos));
  const out = new Uint8Array(sorted.length * SLOT_BYTES);
  const view = new DataView(out.buffer);
  sorted.forEach((s, i) => writeSlot(view, i * SLOT_BYTES, s));
  return out;
}

/** Kinds whose ids the index holds: add/subtract opIds and finished txIds (not prepares). */
export function idClassOfKind(kind: number): IdClass | undefined {
  if (kind === EntryKind.add || kind === EntryKind.subtract) return IdClass.op;
  if (kind === EntryKind.commit || kind === EntryKind.rollback) return IdClass.finished;
  return undefined;
}

/** The index slot of the entry at `at` (absolute position `pos`), or none for a prepare. */
export function slotOf(journal: JournalView, at: number, pos: number): Slot | undefined {
  const idClass = idClassOfKind(journal.kind(at));
  if (idClass === undefined) return undefined;
  return { hash: idHash(idClass, journal.bytes.subarray(at + ENTRY_FIXED, journal.end(at))), pos };
}

/** The index of the journal's entries before `end`, built by a walk (layout 1, checks, tests). */
export function buildIndex(journal: JournalView, base: number, end: number): Uint8Array {
  const slots: Slot[] = [];
  // Each entry is at least ENTRY_FIXED bytes: at most end / ENTRY_FIXED steps.
  for (let at = 0; at < end; at = journal.end(at)) {
    const slot = slotOf(journal, at, base + at);
    if (slot !== undefined) slots.push(slot);
  }
  return indexOf(slots);
}

/**
 * The index after a merge: the old slots whose entries are kept (pos >= keptFrom), merged
 * with `added` (the change run's slots, in any order). One pass over the old slots, which are
 * already sorted, and a sort of the added ones only: O(n + c log c).
 */
export function keptIndex(old: IdIndexView, keptFrom: number, added: readonly Slot[]): Uint8Array {
  const adds = [...added].sort((a, b) => compareSlot(a.hash, a.pos, b.hash, b.pos));
  const out = new Uint8Array((old.count + adds.length) * SLOT_BYTES);
  const view = new DataView(out.buffer);
  let written = 0;
  let j = 0;
  for (let i = 0; i < old.count; i++) {
    const hash = old.hash(i);
    const pos = old.pos(i);
    if (pos < keptFrom) continue;
    // j only moves forward: bounded by adds.length overall.
    for (; j < adds.length; j++) {
      const a = adds[j] as Slot;
      if (compareSlot(a.hash, a.pos, hash, pos) > 0) break;
      writeSlot(view, written, a);
      written += SLOT_BYTES;
    }
    out.set(old.bytes.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES), written);
    written += SLOT_BYTES;
  }
  for (; j < adds.length; j++) {
    writeSlot(view, written, adds[j] as Slot);
    written += SLOT_BYTES;
  }
  assert(written <= out.length, () => `kept index wrote ${written} of ${out.length} bytes`);
  return out.subarray(0, written);
}
