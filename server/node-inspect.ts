/**
 * A node answering INSPECT frames (client/inspect-protocol.ts): verify, backup and repair of
 * other processes ask this node's replica group actors for digests, backup pages, amnesia
 * state, counters and journal pages (node-journal.ts). The request came over the network: it is checked with the same guards
 * the actor uses (a request the actor would assert on never reaches it), and requests the
 * replica's engine cannot serve (a backup page needs an ordered scan) are refused.
 */
import type { InspectResult } from '../runtime/actor';
import { isBackupKeysRequest, isBackupPageRequest } from '../actors/paxos/backup-page';
import { isDigestRequest } from '../actors/paxos/replica-digest';
import { isAmnesiaInspect } from '../actors/paxos/amnesia-inspect';
import type { InspectFrame } from '../client/inspect-protocol';
import { isJournalKind, journalRefusal } from './node-journal';

/** Engines whose record store lists keys in order (backup pages), as paxosstore.json labels them. */
const ORDERED_ENGINES = new Set(['lsm', 'bitcask', 'memory-persist']);

export interface InspectTarget {
  readonly groups: number;
  /** The replica's engine label (engineLabel: 'memory-persist' for memory with persist). */
  readonly engine: string;
  /** Whether the replica keeps a journal (`serve --journal`). */
  readonly journal: boolean;
  inspect(group: number, request: unknown): Promise<InspectResult>;
}

function refused(code: string, message: string): InspectResult {
  return { ok: false, code, message };
}

/** Why a request may not reach the actor; undefined when it may. */
function refusal(target: InspectTarget, frame: InspectFrame): string | undefined {
  const r: unknown = frame.request;
  if (frame.group >= target.groups)
    return `no group ${frame.group} (a replica has ${target.groups})`;
  if (isJournalKind(frame.request.kind)) return journalRefusal(frame.request, target.journal);
  switch (frame.request.kind) {
    case 'digest':
      return isDigestRequest(r) ? undefined : 'malformed digest request';
    case 'backup-page':
    case 'backup-keys':
      if (!ORDERED_ENGINES.has(target.engine))
        return `backups need an ordered engine (lsm, bitcask, memory --persist); this node runs ${target.engine}`;
      return isBackupPageRequest(r) || isBackupKeysRequest(r)
        ? undefined
        : 'malformed backup request';
    case 'stats':
      return undefined;
    default:
      return isAmnesiaInspect(r) ? undefined : 'malformed amnesia request';
  }
}

/** Answers one INSPECT frame; never rejects (a failure is an answer). */
export async function serveInspect(
  target: InspectTarget,
  frame: InspectFrame,
): Promise<InspectResult> {
  const why = refusal(target, frame);
  if (why !== undefined) return refused('INVALID_ARGUMENT', why);
  try {
    return await target.inspect(frame.group, frame.request);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return refused(
      typeof code === 'string' ? code : 'UNAVAILABLE',
      error instanceof Error ? error.message : String(error),
    );
  }
}
