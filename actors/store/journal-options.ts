/**
 * The `journal` option of PaxosStore.open (README "Journal subscription"): off by default (it
 * costs one record write per applied change on every replica, docs/decisions.md "Journal subscription"), `true` for the
 * default bounds, or an object of bounds. Validated once; unknown fields are INVALID_ARGUMENT.
 */
import { JOURNAL_LIMITS_DEFAULT } from '../paxos/journal-limits';
import type { JournalLimits } from '../paxos/journal-limits';
import { describe, field, invalid } from './errors';

export interface JournalOptions {
  /** Entries each group's journal keeps at most, acknowledged or not. Default 1,000,000. */
  retainEntriesMax?: number;
  /** Bytes of entries each group's journal keeps at most. Default 256 MiB. */
  retainBytesMax?: number;
  /** Newest entries kept after every subscriber acknowledged them. Default 10,000. */
  retainAckedEntries?: number;
  /** Named subscribers at most. Default 64. */
  subscribersMax?: number;
}

const KNOWN = new Set([
  'retainEntriesMax',
  'retainBytesMax',
  'retainAckedEntries',
  'subscribersMax',
]);

function intIn(name: string, v: unknown, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw invalid(`journal.${name} must be an integer in ${lo}..${hi}, got ${describe(v)}`);
  return v;
}

export function resolveJournal(o: unknown): JournalLimits | undefined {
  if (o === undefined || o === false) return undefined;
  if (o === true) return JOURNAL_LIMITS_DEFAULT;
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw invalid(`journal must be a boolean or an object, got ${describe(o)}`);
  const opts: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw invalid(`unknown journal option ${describe(k)}`);
    opts[k] = field(o, k);
  }
  const d = JOURNAL_LIMITS_DEFAULT;
  const limits: JournalLimits = {
    retainEntriesMax: intIn(
      'retainEntriesMax',
      opts.retainEntriesMax,
      1,
      2 ** 31,
      d.retainEntriesMax,
    ),
    retainBytesMax: intIn('retainBytesMax', opts.retainBytesMax, 1024, 2 ** 40, d.retainBytesMax),
    retainAckedEntries: intIn(
      'retainAckedEntries',
      opts.retainAckedEntries,
      0,
      2 ** 31,
      d.retainAckedEntries,
    ),
    subscribersMax: intIn('subscribersMax', opts.subscribersMax, 1, 1024, d.subscribersMax),
  };
  if (limits.retainAckedEntries > limits.retainEntriesMax)
    throw invalid('journal.retainAckedEntries must not exceed journal.retainEntriesMax');
  return limits;
}
