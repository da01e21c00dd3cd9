/**
 * Fault injection on a running node, for tests and drills (control ops `partition`, `heal`):
 * the node cuts its links to the named nodes of its Set through the same link-fault wrapper
 * as the embedded store's partition() (runtime/link-faults.ts). A cut applies to what this
 * node sends and to what it delivers, so cutting on one side isolates both directions.
 */
import type { NodePlace } from '../cluster/cluster-config';
import type { LinkFaults } from '../runtime/link-faults';
import type { ControlRequest } from '../client/wire-protocol';

export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `partition` args: `{ from: ["n2", "n3"] }` — nodes of this Set this node stops talking to. */
export function applyControlFaults(
  place: NodePlace,
  links: LinkFaults,
  req: ControlRequest,
): { cut: string[] } {
  if (req.op === 'heal') {
    links.heal();
    return { cut: [] };
  }
  if (req.op !== 'partition')
    throw new ControlError('INVALID_ARGUMENT', `unknown control op ${req.op}`);
  const from = (req.args as { from?: unknown } | undefined)?.from;
  if (!Array.isArray(from) || from.length === 0 || from.length > place.set.replicas.length) {
    throw new ControlError(
      'INVALID_ARGUMENT',
      'partition needs { from: [node names of this Set] }',
    );
  }
  const cut: number[] = [];
  for (const name of from) {
    const i = place.set.replicas.findIndex((r) => r.node === name);
    if (typeof name !== 'string' || i < 0 || i === place.replicaIndex) {
      throw new ControlError(
        'INVALID_ARGUMENT',
        `${String(name)} is not another node of Set ${place.set.id}`,
      );
    }
    cut.push(i);
  }
  // This node on one side, the cut nodes on the other; the rest stay with this node.
  links.partition([[place.replicaIndex], cut]);
  return { cut: from as string[] };
}
