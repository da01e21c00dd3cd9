/**
 * The account's raw journal: entries as bytes, read in place (the tail of the account's data,
 * and journal query results), never decoded into objects on a write. Layout of one entry:
 * [version f64][kind u8][amount f64][balanceAfter f64][id (u32 length + bytes)].
 */
import { assert } from '../../runtime/assert';
import type { ByteWriter } from '../../runtime/byte-codec';

const decoder = new TextDecoder();

export type AccountEntryKind = 'add' | 'subtract' | 'prepare' | 'commit' | 'rollback';
export const KIND_NAMES: readonly AccountEntryKind[] = [
  'add',
  'subtract',
  'prepare',
  'commit',
  'rollback',
];

/** Entry kinds, the same numbers as the op codes (one entry per applied op, of its kind). */
export const EntryKind = { add: 1, subtract: 2, prepare: 3, commit: 4, rollback: 5 } as const;

export interface AccountEntry {
  readonly version: number;
  readonly kind: AccountEntryKind;
  readonly amount: number;
  readonly id: string;
  readonly balanceAfter: number;
}

/** [version f64][kind u8][amount f64][balanceAfter f64][id length u32], then the id. */
export const ENTRY_FIXED = 29;

/** Reads entries of the raw journal layout (data tail and journal results) in place. */
export class JournalView {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** The end of the entry starting at `at`; asserts it lies within the bytes. */
  end(at: number): number {
    assert(
      at + ENTRY_FIXED <= this.bytes.length,
      () => `journal entry at ${at} past ${this.bytes.length}`,
    );
    const end = at + ENTRY_FIXED + this.view.getUint32(at + 25, true);
    assert(
      end <= this.bytes.length,
      () => `journal entry at ${at} ends at ${end}, past ${this.bytes.length}`,
    );
    return end;
  }

  version(at: number): number {
    return this.view.getFloat64(at, true);
  }

  kind(at: number): number {
    return this.bytes[at + 8] as number;
  }

  amount(at: number): number {
    return this.view.getFloat64(at + 9, true);
  }

  balanceAfter(at: number): number {
    return this.view.getFloat64(at + 17, true);
  }

  idEquals(at: number, id: Uint8Array): boolean {
    if (this.view.getUint32(at + 25, true) !== id.length) return false;
    const from = at + ENTRY_FIXED;
    // Back to front: ids made from a prefix and a counter ("order-000123") differ at the end.
    for (let i = id.length - 1; i >= 0; i--) if (this.bytes[from + i] !== id[i]) return false;
    return true;
  }

  entry(at: number): AccountEntry {
    const kind = KIND_NAMES[this.kind(at) - 1];
    assert(kind !== undefined, () => `journal entry kind ${this.kind(at)}`);
    const id = decoder.decode(this.bytes.subarray(at + ENTRY_FIXED, this.end(at)));
    return {
      version: this.version(at),
      kind,
      amount: this.amount(at),
      id,
      balanceAfter: this.balanceAfter(at),
    };
  }

  /** Every entry, oldest first. */
  entries(): AccountEntry[] {
    const out: AccountEntry[] = [];
    // Each entry is at least ENTRY_FIXED bytes, so this ends within length / ENTRY_FIXED steps.
    for (let at = 0; at < this.bytes.length; at = this.end(at)) out.push(this.entry(at));
    return out;
  }
}

export function writeEntry(
  w: ByteWriter,
  version: number,
  kind: number,
  amount: number,
  id: Uint8Array,
  balanceAfter: number,
): void {
  w.f64(version);
  w.u8(kind);
  w.f64(amount);
  w.f64(balanceAfter);
  w.bytes(id);
}
