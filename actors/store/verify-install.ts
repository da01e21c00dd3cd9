/**
 * `store.verify({ repair: true })` for diverged keys (docs/decisions.md 17): replicas that hold
 * different states at the same chosen instance. Paxos only moves forward, and every later value
 * is applied to each replica's own state, so they never converge by themselves; a read cannot
 * help either (each replica is at the newest instance already). The repair writes one "install
 * state" op (models/install-op.ts) through Paxos: chosen at the next instance like any
 * write, it replaces data, version and recent window on every replica that applies it.
 *
 * Per key:
 * 1. The winning replica comes from verify's listing (`winnerOf`): the rule is deterministic
 *    and documented, so an operator can tell beforehand which value survives.
 * 2. Settle: one linearizable read through every up replica, in turn. A value left accepted at
 *    the next instance is finished (otherwise the install's own Prepare would choose it first
 *    and the install would land one instance late, stale), and a replica at an older instance
 *    catches up.
 * 3. Every up replica's whole chosen state is read (a digest round naming the keys). Only when
 *    all of them are at one instance is the install planned (`planInstall`): then the versions
 *    read are exactly those the install lands on, and `max + 1` is above every version a client
 *    can have seen. Otherwise settle again (SETTLE_ATTEMPTS at most, then counted as failed).
 * 4. The install, through the winner, conditional on that instance: a write chosen meanwhile
 *    makes it "stale" on every replica alike, and nothing is overwritten. Then one read through
 *    each other up replica, so each learns the install now.
 */
import { assert } from '../../runtime/assert';
import { DIGEST_STATES_MAX } from '../paxos/replica-digest';
import type { ChosenState, DigestAnswer, DigestRequest } from '../paxos/replica-digest';
import { InstallStatus, encodeInstallOp } from '../../models/install-op';
import { KV_GET_QUERY } from '../../models/kv/kv';
import { ModelTag } from '../../models/model-tags';
import { tagged } from '../../models/registry';
import type { ReplicaKeyState, VerifyContext, VerifyMismatch } from './verify';

/** Repair reads and installs in flight at once. */
const REPAIR_CONCURRENCY = 32;
/** Settle-and-read rounds per chunk of diverged keys before the rest count as failed. */
const SETTLE_ATTEMPTS = 3;

export interface RepairTally {
  repaired: number;
  failed: number;
  installed: number;
}

/** Asks one group of every up replica (verify.ts digestGroup). */
export type AskGroup = (
  group: number,
  request: DigestRequest,
) => Promise<(DigestAnswer | undefined)[]>;

/**
 * The replica whose state a diverged key converges on, from verify's listing (null: no state,
 * or down). Only states at the newest chosen instance compete (an older one is behind, not a
 * rival); among them the state held by the most replicas wins, then the one with the highest
 * version, then the one held by the lowest replica id. Undefined when nothing is diverged.
 */
export function winnerOf(states: readonly (ReplicaKeyState | null)[]): number | undefined {
  const held = states.filter((s): s is ReplicaKeyState => s !== null);
  if (!held.some((a) => held.some((b) => a.instance === b.instance && a.digest !== b.digest)))
    return undefined;
  const newest = Math.max(...held.map((s) => s.instance));
  const holders = new Map<string, ReplicaKeyState[]>(); // digest → states, lowest replica first
  for (const s of [...held].sort((x, y) => x.replica - y.replica)) {
    if (s.instance === newest) holders.set(s.digest, [...(holders.get(s.digest) ?? []), s]);
  }
  let best: { s: ReplicaKeyState; count: number } | undefined;
  for (const group of holders.values()) {
    const s = group[0];
    assert(s !== undefined, 'a digest without holders');
    const count = group.length;
    const better =
      best === undefined ||
      count > best.count ||
      (count === best.count && s.version > best.s.version) ||
      (count === best.count && s.version === best.s.version && s.replica < best.s.replica);
    if (better) best = { s, count };
  }
  assert(
    best !== undefined && best.s.instance === newest,
    'a diverged key with no state at its newest instance',
  );
  return best.s.replica;
}

/** The install of one key: the winner's current state, a version above all, where to send it. */
export interface InstallPlan {
  readonly replica: number;
  readonly state: ChosenState;
  readonly version: number;
}

/**
 * The install for one key from every up replica's current state (undefined: nothing chosen,
 * recovering, or down): 'aligned' when the key no longer differs anywhere, 'unsettled' when
 * the up replicas are not all at one instance or the winner has no state (settle again).
 */
export function planInstall(
  states: readonly (ChosenState | undefined)[],
  winner: number,
): InstallPlan | 'aligned' | 'unsettled' {
  const held = states.filter((s): s is ChosenState => s !== undefined);
  const state = states[winner];
  if (state === undefined || held.some((s) => s.chosen !== state.chosen)) return 'unsettled';
  if (held.every((s) => s.digest === state.digest)) return 'aligned';
  const version = Math.max(...held.map((s) => s.version)) + 1;
  assert(version > state.version, () => `install version ${version} <= ${state.version}`);
  return { replica: winner, state, version };
}

