/**
 * One fault scenario on a 3-node cluster (issue 9, "3 node processes ... linearizable under
 * load"): start the nodes, run the mixed workload from many concurrent clients, inject one
 * fault on one node, heal it, keep the load on a little, then check:
 *   - every KV history is linearizable (test/sim/linearizability.ts with the KV model), final
 *     reads through every node included;
 *   - no acknowledged write is lost: each key's last acknowledged version (or a later one) is
 *     what every node serves at the end; queue and account conservation hold;
 *   - the cluster serves again after the heal (a KV operation called after it succeeded);
 *   - SIGTERM stops every node with exit 0.
 * The victim node comes from the seed (CLUSTER_SEED=<n> reproduces the choice and the
 * workload's random choices; the interleaving is the OS's).
 */
import type { ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import type { RemoteStore } from '../../../client/remote-store';
import { codeOf } from '../helpers';
import { checkHistory } from '../../sim/linearizability';
import { kvModel } from '../../sim/kv-model';
import { Cluster, sleep } from './harness';
import type { ClusterNodeProc, Sync } from './harness';
import type { KvHistoryOp } from './workload';
import {
  QUEUE,
  Workload,
  checkAccount,
  checkQueue,
  finalReads,
  lastAcknowledged,
} from './workload';

/** `kill9-all`: every node of the Set killed at once, then all restarted (durability, not availability). */
export type Fault = 'kill9' | 'kill9-all' | 'sigterm' | 'pause' | 'partition';

export interface FaultRunOptions {
  readonly sync: Sync;
  readonly fault: Fault;
  readonly clients?: number;
}

const KEYS = Array.from({ length: 16 }, (_, i) => `key-${i}`);
const ACCOUNTS = ['acct-a', 'acct-b', 'acct-c'];
/** Load before the fault, fault duration, load after the heal (not assertions: phases). */
const WARM_MS = 2_000;
const FAULT_MS = 3_500;
const AFTER_MS = 3_000;

function seedOf(): number {
  const fromEnv = Number(process.env.CLUSTER_SEED);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0
    ? fromEnv
    : 1 + Math.floor(Math.random() * 1_000_000);
}

/** Injects the fault on `victim` and heals it; resolves when it is healed. */
async function injectAndHeal(
  t: ExecutionContext,
  cluster: Cluster,
  store: RemoteStore,
  victim: ClusterNodeProc,
  fault: Fault,
): Promise<void> {
  if (fault === 'kill9') {
    await victim.kill9();
    await sleep(FAULT_MS);
    await victim.restart();
  } else if (fault === 'sigterm') {
    t.is((await victim.stop()).code, 0, 'SIGTERM under load: exit 0');
    await sleep(FAULT_MS);
    await victim.restart();
  } else if (fault === 'kill9-all') {
    await Promise.all(cluster.nodes.map((n) => n.kill9()));
    await sleep(FAULT_MS);
    await Promise.all(cluster.nodes.map((n) => n.restart()));
  } else if (fault === 'pause') {
    victim.sigstop();
    await sleep(FAULT_MS);
    victim.sigcont();
  } else {
    const others = cluster.nodes.filter((n) => n !== victim).map((n) => n.name);
    t.deepEqual(
      await cluster.control(victim.name, 'partition', { from: others }),
      { cut: others },
      'partition cut the others',
    );
    // The cut must bite: a write proposed by the isolated node cannot reach a majority.
    const isolated = probeCode(store.node(victim.name).kv('probe').put('p', 'x'));
    await sleep(FAULT_MS);
    t.not(await isolated, 'RESOLVED', 'a write through the isolated node does not succeed');
    t.deepEqual(await cluster.control(victim.name, 'heal'), { cut: [] }, 'heal');
  }
}

function probeCode(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'RESOLVED',
    (error: unknown) => codeOf(error),
  );
}

export async function runFaultScenario(
  t: ExecutionContext,
  options: FaultRunOptions,
): Promise<void> {
  const seed = seedOf();
  t.log(`CLUSTER_SEED=${seed} sync=${options.sync} fault=${options.fault}`);
  const cluster = await Cluster.start(t, { engine: 'bitcask', sync: options.sync });
  const store = await cluster.connect();
  const victim = cluster.nodes[seed % cluster.nodes.length] as ClusterNodeProc;
  t.log(`victim ${victim.name}`);
  const workload = new Workload(store, KEYS, ACCOUNTS, seed);
  workload.start(options.clients ?? 24);
  let healedAt = Infinity;
  try {
    await sleep(WARM_MS);
    await injectAndHeal(t, cluster, store, victim, options.fault);
    healedAt = performance.now();
    await sleep(AFTER_MS);
  } finally {
    await workload.stop();
  }
  t.log(`tally ${JSON.stringify(workload.tally)} history ${workload.history.length}`);
  const servedAfterHeal = workload.history.some((op) => op.call > healedAt && op.ret !== undefined);
  t.true(servedAfterHeal, 'a KV operation called after the heal succeeded');
  await checkNothingLost(t, cluster, workload);
  t.deepEqual(
    checkHistory(workload.history, kvModel),
    { ok: true },
    'the KV history (final reads included) is linearizable',
  );
  t.is(
    checkHistory(withLostWrite(workload), kvModel).ok,
    false,
    'the check itself rejects a history with a lost write',
  );
  const exits = await cluster.stopAll();
  t.deepEqual(
    exits.map((e) => e.code),
    [0, 0, 0],
    'SIGTERM stops every node cleanly',
  );
}

/**
 * The recorded history with one final read changed to "absent" on a key with an acknowledged
 * write: what a lost write would look like. Guards against a check that cannot fail.
 */
function withLostWrite(workload: Workload): KvHistoryOp[] {
  const acked = lastAcknowledged(workload.history);
  const i = workload.history.findIndex((op) => typeof op.id === 'string' && acked.has(op.key));
  const op = workload.history[i];
  if (op === undefined) throw new Error('no final read of an acknowledged key');
  const copy = [...workload.history];
  copy[i] = { ...op, output: undefined };
  return copy;
}

/** Final reads through every node: acknowledged KV writes, queue pushes and account adds are all there. */
async function checkNothingLost(
  t: ExecutionContext,
  cluster: Cluster,
  workload: Workload,
): Promise<void> {
  const store = await cluster.connect();
  const acked = lastAcknowledged(workload.history);
  t.true(acked.size > 0, 'some writes were acknowledged');
  const lost: string[] = [];
  for (const node of cluster.nodes) {
    const seen = await finalReads(store, node.name, workload);
    for (const [key, want] of acked) {
      const got = seen.get(key);
      const ok =
        got !== undefined &&
        (got.version > want.version || (got.version === want.version && got.value === want.value));
      if (!ok)
        lost.push(
          `${node.name} ${key}: want ${JSON.stringify(want)} or later, got ${JSON.stringify(got)}`,
        );
    }
  }
  t.deepEqual(lost, [], 'every node serves each key at its last acknowledged write or later');
  const contents = (await store.queue(QUEUE).range(0, 10_000)).map((b) => b.toString());
  t.deepEqual(
    checkQueue(workload.queue, contents),
    [],
    'queue: nothing lost, duplicated or invented',
  );
  t.true(workload.queue.pushedAcked.size > 0, 'some pushes were acknowledged');
  const accountProblems: string[] = [];
  for (const [name, record] of workload.accounts) {
    const { balance } = await store.account(name).balance();
    accountProblems.push(...checkAccount(name, record, balance));
  }
  t.deepEqual(
    accountProblems,
    [],
    'accounts: balance within [acknowledged, acknowledged + unknown]',
  );
}
