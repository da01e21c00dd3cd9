/**
 * Fault model of the simulated network between nodes: which links are cut, and the drop,
 * duplicate and delay draws for one message. Pure apart from the PRNG it is handed, so the
 * Simulation stays a scheduler and this file holds the policy.
 */
import { assert } from '../assert';
import type { Prng } from './prng';

export type NodeId = number;

export interface FaultConfig {
  /** Probability that a message between different nodes is lost. */
  dropRate: number;
  /** Probability that a delivered cross-node message is delivered a second time. */
  duplicateRate: number;
  /** Cross-node one-way delay is uniform in [delayMinMs, delayMaxMs]; reordering follows from it. */
  delayMinMs: number;
  delayMaxMs: number;
  /** Links cut in both directions, in addition to any `partition()` groups. */
  partitionedLinks: ReadonlyArray<readonly [NodeId, NodeId]>;
  /**
   * Probability that a cross-node message whose destination crashed (or was down when it was
   * sent) stays on the wire and reaches a *later* incarnation of that node, late, instead of
   * being lost: a peer's buffered frames or a slow link. Stale messages are what make ids that
   * repeat across incarnations dangerous, so the simulator must produce them.
   */
  lateDeliveryRate: number;
  /** A message kept on the wire arrives this long after it would have, uniform, virtual ms. */
  lateDelayMaxMs: number;
}

export const NO_FAULTS: Readonly<FaultConfig> = {
  dropRate: 0,
  duplicateRate: 0,
  delayMinMs: 0.5,
  delayMaxMs: 2,
  partitionedLinks: [],
  lateDeliveryRate: 0,
  lateDelayMaxMs: 200,
};

export function validateFaults(f: FaultConfig): void {
  const rates = [
    ['dropRate', f.dropRate],
    ['duplicateRate', f.duplicateRate],
    ['lateDeliveryRate', f.lateDeliveryRate],
  ] as const;
  for (const [name, r] of rates) {
    if (!(r >= 0 && r <= 1)) throw simConfigError(`fault ${name} must be in [0, 1], got ${r}`);
  }
  if (!(f.delayMinMs >= 0 && f.delayMaxMs >= f.delayMinMs)) {
    throw simConfigError(`fault delay range invalid: ${f.delayMinMs}..${f.delayMaxMs} ms`);
  }
  if (!(f.lateDelayMaxMs >= 0.001))
    throw simConfigError(`lateDelayMaxMs must be positive: ${f.lateDelayMaxMs}`);
  if (!Array.isArray(f.partitionedLinks)) throw simConfigError('partitionedLinks must be an array');
  for (const link of f.partitionedLinks) {
    if (!(Array.isArray(link) && link.length === 2 && link.every((n) => Number.isInteger(n)))) {
      throw simConfigError(`partitioned link must be a pair of node ids: ${JSON.stringify(link)}`);
    }
  }
}

export function simConfigError(message: string): Error {
  return Object.assign(new Error(message), { code: 'SIM_INVALID_CONFIG' });
}

/** What the network does with one cross-node message. */
export interface MessageFate {
  /** Delays (us) of each copy delivered: [] = dropped, two entries = duplicated. */
  delaysUs: number[];
}

export class NetworkModel {
  private faults: FaultConfig;
  /** node -> partition group index; undefined while healed. */
  private groupOf: Map<NodeId, number> | undefined;
  private cutLinks = new Set<string>();

  constructor(faults: FaultConfig) {
    validateFaults(faults);
    this.faults = faults;
    this.rebuildCutLinks();
  }

  get config(): Readonly<FaultConfig> {
    return this.faults;
  }

  setFaults(faults: FaultConfig): void {
    validateFaults(faults);
    this.faults = faults;
    this.rebuildCutLinks();
  }

  /**
   * Split nodes into groups that cannot reach each other. A node listed in no group is cut off
   * from every other node (it forms a group of its own).
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const node of group) {
        assert(Number.isInteger(node), `partition node id must be an integer: ${node}`);
        assert(!groupOf.has(node), `node ${node} listed in two partition groups`);
        groupOf.set(node, index);
      }
    });
    this.groupOf = groupOf;
  }

  /** Remove partition groups and the configured partitioned links; rates stay as they are. */
  heal(): void {
    this.groupOf = undefined;
    this.faults = { ...this.faults, partitionedLinks: [] };
    this.rebuildCutLinks();
  }

  /** True when a and b (different nodes) cannot exchange messages right now. */
  isCut(a: NodeId, b: NodeId): boolean {
    if (a === b) return false;
    if (this.cutLinks.has(linkKey(a, b))) return true;
    if (this.groupOf === undefined) return false;
    const ga = this.groupOf.get(a);
    const gb = this.groupOf.get(b);
    return ga === undefined || gb === undefined || ga !== gb;
  }

  /**
   * Decide drop, duplicate and delays for one cross-node message. The draws happen in a fixed
   * order (drop, delay, duplicate, second delay) so a replay makes the same choices.
   */
  fate(prng: Prng): MessageFate {
    const f = this.faults;
    if (prng.chance(f.dropRate)) return { delaysUs: [] };
    const minUs = Math.max(1, Math.round(f.delayMinMs * 1000));
    const maxUs = Math.max(minUs, Math.round(f.delayMaxMs * 1000));
    const delaysUs = [prng.range(minUs, maxUs)];
    if (prng.chance(f.duplicateRate)) delaysUs.push(prng.range(minUs, maxUs));
    return { delaysUs };
  }

  /**
   * A message that found its destination crashed: the delay (us) after which it is offered to
   * the node again, or undefined when it is lost. Bounded by the caller (a few attempts).
   */
  lateFate(prng: Prng): number | undefined {
    const f = this.faults;
    if (!prng.chance(f.lateDeliveryRate)) return undefined;
    return prng.range(1, Math.max(1, Math.round(f.lateDelayMaxMs * 1000)));
  }

  private rebuildCutLinks(): void {
    this.cutLinks = new Set(this.faults.partitionedLinks.map(([a, b]) => linkKey(a, b)));
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
