/**
 * Control-plane questions about a group's amnesia, for the background repair's rebuild of a
 * replica that lost its state (actors/store/amnesia-rebuild.ts, docs/decisions.md 27):
 *
 * - `amnesia`: is this incarnation amnesic, which incarnation is it, can its marker be cleared;
 * - `recordKeys`: the name of every key this replica holds any record of (in memory in any
 *   status, or on disk, corrupted ones included), chosen or not: a promise or an accepted value
 *   alone counts, since forgetting one is what the amnesia rule guards against;
 * - `clearAmnesia`: remove the durable marker, if this is still the incarnation the rebuild
 *   read through and no write of it is in flight.
 */
import { assert } from '../../runtime/assert';
import { isEngineError } from '../../engines/errors';
import type { KeyStatus } from './core/key-state';
import type { KeyRecord } from './core/types';

/** Keys named per `recordKeys` answer at most. */
export const RECORD_KEYS_MAX = 100_000;

export interface AmnesiaRequest {
  readonly kind: 'amnesia';
}

export interface AmnesiaAnswer {
  readonly amnesic: boolean;
  /** The marker can be cleared by this actor (a store with a directory). */
  readonly clearable: boolean;
  readonly incarnation: number;
}

export interface RecordKeysRequest {
  readonly kind: 'recordKeys';
  readonly keysMax: number;
}

export interface RecordKeysAnswer {
  readonly keys: string[];
  /** The listing stopped at keysMax. */
  readonly truncated: boolean;
  /** False when the engine's scan stopped early (a corrupted record it refuses to iterate past). */
  readonly complete: boolean;
}

export interface ClearAmnesiaRequest {
  readonly kind: 'clearAmnesia';
  /** The incarnation whose reads rebuilt the group; another one has not recovered anything. */
  readonly incarnation: number;
}

export interface ClearAmnesiaAnswer {
  readonly cleared: boolean;
  readonly reason: 'cleared' | 'not-amnesic' | 'not-clearable' | 'restarted' | 'writes-in-flight';
}

export type AmnesiaInspect = AmnesiaRequest | RecordKeysRequest | ClearAmnesiaRequest;

export function isAmnesiaInspect(request: unknown): request is AmnesiaInspect {
  if (typeof request !== 'object' || request === null) return false;
  const r = request as { kind?: unknown; keysMax?: unknown; incarnation?: unknown };
  if (r.kind === 'amnesia') return true;
  if (r.kind === 'recordKeys')
    return (
      Number.isInteger(r.keysMax) &&
      (r.keysMax as number) >= 0 &&
      (r.keysMax as number) <= RECORD_KEYS_MAX
    );
  return r.kind === 'clearAmnesia' && Number.isSafeInteger(r.incarnation);
}

/** A held key counts when it is unsettled or its record holds anything at all. */
function holdsState(status: KeyStatus, rec: KeyRecord): boolean {
  return status !== 'ready' || rec.chosen > 0 || rec.promised > 0 || rec.acceptedBallot > 0;
}

/**
 * Every key with a record: held keys first (read in one synchronous pass), then stored keys
 * not seen among them. Derived entries must already be filtered out of `stored`.
 */
export async function listRecordKeys(
  request: RecordKeysRequest,
  held: Iterable<{ readonly key: string; readonly status: KeyStatus; readonly rec: KeyRecord }>,
  stored: AsyncIterable<[string, Uint8Array]> | undefined,
): Promise<RecordKeysAnswer> {
  assert(
    request.keysMax >= 0 && request.keysMax <= RECORD_KEYS_MAX,
    () => `keysMax ${request.keysMax}`,
  );
  const seen = new Set<string>();
  const keys: string[] = [];
  let truncated = false;
  const add = (key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    if (keys.length < request.keysMax) keys.push(key);
    else truncated = true;
  };
  for (const h of held) if (holdsState(h.status, h.rec)) add(h.key);
  const heldCount = seen.size;
  let complete = true;
  try {
    for await (const [key] of stored ?? []) add(key);
  } catch (error) {
    if (!isEngineError(error, 'CORRUPTED')) throw error;
    complete = false;
  }
  assert(
    keys.length <= request.keysMax && seen.size >= heldCount,
    () => `listed ${keys.length} of ${seen.size}`,
  );
  return { keys, truncated, complete };
}
