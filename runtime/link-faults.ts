/**
 * Fault injection between nodes, as a wrapper around the in-process transport (issue 8: the
 * production actors no longer know about faults). Actors are grouped into nodes by a pure rule
 * (`actorsPerNode` consecutive ids per node, as the store places one replica's groups); a
 * matrix in a SharedArrayBuffer says which node-to-node links are cut, so the embedding thread
 * can partition and heal while every worker reads it. A message on a cut link is dropped when
 * it is sent and again when it is delivered (it may have been queued before the cut), and
 * counted. Traffic to and from the client endpoint is never cut (the client lives inside a
 * node, like an embedding host process).
 *
 * The simulator has its own, richer network model (runtime/sim/network.ts) over the same
 * actors; the TCP transport of the cluster issue will sit under this same wrapper.
 */
import { assert } from './assert';
import { CLIENT_ADDRESS } from './actor';
import type { ActorId } from './actor';

/** Plain data (structured-clonable): crosses to every worker in its init. */
export interface LinkFaultsConfig {
  /** Int32Array(nodes × nodes) over it: 1 = messages from → to are dropped. */
  readonly links: SharedArrayBuffer;
  readonly nodes: number;
  /** Actor id a belongs to node ⌊a / actorsPerNode⌋. */
  readonly actorsPerNode: number;
}

export function newLinkFaults(nodes: number, actorsPerNode: number): LinkFaultsConfig {
  assert(
    Number.isInteger(nodes) && nodes >= 1 && Number.isInteger(actorsPerNode) && actorsPerNode >= 1,
    'link faults shape',
  );
  return { links: new SharedArrayBuffer(4 * nodes * nodes), nodes, actorsPerNode };
}

export class LinkFaults {
  private readonly matrix: Int32Array;

  constructor(readonly config: LinkFaultsConfig) {
    this.matrix = new Int32Array(config.links);
    assert(
      this.matrix.length === config.nodes * config.nodes,
      () => `link matrix of ${this.matrix.length} for ${config.nodes} nodes`,
    );
  }

  /** The node of an actor, or undefined for the client endpoint and ids beyond the nodes. */
  nodeOf(actor: ActorId): number | undefined {
    if (actor === CLIENT_ADDRESS) return undefined;
    const node = Math.floor(actor / this.config.actorsPerNode);
    return node < this.config.nodes ? node : undefined;
  }

  /** True when a message from `from` to `to` must be dropped now. */
  blocked(from: ActorId, to: ActorId): boolean {
    const a = this.nodeOf(from);
    const b = this.nodeOf(to);
    if (a === undefined || b === undefined || a === b) return false;
    return Atomics.load(this.matrix, a * this.config.nodes + b) !== 0;
  }

  /**
   * Nodes on different sides cannot talk. Nodes on no side form one more side together (the
   * store's documented `partition()` behaviour). The caller validates `sides`.
   */
  partition(sides: readonly (readonly number[])[]): void {
    const n = this.config.nodes;
    const side = new Array<number>(n).fill(-1);
    sides.forEach((nodes, i) => {
      for (const node of nodes) side[node] = i;
    });
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const cut = a !== b && side[a] !== side[b];
        Atomics.store(this.matrix, a * n + b, cut ? 1 : 0);
      }
    }
  }

  heal(): void {
    for (let i = 0; i < this.matrix.length; i++) Atomics.store(this.matrix, i, 0);
  }
}
