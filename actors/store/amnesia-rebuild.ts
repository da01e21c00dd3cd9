/**
 * Rebuild of a replica group that lost its state, and the clearing of its amnesia marker
 * (docs/decisions.md 27, issue 11 "Background repair").
 *
 * An amnesic group recovers each key from a majority of the others on the key's first use
 * (recovery.ts), and a durable marker (`replica-R/group-G.amnesic`) makes every later start
 * amnesic too, because keys it has not recovered are *missing*, not absent: a promise or an
 * accepted value it forgot may be one a quorum counted on. The marker may go once no such key
 * is left, that is once this replica's own records hold, for every key that any other replica
 * holds any record of (chosen, accepted or only promised), at least what a majority of the
 * others knew after the loss. Then a later start that trusts the disk trusts exactly what a
 * recovery would have rebuilt. Conditions, all checked here or by the actor:
 *
 * 1. Every replica is up with this group running, and fewer replicas of the group than a
 *    quorum are amnesic. The listing must name every key some quorum containing the amnesic
 *    replica R counted on: each such quorum has q - 1 other members, and with a < q amnesic
 *    replicas at least one of them is not amnesic and lists the key. (At N = 3 that is one
 *    amnesic replica; a key two of three forgot may be lost already, and we do not vouch for
 *    it.) One replica per group per round, the lowest: the next round lists its rebuilt keys.
 * 2. The amnesic incarnation answered first (so the listing is taken after its start: any key
 *    a peer learns of later came from a round after the loss, which this replica either took
 *    part in — recovering the key, durably — or never saw).
 * 3. The listing of every other replica is complete (no corrupted record stopped the scan, not
 *    truncated).
 * 4. Every listed key is read once, linearizably, through the amnesic replica, and every read
 *    succeeds: an amnesic core recovers every key it loads from a majority of the others
 *    before it answers, and the reply leaves only after the batch holding the recovered record
 *    (under 'none' the actor waits for its writes to finish).
 * 5. The same incarnation is still running when asked to clear (a restart in between lost
 *    nothing durable, but it is a new incarnation, so start over).
 *
 * Keys only the amnesic replica's past self knew (no other replica has a record) cannot be
 * listed; they stay as its disk has them. What the past self accepted alone was never chosen.
 * A promise it gave to a round that has reached nobody else yet is the one case left, and the
 * amnesia rule already assumes such rounds gain no promises after the restart (a key may be
 * recovered the moment the replica starts, from a majority that has not seen the round); the
 * listing, taken after the start, assumes nothing more.
 */
import { assert } from '../../runtime/assert';
import { actorIdOf } from '../paxos/placement';
import { RECORD_KEYS_MAX } from '../paxos/amnesia-inspect';
import type {
  AmnesiaAnswer,
  AmnesiaInspect,
  ClearAmnesiaAnswer,
  RecordKeysAnswer,
} from '../paxos/amnesia-inspect';
import { REPAIR_BATCH_KEYS_MAX, batchesOf } from './repair-pacing';
import type { VerifyContext } from './verify';
import { readOnce, runBounded } from './verify-install';
import type { RepairTally } from './verify-install';

async function ask<T>(
  ctx: VerifyContext,
  replica: number,
  group: number,
  request: AmnesiaInspect,
): Promise<T> {
  const result = await ctx.system.inspect(actorIdOf(replica, group, ctx.placement), request);
  if (!result.ok) throw new Error(`replica ${replica} group ${group}: ${result.message}`);
  return result.value as T;
}

/** The amnesic replica of the group to rebuild now (the lowest), with its incarnation. */
async function nextAmnesic(
  ctx: VerifyContext,
  group: number,
): Promise<{ replica: number; incarnation: number } | undefined> {
  if (!ctx.up.every((u) => u)) return undefined;
  const states = await Promise.all(
    ctx.up.map((_, r) => ask<AmnesiaAnswer>(ctx, r, group, { kind: 'amnesia' })),
  );
  const amnesic = states.flatMap((s, r) => (s.amnesic ? [r] : []));
  const quorum = Math.floor(ctx.up.length / 2) + 1;
  const replica = amnesic[0];
  if (amnesic.length >= quorum || replica === undefined) return undefined;
  const state = states[replica];
  assert(state !== undefined && state.amnesic, () => `amnesia state of replica ${replica}`);
  return state.clearable ? { replica, incarnation: state.incarnation } : undefined;
}

/** Every key any replica but `amnesic` holds a record of; undefined when a listing is partial. */
async function othersKeys(
  ctx: VerifyContext,
  group: number,
  amnesic: number,
): Promise<string[] | undefined> {
  const others = ctx.up.flatMap((_, r) => (r === amnesic ? [] : [r]));
  const answers = await Promise.all(
    others.map((r) =>
      ask<RecordKeysAnswer>(ctx, r, group, { kind: 'recordKeys', keysMax: RECORD_KEYS_MAX }),
    ),
  );
  if (answers.some((a) => a.truncated || !a.complete)) return undefined;
  const keys = new Set<string>();
  for (const a of answers) for (const k of a.keys) keys.add(k);
  return [...keys].sort();
}

/**
 * Rebuilds the group's one amnesic replica, if the conditions above hold, and clears its
 * marker. Returns the replicas whose marker was cleared (none, or that one). `pace` is called
 * before each batch of reads with its cost in keys.
 */
export async function clearAmnesiaIfRebuilt(
  ctx: VerifyContext,
  group: number,
  pace: (cost: number) => Promise<void>,
): Promise<number[]> {
  const target = await nextAmnesic(ctx, group);
  if (target === undefined) return [];
  const keys = await othersKeys(ctx, group, target.replica);
  if (keys === undefined) return [];
  for (const batch of batchesOf(keys, REPAIR_BATCH_KEYS_MAX)) {
    await pace(batch.length);
    const tally: RepairTally = { repaired: 0, failed: 0, installed: 0 };
    await runBounded(batch, (key) => readOnce(ctx, target.replica, key, tally));
    if (tally.failed > 0) return []; // a key not recovered: the next round tries again
    assert(tally.repaired === batch.length, () => `${tally.repaired} reads of ${batch.length}`);
  }
  const answer = await ask<ClearAmnesiaAnswer>(ctx, target.replica, group, {
    kind: 'clearAmnesia',
    incarnation: target.incarnation,
  });
  return answer.cleared ? [target.replica] : [];
}