export async function readOnce(
  ctx: VerifyContext,
  replica: number,
  key: string,
  tally: RepairTally,
): Promise<void> {
  const query = tagged(ModelTag.kv, KV_GET_QUERY);
  const res = await ctx
    .call(replica, { kind: 'read', key, query, consistency: 'linearizable' })
    .catch(() => undefined);
  if (res?.ok === true) tally.repaired += 1;
  else tally.failed += 1;
}

/** Runs jobs with at most REPAIR_CONCURRENCY in flight. */
export async function runBounded<T>(
  jobs: readonly T[],
  run: (job: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      assert(job !== undefined, 'repair job');
      await run(job);
    }
  };
  await Promise.all(Array.from({ length: Math.min(REPAIR_CONCURRENCY, jobs.length) }, worker));
}

/** One read through every up replica in turn (each learns what the ones before settled). */
async function settle(ctx: VerifyContext, key: string): Promise<void> {
  const uncounted: RepairTally = { repaired: 0, failed: 0, installed: 0 };
  for (let replica = 0; replica < ctx.up.length; replica++) {
    if (ctx.up[replica] === true) await readOnce(ctx, replica, key, uncounted);
  }
}

/** Every up replica's current chosen state of some keys of one group. */
async function fetchStates(
  ask: AskGroup,
  group: number,
  keys: readonly string[],
  buckets: number,
  replicas: number,
): Promise<Map<string, (ChosenState | undefined)[]>> {
  assert(
    keys.length >= 1 && keys.length <= DIGEST_STATES_MAX,
    () => `states of ${keys.length} keys`,
  );
  const answers = await ask(group, {
    kind: 'digest',
    buckets,
    list: [],
    listKeysMax: 0,
    states: keys,
    listOnly: true, // the states are all it reads: every other key is skipped unhashed
  });
  const out = new Map<string, (ChosenState | undefined)[]>(
    keys.map((k) => [k, new Array<ChosenState | undefined>(replicas).fill(undefined)]),
  );
  answers.forEach((answer, replica) => {
    for (const s of answer?.states ?? []) {
      const row = out.get(s.key);
      if (row !== undefined) row[replica] = s;
    }
  });
  return out;
}

async function installOne(
  ctx: VerifyContext,
  key: string,
  plan: InstallPlan,
  tally: RepairTally,
): Promise<void> {
  const op = encodeInstallOp({
    expectChosen: plan.state.chosen,
    version: plan.version,
    data: plan.state.data,
    recent: plan.state.recent,
  });
  const res = await ctx.call(plan.replica, { kind: 'write', key, op }).catch(() => undefined);
  if (res?.ok !== true || res.result[0] !== InstallStatus.installed) {
    tally.failed += 1; // no majority, or written to since it was read: verify again
    return;
  }
  tally.installed += 1;
  for (let replica = 0; replica < ctx.up.length; replica++) {
    if (replica !== plan.replica && ctx.up[replica] === true)
      await readOnce(ctx, replica, key, tally);
  }
}

interface Job {
  readonly key: string;
  readonly winner: number;
}

/** Settles, reads the states of, and installs one chunk of a group's diverged keys. */
async function installChunk(
  ctx: VerifyContext,
  ask: AskGroup,
  group: number,
  jobs: Job[],
  buckets: number,
  tally: RepairTally,
): Promise<void> {
  let pending = jobs;
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS && pending.length > 0; attempt++) {
    await runBounded(pending, (job) => settle(ctx, job.key));
    const states = await fetchStates(
      ask,
      group,
      pending.map((j) => j.key),
      buckets,
      ctx.up.length,
    );
    const ready: { key: string; plan: InstallPlan }[] = [];
    const again: Job[] = [];
    for (const job of pending) {
      const plan = planInstall(states.get(job.key) ?? [], job.winner);
      if (plan === 'unsettled') again.push(job);
      else if (plan !== 'aligned') ready.push({ key: job.key, plan });
    }
    await runBounded(ready, (r) => installOne(ctx, r.key, r.plan, tally));
    pending = again;
  }
  tally.failed += pending.length;
}

/** Repair of every diverged key found, group by group, DIGEST_STATES_MAX keys per state round. */
export async function installAll(
  ctx: VerifyContext,
  ask: AskGroup,
  diverged: ReadonlyMap<number, readonly VerifyMismatch[]>,
  buckets: number,
  tally: RepairTally,
): Promise<void> {
  for (const [group, found] of diverged) {
    const jobs = found.flatMap((m) => {
      const winner = winnerOf(m.replicas);
      return winner === undefined ? [] : [{ key: m.internalKey, winner }];
    });
    for (let at = 0; at < jobs.length; at += DIGEST_STATES_MAX) {
      await installChunk(ctx, ask, group, jobs.slice(at, at + DIGEST_STATES_MAX), buckets, tally);
    }
  }
}
