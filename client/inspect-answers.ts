/**
 * Shape checks of inspect answers from a node (inspect-protocol.ts): verify, backup and repair
 * assert on what they derive from these answers, so an answer that is not of the shape its
 * request asks for is refused here (as if the replica had failed), never asserted on.
 */
import type { InspectFrame } from './inspect-protocol';
import { journalAnswerFits } from './journal-answers';
import { RECENT_WINDOW } from '../actors/paxos/core/key-record';
import { windowShapeProblem } from '../actors/paxos/core/recent-window';
import type { RecentColumns } from '../actors/paxos/core/recent-window';

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBytesOrNull = (v: unknown): boolean => v === null || v instanceof Uint8Array;

function isRecord(v: unknown): boolean {
  if (v === null) return true;
  if (!isObject(v)) return false;
  return (
    isCount(v.chosen) &&
    isCount(v.version) &&
    isBytesOrNull(v.data) &&
    typeof v.acceptedBallot === 'number' &&
    (v.accepted === null || isObject(v.accepted)) &&
    // The window's columns as this build lays them out (a seq bound and the ring's head before
    // the entries): a node of another layout is refused like a failed replica, not misread.
    windowShapeProblem(v as unknown as RecentColumns, RECENT_WINDOW) === undefined &&
    Array.isArray(v.requests)
  );
}

function isBackupEntry(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.key === 'string' &&
    isCount(v.chosen) &&
    isCount(v.version) &&
    isBytesOrNull(v.data) &&
    typeof v.pending === 'boolean' &&
    typeof v.unsettled === 'boolean' &&
    isRecord(v.record)
  );
}

function isBackupPage(v: unknown, limit: number): boolean {
  return (
    isObject(v) &&
    Array.isArray(v.entries) &&
    v.entries.length <= limit &&
    v.entries.every(isBackupEntry) &&
    typeof v.more === 'boolean' &&
    typeof v.resume === 'string' &&
    typeof v.amnesic === 'boolean'
  );
}

function isKeyDigest(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.key === 'string' &&
    isCount(v.chosen) &&
    isCount(v.version) &&
    typeof v.digest === 'string'
  );
}

function isChosenState(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.key === 'string' &&
    isCount(v.chosen) &&
    isCount(v.version) &&
    isBytesOrNull(v.data) &&
    Array.isArray(v.recent) &&
    typeof v.digest === 'string'
  );
}

function isDigestAnswer(v: unknown, buckets: number): boolean {
  return (
    isObject(v) &&
    isCount(v.keys) &&
    isCount(v.unsettled) &&
    isCount(v.corrupted) &&
    Array.isArray(v.corruptedKeys) &&
    v.corruptedKeys.every((k) => typeof k === 'string') &&
    Array.isArray(v.buckets) &&
    v.buckets.length === buckets &&
    v.buckets.every((b) => typeof b === 'string' && /^[0-9a-f]{1,16}$/.test(b)) &&
    Array.isArray(v.listed) &&
    v.listed.every(isKeyDigest) &&
    typeof v.listTruncated === 'boolean' &&
    typeof v.complete === 'boolean' &&
    Array.isArray(v.states) &&
    v.states.every(isChosenState)
  );
}

function isAmnesiaAnswer(kind: string, v: unknown): boolean {
  if (!isObject(v)) return false;
  if (kind === 'amnesia') return typeof v.amnesic === 'boolean' && typeof v.clearable === 'boolean';
  if (kind === 'recordKeys')
    return (
      Array.isArray(v.keys) &&
      v.keys.every((k) => typeof k === 'string') &&
      typeof v.truncated === 'boolean' &&
      typeof v.complete === 'boolean'
    );
  return typeof v.cleared === 'boolean';
}

/** True when `value` has the shape `request` asks for. */
export function answerFits(request: InspectFrame['request'], value: unknown): boolean {
  const r = request as Fields;
  if (request.kind.startsWith('journal-')) return journalAnswerFits(request, value);
  switch (request.kind) {
    case 'digest':
      return isDigestAnswer(value, typeof r.buckets === 'number' ? r.buckets : -1);
    case 'backup-page':
      return isBackupPage(value, typeof r.limit === 'number' ? r.limit : 0);
    case 'backup-keys':
      return (
        Array.isArray(value) &&
        value.length === (Array.isArray(r.keys) ? r.keys.length : -1) &&
        value.every(isBackupEntry)
      );
    case 'stats':
      return isObject(value) && Object.values(value).every((n) => typeof n === 'number');
    default:
      return isAmnesiaAnswer(request.kind, value);
  }
}
