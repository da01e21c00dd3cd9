/**
 * The journal's bounds per replica group (README "Journal subscription"). Plain data: it
 * crosses into the worker threads in the actors' config.
 */
export interface JournalLimits {
  /** Entries a group's journal keeps at most, acknowledged or not. */
  readonly retainEntriesMax: number;
  /** Bytes of entries a group's journal keeps at most (approximate after a restart). */
  readonly retainBytesMax: number;
  /** Newest entries kept even when every subscriber acknowledged them (late subscribers, checks). */
  readonly retainAckedEntries: number;
  /** Named subscribers at most. */
  readonly subscribersMax: number;
}

export const JOURNAL_LIMITS_DEFAULT: JournalLimits = {
  retainEntriesMax: 1_000_000,
  retainBytesMax: 256 * 1024 * 1024,
  retainAckedEntries: 10_000,
  subscribersMax: 64,
};

/** Most entries one journal page returns, and most bytes (at least one entry is returned). */
export const JOURNAL_PAGE_ENTRIES_MAX = 4096;
export const JOURNAL_PAGE_BYTES_MAX = 8 * 1024 * 1024;
