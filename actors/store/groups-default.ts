/**
 * The default number of key groups per replica when a store is created without `groups`
 * (docs/decisions.md "Key groups: one per worker by default").
 *
 * Each group is an actor with its own Paxos state, outgoing payload batching and engine, and
 * every per-turn cost (payloads to peers, engine batches, fsyncs, pool hops) is paid per group,
 * so fewer groups cost less CPU per operation. Placement puts group g on worker g mod workers,
 * so fewer groups than workers would leave workers idle. The rule is the smallest count that
 * keeps every worker busy, with a floor of 2 so a store created on one worker is not a single
 * batch for every key.
 *
 * A dir keeps the groups it was created with (paxosstore.json): this is only the value for a
 * new store. Cluster nodes never use it (cluster/serve-options.ts: every node must agree, and
 * a rule that depends on the machine's cores could differ between machines).
 */
import { assert } from '../../runtime/assert';

/** The store's bounds on `groups` (options.ts). */
export const GROUPS_MIN = 1;
export const GROUPS_MAX = 256;
/** Groups each worker hosts by default. */
export const GROUPS_PER_WORKER = 1;
/** Never fewer groups than this by default. */
export const GROUPS_DEFAULT_FLOOR = 2;

/** The default `groups` of a new store run on `workers` worker threads. */
export function defaultGroups(workers: number): number {
  assert(Number.isSafeInteger(workers) && workers >= 1, () => `workers ${workers}`);
  const groups = Math.min(GROUPS_MAX, Math.max(GROUPS_DEFAULT_FLOOR, workers * GROUPS_PER_WORKER));
  assert(
    groups >= Math.min(workers, GROUPS_MAX),
    () => `default groups ${groups} < workers ${workers}: idle workers`,
  );
  return groups;
}
