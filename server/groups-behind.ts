/**
 * "Groups behind" of a node's status (README "Cluster"), pure: from the repair scan's round-1
 * bucket digests of one group on every replica of the Set, whether this node's replica holds
 * what a majority of the Set's replicas hold. A group is behind on this node when fewer than a
 * majority of all replicas (this one included) have exactly its digests: its replica lags (a
 * write in flight, a key not touched since a restart, a lost directory) or is damaged. When no
 * majority agrees on anything (writes in flight everywhere), every replica counts it.
 */
import { assert } from '../runtime/assert';

/** The bucket digests each replica answered for one group (undefined: no answer). */
export type GroupDigests = readonly (readonly string[] | undefined)[];

/** True when `local`'s digests differ from a majority's; undefined when it did not answer. */
export function isGroupBehind(digests: GroupDigests, local: number): boolean | undefined {
  assert(
    Number.isInteger(local) && local >= 0 && local < digests.length,
    () => `replica ${local} of ${digests.length}`,
  );
  const mine = digests[local];
  if (mine === undefined) return undefined;
  const same = digests.filter(
    (d) => d !== undefined && d.length === mine.length && d.every((b, i) => b === mine[i]),
  ).length;
  assert(same >= 1, 'a replica agrees with itself');
  return same < Math.floor(digests.length / 2) + 1;
}

/** Per group, the last verdict (undefined: not scanned yet, or unknown). */
export class GroupsBehind {
  private readonly verdicts: (boolean | undefined)[];
  private readonly scannedAt: (number | undefined)[];

  constructor(readonly groups: number) {
    assert(Number.isInteger(groups) && groups >= 1, () => `groups ${groups}`);
    this.verdicts = new Array<boolean | undefined>(groups).fill(undefined);
    this.scannedAt = new Array<number | undefined>(groups).fill(undefined);
  }

  record(group: number, verdict: boolean | undefined, nowMs: number): void {
    assert(Number.isInteger(group) && group >= 0 && group < this.groups, () => `group ${group}`);
    this.verdicts[group] = verdict;
    // No verdict (this replica did not answer) is no comparison: the lag keeps counting.
    this.scannedAt[group] = verdict === undefined ? undefined : nowMs;
  }

  /**
   * Groups whose last verdict is "behind"; undefined while no group has one (`known()` says how
   * many groups the count covers).
   */
  behind(): number | undefined {
    if (this.verdicts.every((v) => v === undefined)) return undefined;
    return this.verdicts.filter((v) => v === true).length;
  }

  /** Groups with a verdict, and the oldest verdict's time (the scan's lag). */
  known(): { groups: number; oldestAt: number | undefined } {
    const times = this.scannedAt.filter((t): t is number => t !== undefined);
    return {
      groups: this.verdicts.filter((v) => v !== undefined).length,
      oldestAt: times.length === this.groups ? Math.min(...times) : undefined,
    };
  }
}
