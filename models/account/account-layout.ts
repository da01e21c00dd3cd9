/**
 * The account's stored layouts: the header (bounds, balance, floor, window, positions), the
 * pending list and the index slots, read and written. What a header means is in account.ts
 * ("Data layout") and docs/decisions.md ("The account journal in sections").
 *
 * Layout 3 (written by every write since; canonical after a merge):
 *   [marker3 8 bytes][min f64][max f64][balance f64][droppedThrough f64][window u32]
 *   [base f64][baseBytes f64][baseVersion f64][pendingCount u32]
 *   pendingCount x [txId (u32 length + bytes)][delta f64][version f64]
 *   [slotCount u32] slotCount x [hash u32][pos f64], sorted (account-index.ts)
 *   journal entries, oldest first, to the end (account-journal.ts)
 * balance, droppedThrough and the pending list are as of the last merge, when the journal's
 * first `baseBytes` (the base run, whose last entry has version `baseVersion`) were written
 * and indexed. The entries after them (the change run) were appended one per write since;
 * the current balance, floor and pending list are the header's plus the change run's
 * (account-changes.ts). Layout 2 is layout 3 without baseBytes and baseVersion (the whole
 * journal indexed, no change run); layout 1 has no marker, window, base or slots.
 */
import { assert } from '../../runtime/assert';
import { ByteReader } from '../../runtime/byte-codec';
import type { ByteWriter } from '../../runtime/byte-codec';
import { SLOT_BYTES } from './account-index';

export const AccountLayout = { one: 1, two: 2, three: 3 } as const;
export type AccountLayout = (typeof AccountLayout)[keyof typeof AccountLayout];

/**
 * Layouts 2 and 3 start with 8 bytes that read as a NaN f64 ("ACCT2" / "ACCT3"), where layout
 * 1 starts with `min`, a safe integer, so no two layouts mix up.
 */
const MARKER_2 = Uint8Array.of(0x41, 0x43, 0x43, 0x54, 0x32, 0x00, 0xf8, 0x7f);
const MARKER_3 = Uint8Array.of(0x41, 0x43, 0x43, 0x54, 0x33, 0x00, 0xf8, 0x7f);

function startsWith(data: Uint8Array, marker: Uint8Array): boolean {
  if (data.length < marker.length) return false;
  for (let i = 0; i < marker.length; i++) if (data[i] !== marker[i]) return false;
  return true;
}

export function layoutOf(data: Uint8Array): AccountLayout {
  if (startsWith(data, MARKER_3)) return AccountLayout.three;
  return startsWith(data, MARKER_2) ? AccountLayout.two : AccountLayout.one;
}

export interface Pending {
  readonly id: Uint8Array;
  readonly delta: number;
  readonly version: number;
}

/** The header fields of every layout (layouts 1 and 2 fill the missing ones, see readHeader). */
export interface Header {
  readonly min: number;
  readonly max: number;
  readonly balance: number;
  readonly droppedThrough: number;
  /** The window: at most this many kept entries. */
  readonly retain: number;
  /** The absolute position of the journal's first entry (account-index.ts). */
  readonly base: number;
  /** The bytes of the base run (indexed); undefined before layout 3: the whole journal. */
  readonly baseBytes: number | undefined;
  /** The version of the base run's last entry; undefined before layout 3. */
  readonly baseVersion: number | undefined;
}

export interface StoredParts {
  readonly layout: AccountLayout;
  readonly header: Header;
  readonly pending: readonly Pending[];
  /** The slots (empty for layout 1, which has none). */
  readonly slots: Uint8Array;
  /** Where the journal starts in the data. */
  readonly journalStart: number;
}

/** Splits stored data into its parts; layout 1 reads with `defaultRetain` as its window. */
export function readParts(data: Uint8Array, defaultRetain: number): StoredParts {
  assert(data.length > 0, 'an account is never stored as empty bytes');
  const layout = layoutOf(data);
  const marked = layout !== AccountLayout.one;
  const r = new ByteReader(marked ? data.subarray(MARKER_3.length) : data);
  const min = r.f64();
  const max = r.f64();
  const balance = r.f64();
  const droppedThrough = r.f64();
  const retain = marked ? r.u32() : defaultRetain;
  const base = marked ? r.f64() : 0;
  const three = layout === AccountLayout.three;
  const baseBytes = three ? r.f64() : undefined;
  const baseVersion = three ? r.f64() : undefined;
  const count = r.u32();
  const pending: Pending[] = [];
  // Bounded by the data's length: each pending tx is at least 20 bytes.
  for (let i = 0; i < count; i++) pending.push({ id: r.bytes(), delta: r.f64(), version: r.f64() });
  const slotCount = marked ? r.u32() : 0;
  const at = data.length - r.remaining;
  const journalStart = at + slotCount * SLOT_BYTES;
  assert(journalStart <= data.length, () => `account index of ${slotCount} slots`);
  assert(
    baseBytes === undefined || journalStart + baseBytes <= data.length,
    () => `account base run of ${baseBytes} bytes past ${data.length}`,
  );
  const header = { min, max, balance, droppedThrough, retain, base, baseBytes, baseVersion };
  return { layout, header, pending, slots: data.subarray(at, journalStart), journalStart };
}

/** Layout 3 up to the index slots: the marker, the header, the pending list, the slot count. */
export function writeHeader(
  w: ByteWriter,
  h: Header,
  pending: readonly Pending[],
  indexBytes: Uint8Array,
): void {
  assert(h.baseBytes !== undefined && h.baseVersion !== undefined, 'a layout 3 header');
  assert(indexBytes.length % SLOT_BYTES === 0, 'id index bytes');
  w.raw(MARKER_3);
  w.f64(h.min);
  w.f64(h.max);
  w.f64(h.balance);
  w.f64(h.droppedThrough);
  w.u32(h.retain);
  w.f64(h.base);
  w.f64(h.baseBytes);
  w.f64(h.baseVersion);
  w.u32(pending.length);
  for (const p of pending) {
    w.bytes(p.id);
    w.f64(p.delta);
    w.f64(p.version);
  }
  w.u32(indexBytes.length / SLOT_BYTES);
}
