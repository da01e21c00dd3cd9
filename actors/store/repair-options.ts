/**
 * The `repair` option of PaxosStore.open (the background repair scan, background-repair.ts):
 * validated once, like every option (unknown fields are refused with INVALID_ARGUMENT).
 */
import { describe, field, invalid } from './errors';

/** What one background repair round found and did (`onRound`, and `stats().repair.lastRound`). */
export interface RepairRoundReport {
  /** When the round started and ended (ms since the epoch). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** 'done', or 'stopped': the store closed under it. */
  readonly outcome: 'done' | 'stopped';
  /** Groups compared on every up replica, and groups whose comparison failed (a group went down). */
  readonly groupsScanned: number;
  readonly groupsFailed: number;
  /** Keys digested (the most any one replica held, summed over the groups scanned). */
  readonly keysChecked: number;
  readonly behind: number;
  readonly diverged: number;
  readonly corrupted: number;
  /** Repair reads that caught a replica up, and installs of diverged keys. */
  readonly repaired: number;
  readonly installed: number;
  /** Reads or installs that failed (no majority, a write in between): the next round retries. */
  readonly repairFailed: number;
  /** A listing was cut at its bound: some differing keys wait for a later round. */
  readonly truncated: boolean;
  /** Groups whose amnesia marker this round cleared (a full rebuild, docs/decisions.md). */
  readonly amnesiaCleared: readonly { readonly replica: number; readonly group: number }[];
}

export interface RepairOptions {
  /** Run the background repair scan. Default true (a cluster node runs it in server/node-repair.ts). */
  enabled?: boolean;
  /** From the end of one round to the start of the next, in ms. Default 600,000 (10 min). */
  intervalMs?: number;
  /** Repair reads per second at most (installs count 4). Default 500. */
  keysPerSecond?: number;
  /**
   * Foreground requests in flight above which the store is busy: a running round pauses
   * between batches of repairs (a few pauses, then one batch, and so on). Default 32. The
   * digest scans pace themselves on each worker (a smaller share of a worker that has writes).
   */
  busyInFlight?: number;
  /** Called after every round with what it found and did (the store has no logger of its own). */
  onRound?: (report: RepairRoundReport) => void;
}

export interface ResolvedRepair {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly keysPerSecond: number;
  readonly busyInFlight: number;
  readonly onRound: ((report: RepairRoundReport) => void) | undefined;
}

const KNOWN = new Set(['enabled', 'intervalMs', 'keysPerSecond', 'busyInFlight', 'onRound']);
export const REPAIR_INTERVAL_DEFAULT_MS = 600_000;
const KEYS_PER_SECOND_DEFAULT = 500;
const BUSY_IN_FLIGHT_DEFAULT = 32;

function intIn(name: string, v: unknown, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw invalid(`repair.${name} must be an integer in ${lo}..${hi}, got ${describe(v)}`);
  }
  return v;
}

/** `repair` as given (undefined: every default). Each field is read once. */
export function resolveRepair(o: unknown): ResolvedRepair {
  const given: Record<string, unknown> = {};
  if (o !== undefined) {
    const proto: unknown =
      typeof o === 'object' && o !== null ? Object.getPrototypeOf(o) : undefined;
    if (
      typeof o !== 'object' ||
      o === null ||
      Array.isArray(o) ||
      (proto !== Object.prototype && proto !== null)
    ) {
      throw invalid(`repair must be a plain object, got ${describe(o)}`);
    }
    for (const k of Object.keys(o)) {
      if (!KNOWN.has(k)) throw invalid(`unknown repair option ${describe(k)}`);
      given[k] = field(o, k);
    }
  }
  const { enabled, onRound } = given;
  if (enabled !== undefined && typeof enabled !== 'boolean')
    throw invalid(`repair.enabled must be a boolean, got ${describe(enabled)}`);
  if (onRound !== undefined && typeof onRound !== 'function')
    throw invalid(`repair.onRound must be a function, got ${describe(onRound)}`);
  return {
    enabled: enabled !== false,
    intervalMs: intIn(
      'intervalMs',
      given.intervalMs,
      10,
      7 * 24 * 3600 * 1000,
      REPAIR_INTERVAL_DEFAULT_MS,
    ),
    keysPerSecond: intIn(
      'keysPerSecond',
      given.keysPerSecond,
      1,
      1_000_000,
      KEYS_PER_SECOND_DEFAULT,
    ),
    busyInFlight: intIn('busyInFlight', given.busyInFlight, 0, 1_000_000, BUSY_IN_FLIGHT_DEFAULT),
    onRound: onRound as ((report: RepairRoundReport) => void) | undefined,
  };
}
