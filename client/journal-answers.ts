/**
 * Shape checks of journal answers from a node (README "Journal subscription"). A subscription
 * derives its cursors and entries from these answers and asserts on what it derives, so an
 * answer that is not of the shape its request asks for is refused here (CORRUPTED at the
 * caller), never passed on. The order of entries is the subscription's own check (an entry
 * out of sequence is CORRUPTED there).
 */
import { JournalEntryKind } from '../actors/paxos/journal-codec';
import { JOURNAL_PAGE_ENTRIES_MAX } from '../actors/paxos/journal-limits';

type Fields = Record<string, unknown>;

const FAILURE_CODES = new Set<unknown>([
  'SUBSCRIPTION_EXPIRED',
  'INVALID_ARGUMENT',
  'UNAVAILABLE',
  'CORRUPTED',
]);
const ENTRY_KINDS = new Set<unknown>(Object.values(JournalEntryKind));

const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function isFailure(v: Fields): boolean {
  return v.ok === false && FAILURE_CODES.has(v.code) && typeof v.message === 'string';
}

function isRange(v: Fields): boolean {
  return (
    v.ok === true &&
    isCount(v.epoch) &&
    isCount(v.first) &&
    isCount(v.head) &&
    isCount(v.acked) &&
    typeof v.time === 'number' &&
    Number.isFinite(v.time)
  );
}

function isRecord(v: unknown): boolean {
  return (
    isObject(v) &&
    isCount(v.seq) &&
    v.seq >= 1 &&
    typeof v.time === 'number' &&
    Number.isFinite(v.time) &&
    ENTRY_KINDS.has(v.kind) &&
    typeof v.key === 'string' &&
    isCount(v.version) &&
    isCount(v.fromVersion) &&
    (v.bytes === null || v.bytes instanceof Uint8Array)
  );
}

function isPage(v: Fields, limit: number): boolean {
  return (
    v.ok === true &&
    isCount(v.epoch) &&
    isCount(v.head) &&
    Array.isArray(v.entries) &&
    v.entries.length <= limit &&
    v.entries.every(isRecord)
  );
}

/** True when `value` has the shape a journal request of `request.kind` is answered with. */
export function journalAnswerFits(
  request: { readonly kind: string } & Fields,
  value: unknown,
): boolean {
  if (!isObject(value)) return false;
  if (value.ok === false) return isFailure(value);
  switch (request.kind) {
    case 'journal-read': {
      const limit = isCount(request.limit) ? Math.min(request.limit, JOURNAL_PAGE_ENTRIES_MAX) : 0;
      return isPage(value, limit);
    }
    case 'journal-seek':
      return value.ok === true && isCount(value.epoch) && isCount(value.seq);
    case 'journal-open':
    case 'journal-ack':
    case 'journal-remove':
    case 'journal-info':
      return isRange(value);
    default:
      return false;
  }
}
