/**
 * The journals of a cluster as a subscription reads them (README "Journal subscription",
 * docs/decisions.md "Journal subscription over the cluster"): a `JournalSource` whose groups
 * are every group of every Set, numbered `setIndex × groups + g` in route-table order (as a big
 * table's scan numbers them), and whose replica r of a Set is that Set's r-th node (as for
 * verify and backups). A question is an INSPECT frame to that node; its answer is input: its
 * shape is checked (journal-answers.ts) and pages are asked small enough for one frame.
 */
import { assert } from '../runtime/assert';
import { ErrorCodes, PaxosStoreError, invalid } from '../actors/store/errors';
import type { ErrorCode } from '../actors/store/errors';
import type { JournalSource } from '../actors/store/subscription';
import type { JournalAnswer, JournalRequest } from '../actors/paxos/journal-page';
import type { RouteTable } from '../cluster/route-table';
import type { InspectResult } from '../runtime/actor';
import { JOURNAL_NET_PAGE_BYTES_MAX } from './inspect-protocol';
import type { InspectFrame } from './inspect-protocol';
import { journalAnswerFits } from './journal-answers';

export interface RemoteJournalHost {
  readonly routes: RouteTable;
  /** Key groups per replica (every node of the cluster runs the same count). */
  readonly groups: number;
  inspect(node: string, group: number, request: InspectFrame['request']): Promise<InspectResult>;
  readonly closed: boolean;
}

/** Replicas every Set has (a subscription's `replica` must exist in each). */
export function replicasOfEverySet(routes: RouteTable): number {
  return Math.min(...routes.sets.map((s) => s.replicas.length));
}

/** The node serving `group` (a cluster-wide group number) for `replica`, and its own group. */
export function servingNode(
  host: Pick<RemoteJournalHost, 'routes' | 'groups'>,
  replica: number,
  group: number,
): { node: string; group: number } {
  const set = host.routes.sets[Math.floor(group / host.groups)];
  const node = set?.replicas[replica]?.node;
  if (node === undefined) throw invalid(`no replica ${replica} of cluster group ${group}`);
  return { node, group: group % host.groups };
}

/** A node's refusal as the subscription sees it: only UNAVAILABLE is waited out. */
function codeOf(code: string): ErrorCode {
  if (code === 'INVALID_ARGUMENT') return ErrorCodes.INVALID_ARGUMENT;
  if (code === 'TOO_LARGE') return ErrorCodes.TOO_LARGE;
  // CLOSED from a node is that node shutting down: it comes back, like a lost connection.
  return ErrorCodes.UNAVAILABLE;
}

/** The journals of replica `replica` of every Set. */
export function remoteJournalSource(host: RemoteJournalHost, replica: number): JournalSource {
  const groups = host.routes.sets.length * host.groups;
  assert(groups >= 1, 'a cluster has groups');
  return journalSourceOver(host, groups, (group) => servingNode(host, replica, group));
}

/**
 * The journals of one node's replica (its `groups` groups, numbered as the node numbers them):
 * a following cluster backup reads each Set's replica-0 node this way (cluster-backup.ts).
 */
export function nodeJournalSource(
  host: Pick<RemoteJournalHost, 'groups' | 'inspect' | 'closed'>,
  node: string,
): JournalSource {
  assert(host.groups >= 1, 'a node has groups');
  return journalSourceOver(host, host.groups, (group) => ({ node, group }));
}

function journalSourceOver(
  host: Pick<RemoteJournalHost, 'inspect' | 'closed'>,
  groups: number,
  locate: (group: number) => { node: string; group: number },
): JournalSource {
  return {
    groups,
    get closed(): boolean {
      return host.closed;
    },
    ask: async (group: number, request: JournalRequest): Promise<JournalAnswer> => {
      if (host.closed) throw new PaxosStoreError(ErrorCodes.CLOSED, 'the client is closed');
      assert(Number.isInteger(group) && group >= 0 && group < groups, () => `group ${group}`);
      const at = locate(group);
      // Pages small enough for one frame (a node refuses more).
      const ask =
        request.kind === 'journal-read'
          ? { ...request, bytesMax: Math.min(request.bytesMax, JOURNAL_NET_PAGE_BYTES_MAX) }
          : request;
      const result = await host.inspect(at.node, at.group, ask as InspectFrame['request']);
      if (!result.ok)
        throw new PaxosStoreError(
          codeOf(result.code),
          `${at.node} group ${at.group}: ${result.message}`,
        );
      if (!journalAnswerFits(ask as InspectFrame['request'], result.value))
        throw new PaxosStoreError(
          ErrorCodes.CORRUPTED,
          `${at.node} group ${at.group} answered a malformed ${request.kind}`,
        );
      return result.value as JournalAnswer;
    },
  };
}
