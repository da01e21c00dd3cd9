/**
 * One Set of a cluster as verify, backup and the background repair see a store: replica r is
 * the Set's r-th node, an inspect request to (replica, group) goes to that node as an INSPECT
 * frame, and a request "through replica r" goes to that node, which proposes it with its own
 * replica. The modules of actors/store then run unchanged over the network (docs/decisions.md
 * "Cluster backups, verify and repair").
 */
import type { InspectResult } from '../runtime/actor';
import type { ClientResult } from '../actors/paxos/core/types';
import { groupOfActor, replicaOfActor } from '../actors/paxos/placement';
import type { BackupContext } from '../actors/store/backup';
import type { BackupLayout } from '../actors/store/backup-format';
import type { RequestBody } from '../actors/store/request-pipeline';
import type { InspectPort, VerifyContext } from '../actors/store/verify';
import { answerFits } from './inspect-answers';
import type { InspectFrame } from './inspect-protocol';

/** How a client (or a node) reaches the replicas of one Set. */
export interface SetAccess {
  /** The Set's nodes, replica 0 first (the cluster file's order). */
  readonly nodes: readonly string[];
  readonly groups: number;
  isUp(node: string): boolean;
  /** One inspect of one group of the replica `node` hosts (or this process's own replica). */
  inspect(node: string, group: number, request: InspectFrame['request']): Promise<InspectResult>;
  /** A request proposed by the replica `node` hosts. */
  call(node: string, body: RequestBody): Promise<ClientResult>;
}

/**
 * A cluster backup's pages carry each entry's data twice (its state and its record) in JSON
 * with base64 bytes, inside one frame of at most 16 MiB: 2 MiB of data per page stays far
 * below that, with room for one entry of the largest value.
 */
export const CLUSTER_PAGE_BYTES = 2 * 1024 * 1024;

function nodeOf(access: SetAccess, replica: number): string {
  const node = access.nodes[replica];
  if (node === undefined)
    throw new Error(`no replica ${replica} in a Set of ${access.nodes.length}`);
  return node;
}

/** The actor system's inspect, over the network; answers of the wrong shape are refused. */
export function inspectPortOf(access: SetAccess): InspectPort {
  const placement = { replicas: access.nodes.length, groups: access.groups };
  return {
    inspect: async (actorId: number, request: unknown): Promise<InspectResult> => {
      const node = nodeOf(access, replicaOfActor(actorId, placement));
      const ask = request as InspectFrame['request'];
      const result = await access.inspect(node, groupOfActor(actorId, placement), ask);
      if (result.ok && !answerFits(ask, result.value))
        return { ok: false, code: 'PROTOCOL', message: `${node} answered a malformed ${ask.kind}` };
      return result;
    },
  };
}

export function upOf(access: SetAccess): boolean[] {
  return access.nodes.map((n) => access.isUp(n));
}

function callOf(access: SetAccess): (replica: number, body: RequestBody) => Promise<ClientResult> {
  return (replica, body) => access.call(nodeOf(access, replica), body);
}

/** verify()'s view of the Set, taken now. */
export function verifyContextOf(access: SetAccess): VerifyContext {
  return {
    system: inspectPortOf(access),
    placement: { replicas: access.nodes.length, groups: access.groups },
    up: upOf(access),
    call: callOf(access),
  };
}

/** The backup's view of the Set (its replicas' layout as the nodes run it). */
export function backupContextOf(access: SetAccess, engine: string): BackupContext {
  const layout: BackupLayout = { replicas: access.nodes.length, groups: access.groups, engine };
  return {
    system: inspectPortOf(access),
    placement: { replicas: access.nodes.length, groups: access.groups },
    layout,
    up: () => upOf(access),
    call: callOf(access),
    pageBytes: CLUSTER_PAGE_BYTES,
  };
}
