/**
 * Journal requests from the network (README "Journal subscription", docs/decisions.md
 * "Journal subscription over the cluster"): a `RemoteStore.subscribe` asks this node's group
 * actors for its replica's journals through INSPECT frames. The actor's journal answers trust
 * their request's numbers (they come from the store thread), so a request from the network is
 * checked here, strictly, before it reaches the actor: only the six journal kinds, only their
 * own fields, integers in range, and pages no larger than a frame carries comfortably.
 */
import { assert } from '../runtime/assert';
import { JOURNAL_PAGE_ENTRIES_MAX } from '../actors/paxos/journal-limits';
import { SUBSCRIBER_NAME_PATTERN } from '../actors/paxos/journal-codec';
import { JOURNAL_NET_PAGE_BYTES_MAX } from '../client/inspect-protocol';

type Fields = Record<string, unknown>;

/** The fields each journal kind may carry (besides `kind`), and a check of each. */
const FIELDS: Readonly<Record<string, Readonly<Record<string, (v: unknown) => boolean>>>> = {
  'journal-open': { name: isName, from: (v) => v === 'start' || v === 'now' || v === 'existing' },
  'journal-read': {
    epoch: isCount,
    from: (v) => isCount(v) && (v as number) >= 1,
    limit: (v) => isCount(v) && (v as number) >= 1 && (v as number) <= JOURNAL_PAGE_ENTRIES_MAX,
    bytesMax: (v) =>
      isCount(v) && (v as number) >= 1 && (v as number) <= JOURNAL_NET_PAGE_BYTES_MAX,
  },
  'journal-ack': { name: isName, epoch: isCount, seq: (v) => isCount(v) && (v as number) >= 1 },
  'journal-remove': { name: isName },
  'journal-info': {},
  'journal-seek': { time: (v) => typeof v === 'number' && Number.isFinite(v) },
};

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isName(v: unknown): boolean {
  return typeof v === 'string' && SUBSCRIBER_NAME_PATTERN.test(v);
}

export function isJournalKind(kind: string): boolean {
  return Object.hasOwn(FIELDS, kind);
}

/**
 * Why a journal request from the network may not reach the actor; undefined when it may.
 * `journal`: whether this node keeps one (`serve --journal`).
 */
export function journalRefusal(request: Fields, journal: boolean): string | undefined {
  const kind = String(request.kind);
  const fields = FIELDS[kind];
  assert(fields !== undefined, () => `journalRefusal of kind ${kind}`);
  if (!journal) return 'this node keeps no journal (start it with `paxosstore serve --journal`)';
  const names = Object.keys(request);
  if (names.length > Object.keys(fields).length + 1)
    return `${kind}: unexpected fields (${names.join(', ')})`;
  for (const name of names) {
    if (name === 'kind') continue;
    if (!Object.hasOwn(fields, name)) return `${kind}: unexpected field ${name}`;
  }
  for (const [name, check] of Object.entries(fields)) {
    if (!check(request[name]))
      return `${kind}: bad ${name} ${JSON.stringify(request[name]) ?? 'undefined'}`.slice(0, 200);
  }
  return undefined;
}
