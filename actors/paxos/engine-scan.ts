/**
 * Engine scans (decision 13): a page of one group actor's *local* engine keys in a range, for
 * big-table scans and index lookups. A scan is not a Paxos operation: it reads what this
 * replica has on disk, and the client makes it linearizable per row (it lists from a majority
 * of replicas and reads every candidate row through Paxos).
 *
 *   query   [mode u8][withData u8][reverse u8][limit u32][examineMax u32][gte str][lt str]
 *   result  [count u32]([key str][hasData u8][data bytes]?)*[more u8][resume str][amnesic u8]
 *
 * Mode `records`: the range holds Paxos key records; a record is listed when it holds data or
 * an accepted op (a write in flight: a majority lists every acknowledged write, see
 * decision 13), with its applied data when `withData`. Mode `keys`: the range holds derived
 * entries, listed as keys. `resume` is the last key examined: the next page starts after it.
 *
 * An amnesic incarnation (restarted without its state, DESIGN.md §4) answers every scan with an
 * empty page marked `amnesic`: keys it forgot are missing from its disk until each recovers on
 * access, so its listing cannot count toward a majority.
 */
import { assert } from '../../runtime/assert';
import { ByteReader, ByteWriter } from '../../runtime/byte-codec';
import { openRecord } from '../../engines/record-codec';
import { isEngineError } from '../../engines/errors';
import { decodeRecord } from './codec';
import type { KeyRecord } from './core/types';

function decodeListed(value: Uint8Array): KeyRecord | 'corrupted' {
  try {
    return decodeRecord(openRecord(value));
  } catch (err) {
    if (isEngineError(err, 'CORRUPTED')) return 'corrupted';
    throw err;
  }
}

export const ScanMode = { records: 1, keys: 2 } as const;
export type ScanMode = (typeof ScanMode)[keyof typeof ScanMode];

/** Most keys one page lists, and most entries it examines (filtered records count). */
export const SCAN_PAGE_KEYS_MAX = 4096;
export const SCAN_EXAMINE_MAX = 16384;

export interface ScanQuery {
  readonly mode: ScanMode;
  readonly withData: boolean;
  readonly reverse: boolean;
  readonly limit: number;
  readonly examineMax: number;
  readonly gte: string;
  readonly lt: string;
}

/** A client's scan request as the actor receives it (not a Paxos request: no key). */
export interface ScanRequest {
  readonly kind: 'scan';
  readonly token: number;
  readonly key: string;
  readonly query: Uint8Array;
}

export interface ScanEntry {
  readonly key: string;
  /** The applied data (tagged) when the query asked for it and the record holds any. */
  readonly data: Uint8Array | null;
}

export interface ScanPage {
  readonly entries: ScanEntry[];
  /** False when the range is exhausted. */
  readonly more: boolean;
  /** The last key examined (empty when none was). */
  readonly resume: string;
  /** The replica restarted without its state: its listing is not trustworthy (empty). */
  readonly amnesic: boolean;
}

export const AMNESIC_PAGE: ScanPage = Object.freeze({
  entries: [],
  more: false,
  resume: '',
  amnesic: true,
});

export function encodeScanQuery(q: ScanQuery): Uint8Array {
  assert(q.limit >= 1 && q.limit <= SCAN_PAGE_KEYS_MAX, () => `scan limit ${q.limit}`);
  assert(
    q.examineMax >= q.limit && q.examineMax <= SCAN_EXAMINE_MAX,
    () => `scan examineMax ${q.examineMax}`,
  );
  const w = new ByteWriter(64 + q.gte.length * 3 + q.lt.length * 3);
  w.u8(q.mode);
  w.u8(q.withData ? 1 : 0);
  w.u8(q.reverse ? 1 : 0);
  w.u32(q.limit);
  w.u32(q.examineMax);
  w.str(q.gte);
  w.str(q.lt);
  return w.finish();
}

export function decodeScanQuery(bytes: Uint8Array): ScanQuery {
  const r = new ByteReader(bytes);
  const mode = r.u8();
  assert(mode === ScanMode.records || mode === ScanMode.keys, () => `scan mode ${mode}`);
  const q = {
    mode,
    withData: r.u8() === 1,
    reverse: r.u8() === 1,
    limit: r.u32(),
    examineMax: r.u32(),
    gte: r.str(),
    lt: r.str(),
  };
  assert(r.remaining === 0, 'scan query has trailing bytes');
  assert(
    q.limit >= 1 && q.limit <= SCAN_PAGE_KEYS_MAX && q.examineMax <= SCAN_EXAMINE_MAX,
    () => `scan limits ${q.limit}/${q.examineMax}`,
  );
  return q;
}

export function encodeScanPage(page: ScanPage): Uint8Array {
  const w = new ByteWriter(1024);
  w.u32(page.entries.length);
  for (const e of page.entries) {
    w.str(e.key);
    w.u8(e.data === null ? 0 : 1);
    if (e.data !== null) w.bytes(e.data);
  }
  w.u8(page.more ? 1 : 0);
  w.str(page.resume);
  w.u8(page.amnesic ? 1 : 0);
  return w.finish();
}

export function decodeScanPage(bytes: Uint8Array): ScanPage {
  const r = new ByteReader(bytes);
  const n = r.u32();
  assert(n <= SCAN_PAGE_KEYS_MAX, () => `scan page of ${n} keys`);
  const entries: ScanEntry[] = [];
  for (let i = 0; i < n; i++) {
    const key = r.str();
    entries.push({ key, data: r.u8() === 1 ? r.bytes() : null });
  }
  const more = r.u8() === 1;
  const resume = r.str();
  const amnesic = r.u8() === 1;
  assert(r.remaining === 0, 'scan page has trailing bytes');
  assert(!amnesic || (n === 0 && !more), 'an amnesic scan page with entries');
  return { entries, more, resume, amnesic };
}

/**
 * Builds one page from engine entries examined in order (at most examineMax of them were
 * read; `exhausted` when the engine had no more in the range).
 */
export function buildScanPage(
  q: ScanQuery,
  examined: ReadonlyArray<readonly [string, Uint8Array]>,
  exhausted: boolean,
): ScanPage {
  assert(examined.length <= q.examineMax, () => `examined ${examined.length} > ${q.examineMax}`);
  const entries: ScanEntry[] = [];
  let resume = '';
  for (const [key, value] of examined) {
    if (entries.length >= q.limit) break;
    resume = key;
    if (q.mode === ScanMode.keys) {
      entries.push({ key, data: null });
      continue;
    }
    const rec = decodeListed(value);
    // A record that fails its checksum is listed without data: the caller's read of the key
    // goes through Paxos, which recovers it (a superset of candidates is always safe).
    if (rec === 'corrupted') entries.push({ key, data: null });
    else if (rec.data !== null || (rec.accepted !== null && rec.accepted.op.length > 0)) {
      entries.push({ key, data: q.withData ? rec.data : null });
    }
  }
  const stoppedEarly = resume !== '' && resume !== examined[examined.length - 1]?.[0];
  const more = stoppedEarly || !exhausted;
  assert(entries.length <= q.limit, () => `scan page of ${entries.length} > limit ${q.limit}`);
  return { entries, more, resume, amnesic: false };
}
